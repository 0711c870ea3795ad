"""conv_forward flips the kernel (true convolution) instead of cross-correlating.

Only filters that are not symmetric under a 180-degree rotation (so f > 1) give wrong values.
"""
from convcheck.reference import loops, params
from convcheck.reference.loops import *  # noqa: F401,F403

DEFECT = "conv_forward uses W[::-1, ::-1] (convolution instead of cross-correlation)"
BREAKS = ("conv_forward",)
FINDING = ('conv_forward', 'values', 'conv_forward: Z')  # (function, kind, rule): the defect as the findings summary names it


def conv_forward(A_prev, W, b, hparameters):
    params.parse_conv(A_prev, W, b, hparameters)
    Z, _ = loops.conv_forward(A_prev, W[::-1, ::-1], b, hparameters)  # BUG: kernel rotated
    return Z, (A_prev, W, b, hparameters)
