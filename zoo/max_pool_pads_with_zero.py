"""Max pooling pads with 0 instead of -inf, so padding wins over a window's all-negative real values.

The output is 0 (and the gradient is lost in the padding) wherever a window overlaps the
padding and its real elements are all negative, or it has none (dilation); otherwise right.
Average pooling is unaffected.
"""
import numpy as np

from convcheck.reference import loops, params
from convcheck.reference.loops import *  # noqa: F401,F403
from convcheck.reference.loops import create_mask_from_window

DEFECT = "max pooling pads with 0 instead of -inf"
BREAKS = ("pool_forward", "pool_backward")
FINDING = ('pool_forward', 'values', "pool_forward(mode='max'): A")  # (function, kind, rule): the defect as the findings summary names it
API = "full"
# The real values next to the padding must all be negative. The inputs are seeded normals and
# seed 0 starts positive, so the shrinker keeps a second channel to reach a negative value
# (one channel, 1x1, would do: the search just does not find it). For the same reason, where the
# directional gradient check catches it first (without torch), the shrinker stops at 4 rows.
SHRINK_BOUNDS = {"channels": 2, "spatial": 4}


def _padded(A_prev, call):
    return np.pad(A_prev.astype(np.float64), call.geometry.pad_width())  # BUG: constant 0, should be -inf


def pool_forward(A_prev, hparameters, mode="max"):
    call = params.parse_pool(A_prev, hparameters, mode)
    if call.mode != "max":
        return loops.pool_forward(A_prev, hparameters, mode)
    A_pad = _padded(A_prev, call)
    A = np.zeros((A_prev.shape[0], *call.geometry.out, A_prev.shape[3]))
    for i, h, w, c in np.ndindex(A.shape):
        rows, cols = call.geometry.window(h, w)
        A[i, h, w, c] = np.max(A_pad[i, rows, cols, c])
    return A.astype(call.dtype), (A_prev, hparameters)


def pool_backward(dA, cache, mode="max"):
    A_prev, call = params.parse_pool_cache(dA, cache, mode)
    if call.mode != "max":
        return loops.pool_backward(dA, cache, mode)
    A_pad = _padded(A_prev, call)
    dA_pad = np.zeros(A_pad.shape)
    for i, h, w, c in np.ndindex(dA.shape):
        rows, cols = call.geometry.window(h, w)
        mask = create_mask_from_window(A_pad[i, rows, cols, c])
        dA_pad[i, rows, cols, c] += np.where(mask, np.float64(dA[i, h, w, c]), 0.0)
    return np.ascontiguousarray(call.geometry.unpad(dA_pad)).astype(call.dtype)
