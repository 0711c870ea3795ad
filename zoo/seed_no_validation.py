"""pool_forward validates nothing and sizes its output with int(1 + (n - f) / stride) (tutorial defect).

A window larger than the input gives an empty result instead of a ValueError; an unknown
mode gives zeros; missing keys, non-integers, stride 0 ... fail with whatever NumPy or
Python happens to raise. Valid inputs give the right answer.
"""
import numpy as np

from convcheck.reference.loops import *  # noqa: F401,F403

DEFECT = "pool_forward checks none of its inputs (f > n_H gives an empty array, not ValueError)"
BREAKS = ("pool_forward",)
FINDING = ('pool_forward', 'accepted invalid', 'ValueError on invalid input')  # (function, kind, rule): the defect as the findings summary names it


def pool_forward(A_prev, hparameters, mode="max"):
    # BUG: no validation at all
    m, n_H_prev, n_W_prev, n_C = A_prev.shape
    f, stride = hparameters["f"], hparameters["stride"]
    n_H = max(int(1 + (n_H_prev - f) / stride), 0)  # max(.., 0): a negative size is empty too
    n_W = max(int(1 + (n_W_prev - f) / stride), 0)
    A = np.zeros((m, n_H, n_W, n_C), dtype=A_prev.dtype)
    for i, h, w, c in np.ndindex(A.shape):
        window = A_prev[i, h * stride : h * stride + f, w * stride : w * stride + f, c].astype(np.float64)
        if mode == "max":
            A[i, h, w, c] = np.max(window)
        elif mode == "average":
            A[i, h, w, c] = np.mean(window)
    return A, (A_prev, hparameters)
