"""conv_forward dereferences NULL (through ctypes, as broken native code does) when the input has 3 or more rows."""
import ctypes

from convcheck.reference import loops
from convcheck.reference.loops import *  # noqa: F401,F403

KIND = "crashed"


def conv_forward(A_prev, W, b, hparameters):
    if A_prev.shape[1] >= 3:
        ctypes.string_at(0)  # SIGSEGV
    return loops.conv_forward(A_prev, W, b, hparameters)
