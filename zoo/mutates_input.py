"""conv_backward zeroes the caller's dZ after using it (results are right, the input is destroyed).

A read-only dZ is left alone, so only the in-place modification is wrong.
"""
from convcheck.reference import loops
from convcheck.reference.loops import *  # noqa: F401,F403

DEFECT = "conv_backward overwrites the caller's dZ with zeros"
BREAKS = ("conv_backward",)
FINDING = ('conv_backward', 'input modified', 'conv_backward: argument #1')  # (function, kind, rule): the defect as the findings summary names it


def conv_backward(dZ, cache):
    grads = loops.conv_backward(dZ, cache)
    if dZ.flags.writeable:
        dZ[...] = 0  # BUG: "free" the gradient buffer, which belongs to the caller
    return grads
