"""A max-pool window holding several NaN sends its gradient to the FIRST NaN (np.argmax of isnan) instead of the last.

torch's CPU kernel replaces its running best by any NaN it meets, so the last NaN in row-major
order wins. Windows with one NaN or none are unaffected; the forward is right.
"""
import numpy as np

from convcheck.implementations import rebound
from convcheck.reference import loops, params
from convcheck.reference.loops import *  # noqa: F401,F403

DEFECT = "create_mask_from_window picks the first NaN of a window, not the last"
BREAKS = ("create_mask_from_window", "pool_backward")
FINDING = ('create_mask_from_window', 'values', 'create_mask_from_window: mask')  # (function, kind, rule): the defect as the findings summary names it


def create_mask_from_window(x):
    flat = params.check_window("x", x).ravel()
    nan = np.isnan(flat)
    index = np.argmax(nan) if nan.any() else np.argmax(flat)  # BUG: the last NaN wins
    mask = np.zeros(flat.shape, dtype=bool)
    mask[index] = True
    return mask.reshape(x.shape)


pool_backward = rebound(loops.pool_backward, create_mask_from_window=create_mask_from_window)  # loops' own, seeing this mask
