"""conv_forward's window ends at start + stride instead of start + f (tutorial defect).

Whenever f != stride the slice has the wrong size: with stride 1 it broadcasts a single
pixel against the whole filter (wrong values), otherwise the shapes clash and NumPy raises.
"""
import numpy as np

from convcheck.reference import params
from convcheck.reference.loops import *  # noqa: F401,F403

DEFECT = "conv_forward slices each window as [start : start + stride] instead of [start : start + f]"
BREAKS = ("conv_forward",)
FINDING = ('conv_forward', 'rejected valid', 'conv_forward')  # (function, kind, rule): the defect as the findings summary names it


def conv_forward(A_prev, W, b, hparameters):
    call = params.parse_conv(A_prev, W, b, hparameters)
    s, p = call.geometry.stride[0], call.geometry.pad[0]
    A = np.pad(A_prev.astype(np.float64), ((0, 0), (p, p), (p, p), (0, 0)))
    W64, b64 = W.astype(np.float64), b.astype(np.float64).reshape(-1)
    Z = np.zeros((A_prev.shape[0], *call.geometry.out, call.n_C))
    for h, w in np.ndindex(*call.geometry.out):
        window = A[:, h * s : h * s + s, w * s : w * s + s, :, None]  # BUG: the end should be start + f
        Z[:, h, w, :] = (window * W64).sum(axis=(1, 2, 3)) + b64
    return Z.astype(call.dtype), (A_prev, W, b, hparameters)
