"""conv_forward returns None (it forgot its return statement)."""
from convcheck.reference import loops
from convcheck.reference.loops import *  # noqa: F401,F403

KIND = "structure"


def conv_forward(A_prev, W, b, hparameters):
    loops.conv_forward(A_prev, W, b, hparameters)
