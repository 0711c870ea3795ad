"""conv_backward crops the padded gradient with [pad:-pad], which is empty when pad == 0 (tutorial defect).

With pad == 0 the crop is an empty array, and storing it into dA_prev raises a broadcast
ValueError on a perfectly valid input. With pad > 0 the results are right.
"""
import numpy as np

from convcheck.reference import loops
from convcheck.reference.loops import *  # noqa: F401,F403

DEFECT = "conv_backward crops dA_prev_pad with [pad:-pad], an empty slice when pad == 0"
BREAKS = ("conv_backward",)
FINDING = ('conv_backward', 'rejected valid', 'conv_backward')  # (function, kind, rule): the defect as the findings summary names it


def conv_backward(dZ, cache):
    dA_prev, dW, db = loops.conv_backward(dZ, cache)
    pad = cache[3]["pad"]
    # the padded gradient (its border is cropped away below, so zeros stand in for it)
    dA_prev_pad = np.pad(dA_prev, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
    cropped = np.empty_like(dA_prev)
    cropped[...] = dA_prev_pad[:, pad:-pad, pad:-pad, :]  # BUG: empty when pad == 0
    return cropped, dW, db
