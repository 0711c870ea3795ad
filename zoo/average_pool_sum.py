"""pool_forward in "average" mode returns the window sum instead of the mean.

Right only when f == 1; max mode is unaffected.
"""
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from convcheck.reference import loops, params
from convcheck.reference.loops import *  # noqa: F401,F403

DEFECT = "average pool_forward returns sum(window) instead of mean(window)"
BREAKS = ("pool_forward",)
FINDING = ('pool_forward', 'values', "pool_forward(mode='average'): A")  # (function, kind, rule): the defect as the findings summary names it


def pool_forward(A_prev, hparameters, mode="max"):
    call = params.parse_pool(A_prev, hparameters, mode)
    if call.mode != "average":
        return loops.pool_forward(A_prev, hparameters, mode)
    f, s = call.geometry.kernel[0], call.geometry.stride[0]
    windows = sliding_window_view(A_prev.astype(np.float64), (f, f), axis=(1, 2))[:, ::s, ::s]
    return windows.sum(axis=(-2, -1)).astype(call.dtype), (A_prev, hparameters)  # BUG: no / (f * f)
