"""convcheck adapter: ONNX's NumPy reference operators behind the seed API.

    convcheck verify adapters/onnx_reference.py

``onnx.reference.ReferenceEvaluator`` runs one-node graphs of Pad, Conv, MaxPool and
AveragePool. ONNX has ops for three seed functions only -- zero_pad, conv_forward and
pool_forward -- so the other five (conv_backward, pool_backward, conv_single_step,
create_mask_from_window, distribute_value) are deliberately not defined and the suite skips
their checks.

The adapter computes nothing itself; it translates:
  * layout: A (m, H, W, C) <-> X (m, C, H, W); W (kh, kw, C_in/g, C_out) -> (C_out, C_in/g, kh, kw);
  * hyperparameters (tutorial keys and torch's full space) -> ONNX attributes, with
    pads = [top, left, bottom, right]; conv "same" -> auto_pad=SAME_UPPER (torch puts an odd
    extra at the end too), "valid" -> auto_pad=VALID; pool stride None -> the window size;
  * dtype: float32 stays float32, float64 float64, mixed inputs are cast to float64;
  * the seed contract's ValueErrors, checked here before ONNX sees anything.
After validation any exception from the evaluator is re-raised as RuntimeError, so the suite
reports it as "raised" rather than as a contract rejection.

AveragePool has no divisor_override: with one, the window sums come from a depthwise Conv
with a ones kernel (padded like torch, plus its ceil-mode overhang) divided by the override.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

import numpy as np
import onnx
from onnx import TensorProto, helper
from onnx.reference import ReferenceEvaluator

# everything of the seed API's space maps onto ONNX's operators (divisor_override through Conv, above)
CAPABILITIES = {"framework": ["onnx.reference", onnx.__version__]}

OPSET = 22  # the latest version of Conv, MaxPool and AveragePool in onnx 1.23 (Pad: 21 at opset 22)
ELEM = {np.dtype(np.float32): TensorProto.FLOAT, np.dtype(np.float64): TensorProto.DOUBLE}
CONV_KEYS = ("stride", "pad", "dilation", "groups")
POOL_KEYS = ("f", "stride", "pad", "dilation", "ceil_mode", "count_include_pad", "divisor_override")


# ---- running ONNX --------------------------------------------------------------------------


@functools.lru_cache(maxsize=None)
def _evaluator(op: str, elem: int, inputs: tuple, attrs: tuple) -> ReferenceEvaluator:
    """A compiled one-node graph op(*inputs) -> Y, cached by op, dtype, inputs and attributes."""
    node = helper.make_node(op, list(inputs), ["Y"], **{k: list(v) if isinstance(v, tuple) else v for k, v in attrs})
    info = [helper.make_tensor_value_info(n, TensorProto.INT64 if n == "pads" else elem, None) for n in inputs]
    graph = helper.make_graph([node], op, info, [helper.make_tensor_value_info("Y", elem, None)])
    return ReferenceEvaluator(helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)]))


def _run(op: str, inputs: dict, **attrs) -> np.ndarray:
    elem = ELEM[next(iter(inputs.values())).dtype]
    evaluator = _evaluator(op, elem, tuple(inputs), tuple(sorted(attrs.items())))
    try:
        (y,) = evaluator.run(None, inputs)
    except Exception as exc:  # noqa: BLE001 - the input was valid: whatever ONNX raises is its failure
        raise RuntimeError(f"ONNX reference {op} failed: {type(exc).__name__}: {exc}") from exc
    return y


def _nchw(A: np.ndarray, dtype) -> np.ndarray:
    return np.ascontiguousarray(A.transpose(0, 3, 1, 2), dtype=dtype)  # a copy: inputs stay untouched


def _nhwc(Y: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(Y.transpose(0, 2, 3, 1))


# ---- validation (the seed contract) ---------------------------------------------------------


def _array(name, x, ndim):
    if not isinstance(x, np.ndarray) or x.dtype not in ELEM or x.ndim != ndim or x.size == 0:
        got = f"shape {x.shape}, dtype {x.dtype}" if isinstance(x, np.ndarray) else type(x).__name__
        raise ValueError(f"{name} must be a non-empty {ndim}-D float32/float64 ndarray, got {got}")
    return x


def _int(name, v, low):
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)):
        raise ValueError(f"{name} must be an integer, got {v!r} ({type(v).__name__})")
    if v < low:
        raise ValueError(f"{name} must be >= {low}, got {v!r}")
    return int(v)


def _pair(name, v, low):
    """An integer for both axes, or a pair (tuple or list) of integers."""
    if isinstance(v, (tuple, list)):
        if len(v) != 2:
            raise ValueError(f"{name} must be an integer or a pair of integers, got {v!r}")
        return _int(f"{name}[0]", v[0], low), _int(f"{name}[1]", v[1], low)
    v = _int(name, v, low)
    return v, v


def _bool(name, v):
    if not isinstance(v, (bool, np.bool_)):
        raise ValueError(f"{name} must be a bool, got {v!r} ({type(v).__name__})")
    return bool(v)


def _keys(hp, required, allowed):
    if not isinstance(hp, Mapping):
        raise ValueError(f"hparameters must be a dict, got {type(hp).__name__}")
    missing = [k for k in required if k not in hp]
    unknown = [k for k in hp if k not in allowed]
    if missing or unknown:
        raise ValueError(f"hparameters: missing keys {missing}, unknown keys {unknown} (allowed: {list(allowed)})")
    return hp


def _out_size(name, n, k, s, lo, hi, d=1, ceil=False):
    """torch's number of windows along an axis; ValueError when the kernel does not fit."""
    span = n + lo + hi - d * (k - 1) - 1 + (s - 1 if ceil else 0)
    if span < 0:
        raise ValueError(f"{name}={k} (dilation {d}) is larger than the padded input {n} + {lo} + {hi}")
    out = span // s + 1
    return out - 1 if ceil and (out - 1) * s >= n + lo else out  # torch drops a window starting in the end padding


# ---- the seed functions ONNX has ops for ----------------------------------------------------


def zero_pad(X, pad):
    """ONNX Pad (constant 0) of height and width; pads are [begins..., ends...] over NHWC."""
    X = _array("X", X, 4)
    p = _int("pad", pad, 0)
    return _run("Pad", {"data": X, "pads": np.array([0, p, p, 0, 0, p, p, 0], np.int64)}, mode="constant")


def conv_forward(A_prev, W, b, hparameters):
    """ONNX Conv with bias B (omitted when b is None); cache = (A_prev, W, b, hparameters)."""
    _array("A_prev", A_prev, 4)
    _array("W", W, 4)
    if b is not None:
        _array("b", b, 4)
    hp = _keys(hparameters, CONV_KEYS[:2], CONV_KEYS)
    stride = _pair("hparameters['stride']", hp["stride"], 1)
    dilation = _pair("hparameters['dilation']", hp.get("dilation", 1), 1)
    groups = _int("hparameters['groups']", hp.get("groups", 1), 1)
    kh, kw, c_in, n_C = W.shape
    if c_in * groups != A_prev.shape[3] or n_C % groups:
        raise ValueError(f"W of shape {W.shape} with groups={groups} does not fit A_prev of shape {A_prev.shape}")
    if b is not None and b.shape != (1, 1, 1, n_C):
        raise ValueError(f"b must have shape (1, 1, 1, {n_C}), got {b.shape}")
    pad = hp["pad"]
    if isinstance(pad, str):
        if pad not in ("same", "valid"):
            raise ValueError(f"hparameters['pad'] must be an integer, a pair, a pair of pairs, 'same' or 'valid', got {pad!r}")
        if pad == "same" and stride != (1, 1):
            raise ValueError(f"hparameters['pad']='same' needs stride 1 (as torch), got {hp['stride']!r}")
        attrs = {"auto_pad": "SAME_UPPER" if pad == "same" else "VALID"}
        pads = ((0, 0), (0, 0)) if pad == "valid" else None
    else:
        if isinstance(pad, (tuple, list)):  # (ph, pw) or ((top, bottom), (left, right))
            if len(pad) != 2:
                raise ValueError(f"hparameters['pad'] must be an integer, a pair or a pair of pairs, got {pad!r}")
            pads = tuple(_pair(f"hparameters['pad'][{a}]", p, 0) for a, p in enumerate(pad))
        else:
            pads = (_pair("hparameters['pad']", pad, 0),) * 2
        (top, bottom), (left, right) = pads
        attrs = {"pads": (top, left, bottom, right)}
    if pads is not None:  # "same" always fits
        for a, name in enumerate(("W.shape[0]", "W.shape[1]")):
            _out_size(name, A_prev.shape[1 + a], W.shape[a], stride[a], *pads[a], dilation[a])
    dtype = np.result_type(*(x for x in (A_prev, W, b) if x is not None))
    inputs = {"X": _nchw(A_prev, dtype), "W": np.ascontiguousarray(W.transpose(3, 2, 0, 1), dtype=dtype)}
    if b is not None:
        inputs["B"] = b.reshape(n_C).astype(dtype)
    Z = _run("Conv", inputs, strides=stride, dilations=dilation, group=groups, **attrs)
    return _nhwc(Z), (A_prev, W, b, hparameters)


def pool_forward(A_prev, hparameters, mode="max"):
    """ONNX MaxPool / AveragePool; cache = (A_prev, hparameters)."""
    _array("A_prev", A_prev, 4)
    hp = _keys(hparameters, POOL_KEYS[:2], POOL_KEYS)
    if not isinstance(mode, str) or mode not in ("max", "average"):
        raise ValueError(f"mode must be 'max' or 'average', got {mode!r}")
    kernel = _pair("hparameters['f']", hp["f"], 1)
    stride = kernel if hp["stride"] is None else _pair("hparameters['stride']", hp["stride"], 1)
    pad = _pair("hparameters['pad']", hp.get("pad", 0), 0)
    dilation = _pair("hparameters['dilation']", hp.get("dilation", 1), 1)
    ceil = _bool("hparameters['ceil_mode']", hp.get("ceil_mode", False))
    count_pad = _bool("hparameters['count_include_pad']", hp.get("count_include_pad", True))
    divisor = hp.get("divisor_override")
    if divisor is not None and (isinstance(divisor, (bool, np.bool_)) or not isinstance(divisor, (int, np.integer)) or divisor == 0):
        raise ValueError(f"hparameters['divisor_override'] must be a nonzero integer or None, got {divisor!r}")
    if mode == "average" and dilation != (1, 1):
        raise ValueError(f"hparameters['dilation'] applies to max pooling only, got {hp['dilation']!r}")
    if mode == "max" and (not count_pad or divisor is not None):
        raise ValueError("hparameters['count_include_pad'] / ['divisor_override'] apply to average pooling only")
    if pad[0] > kernel[0] // 2 or pad[1] > kernel[1] // 2:
        raise ValueError(f"hparameters['pad']={hp['pad']!r} must be at most half the window {kernel}")
    sizes = A_prev.shape[1:3]
    out = [_out_size("hparameters['f']", sizes[a], kernel[a], stride[a], pad[a], pad[a], dilation[a], ceil) for a in range(2)]
    X = _nchw(A_prev, A_prev.dtype)
    common = {"kernel_shape": kernel, "strides": stride, "pads": (*pad, *pad), "ceil_mode": int(ceil)}
    if mode == "max":
        Y = _run("MaxPool", {"X": X}, dilations=dilation, **common)
    elif divisor is None:
        Y = _run("AveragePool", {"X": X}, count_include_pad=int(count_pad), **common)
    else:  # window sums: a depthwise Conv with a ones kernel over torch's windows, divided by the override
        ends = [pad[a] + max(0, (out[a] - 1) * stride[a] + kernel[a] - (sizes[a] + 2 * pad[a])) for a in range(2)]
        ones = np.ones((X.shape[1], 1, *kernel), X.dtype)
        Y = _run("Conv", {"X": X, "W": ones}, strides=stride, pads=(*pad, *ends), group=X.shape[1])
        Y = Y / X.dtype.type(divisor)
    return _nhwc(Y), (A_prev, hparameters)
