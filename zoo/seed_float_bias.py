"""conv_single_step converts the (1, 1, 1) bias with float(b), and conv_forward calls it (tutorial defect).

float() of an array with ndim > 0 raises TypeError on NumPy >= 2.4 (DeprecationWarning on
1.25 - 2.3), so both conv_single_step and conv_forward fail on every valid input.
"""
import numpy as np

from convcheck.reference import params
from convcheck.reference.loops import *  # noqa: F401,F403

DEFECT = "conv_single_step adds float(b) for a (1,1,1) array b (TypeError on NumPy 2.4)"
BREAKS = ("conv_single_step", "conv_forward")
FINDING = ('conv_single_step', 'raised', 'conv_single_step: TypeError')  # (function, kind, rule): the defect as the findings summary names it
# before this NumPy the values are right and only --strict-warnings catches the defect
STRICT_BEFORE_NUMPY = "2.4.0"


def conv_single_step(a_slice_prev, W, b):
    dtype = params.check_single_step(a_slice_prev, W, b)
    s = np.sum(a_slice_prev.astype(np.float64) * W.astype(np.float64))
    return dtype.type(s + float(b))  # BUG: float() of a 3-d array


def conv_forward(A_prev, W, b, hparameters):
    call = params.parse_conv(A_prev, W, b, hparameters)
    p = call.geometry.pad[0]
    A = np.pad(A_prev, ((0, 0), (p, p), (p, p), (0, 0)))
    Z = np.zeros((A_prev.shape[0], *call.geometry.out, call.n_C))
    for i, h, w, c in np.ndindex(Z.shape):
        rows, cols = call.geometry.window(h, w)
        Z[i, h, w, c] = conv_single_step(A[i, rows, cols, :], W[:, :, :, c], b[:, :, :, c])
    return Z.astype(call.dtype), (A_prev, W, b, hparameters)
