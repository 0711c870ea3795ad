"""conv_backward accepts a dZ of the wrong shape when it broadcasts to the right one (e.g. (m, 1, 1, n_C)).

Should raise ValueError; with a correctly shaped dZ the result is right.
"""
import numpy as np

from convcheck.reference import loops, params
from convcheck.reference.loops import *  # noqa: F401,F403

DEFECT = "conv_backward broadcasts a wrongly shaped dZ instead of raising ValueError"
BREAKS = ("conv_backward",)
FINDING = ('conv_backward', 'accepted invalid', 'ValueError on invalid input')  # (function, kind, rule): the defect as the findings summary names it


def conv_backward(dZ, cache):
    A_prev, W, b, hparameters = params.check_cache("cache", cache, 4)
    call = params.parse_conv(A_prev, W, b, hparameters)
    dZ = params.check_float_array("dZ", dZ, 4)
    dZ = np.broadcast_to(dZ, (A_prev.shape[0], *call.geometry.out, call.n_C))  # BUG: no shape check
    return loops.conv_backward(dZ, cache)
