"""tests/impls/independent/full_numpy.py, but max pooling's backward splits each window's
gradient equally among its tied maxima (as tinygrad does; a window holding NaN sends it to its
last NaN, as torch), and declares it: a documented convention, counted, not a failure.
ties_split_undeclared.py is the same without the declaration. Tutorial space (no padding)."""

import importlib.util
import os

import numpy as np

_spec = importlib.util.spec_from_file_location(
    "_ties_split_full_numpy", os.path.join(os.path.dirname(__file__), "..", "independent", "full_numpy.py"))
_impl = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_impl)

CONVENTIONS = [{"function": "pool_backward", "convention": "max_ties_split",
                "says": "the gradient of a max window is shared equally by its tied maxima", "source": "tests/impls/declared/ties_split.py"}]

conv_forward, conv_backward, pool_forward = _impl.conv_forward, _impl.conv_backward, _impl.pool_forward


def pool_backward(dA, cache, mode="max"):
    reference = _impl.pool_backward(dA, cache, mode)  # its validation, and its result's dtype
    A_prev, hp = cache
    if mode != "max" or set(hp) != {"f", "stride"}:
        return reference
    f, s = hp["f"], hp["stride"]
    grad = np.zeros(A_prev.shape)
    m, n_H, n_W, C = dA.shape
    for i in range(m):
        for h in range(n_H):
            for w in range(n_W):
                for c in range(C):
                    window = A_prev[i, h * s:h * s + f, w * s:w * s + f, c]
                    target = grad[i, h * s:h * s + f, w * s:w * s + f, c]
                    nan = np.argwhere(np.isnan(window))
                    if len(nan):
                        target[tuple(nan[-1])] += dA[i, h, w, c]
                    else:
                        ties = window == window.max()
                        target[ties] += dA[i, h, w, c] / ties.sum()
    return grad.astype(reference.dtype)
