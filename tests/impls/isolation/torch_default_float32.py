"""Calls torch.set_default_dtype(torch.float32) at import, and accumulates conv_forward in float32 whatever the input dtype."""
import numpy as np
import torch

from convcheck.reference import loops
from convcheck.reference.loops import *  # noqa: F401,F403

KIND = "values"
torch.set_default_dtype(torch.float32)


def conv_forward(A_prev, W, b, hparameters):
    if not (isinstance(A_prev, np.ndarray) and isinstance(W, np.ndarray)):
        return loops.conv_forward(A_prev, W, b, hparameters)
    dtype = np.result_type(A_prev, W, b)
    Z, cache = loops.conv_forward(A_prev.astype(np.float32), W.astype(np.float32), None if b is None else b.astype(np.float32), hparameters)
    return Z.astype(dtype), (A_prev, W, b, hparameters)
