"""Max pooling skips NaN (np.nanmax; the mask picks the largest non-NaN element) instead of propagating it.

A window holding NaN and at least one number pools to that number, and its gradient goes to
that number instead of to the NaN. Windows without NaN are unaffected.
"""
import warnings

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from convcheck.reference import loops, params
from convcheck.reference.loops import *  # noqa: F401,F403

DEFECT = "max pooling ignores NaN (nanmax forward, NaN-blind mask backward)"
BREAKS = ("pool_forward", "create_mask_from_window", "pool_backward")
FINDING = ('pool_forward', 'values', "pool_forward(mode='max'): A: NaN / inf propagation (NaN lost)")  # (function, kind, rule): the defect as the findings summary names it


def pool_forward(A_prev, hparameters, mode="max"):
    call = params.parse_pool(A_prev, hparameters, mode)
    if call.mode != "max":
        return loops.pool_forward(A_prev, hparameters, mode)
    f, s = call.geometry.kernel[0], call.geometry.stride[0]
    windows = sliding_window_view(A_prev.astype(np.float64), (f, f), axis=(1, 2))[:, ::s, ::s]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN window
        A = np.nanmax(windows, axis=(-2, -1))  # BUG: NaN must win
    return A.astype(call.dtype), (A_prev, hparameters)


def create_mask_from_window(x):
    x = params.check_window("x", x)
    mask = np.zeros(x.shape, dtype=bool)
    if np.isnan(x).all():
        mask[-1, -1] = True
    else:
        mask.flat[np.argmax(np.where(np.isnan(x), -np.inf, x))] = True  # BUG: NaN treated as -inf
    return mask


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
