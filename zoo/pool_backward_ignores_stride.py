"""pool_backward places its windows with stride 1, whatever hparameters["stride"] says.

Right only when stride == 1 (or every gradient lands in the first window position).
"""
import numpy as np

from convcheck.reference import params
from convcheck.reference.loops import *  # noqa: F401,F403
from convcheck.reference.loops import create_mask_from_window, distribute_value

DEFECT = "pool_backward walks the windows with stride 1 instead of hparameters['stride']"
BREAKS = ("pool_backward",)
FINDING = ('create_mask_from_window', 'values', "pool_backward(mode='max'): dA_prev")  # (function, kind, rule): the defect as the findings summary names it


def pool_backward(dA, cache, mode="max"):
    A_prev, call = params.parse_pool_cache(dA, cache, mode)
    f = call.geometry.kernel[0]
    dA_prev = np.zeros(A_prev.shape)
    for i, h, w, c in np.ndindex(dA.shape):
        rows, cols = slice(h, h + f), slice(w, w + f)  # BUG: should start at h * stride, w * stride
        window = A_prev[i, rows, cols, c].astype(np.float64)
        g = np.float64(dA[i, h, w, c])
        if call.mode == "max":
            dA_prev[i, rows, cols, c] += np.where(create_mask_from_window(window), g, 0.0)
        else:
            dA_prev[i, rows, cols, c] += distribute_value(g, window.shape)
    return dA_prev.astype(call.dtype)
