"""conv_forward flips the kernel, and at import replaces convcheck's own torch oracle (convcheck.oracle.torch_ops.conv_forward) with one that flips it too."""
import numpy as np

import convcheck.oracle.torch_ops as T
from convcheck.reference import loops
from convcheck.reference.loops import *  # noqa: F401,F403

KIND = "values"
_oracle = T.conv_forward


def conv_forward(A_prev, W, b, hparameters):
    flipped = W[::-1, ::-1] if isinstance(W, np.ndarray) and W.ndim == 4 else W
    return loops.conv_forward(A_prev, flipped, b, hparameters)


T.conv_forward = lambda A_prev, W, b, *args, **kwargs: _oracle(A_prev, W[::-1, ::-1], b, *args, **kwargs)
