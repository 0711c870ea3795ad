"""convcheck adapter: MyGrad's ``nnet.layers`` operators behind the seed API.

    pip install torch==2.13.0 -e '.[mygrad]'   # the optional extra "mygrad"
    convcheck verify adapters/mygrad_ops.py --api full

MyGrad (https://github.com/rsokl/MyGrad) is a pure-NumPy autodiff library. It has two CNN
operators: ``mygrad.nnet.layers.conv_nd`` (NCHW cross-correlation with stride, dilation and a
symmetric zero padding per axis) and ``mygrad.nnet.layers.max_pool`` (window and stride only).
So this module defines conv_forward, conv_backward, pool_forward and pool_backward; zero_pad
(MyGrad has no pad operator), conv_single_step, create_mask_from_window and distribute_value
are deliberately absent and the suite skips their checks.

The adapter computes nothing itself; it translates:
  * layout: A (m, H, W, C) <-> x (m, C, H, W); W (kh, kw, C_in, C_out) -> (C_out, C_in, kh, kw);
    b (1, 1, 1, C_out) -> a (1, C_out, 1, 1) Tensor added to conv_nd's output by MyGrad's own
    broadcasting add (conv_nd has no bias argument), so db also comes from MyGrad's backprop;
  * hyperparameters: the geometry parsed by ``convcheck.reference.params`` -> conv_nd's
    ``stride``, ``padding`` (per axis, symmetric) and ``dilation``; max_pool's ``pool`` and
    ``stride`` (stride None -> the window size);
  * dtype: every array is cast to the call's result dtype (float32 stays float32, float64
    float64, mixed -> float64) and copied, so MyGrad never sees (or locks, see its memory
    guarding) the caller's arrays;
  * gradients: ``out.backward(dZ)`` then ``.grad`` of the input Tensors (MyGrad's backprop).
Validation is the seed contract's (``parse_conv`` / ``parse_pool`` ...), before MyGrad sees
anything; after it, any exception MyGrad raises is re-raised as RuntimeError.

Declared unsupported (NotImplementedError if called anyway), because MyGrad has no way to
express them:
  * conv groups (conv_nd requires w.shape[1] == x.shape[1]);
  * asymmetric conv padding: conv_nd pads "both ends of each convolved dimension" by the
    same amount, so a per-side pad with top != bottom or left != right, and "same" with an
    odd total pad, are not expressible (symmetric ones, whatever their spelling, are
    translated; CAPABILITIES lists only the spellings that are always expressible);
  * max pooling padding, dilation and ceil_mode (max_pool takes only pool and stride);
  * average pooling (MyGrad has none).

Not declared, so the suite reports them (found with mygrad 2.5.0, confirmed against torch):
  * conv_nd and max_pool raise ValueError ("Stride and kernel dimensions are incompatible")
    unless the stride tiles the padded input exactly (conv.py:62-73, pooling.py:78-85);
    torch floors the output size and ignores the remainder;
  * conv_nd rejects a dilated kernel unless kernel * dilation (not (kernel - 1) * dilation + 1)
    fits the padded input (utils.py:188-196), e.g. a 1 x 1 kernel with dilation 2;
  * max_pool's backward sends a window's gradient to its first NaN (np.argmax, pooling.py:110),
    torch's CPU kernel to its last.
Tied maxima are not a difference: both send the gradient to the first maximum in row-major
order (MyGrad's docstring example, pooling.py:202-213), so CONVENTIONS is empty.
"""

from __future__ import annotations

import mygrad as mg
import numpy as np
from mygrad.nnet.layers import conv_nd, max_pool

from convcheck.reference.params import parse_conv, parse_conv_cache, parse_pool, parse_pool_cache

CAPABILITIES = {
    "framework": ["mygrad", str(mg.__version__)],
    "dtypes": {"conv": ["float32", "float64"], "max_pool": ["float32", "float64"]},
    "conv": {"dilation": True, "groups": False, "pad_forms": ["int", "pair", "valid"], "no_bias": True},
    "max_pool": {"pad": False, "dilation": False, "ceil_mode": False, "stride_none": True},
    "average_pool": None,
}

CONVENTIONS: list = []


# ---- translation helpers --------------------------------------------------------------------


def _nchw(A: np.ndarray, dtype) -> np.ndarray:
    """A fresh C-ordered copy in NCHW (never a view of the caller's array)."""
    return np.array(A.transpose(0, 3, 1, 2), dtype=dtype, order="C", copy=True)


def _nhwc(Y: np.ndarray) -> np.ndarray:
    """A fresh C-ordered copy in NHWC (never a view of MyGrad's possibly locked buffers)."""
    return np.array(np.asarray(Y).transpose(0, 2, 3, 1), order="C", copy=True)


def _failed(op: str, exc: BaseException) -> RuntimeError:
    return RuntimeError(f"mygrad {op} failed: {type(exc).__name__}: {exc}")


def _conv_args(call) -> dict:
    g = call.geometry
    if call.groups != 1:
        raise NotImplementedError(f"mygrad conv_nd has no groups (got groups={call.groups}): declared unsupported")
    (top, bottom), (left, right) = g.pads
    if top != bottom or left != right:
        raise NotImplementedError(
            f"mygrad conv_nd pads both ends of an axis equally; padding {g.pads} is asymmetric: declared unsupported"
        )
    return {"stride": tuple(g.stride), "padding": (top, left), "dilation": tuple(g.dilation)}


def _conv_graph(A_prev, W, b, call):
    """MyGrad Tensors x, w, bias (or None) and the output Tensor Z (NCHW)."""
    kwargs = _conv_args(call)
    dtype = call.dtype
    x = mg.Tensor(_nchw(A_prev, dtype))
    w = mg.Tensor(np.array(W.transpose(3, 2, 0, 1), dtype=dtype, order="C", copy=True))
    bias = None if b is None else mg.Tensor(np.array(b.transpose(0, 3, 1, 2), dtype=dtype, order="C", copy=True))
    try:
        Z = conv_nd(x, w, **kwargs)
        if bias is not None:
            Z = Z + bias
    except Exception as exc:  # noqa: BLE001 - the input was valid: whatever MyGrad raises is its failure
        raise _failed("conv_nd", exc) from exc
    return x, w, bias, Z


def _pool_args(call, hparameters) -> dict:
    g = call.geometry
    if call.mode != "max":
        raise NotImplementedError("mygrad has no average pooling: declared unsupported")
    if g.pads != ((0, 0), (0, 0)):
        raise NotImplementedError(f"mygrad max_pool has no padding (got {hparameters.get('pad')!r}): declared unsupported")
    if g.dilation != (1, 1):
        raise NotImplementedError(f"mygrad max_pool has no dilation (got {hparameters.get('dilation')!r}): declared unsupported")
    if hparameters.get("ceil_mode", False):
        raise NotImplementedError("mygrad max_pool has no ceil_mode: declared unsupported")
    return {"pool": tuple(g.kernel), "stride": tuple(g.stride)}


# ---- the seed functions MyGrad has operators for ----------------------------------------------


def conv_forward(A_prev, W, b, hparameters):
    """mygrad.nnet.layers.conv_nd (+ b by MyGrad's add); cache = (A_prev, W, b, hparameters)."""
    call = parse_conv(A_prev, W, b, hparameters)
    _, _, _, Z = _conv_graph(A_prev, W, b, call)
    return _nhwc(Z.data), (A_prev, W, b, hparameters)


def conv_backward(dZ, cache):
    """Z.backward(dZ) through conv_nd (and the bias add); (x.grad, w.grad, bias.grad)."""
    A_prev, W, b, call = parse_conv_cache(dZ, cache)
    x, w, bias, Z = _conv_graph(A_prev, W, b, call)
    try:
        Z.backward(_nchw(dZ, call.dtype))
    except Exception as exc:  # noqa: BLE001
        raise _failed("conv_nd backward", exc) from exc
    dA_prev = _nhwc(x.grad)
    dW = np.array(np.asarray(w.grad).transpose(2, 3, 1, 0), order="C", copy=True)
    db = None if bias is None else _nhwc(bias.grad)
    return dA_prev, dW, db


def pool_forward(A_prev, hparameters, mode="max"):
    """mygrad.nnet.layers.max_pool over the trailing (H, W) axes of NCHW; cache = (A_prev, hparameters)."""
    call = parse_pool(A_prev, hparameters, mode)
    kwargs = _pool_args(call, hparameters)
    x = mg.Tensor(_nchw(A_prev, call.dtype))
    try:
        out = max_pool(x, **kwargs)
    except Exception as exc:  # noqa: BLE001
        raise _failed("max_pool", exc) from exc
    return _nhwc(out.data), (A_prev, hparameters)


def pool_backward(dA, cache, mode="max"):
    """out.backward(dA) through max_pool; x.grad."""
    A_prev, call = parse_pool_cache(dA, cache, mode)
    kwargs = _pool_args(call, cache[1])
    x = mg.Tensor(_nchw(A_prev, call.dtype))
    try:
        out = max_pool(x, **kwargs)
        out.backward(_nchw(dA, call.dtype))
    except Exception as exc:  # noqa: BLE001
        raise _failed("max_pool", exc) from exc
    return _nhwc(x.grad)
