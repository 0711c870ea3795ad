"""conv and pool reject hyperparameters given as NumPy integers (type(v) is int) with a ValueError.

np.int64(2) is an integer by the contract (sizes computed with NumPy often are); only Python
ints pass here. Results on Python ints are right.
"""
import numpy as np

from convcheck.reference import loops
from convcheck.reference.loops import *  # noqa: F401,F403

DEFECT = "conv_forward, conv_backward, pool_forward and pool_backward reject NumPy integer hyperparameters"
BREAKS = ("conv_forward", "conv_backward", "pool_forward", "pool_backward")
FINDING = ('conv_forward', 'rejected valid', 'conv_forward')  # (function, kind, rule): the defect as the findings summary names it


def _python_ints(hparameters):
    for key, value in dict(hparameters).items():
        for v in value if isinstance(value, (tuple, list)) else (value,):
            if isinstance(v, np.integer):  # BUG: NumPy integers are integers
                raise ValueError(f"hparameters[{key!r}] must be an int, got {v!r}")


def conv_forward(A_prev, W, b, hparameters):
    if isinstance(hparameters, dict):
        _python_ints(hparameters)
    return loops.conv_forward(A_prev, W, b, hparameters)


def conv_backward(dZ, cache):
    if isinstance(cache, tuple) and len(cache) == 4 and isinstance(cache[3], dict):
        _python_ints(cache[3])
    return loops.conv_backward(dZ, cache)


def pool_forward(A_prev, hparameters, mode="max"):
    if isinstance(hparameters, dict):
        _python_ints(hparameters)
    return loops.pool_forward(A_prev, hparameters, mode)


def pool_backward(dA, cache, mode="max"):
    if isinstance(cache, tuple) and len(cache) == 2 and isinstance(cache[1], dict):
        _python_ints(cache[1])
    return loops.pool_backward(dA, cache, mode)
