"""conv_forward silently drops unknown hparameters keys (e.g. "strides": 2) instead of raising ValueError.

With only the required keys the result is right.
"""
from collections.abc import Mapping

from convcheck.reference import loops, params
from convcheck.reference.loops import *  # noqa: F401,F403

DEFECT = "conv_forward ignores unknown hparameters keys instead of raising ValueError"
BREAKS = ("conv_forward",)
FINDING = ('conv_forward', 'accepted invalid', 'ValueError on invalid input')  # (function, kind, rule): the defect as the findings summary names it


def conv_forward(A_prev, W, b, hparameters):
    known = hparameters
    if isinstance(hparameters, Mapping):  # BUG: extra keys are filtered out, not rejected
        known = {k: v for k, v in hparameters.items() if k in params.CONV_KEYS}
    Z, _ = loops.conv_forward(A_prev, W, b, known)
    return Z, (A_prev, W, b, hparameters)
