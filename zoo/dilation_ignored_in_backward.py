"""conv_backward walks adjacent taps (dilation 1) whatever hparameters["dilation"] says; conv_forward is right.

The shapes are right (the output size still counts the dilation); dA_prev and dW are wrong
whenever the dilation along an axis with kernel size > 1 is greater than 1.
"""
import types
from dataclasses import replace

from convcheck.implementations import rebound
from convcheck.reference import loops, params
from convcheck.reference.loops import *  # noqa: F401,F403

DEFECT = "conv_backward ignores dilation (its windows' taps are adjacent); conv_forward is right"
BREAKS = ("conv_backward",)
FINDING = ('conv_backward', 'values', 'conv_backward: dA_prev')  # (function, kind, rule): the defect as the findings summary names it
API = "full"


def _parse_conv_cache(dZ, cache):
    A_prev, W, b, call = params.parse_conv_cache(dZ, cache)
    geometry = replace(call.geometry, dilation=(1, 1))  # BUG: the dilation is dropped
    return A_prev, W, b, replace(call, geometry=geometry)


_params = types.SimpleNamespace(**{**vars(params), "parse_conv_cache": _parse_conv_cache})
conv_backward = rebound(loops.conv_backward, params=_params)
