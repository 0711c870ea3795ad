"""conv_backward's dA_prev uses W.reshape(f, f, n_C, n_C_prev).transpose(0, 1, 3, 2): channels mixed up.

A reshape where a transpose round trip was meant: the shapes are right, but when both
n_C_prev > 1 and n_C > 1 each input channel receives gradient through the wrong filter
weights. dW and db are right.
"""
from convcheck.reference import loops, params
from convcheck.reference.loops import *  # noqa: F401,F403

DEFECT = "conv_backward computes dA_prev with W's (n_C_prev, n_C) block reshaped instead of kept"
BREAKS = ("conv_backward",)
FINDING = ('conv_backward', 'values', 'conv_backward: dA_prev')  # (function, kind, rule): the defect as the findings summary names it
SHRINK_BOUNDS = {"channels": 2}  # the defect needs two channels to show


def conv_backward(dZ, cache):
    params.parse_conv_cache(dZ, cache)
    A_prev, W, b, hparameters = cache
    f_h, f_w, n_C_prev, n_C = W.shape
    W_mixed = W.reshape(f_h, f_w, n_C, n_C_prev).transpose(0, 1, 3, 2)  # BUG: scrambles channel pairs
    dA_prev, _, _ = loops.conv_backward(dZ, (A_prev, W_mixed, b, hparameters))
    _, dW, db = loops.conv_backward(dZ, cache)
    return dA_prev, dW, db
