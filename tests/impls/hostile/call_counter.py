"""conv_single_step adds a bias that depends on how often it was called (hidden state)."""
from convcheck.reference import loops
from convcheck.reference.loops import *  # noqa: F401,F403

KIND = "nondeterministic"
_calls = [0]


def conv_single_step(a_slice_prev, W, b):
    _calls[0] += 1
    return loops.conv_single_step(a_slice_prev, W, b) + (_calls[0] % 2) * 1e-3
