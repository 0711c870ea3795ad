"""conv_forward casts W and b to A_prev's dtype: float32 activations with float64 weights give a float32 result.

Mixed dtypes are an open point: a ValueError, or NumPy's result type (float64) -- not float32.
Calls with one dtype are unaffected.
"""
from convcheck.reference import loops
from convcheck.reference.loops import *  # noqa: F401,F403

DEFECT = "conv_forward computes mixed float32/float64 inputs in A_prev's dtype instead of the result type"
BREAKS = ("conv_forward",)
FINDING = ('conv_forward', 'dtype', 'float64 -> float32')  # (function, kind, rule): the defect as the findings summary names it


def conv_forward(A_prev, W, b, hparameters):
    dtype = getattr(A_prev, "dtype", None)
    if dtype is not None and getattr(W, "dtype", dtype).kind == "f":
        W = W.astype(dtype)  # BUG: mixed inputs take the result type, float64
        b = b if b is None or getattr(b, "dtype", None) is None else b.astype(dtype)
    Z, _ = loops.conv_forward(A_prev, W, b, hparameters)
    return Z, (A_prev, W, b, hparameters)
