"""convcheck adapter: tinygrad's Tensor operators behind the seed API.

    pip install torch==2.13.0 -e '.[tinygrad]'
    convcheck verify adapters/tinygrad_ops.py --api full

tinygrad (https://github.com/tinygrad/tinygrad) runs on its CPU device here (``DEV=CPU``:
kernels are C compiled with clang; set before tinygrad is imported, unless the caller already
chose a device). Operators used: ``Tensor.conv2d``, ``Tensor.max_pool2d``,
``Tensor.avg_pool2d``, ``Tensor.pad``; gradients come from tinygrad's own autodiff
(``Tensor.backward(gradient)`` and ``.grad``). conv_single_step, create_mask_from_window and
distribute_value have no tinygrad operator and are deliberately not defined (their checks
are skipped).

The adapter computes nothing itself; it translates:
  * layout: A (m, H, W, C) <-> (m, C, H, W); W (kh, kw, C_in/g, C_out) -> (C_out, C_in/g, kh, kw);
  * hyperparameters, validated and resolved by ``convcheck.reference.params`` (the seed
    contract's ValueErrors): conv padding always as tinygrad's per-side 4-tuple
    (left, right, top, bottom) taken from the geometry ("same"/"valid" become their explicit
    pads; "same" puts an odd extra at the bottom/right as torch, and as tinygrad's own
    ``nn.Conv2d(padding='same')``); pool padding as tinygrad's (ph, pw) pair; stride None ->
    the window size;
  * dtype: float32 stays float32, float64 float64 (tinygrad computes float64 on CPU); mixed
    inputs are cast to the contract's result dtype (np.result_type);
  * every input is copied before tinygrad sees it (tinygrad wraps a NumPy array's memory),
    every result is copied out of tinygrad's buffers.
After validation any exception tinygrad raises is re-raised as RuntimeError, so the suite
reports it as "raised" rather than as a contract rejection.

Declared unsupported (CAPABILITIES): average pooling's ``divisor_override`` -- tinygrad's
``avg_pool2d`` has no such parameter (raises NotImplementedError rather than emulating it).
"""

from __future__ import annotations

import importlib.metadata
import os

os.environ.setdefault("DEV", "CPU")  # tinygrad reads its device from the environment at import

import numpy as np
from tinygrad import Tensor, dtypes

from convcheck.reference import params

_VERSION = importlib.metadata.version("tinygrad")
_TG_DTYPE = {np.dtype(np.float32): dtypes.float32, np.dtype(np.float64): dtypes.float64}

CAPABILITIES = {
    "framework": ["tinygrad", _VERSION],
    "dtypes": {"conv": ["float32", "float64"], "max_pool": ["float32", "float64"], "average_pool": ["float32", "float64"]},
    "conv": {"dilation": True, "groups": True, "pad_forms": ["int", "pair", "per-side", "same", "valid"], "no_bias": True},
    "max_pool": {"pad": True, "dilation": True, "ceil_mode": True, "stride_none": True},
    "average_pool": {"pad": True, "ceil_mode": True, "count_include_pad": True, "divisor_override": False},
}

CONVENTIONS = [
    {
        "function": "pool_backward",
        "convention": "max_ties_split",
        "says": "max_pool2d is a max reduction over window views; tinygrad's MAX gradient divides the upstream gradient "
                "equally among all elements equal to the maximum (as torch's amax does; PR tinygrad#229 "
                "'max to behave on ties like torch'), where torch's max_pool2d routes all of it to one index",
        "source": "tinygrad/mixin/gradient.py:10 (reduce_gradient, Ops.MAX); https://github.com/tinygrad/tinygrad/pull/229",
    },
]


# ---- translation helpers --------------------------------------------------------------------


def _tensor(x: np.ndarray, dtype: np.dtype, perm: tuple[int, ...]) -> Tensor:
    """A tinygrad tensor over a fresh C-ordered copy of x.transpose(perm) in dtype."""
    data = np.array(x.transpose(perm), dtype=dtype, order="C", copy=True)
    return Tensor(data, dtype=_TG_DTYPE[np.dtype(dtype)])


def _nchw(A: np.ndarray, dtype) -> Tensor:
    return _tensor(A, dtype, (0, 3, 1, 2))


def _weight(W: np.ndarray, dtype) -> Tensor:
    return _tensor(W, dtype, (3, 2, 0, 1))


def _numpy(t: Tensor, perm: tuple[int, ...] | None, dtype) -> np.ndarray:
    y = t.numpy()
    if perm is not None:
        y = y.transpose(perm)
    return np.array(y, dtype=dtype, order="C", copy=True)


def _nhwc(t: Tensor, dtype) -> np.ndarray:
    return _numpy(t, (0, 2, 3, 1), dtype)


def _failed(op: str, exc: BaseException) -> RuntimeError:
    return RuntimeError(f"tinygrad {op} failed: {type(exc).__name__}: {exc}")


def _conv_args(call: params.ConvCall) -> dict:
    g = call.geometry
    (top, bottom), (left, right) = g.pads
    return {"groups": call.groups, "stride": tuple(g.stride), "dilation": tuple(g.dilation),
            "padding": (left, right, top, bottom)}


def _pool(x: Tensor, call: params.PoolCall, ceil_mode: bool) -> Tensor:
    g = call.geometry
    ph, pw = g.pad
    if call.mode == "max":
        return x.max_pool2d(kernel_size=tuple(g.kernel), stride=tuple(g.stride), dilation=tuple(g.dilation),
                            padding=(ph, pw), ceil_mode=ceil_mode)
    if call.divisor_override is not None:
        raise NotImplementedError("tinygrad's avg_pool2d has no divisor_override (declared unsupported)")
    return x.avg_pool2d(kernel_size=tuple(g.kernel), stride=tuple(g.stride), padding=(ph, pw),
                        ceil_mode=ceil_mode, count_include_pad=call.count_include_pad)


def _ceil_mode(hparameters) -> bool:
    return bool(hparameters.get("ceil_mode", False))


# ---- the seed functions tinygrad has operators for ------------------------------------------


def zero_pad(X, pad):
    """Tensor.pad with zeros on H and W (grouped NumPy-style padding over NHWC)."""
    p = params.check_pad_amount(pad)
    X = params.check_float_array("X", X, 4)
    try:
        x = _tensor(X, X.dtype, (0, 1, 2, 3))
        y = x.pad(((0, 0), (p, p), (p, p), (0, 0)))
        return _numpy(y, None, X.dtype)
    except Exception as exc:  # noqa: BLE001 - valid input: whatever tinygrad raises is its failure
        raise _failed("pad", exc) from exc


def conv_forward(A_prev, W, b, hparameters):
    """Tensor.conv2d (bias omitted when b is None); cache = (A_prev, W, b, hparameters)."""
    call = params.parse_conv(A_prev, W, b, hparameters)
    dtype = call.dtype
    try:
        x, w = _nchw(A_prev, dtype), _weight(W, dtype)
        bias = None if b is None else _tensor(b.reshape(call.n_C), dtype, (0,))
        Z = x.conv2d(w, bias, **_conv_args(call))
        out = _nhwc(Z, dtype)
    except Exception as exc:  # noqa: BLE001
        raise _failed("conv2d", exc) from exc
    return out, (A_prev, W, b, hparameters)


def conv_backward(dZ, cache):
    """Autodiff of Tensor.conv2d: Z.backward(dZ), then the inputs' .grad."""
    A_prev, W, b, call = params.parse_conv_cache(dZ, cache)
    dtype = call.dtype
    try:
        x, w = _nchw(A_prev, dtype), _weight(W, dtype)
        bias = None if b is None else _tensor(b.reshape(call.n_C), dtype, (0,))
        Z = x.conv2d(w, bias, **_conv_args(call))
        Z.backward(_nchw(dZ, dtype))
        dA = _nhwc(x.grad, dtype)
        dW = _numpy(w.grad, (2, 3, 1, 0), dtype)
        db = None if b is None else _numpy(bias.grad, None, dtype).reshape(1, 1, 1, call.n_C)
    except Exception as exc:  # noqa: BLE001
        raise _failed("conv2d backward", exc) from exc
    return dA, dW, db


def pool_forward(A_prev, hparameters, mode="max"):
    """Tensor.max_pool2d / Tensor.avg_pool2d; cache = (A_prev, hparameters)."""
    call = params.parse_pool(A_prev, hparameters, mode)
    if call.divisor_override is not None:
        raise NotImplementedError("tinygrad's avg_pool2d has no divisor_override (declared unsupported)")
    op = "max_pool2d" if call.mode == "max" else "avg_pool2d"
    try:
        A = _pool(_nchw(A_prev, call.dtype), call, _ceil_mode(hparameters))
        out = _nhwc(A, call.dtype)
    except Exception as exc:  # noqa: BLE001
        raise _failed(op, exc) from exc
    return out, (A_prev, hparameters)


def pool_backward(dA, cache, mode="max"):
    """Autodiff of the pooling: A.backward(dA), then the input's .grad."""
    A_prev, call = params.parse_pool_cache(dA, cache, mode)
    if call.divisor_override is not None:
        raise NotImplementedError("tinygrad's avg_pool2d has no divisor_override (declared unsupported)")
    op = "max_pool2d" if call.mode == "max" else "avg_pool2d"
    try:
        x = _nchw(A_prev, call.dtype)
        A = _pool(x, call, _ceil_mode(cache[1]))
        A.backward(_nchw(dA, call.dtype))
        out = _nhwc(x.grad, call.dtype)
    except Exception as exc:  # noqa: BLE001
        raise _failed(f"{op} backward", exc) from exc
    return out
