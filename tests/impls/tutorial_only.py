"""A correct implementation of the tutorial's API only: it rejects every hyperparameter spelling
beyond square f, one int stride, one symmetric int pad and the tutorial's keys (a ValueError, as
the contract asks), and otherwise computes with the bundled loops reference."""

import numpy as np

from convcheck.reference import loops
from convcheck.reference.loops import create_mask_from_window, distribute_value, zero_pad  # noqa: F401


def _tutorial(hparameters, keys):
    if not isinstance(hparameters, dict) or set(hparameters) != set(keys):
        raise ValueError(f"hparameters must have exactly the keys {keys}, got {hparameters!r}")
    for key in keys:
        value = hparameters[key]
        if not isinstance(value, (int, np.integer)) or isinstance(value, (bool, np.bool_)):  # pairs are not the tutorial's API
            raise ValueError(f"hparameters[{key!r}] must be an int, got {value!r}")


def conv_single_step(a_slice_prev, W, b):
    return loops.conv_single_step(a_slice_prev, W, b)


def conv_forward(A_prev, W, b, hparameters):
    _tutorial(hparameters, ("stride", "pad"))
    if b is None or getattr(W, "ndim", 0) != 4 or W.shape[0] != W.shape[1]:
        raise ValueError("the tutorial's W is (f, f, n_C_prev, n_C) and b is an array")
    return loops.conv_forward(A_prev, W, b, hparameters)


def conv_backward(dZ, cache):
    if isinstance(cache, tuple) and len(cache) == 4:
        _tutorial(cache[3], ("stride", "pad"))
    return loops.conv_backward(dZ, cache)


def pool_forward(A_prev, hparameters, mode="max"):
    _tutorial(hparameters, ("f", "stride"))
    return loops.pool_forward(A_prev, hparameters, mode)


def pool_backward(dA, cache, mode="max"):
    if isinstance(cache, tuple) and len(cache) == 2:
        _tutorial(cache[1], ("f", "stride"))
    return loops.pool_backward(dA, cache, mode)
