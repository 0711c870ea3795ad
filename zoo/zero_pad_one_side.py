"""zero_pad puts all 2*pad zeros at the bottom and right instead of pad on each side.

The shape is right; the content is shifted (wrong whenever pad > 0).
"""
import numpy as np

from convcheck.reference import params
from convcheck.reference.loops import *  # noqa: F401,F403

DEFECT = "zero_pad pads ((0, 2*pad), (0, 2*pad)) instead of ((pad, pad), (pad, pad))"
BREAKS = ("zero_pad",)
FINDING = ('zero_pad', 'values', 'zero_pad: X_pad')  # (function, kind, rule): the defect as the findings summary names it


def zero_pad(X, pad):
    X = params.check_float_array("X", X, 4)
    pad = params.check_pad_amount(pad)
    return np.pad(X, ((0, 0), (0, 2 * pad), (0, 2 * pad), (0, 0)))  # BUG: one-sided
