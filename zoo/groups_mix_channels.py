"""Grouped conv_forward feeds each output channel the input channels of the NEXT group instead of its own.

Right when groups == 1 (the only group is the next one); conv_backward is right.
"""
from convcheck.implementations import rebound
from convcheck.reference import loops
from convcheck.reference.loops import *  # noqa: F401,F403

DEFECT = "grouped conv_forward: output channel c sees input group (g + 1) % groups instead of its group g"
BREAKS = ("conv_forward",)
FINDING = ('conv_forward', 'values', 'conv_forward: Z')  # (function, kind, rule): the defect as the findings summary names it
API = "full"
SHRINK_BOUNDS = {"channels": 2}  # groups > 1 needs two input and two output channels


def _group_channels(c, n_C, C_per_group, groups):
    g = (c // (n_C // groups) + 1) % groups  # BUG: should be c // (n_C // groups)
    return slice(g * C_per_group, (g + 1) * C_per_group)


conv_forward = rebound(loops.conv_forward, _group_channels=_group_channels)
