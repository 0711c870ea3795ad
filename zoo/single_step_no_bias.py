"""conv_single_step forgets to add the bias (conv_forward, which does not call it, is right).

Right only when b == 0.
"""
import numpy as np

from convcheck.reference import params
from convcheck.reference.loops import *  # noqa: F401,F403

DEFECT = "conv_single_step returns sum(a_slice_prev * W) without + b"
BREAKS = ("conv_single_step",)
FINDING = ('conv_single_step', 'values', 'conv_single_step: Z')  # (function, kind, rule): the defect as the findings summary names it


def conv_single_step(a_slice_prev, W, b):
    dtype = params.check_single_step(a_slice_prev, W, b)
    return dtype.type(np.sum(a_slice_prev.astype(np.float64) * W.astype(np.float64)))  # BUG: no + b
