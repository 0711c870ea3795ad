"""Calls np.seterr(all="raise") at import -- in the suite's process its own arithmetic on the NaN/inf it draws would raise -- while its own functions run under np.errstate(all="ignore"); its average pooling sums instead of averaging."""
import functools

import numpy as np

from convcheck.reference import loops

KIND = "values"
np.seterr(all="raise")


def _quiet(function):
    @functools.wraps(function)
    def quiet(*args, **kwargs):
        with np.errstate(all="ignore"):
            return function(*args, **kwargs)

    return quiet


for _name in ("zero_pad", "conv_single_step", "conv_forward", "conv_backward", "create_mask_from_window", "distribute_value", "pool_backward"):
    globals()[_name] = _quiet(getattr(loops, _name))


@_quiet
def pool_forward(A_prev, hparameters, mode="max"):
    A, cache = loops.pool_forward(A_prev, hparameters, mode)
    if mode == "average" and isinstance(hparameters, dict) and isinstance(hparameters.get("f"), int):
        A = A * hparameters["f"] ** 2
    return A, cache
