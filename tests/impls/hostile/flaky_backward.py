"""pool_backward is wrong on every fifth call only: failures that do not repeat when replayed are nondeterminism, not a suite error."""
from convcheck.reference import loops
from convcheck.reference.loops import *  # noqa: F401,F403

KIND = "nondeterministic"
FAMILY = "gradient"
_calls = [0]


def pool_backward(dA, cache, mode="max"):
    _calls[0] += 1
    dA_prev = loops.pool_backward(dA, cache, mode)
    return dA_prev * 2 if _calls[0] % 5 == 0 else dA_prev
