"""A per-side pad ((top, bottom), (left, right)) is read as ((bottom, top), (right, left)).

The output shape is right; the content is shifted along every axis padded asymmetrically
(before != after). Symmetric pads (int, (ph, pw), equal sides), "same" and "valid" are unaffected.
"""
from convcheck.reference import loops, params
from convcheck.reference.loops import *  # noqa: F401,F403

DEFECT = "conv pads ((top, bottom), (left, right)) read as ((bottom, top), (right, left))"
BREAKS = ("conv_forward", "conv_backward")
FINDING = ('conv_forward', 'values', 'conv_forward: Z')  # (function, kind, rule): the defect as the findings summary names it
API = "full"


def _swapped(hparameters):
    pad = hparameters["pad"]
    if not isinstance(pad, (tuple, list)):
        return hparameters
    # BUG: each axis's (before, after) taken as (after, before)
    return {**hparameters, "pad": tuple(tuple(p[::-1]) if isinstance(p, (tuple, list)) else p for p in pad)}


def conv_forward(A_prev, W, b, hparameters):
    params.parse_conv(A_prev, W, b, hparameters)
    Z, _ = loops.conv_forward(A_prev, W, b, _swapped(hparameters))
    return Z, (A_prev, W, b, hparameters)


def conv_backward(dZ, cache):
    params.parse_conv_cache(dZ, cache)
    A_prev, W, b, hparameters = cache
    return loops.conv_backward(dZ, (A_prev, W, b, _swapped(hparameters)))
