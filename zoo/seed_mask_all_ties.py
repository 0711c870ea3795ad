"""create_mask_from_window marks every tied maximum (x >= max(x)), and pool_backward uses it (tutorial defect).

A window whose maximum occurs more than once sends its gradient to every copy, so the
gradient is handed out several times. (A window holding NaN gets an all-False mask.)
"""
import numpy as np

from convcheck.reference import loops, params
from convcheck.reference.loops import *  # noqa: F401,F403

DEFECT = "max-pool mask is (x >= max(x)): every tied maximum gets the gradient"
BREAKS = ("create_mask_from_window", "pool_backward")
FINDING = ('create_mask_from_window', 'values', 'create_mask_from_window: mask')  # (function, kind, rule): the defect as the findings summary names it


def create_mask_from_window(x):
    x = params.check_window("x", x)
    return x >= np.max(x)  # BUG: not one-hot when the maximum is tied


def pool_backward(dA, cache, mode="max"):
    if mode != "max":
        return loops.pool_backward(dA, cache, mode)
    A_prev, call = params.parse_pool_cache(dA, cache, mode)
    dA_prev = np.zeros(A_prev.shape)
    for i, h, w, c in np.ndindex(dA.shape):
        rows, cols = call.geometry.window(h, w)
        mask = create_mask_from_window(A_prev[i, rows, cols, c].astype(np.float64))
        dA_prev[i, rows, cols, c] += np.where(mask, np.float64(dA[i, h, w, c]), 0.0)
    return dA_prev.astype(call.dtype)
