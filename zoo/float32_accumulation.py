"""conv_forward computes in float32 even for float64 inputs, then casts the result back.

float64 results are off by about 1e-7 relative (more under cancellation; huge values
overflow to inf). float32 inputs get float32 arithmetic, which is within float32 tolerance.
"""
import numpy as np

from convcheck.reference import params
from convcheck.reference.loops import *  # noqa: F401,F403

DEFECT = "conv_forward accumulates in float32 regardless of the input dtype"
BREAKS = ("conv_forward",)
FINDING = ('conv_forward', 'values', 'conv_forward: Z')  # (function, kind, rule): the defect as the findings summary names it


def conv_forward(A_prev, W, b, hparameters):
    call = params.parse_conv(A_prev, W, b, hparameters)
    g, p = call.geometry, call.geometry.pad[0]
    with np.errstate(over="ignore"):
        A32 = np.pad(A_prev, ((0, 0), (p, p), (p, p), (0, 0))).astype(np.float32)  # BUG: precision lost
        W32, b32 = W.astype(np.float32), b.astype(np.float32).reshape(-1)
    Z = np.zeros((A_prev.shape[0], *g.out, call.n_C), dtype=np.float32)
    for i, j in np.ndindex(*g.kernel):
        rows, cols = g.offset_slices(i, j)
        Z += np.einsum("mhwc,ck->mhwk", A32[:, rows, cols, :], W32[i, j])
    return (Z + b32).astype(call.dtype), (A_prev, W, b, hparameters)
