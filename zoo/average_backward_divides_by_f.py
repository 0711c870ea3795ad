"""Average pool_backward spreads each gradient as dA / f instead of dA / (f * f).

Right only when f == 1; max mode is unaffected.
"""
import numpy as np

from convcheck.reference import loops, params
from convcheck.reference.loops import *  # noqa: F401,F403

DEFECT = "average pool_backward divides the gradient by f instead of f*f"
BREAKS = ("pool_backward",)
FINDING = ('distribute_value', 'values', "pool_backward(mode='average'): dA_prev")  # (function, kind, rule): the defect as the findings summary names it


def pool_backward(dA, cache, mode="max"):
    A_prev, call = params.parse_pool_cache(dA, cache, mode)
    if call.mode != "average":
        return loops.pool_backward(dA, cache, mode)
    f = call.geometry.kernel[0]
    dA64 = dA.astype(np.float64)
    dA_prev = np.zeros(A_prev.shape)
    for h, w in np.ndindex(*call.geometry.out):
        rows, cols = call.geometry.window(h, w)
        dA_prev[:, rows, cols, :] += dA64[:, h, w, None, None, :] / f  # BUG: should be f * f
    return dA_prev.astype(call.dtype)
