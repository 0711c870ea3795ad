"""Pooling with hparameters["stride"] = None uses stride 1 instead of the window size (torch's default).

Wrong shape (more windows) whenever stride is None and the window is larger than 1x1; an
explicit stride is unaffected.
"""
from collections.abc import Mapping

from convcheck.reference import loops, params
from convcheck.reference.loops import *  # noqa: F401,F403

DEFECT = "pool stride None taken as 1 instead of the window size f"
BREAKS = ("pool_forward", "pool_backward")
FINDING = ('pool_forward', 'shape', 'pool_forward: A')  # (function, kind, rule): the defect as the findings summary names it
API = "full"


def _stride_one(hparameters):
    if isinstance(hparameters, Mapping) and "stride" in hparameters and hparameters["stride"] is None:
        return {**hparameters, "stride": 1}  # BUG: None means the window size
    return hparameters


def pool_forward(A_prev, hparameters, mode="max"):
    A, _ = loops.pool_forward(A_prev, _stride_one(hparameters), mode)
    return A, (A_prev, hparameters)


def pool_backward(dA, cache, mode="max"):
    A_prev, hparameters = params.check_cache("cache", cache, 2)
    return loops.pool_backward(dA, (A_prev, _stride_one(hparameters)), mode)
