"""conv_forward adds the bias of the neighbouring output channel (np.roll on the channel axis).

Wrong only when there is more than one output channel and the biases differ.
"""
import numpy as np

from convcheck.reference import loops, params
from convcheck.reference.loops import *  # noqa: F401,F403

DEFECT = "conv_forward adds b[..., c - 1] to channel c (bias rolled along the channel axis)"
BREAKS = ("conv_forward",)
FINDING = ('conv_forward', 'values', 'conv_forward: Z')  # (function, kind, rule): the defect as the findings summary names it
SHRINK_BOUNDS = {"channels": 2}  # the defect needs two channels to show


def conv_forward(A_prev, W, b, hparameters):
    params.parse_conv(A_prev, W, b, hparameters)
    Z, _ = loops.conv_forward(A_prev, W, np.roll(b, 1, axis=3), hparameters)  # BUG: off by one channel
    return Z, (A_prev, W, b, hparameters)
