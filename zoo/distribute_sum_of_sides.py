"""distribute_value divides dz by n_H + n_W instead of n_H * n_W.

Coincides with the right answer for the shapes (2, 2) and only those; pool_backward here
is the reference one and does not use this distribute_value.
"""
import numpy as np

from convcheck.reference import params
from convcheck.reference.loops import *  # noqa: F401,F403

DEFECT = "distribute_value returns dz / (n_H + n_W) per entry instead of dz / (n_H * n_W)"
BREAKS = ("distribute_value",)
FINDING = ('distribute_value', 'values', 'distribute_value: a')  # (function, kind, rule): the defect as the findings summary names it


def distribute_value(dz, shape):
    dz = params.check_real("dz", dz)
    n_H, n_W = params.check_distribute_shape(shape)
    dtype = dz.dtype if isinstance(dz, (np.float32, np.float64)) else np.float64
    return np.full((n_H, n_W), np.float64(dz) / (n_H + n_W), dtype=dtype)  # BUG: sum, not product
