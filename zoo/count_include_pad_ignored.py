"""Average pooling always counts the padding in the divisor: count_include_pad=False is ignored.

Right without padding, with count_include_pad=True (the default), with divisor_override, and for
windows that lie wholly inside the input.
"""
from convcheck.implementations import rebound
from convcheck.reference import loops
from convcheck.reference.loops import *  # noqa: F401,F403

DEFECT = "average pooling divides by the window's taps in the padded input even when count_include_pad is False"
BREAKS = ("pool_forward", "pool_backward")
FINDING = ('pool_forward', 'values', "pool_forward(mode='average'): A")  # (function, kind, rule): the defect as the findings summary names it
API = "full"


def _average_divisor(call, h, w, window):
    if call.divisor_override is not None:
        return call.divisor_override
    return len(call.geometry.taps(0, h)) * len(call.geometry.taps(1, w))  # BUG: count_include_pad not consulted


pool_forward = rebound(loops.pool_forward, _average_divisor=_average_divisor)
pool_backward = rebound(loops.pool_backward, _average_divisor=_average_divisor)
