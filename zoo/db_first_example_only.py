"""conv_backward's db sums dZ over the first example of the batch only.

Right when the batch has one example (or the other examples' dZ sum to zero).
"""
import numpy as np

from convcheck.reference import loops
from convcheck.reference.loops import *  # noqa: F401,F403

DEFECT = "conv_backward's db is dZ[0].sum(...) instead of dZ.sum(...) over the batch"
BREAKS = ("conv_backward",)
FINDING = ('conv_backward', 'values', 'conv_backward: db')  # (function, kind, rule): the defect as the findings summary names it
SHRINK_BOUNDS = {"batch": 2}  # the defect needs two examples to show


def conv_backward(dZ, cache):
    dA_prev, dW, db = loops.conv_backward(dZ, cache)
    db = dZ[0].astype(np.float64).sum(axis=(0, 1)).reshape(db.shape).astype(db.dtype)  # BUG: example 0 only
    return dA_prev, dW, db
