"""A correct implementation (tests/impls/independent/full_numpy.py) behind a narrow declared
space, as an adapter of a framework with fewer features would be: no conv dilation, groups,
per-side or "valid" pads, no float32 conv, no ceil_mode max pooling, no average pooling at all.
Outside that space it raises NotImplementedError (after validating: invalid input is still a
ValueError), so a check that drew outside the declared space would fail."""

import importlib.util
import os

import numpy as np

CAPABILITIES = {
    "framework": ["narrow", "1.0"],
    "dtypes": {"conv": ["float64"]},
    "conv": {"dilation": False, "groups": False, "pad_forms": ["int", "pair", "same"]},
    "max_pool": {"ceil_mode": False},
    "average_pool": None,
}
# What it really lacks: the declared space, unless a variant declares more than it has
RAISES_ON = ("conv dilation", "conv groups", "conv pad 'per-side'", "conv pad 'valid'", "conv float32",
             "max_pool ceil mode", "average_pool")

_spec = importlib.util.spec_from_file_location(
    "_narrow_full_numpy", os.path.join(os.path.dirname(__file__), "..", "independent", "full_numpy.py"))
_impl = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_impl)


def _lacking(function, dtypes, hp, mode="max"):
    """The features a call uses, of RAISES_ON (names as in the suite's summary)."""
    used = []
    if function == "conv":
        used += [f"conv {np.dtype(d).name}" for d in dtypes]
        used += ["conv dilation"] * bool(hp.get("dilation", 1) not in (1, (1, 1))) + ["conv groups"] * bool(hp.get("groups", 1) != 1)
        pad = hp["pad"]
        form = pad if isinstance(pad, str) else ("int" if not isinstance(pad, (tuple, list))
                                                 else "per-side" if any(isinstance(p, (tuple, list)) for p in pad) else "pair")
        used.append(f"conv pad {form!r}")
    else:
        used += ["average_pool"] * bool(mode == "average") + ["max_pool ceil mode"] * bool(hp.get("ceil_mode", False))
    return [u for u in used if u in RAISES_ON]


def _refuse(lacking):
    if lacking:
        raise NotImplementedError(f"narrow does not support {', '.join(lacking)}")


def conv_forward(A_prev, W, b, hparameters):
    result = _impl.conv_forward(A_prev, W, b, hparameters)  # invalid input: its ValueError first
    _refuse(_lacking("conv", (A_prev.dtype, W.dtype), hparameters))
    return result


def conv_backward(dZ, cache):
    result = _impl.conv_backward(dZ, cache)
    A_prev, W, _, hparameters = cache
    _refuse(_lacking("conv", (A_prev.dtype, W.dtype), hparameters))
    return result


def pool_forward(A_prev, hparameters, mode="max"):
    result = _impl.pool_forward(A_prev, hparameters, mode)
    _refuse(_lacking("pool", (), hparameters, mode))
    return result


def pool_backward(dA, cache, mode="max"):
    result = _impl.pool_backward(dA, cache, mode)
    _refuse(_lacking("pool", (), cache[1], mode))
    return result
