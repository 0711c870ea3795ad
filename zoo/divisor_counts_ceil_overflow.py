"""Average pooling's divisor counts the taps of a ceil_mode window that hang past the padded input.

torch clips a last window that reaches past the bottom/right padding before counting its taps
(count_include_pad=True); this member divides by fh*fw for it. Right without ceil_mode, with
count_include_pad=False, with divisor_override, and whenever the windows fit.
"""
from convcheck.implementations import rebound
from convcheck.reference import loops
from convcheck.reference.loops import *  # noqa: F401,F403

DEFECT = "average pooling with ceil_mode divides a window that overhangs the padded input by fh*fw instead of its taps inside it"
BREAKS = ("pool_forward", "pool_backward")
FINDING = ('pool_forward', 'values', "pool_forward(mode='average'): A")  # (function, kind, rule): the defect as the findings summary names it
API = "full"
SHRINK_BOUNDS = {"spatial": 4}  # the shrinker stops at 4 rows (3-row windows, ceil_mode); 3 would do


def _average_divisor(call, h, w, window):
    if call.divisor_override is not None:
        return call.divisor_override
    if call.count_include_pad:
        fh, fw = call.geometry.kernel
        return fh * fw  # BUG: the taps past the padded input are counted too
    return window.size


pool_forward = rebound(loops.pool_forward, _average_divisor=_average_divisor)
pool_backward = rebound(loops.pool_backward, _average_divisor=_average_divisor)
