"""conv_forward raises GeneratorExit (a BaseException, not an Exception) on every call."""
from convcheck.reference.loops import *  # noqa: F401,F403

KIND = "raised"


def conv_forward(A_prev, W, b, hparameters):
    raise GeneratorExit
