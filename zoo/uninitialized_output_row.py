"""conv_forward allocates Z with np.empty and never writes its last output row: uninitialized memory, different from call to call.

The other rows are right. What the last row holds is whatever the allocator hands out, so two
calls on identical inputs disagree (and the values are wrong).
"""
import numpy as np

from convcheck.reference import loops
from convcheck.reference.loops import *  # noqa: F401,F403

DEFECT = "conv_forward leaves its last output row uninitialized (np.empty)"
BREAKS = ("conv_forward",)
FINDING = ('conv_forward', 'nondeterministic', 'conv_forward: flaky')  # (function, kind, rule): the defect as the findings summary names it


def conv_forward(A_prev, W, b, hparameters):
    Z, cache = loops.conv_forward(A_prev, W, b, hparameters)
    out = np.empty_like(Z)
    out[:, :-1] = Z[:, :-1]  # BUG: the last row is never written
    return out, cache
