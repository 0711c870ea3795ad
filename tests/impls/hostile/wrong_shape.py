"""pool_forward returns its output flattened."""
from convcheck.reference import loops
from convcheck.reference.loops import *  # noqa: F401,F403

KIND = "shape"


def pool_forward(A_prev, hparameters, mode="max"):
    A, cache = loops.pool_forward(A_prev, hparameters, mode)
    return A.reshape(-1), cache
