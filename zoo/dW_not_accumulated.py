"""conv_backward's dW is overwritten per example instead of accumulated, so only the last example counts.

Right when the batch has one example.
"""
from convcheck.reference import loops
from convcheck.reference.loops import *  # noqa: F401,F403

DEFECT = "conv_backward's dW = (gradient of the last example) instead of the sum over the batch"
BREAKS = ("conv_backward",)
FINDING = ('conv_backward', 'values', 'conv_backward: dW')  # (function, kind, rule): the defect as the findings summary names it
SHRINK_BOUNDS = {"batch": 2}  # the defect needs two examples to show


def conv_backward(dZ, cache):
    dA_prev, dW, db = loops.conv_backward(dZ, cache)
    A_prev, W, b, hparameters = cache
    for i in range(A_prev.shape[0]):  # BUG: "=" where "+=" was meant
        _, dW, _ = loops.conv_backward(dZ[i : i + 1], (A_prev[i : i + 1], W, b, hparameters))
    return dA_prev, dW, db
