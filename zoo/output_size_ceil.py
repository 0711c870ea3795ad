"""conv_forward sizes its output with ceil instead of floor, reading zeros past the padded input.

When stride does not divide (n + 2*pad - f) there is one extra row/column of output, computed
from a zero extension at the bottom/right. Otherwise the result is right.
"""
import numpy as np

from convcheck.reference import loops, params
from convcheck.reference.loops import *  # noqa: F401,F403

DEFECT = "conv_forward output size is ceil((n + 2p - f) / s) + 1 instead of floor(...) + 1"
BREAKS = ("conv_forward",)
FINDING = ('conv_forward', 'shape', 'conv_forward: Z')  # (function, kind, rule): the defect as the findings summary names it


def conv_forward(A_prev, W, b, hparameters):
    params.parse_conv(A_prev, W, b, hparameters)
    s, p = hparameters["stride"], hparameters["pad"]
    extra = []
    for n, f in zip(A_prev.shape[1:3], W.shape[:2]):
        n_out = -(-(n + 2 * p - f) // s) + 1  # BUG: ceil instead of floor
        extra.append((n_out - 1) * s + f - (n + 2 * p))
    # zeros appended at the bottom/right so the extra window fits
    A_ext = np.pad(A_prev, ((0, 0), (0, extra[0]), (0, extra[1]), (0, 0)))
    Z, _ = loops.conv_forward(A_ext, W, b, hparameters)
    return Z, (A_prev, W, b, hparameters)
