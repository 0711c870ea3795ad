"""conv_forward writes A_prev back into itself, so a read-only A_prev raises ValueError.

The values never change and results are right for writeable inputs.
"""
from convcheck.reference import loops, params
from convcheck.reference.loops import *  # noqa: F401,F403

DEFECT = "conv_forward assigns A_prev[...] = A_prev (fails on read-only input)"
BREAKS = ("conv_forward",)
FINDING = ('conv_forward', 'rejected valid', 'conv_forward')  # (function, kind, rule): the defect as the findings summary names it


def conv_forward(A_prev, W, b, hparameters):
    params.parse_conv(A_prev, W, b, hparameters)
    A_prev[...] = A_prev  # BUG: a write into the caller's array
    return loops.conv_forward(A_prev, W, b, hparameters)
