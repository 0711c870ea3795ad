"""pad="same" with an odd total padding puts the extra row/column at the top/left instead of the bottom/right.

The output shape is right; the content is shifted by one row/column along every axis whose total
padding dilation * (k - 1) is odd (an even kernel, dilation 1). Every other pad spelling is unaffected.
"""
from convcheck.reference import loops, params
from convcheck.reference.loops import *  # noqa: F401,F403

DEFECT = "pad='same' splits an odd total padding t as (t - t//2, t//2): the extra at the top/left, not the bottom/right"
BREAKS = ("conv_forward", "conv_backward")
FINDING = ('conv_forward', 'values', 'conv_forward: Z')  # (function, kind, rule): the defect as the findings summary names it
API = "full"


def _explicit(W, hparameters):
    """hparameters with "same" spelled out as ((top, bottom), (left, right))."""
    if hparameters["pad"] != "same":
        return hparameters
    dilation = hparameters.get("dilation", 1)
    dilation = dilation if isinstance(dilation, (tuple, list)) else (dilation, dilation)
    totals = [d * (k - 1) for d, k in zip(dilation, W.shape[:2])]
    return {**hparameters, "pad": tuple((t - t // 2, t // 2) for t in totals)}  # BUG: extra before, not after


def conv_forward(A_prev, W, b, hparameters):
    params.parse_conv(A_prev, W, b, hparameters)
    Z, _ = loops.conv_forward(A_prev, W, b, _explicit(W, hparameters))
    return Z, (A_prev, W, b, hparameters)


def conv_backward(dZ, cache):
    params.parse_conv_cache(dZ, cache)
    A_prev, W, b, hparameters = cache
    return loops.conv_backward(dZ, (A_prev, W, b, _explicit(W, hparameters)))
