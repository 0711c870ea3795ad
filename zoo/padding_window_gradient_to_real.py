"""Max pool_backward sends the gradient of a window that sees only padding to the real element nearest its first tap.

A dilated window whose taps all fall in the padding pools to -inf (right), but its dA is added
to the input element at its first tap clamped into the input, instead of going nowhere. Windows
holding a real element are unaffected; so is the forward.
"""
import numpy as np

from convcheck.reference import loops, params
from convcheck.reference.loops import *  # noqa: F401,F403

DEFECT = "max pool_backward sends the gradient of a window that sees only padding to a real element"
BREAKS = ("pool_backward",)
FINDING = ('pool_backward', 'values', "pool_backward(mode='max') on padding-only windows: dA_prev")  # (function, kind, rule): the defect as the findings summary names it
API = "full"


def pool_backward(dA, cache, mode="max"):
    A_prev, call = params.parse_pool_cache(dA, cache, mode)
    if call.mode != "max":
        return loops.pool_backward(dA, cache, mode)
    dA_prev = loops.pool_backward(dA, cache, mode).astype(np.float64)
    (n_H, n_W), (H, W) = call.geometry.out, A_prev.shape[1:3]
    for h in range(n_H):
        for w in range(n_W):
            rows, cols = call.geometry.real_window(h, w)
            if len(range(H)[rows]) and len(range(W)[cols]):
                continue
            r = min(max(call.geometry.taps(0, h).start, 0), H - 1)  # BUG: such a window has no element to pass dA to
            c = min(max(call.geometry.taps(1, w).start, 0), W - 1)
            dA_prev[:, r, c, :] += dA[:, h, w, :]
    return dA_prev.astype(call.dtype)
