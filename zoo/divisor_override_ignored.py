"""Average pooling ignores divisor_override and divides by the window's own count.

Right when divisor_override is None, or happens to equal that count.
"""
from convcheck.implementations import rebound
from convcheck.reference import loops
from convcheck.reference.loops import *  # noqa: F401,F403

DEFECT = "average pooling ignores hparameters['divisor_override']"
BREAKS = ("pool_forward", "pool_backward")
FINDING = ('pool_forward', 'values', "pool_forward(mode='average'): A")  # (function, kind, rule): the defect as the findings summary names it
API = "full"


def _average_divisor(call, h, w, window):
    # BUG: call.divisor_override is never consulted
    if call.count_include_pad:
        return len(call.geometry.taps(0, h)) * len(call.geometry.taps(1, w))
    return window.size


pool_forward = rebound(loops.pool_forward, _average_divisor=_average_divisor)
pool_backward = rebound(loops.pool_backward, _average_divisor=_average_divisor)
