"""convcheck adapter: numpy-ml's ``neural_nets.layers.Conv2D`` / ``Pool2D`` behind the seed API.

    pip install torch==2.13.0 -e '.[numpy-ml]'   # the optional extra "numpy-ml"
    convcheck verify adapters/numpy_ml_layers.py --api full

numpy-ml (https://github.com/ddbourgin/numpy-ml, PyPI ``numpy-ml`` 0.1.2) is a pure-NumPy ML
library. Its layers are NHWC like the seed API, so no layout change is needed:
  * conv_forward  -- a fresh ``Conv2D(out_ch, kernel_shape, pad, stride, dilation, act_fn=None)``
    (act_fn None is numpy-ml's identity, ``Affine(slope=1, intercept=0)``: Z = 1 * (conv + b) + 0,
    no nonlinearity), initialised by its own ``_init_params`` (in_ch set as its first forward
    does), then ``parameters["W"] / ["b"]`` replaced by the seed's W and b (and ``gradients`` by
    zeros of their dtype, as ``_init_params`` does for its own W), then ``layer.forward(A_prev)``;
  * conv_backward -- the same layer, ``forward(A_prev)`` then ``backward(dZ)``: dA_prev is what
    backward returns, dW / db are the layer's accumulated ``gradients["W"] / ["b"]``;
  * pool_forward / pool_backward -- ``Pool2D(kernel_shape, stride, pad, mode)``'s ``forward`` /
    (after a forward) ``backward``; mode "max" and "average" are numpy-ml's own names;
  * zero_pad      -- ``numpy_ml.neural_nets.utils.pad2D(X, pad)`` (its zero padding of H and W).
conv_single_step, create_mask_from_window and distribute_value are not defined (numpy-ml has no
public operator for them; the suite skips their checks).

Translation only (validation first, by ``convcheck.reference.params``):
  * torch dilation d -> numpy-ml ``dilation = d - 1`` (numpy-ml counts the zeros inserted
    between kernel taps: "Effective kernel shape after dilation is kernel_rows * (d + 1) - d");
  * conv pad: int -> int, (ph, pw) -> the 2-tuple, ((top, bottom), (left, right)) -> numpy-ml's
    4-tuple (top, bottom, left, right), "same" -> numpy-ml's own "same", "valid" -> 0;
  * pool stride None -> the window size; pool pad int / (ph, pw) as is;
  * hyperparameters are passed as Python ints and tuples: numpy-ml tests ``isinstance(p, int)``
    / ``isinstance(p, tuple)`` (a NumPy integer or a list pad is silently not padded at all and
    then fails with UnboundLocalError) -- see the findings;
  * no bias (b None): numpy-ml's Conv2D always adds its ``b`` parameter; the adapter sets it to
    zeros (exactly what numpy-ml's own initialisation does) and returns db=None;
  * mixed float32 / float64 arrays are cast to the contract's result dtype; results are returned
    in whatever dtype numpy-ml produced (never cast).
After validation any exception numpy-ml raises is re-raised as RuntimeError("numpy-ml <op> failed").

Declared unsupported (NotImplementedError when called anyway, never emulated):
  * conv groups (Conv2D has none);
  * max pooling dilation, ceil_mode; average pooling ceil_mode, count_include_pad=False and
    divisor_override (Pool2D takes only kernel_shape, stride, pad, mode: its average always
    divides by the full window, zero padding included, i.e. torch's count_include_pad=True);
  * uneven strides and dilations ("uneven_stride", "uneven_dilation"): numpy-ml strides and
    dilations are one int for both axes (``i1 = s * np.repeat(...)``), so a conv / pool stride
    (sh, sw) with sh != sw, a conv dilation (dh, dw) with dh != dw, and pool stride None with a
    non-square window raise NotImplementedError (equal pairs are translated to the int).

Import-time findings (the adapter works around them before importing numpy-ml; the maths is
never patched):
  * ``import numpy_ml`` fails on Python >= 3.10: ``numpy_ml/utils/data_structures.py:3`` does
    ``from collections import Hashable`` (removed from ``collections`` in 3.10); the adapter
    sets ``collections.Hashable = collections.abc.Hashable`` first. No NumPy-2 alias was needed
    for the layers used here.
  * importing it warns DependencyWarning for the optional gym / matplotlib (unrelated to the
    layers); those two messages are filtered during the import only.

Findings (numpy-ml called directly vs torch, see the report; line numbers of numpy-ml 0.1.2):
  * max pooling pads with 0, not -inf (documented: "pad ... rows/columns of 0's",
    layers.py:2979): f (1, 2), stride 1, pad (0, 1), A [0.126, -0.132] -> torch [0.126, 0.126,
    -0.132], numpy-ml [0.126, 0.126, 0.0];
  * max pooling backward with padding reads its windows from the UNPADDED input at padded
    offsets (layers.py:3118 ``xi = X[m, ...]``): it raises (ValueError: zero-size array /
    operands could not be broadcast) or, where the shapes happen to fit, routes the gradient to
    the wrong element (f (1, 2), stride 3, pad (0, 1), A [5, 1, 3, 2, 0], dA ones: torch
    [1, 0, 1, 0, 0], numpy-ml [0, 0, 1, 0, 0]);
  * max pooling backward raises IndexError when a window holds a NaN (layers.py:3124
    ``np.argwhere(xi == np.max(xi))[0]`` is empty);
  * max pooling backward spreads a NaN upstream gradient over the whole window
    (``mask * dy``, layers.py:3127: False * nan = nan) where torch sends it to the argmax only;
  * dtypes: Pool2D.forward returns float64 for float32 input (``Y = np.zeros(...)``,
    layers.py:3056); Conv2D.backward returns dX float64 for float32 (``col2im``'s
    ``np.zeros``, utils.py:585); dW, db and the conv forward stay float32;
  * a NumPy-integer or list ``pad`` is not padded at all and fails with UnboundLocalError
    (pad2D tests ``isinstance(p, int)`` / ``isinstance(p, tuple)``); the adapter passes Python
    ints and tuples, as a translation.
"""

from __future__ import annotations

import collections
import collections.abc
import importlib.metadata
import warnings

import numpy as np

from convcheck.reference import params

if not hasattr(collections, "Hashable"):  # FINDING: numpy-ml does not import on Python >= 3.10 without this
    collections.Hashable = collections.abc.Hashable

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message=r"(Agents in `numpy_ml\.rl_models`|Cannot import matplotlib)")
    from numpy_ml.neural_nets.layers import Conv2D, Pool2D  # noqa: E402
    from numpy_ml.neural_nets.utils import pad2D  # noqa: E402

CAPABILITIES = {
    "framework": ["numpy-ml", importlib.metadata.version("numpy-ml")],
    "dtypes": {
        "conv": ["float32", "float64"],
        "max_pool": ["float32", "float64"],
        "average_pool": ["float32", "float64"],
    },
    # one int stride and one int dilation for both axes: no (rows, columns) pairs of different values
    "conv": {"dilation": True, "groups": False, "pad_forms": ["int", "pair", "per-side", "same", "valid"], "no_bias": True,
             "uneven_stride": False, "uneven_dilation": False},
    "max_pool": {"pad": True, "dilation": False, "ceil_mode": False, "stride_none": True, "uneven_stride": False},
    "average_pool": {"pad": True, "ceil_mode": False, "count_include_pad": False, "divisor_override": False, "uneven_stride": False},
}

CONVENTIONS = [
    {
        "function": "pool_forward",
        "convention": "max_pool_pads_with_zero",
        "says": "Pool2D's pad is 'The number of rows/columns of 0's to pad the input', also in max mode: "
                "a window over padding and negative values gives 0",
        "source": "numpy_ml/neural_nets/layers/layers.py:2979 (numpy-ml 0.1.2, Pool2D.__init__ docstring)",
    },
]


# ---- helpers ----------------------------------------------------------------------------------


def _failed(op: str, exc: BaseException) -> RuntimeError:
    return RuntimeError(f"numpy-ml {op} failed: {type(exc).__name__}: {exc}")


def _run(op: str, fn, *args):
    try:
        return fn(*args)
    except Exception as exc:  # noqa: BLE001 - the input was valid: whatever numpy-ml raises is its failure
        raise _failed(op, exc) from exc


def _one(name: str, pair, what: str) -> int:
    """A per-axis pair numpy-ml can take only as one int for both axes."""
    if pair[0] != pair[1]:
        raise NotImplementedError(f"numpy-ml {what} takes one int {name} for both axes, got {tuple(pair)}: not expressible")
    return int(pair[0])


def _conv_pad(pad, g):
    """numpy-ml's spelling of the (validated) conv pad."""
    if isinstance(pad, str):
        return "same" if pad == "same" else 0
    if isinstance(pad, (tuple, list)):
        if any(isinstance(p, (tuple, list)) for p in pad):
            (top, bottom), (left, right) = g.pads
            return (int(top), int(bottom), int(left), int(right))
        return (int(pad[0]), int(pad[1]))
    return int(pad)


def _conv_layer(W, b, hparameters, call):
    g = call.geometry
    if call.groups != 1:
        raise NotImplementedError(f"numpy-ml Conv2D has no groups (got groups={call.groups}): declared unsupported")
    stride = _one("stride", g.stride, "Conv2D")
    dilation = _one("dilation", g.dilation, "Conv2D") - 1
    kh, kw, c_in, n_C = W.shape
    pad = _conv_pad(hparameters["pad"], g)
    W = np.asarray(W, dtype=call.dtype)
    b = np.zeros((1, 1, 1, n_C), dtype=call.dtype) if b is None else np.asarray(b, dtype=call.dtype)

    def build():
        layer = Conv2D(out_ch=int(n_C), kernel_shape=(int(kh), int(kw)), pad=pad, stride=stride, dilation=dilation, act_fn=None)
        layer.in_ch = int(c_in)  # what its first forward sets before _init_params
        layer._init_params()
        layer.parameters["W"] = W
        layer.parameters["b"] = b
        layer.gradients = {"W": np.zeros_like(W), "b": np.zeros_like(b)}
        return layer

    return _run("Conv2D.__init__", build)


def _pool_layer(hparameters, call):
    g = call.geometry
    if g.dilation != (1, 1):
        raise NotImplementedError(f"numpy-ml Pool2D has no dilation (got {hparameters.get('dilation')!r}): declared unsupported")
    if hparameters.get("ceil_mode", False):
        raise NotImplementedError("numpy-ml Pool2D has no ceil_mode: declared unsupported")
    if not call.count_include_pad:
        raise NotImplementedError("numpy-ml Pool2D has no count_include_pad=False: declared unsupported")
    if call.divisor_override is not None:
        raise NotImplementedError("numpy-ml Pool2D has no divisor_override: declared unsupported")
    stride = _one("stride", g.stride, "Pool2D")
    pad = hparameters.get("pad", 0)
    pad = (int(g.pads[0][0]), int(g.pads[1][0])) if isinstance(pad, (tuple, list)) else int(g.pads[0][0])
    kernel = (int(g.kernel[0]), int(g.kernel[1]))
    return _run("Pool2D.__init__", lambda: Pool2D(kernel_shape=kernel, stride=stride, pad=pad, mode=call.mode))


# ---- the seed functions numpy-ml has operators for -------------------------------------------


def zero_pad(X, pad):
    """numpy_ml.neural_nets.utils.pad2D(X, pad)[0]."""
    pad = params.check_pad_amount(pad)
    X = params.check_float_array("X", X, 4)
    return _run("pad2D", lambda: pad2D(X, pad)[0])


def conv_forward(A_prev, W, b, hparameters):
    """Conv2D(...).forward(A_prev) with the seed's W, b; cache = (A_prev, W, b, hparameters)."""
    call = params.parse_conv(A_prev, W, b, hparameters)
    layer = _conv_layer(W, b, hparameters, call)
    A = np.asarray(A_prev, dtype=call.dtype)
    Z = _run("Conv2D.forward", lambda: layer.forward(A, retain_derived=False))
    return np.asarray(Z), (A_prev, W, b, hparameters)


def conv_backward(dZ, cache):
    """Conv2D's forward then backward(dZ): (dA_prev, gradients['W'], gradients['b'] or None)."""
    A_prev, W, b, call = params.parse_conv_cache(dZ, cache)
    hparameters = cache[3]
    layer = _conv_layer(W, b, hparameters, call)
    A = np.asarray(A_prev, dtype=call.dtype)
    dZ = np.asarray(dZ, dtype=call.dtype)

    def backward():
        layer.forward(A, retain_derived=True)
        dA = layer.backward(dZ, retain_grads=True)
        return dA, layer.gradients["W"], layer.gradients["b"]

    dA, dW, db = _run("Conv2D.backward", backward)
    return np.asarray(dA), np.asarray(dW), (None if b is None else np.asarray(db))


def pool_forward(A_prev, hparameters, mode="max"):
    """Pool2D(kernel_shape, stride, pad, mode).forward(A_prev); cache = (A_prev, hparameters)."""
    call = params.parse_pool(A_prev, hparameters, mode)
    layer = _pool_layer(hparameters, call)
    A = np.asarray(A_prev, dtype=call.dtype)
    Y = _run(f"Pool2D({call.mode}).forward", lambda: layer.forward(A, retain_derived=False))
    return np.asarray(Y), (A_prev, hparameters)


def pool_backward(dA, cache, mode="max"):
    """Pool2D's forward then backward(dA)."""
    A_prev, call = params.parse_pool_cache(dA, cache, mode)
    layer = _pool_layer(cache[1], call)
    A = np.asarray(A_prev, dtype=call.dtype)
    dA = np.asarray(dA, dtype=call.dtype)

    def backward():
        layer.forward(A, retain_derived=True)
        return layer.backward(dA, retain_grads=True)

    return np.asarray(_run(f"Pool2D({call.mode}).backward", backward))
