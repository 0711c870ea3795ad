"""create_mask_from_window compares the window as float32, so distinct large integers (or close floats) tie.

Integers above 2**24 that differ by less than float32's spacing there become equal, and the
mask goes to the first of the merged values instead of the true maximum. Small values and
float32 windows are unaffected; pool_backward (loops' own mask) is right.
"""
import numpy as np

from convcheck.reference import params
from convcheck.reference.loops import *  # noqa: F401,F403

DEFECT = "create_mask_from_window compares in float32 (distinct large integers tie)"
BREAKS = ("create_mask_from_window",)
FINDING = ('create_mask_from_window', 'values', 'create_mask_from_window: mask')  # (function, kind, rule): the defect as the findings summary names it


def create_mask_from_window(x):
    flat = params.check_window("x", x).ravel().astype(np.float32)  # BUG: compare in x's own dtype
    nan = np.isnan(flat)
    index = flat.size - 1 - np.argmax(nan[::-1]) if nan.any() else np.argmax(flat)
    mask = np.zeros(flat.shape, dtype=bool)
    mask[index] = True
    return mask.reshape(x.shape)
