"""Max-pool ties go to the LAST maximum (row-major) instead of the first, in the mask and in pool_backward.

Windows without ties, and windows holding NaN (last NaN wins either way), are unaffected.
"""
import numpy as np

from convcheck.reference import loops, params
from convcheck.reference.loops import *  # noqa: F401,F403

DEFECT = "create_mask_from_window breaks ties toward the last maximum, not the first"
BREAKS = ("create_mask_from_window", "pool_backward")
FINDING = ('create_mask_from_window', 'values', 'create_mask_from_window: mask')  # (function, kind, rule): the defect as the findings summary names it


def create_mask_from_window(x):
    flat = params.check_window("x", x).ravel()
    nan = np.isnan(flat)
    hits = nan if nan.any() else flat == flat.max()
    mask = np.zeros(flat.shape, dtype=bool)
    mask[np.flatnonzero(hits)[-1]] = True  # BUG: should be [0] for tied maxima
    return mask.reshape(x.shape)


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
