"""conv_backward returns dW filled with NaN (finite inputs): every gradient check of dW must fail.
A ratio of NaN to its budget compares False both ways, so "ratio > 1" alone would pass it."""
import numpy as np

from convcheck.reference import loops
from convcheck.reference.loops import *  # noqa: F401,F403


def conv_backward(dZ, cache):
    dA_prev, dW, db = loops.conv_backward(dZ, cache)
    return dA_prev, np.full_like(dW, np.nan), db
