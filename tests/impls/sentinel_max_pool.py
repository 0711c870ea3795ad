"""Max pooling as a runtime that seeds each window's maximum with the dtype's lowest finite value and
skips NaN when comparing: NaN in a window is dropped (the window's other values win) and a window
with nothing real in it -- padding only, or only NaN / -inf -- gives -DBL_MAX (-FLT_MAX), not -inf.

Two defects of one function under one rule (NaN / inf propagation), each a finding of its own.
Everything else is the loops reference.
"""
import numpy as np

from convcheck.reference import loops
from convcheck.reference.loops import *  # noqa: F401,F403


def pool_forward(A_prev, hparameters, mode="max"):
    Z, cache = loops.pool_forward(A_prev, hparameters, mode)
    if mode != "max":
        return Z, cache
    A = np.asarray(A_prev)
    Z = loops.pool_forward(np.where(np.isnan(A), -np.inf, A), hparameters, mode)[0]  # NaN never compares greater
    return np.where(Z == -np.inf, -np.finfo(Z.dtype).max, Z).astype(Z.dtype), cache
