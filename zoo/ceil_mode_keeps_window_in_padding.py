"""With ceil_mode, pooling keeps a last window that would start in the bottom/right padding (torch drops it).

One extra output row/column (max: -inf, average: 0 or 0/0) whenever ceil((n + 2p - extent) / s) + 1
windows would put the last one's start at or past n + p; everything else is right.
"""
import types
from dataclasses import replace

from convcheck.implementations import rebound
from convcheck.reference import loops, params
from convcheck.reference.loops import *  # noqa: F401,F403

DEFECT = "ceil_mode keeps a last pooling window that starts in the bottom/right padding"
BREAKS = ("pool_forward", "pool_backward")
FINDING = ('pool_forward', 'shape', 'pool_forward: A')  # (function, kind, rule): the defect as the findings summary names it
API = "full"


def _parse_pool(A_prev, hparameters, mode):
    call = params.parse_pool(A_prev, hparameters, mode)
    if not hparameters.get("ceil_mode", False):
        return call
    g = call.geometry
    # BUG: ceil((n + lo + hi - extent) / s) + 1 windows, without dropping one that starts in the padding
    out = tuple((n + lo + hi - e + s - 1) // s + 1 for n, (lo, hi), e, s in zip(g.size, g.pads, g.extent, g.stride))
    return replace(call, geometry=replace(g, out=out))


_params = types.SimpleNamespace(**{**vars(params), "parse_pool": _parse_pool})
_params.parse_pool_cache = rebound(params.parse_pool_cache, parse_pool=_parse_pool)
pool_forward = rebound(loops.pool_forward, params=_params)
pool_backward = rebound(loops.pool_backward, params=_params)
