"""conv_backward accepts an empty batch (an open point) but returns dW and db with an empty first axis instead of W's and b's shapes.

torch returns dW and db of zeros with the weights' shapes. Non-empty batches are unaffected.
"""
import numpy as np

from convcheck.reference import loops
from convcheck.reference.loops import *  # noqa: F401,F403

DEFECT = "conv_backward on an empty batch returns dW and db of the wrong shape"
BREAKS = ("conv_backward",)
FINDING = ('conv_backward', 'shape', 'conv_backward: dW')  # (function, kind, rule): the defect as the findings summary names it


def conv_backward(dZ, cache):
    if isinstance(dZ, np.ndarray) and dZ.ndim == 4 and dZ.shape[0] == 0 and isinstance(cache, tuple) and len(cache) == 4:
        A_prev, W, b, _ = cache
        db = None if b is None else np.zeros((0,) + b.shape[1:], dtype=b.dtype)
        return np.zeros(A_prev.shape, dtype=A_prev.dtype), np.zeros((0,) + W.shape[1:], dtype=W.dtype), db  # BUG: W's and b's shapes
    return loops.conv_backward(dZ, cache)
