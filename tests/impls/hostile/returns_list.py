"""zero_pad returns a nested list instead of an ndarray."""
from convcheck.reference import loops
from convcheck.reference.loops import *  # noqa: F401,F403

KIND = "structure"


def zero_pad(X, pad):
    return loops.zero_pad(X, pad).tolist()
