"""Every function returns float64 for float32 inputs (the values are right, the dtype is not).

create_mask_from_window returns bool and so is unaffected; float64 inputs are unaffected.
"""
import numpy as np

from convcheck.reference import loops
from convcheck.reference.loops import *  # noqa: F401,F403

DEFECT = "results are always float64, even when every input is float32"
BREAKS = ("zero_pad", "conv_single_step", "conv_forward", "conv_backward",
          "pool_forward", "distribute_value", "pool_backward")
FINDING = ('zero_pad', 'dtype', 'float32 -> float64')  # (function, kind, rule): the defect as the findings summary names it


def _f64(x):
    return x.astype(np.float64)  # BUG: the result dtype should follow the inputs


def zero_pad(X, pad):
    return _f64(loops.zero_pad(X, pad))


def conv_single_step(a_slice_prev, W, b):
    return np.float64(loops.conv_single_step(a_slice_prev, W, b))


def conv_forward(A_prev, W, b, hparameters):
    Z, cache = loops.conv_forward(A_prev, W, b, hparameters)
    return _f64(Z), cache


def conv_backward(dZ, cache):
    return tuple(_f64(g) for g in loops.conv_backward(dZ, cache))


def pool_forward(A_prev, hparameters, mode="max"):
    A, cache = loops.pool_forward(A_prev, hparameters, mode)
    return _f64(A), cache


def distribute_value(dz, shape):
    return _f64(loops.distribute_value(dz, shape))


def pool_backward(dA, cache, mode="max"):
    return _f64(loops.pool_backward(dA, cache, mode))
