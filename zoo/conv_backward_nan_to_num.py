"""conv_backward cleans its upstream gradient with np.nan_to_num (NaN -> 0, inf -> the largest float) instead of propagating it.

A NaN in dZ vanishes from dA_prev, dW and db, and an infinite dZ becomes finite (or overflows
differently). Finite gradients are unaffected; so is the forward.
"""
import numpy as np

from convcheck.reference import loops
from convcheck.reference.loops import *  # noqa: F401,F403

DEFECT = "conv_backward replaces NaN / inf in dZ by finite numbers (np.nan_to_num)"
BREAKS = ("conv_backward",)
FINDING = ('conv_backward', 'values', 'conv_backward: dW: NaN / inf propagation (NaN lost)')  # (function, kind, rule): the defect as the findings summary names it


def conv_backward(dZ, cache):
    if isinstance(dZ, np.ndarray) and dZ.dtype.kind == "f":
        dZ = np.nan_to_num(dZ)  # BUG: NaN / inf must propagate
    return loops.conv_backward(dZ, cache)
