"""convcheck adapter: ONNX Runtime's CPU kernels behind the seed API.

Framework: ONNX Runtime (``onnxruntime``, CPUExecutionProvider). Install the ``onnxruntime``
extra (``pip install -e '.[onnxruntime]'``: onnx and onnxruntime), then run

    convcheck verify adapters/onnxruntime_ops.py --api full

Each call builds (once, cached per op, dtype and attributes) a one-node ONNX model with
``onnx.helper`` -- Pad, Conv, MaxPool or AveragePool -- and runs it with
``onnxruntime.InferenceSession`` on the CPUExecutionProvider, one intra-op and one inter-op
thread, sequential execution (deterministic). Only forward ops exist in ONNX, so the module
defines zero_pad, conv_forward and pool_forward; the backward functions and the tutorial's
helpers (conv_single_step, create_mask_from_window, distribute_value) are deliberately absent
and the suite skips their checks.

The adapter computes nothing itself. Validation is convcheck's own
(``convcheck.reference.params``: invalid input -> ValueError), then it translates:
  * layout: A (m, H, W, C) <-> X (m, C, H, W); W (kh, kw, C_in/g, C_out) -> (C_out, C_in/g, kh, kw);
    b (1, 1, 1, C_out) -> B (C_out,), omitted when b is None;
  * hyperparameters: every pad spelling becomes the explicit pads of the parsed geometry,
    ONNX order [top, left, bottom, right] (so "same" puts an odd extra at the bottom/right, as
    torch); strides, dilations, group, kernel_shape, ceil_mode, count_include_pad as attributes;
    pool stride None is the window size.
After validation, any exception ONNX Runtime raises (building the session or running it) is
re-raised as RuntimeError("onnxruntime <op> failed: ...") so the suite reports it.

Declared unsupported (NotImplementedError when called anyway, never emulated):
  * float64 Conv and AveragePool: the CPU build registers float kernels only for them
    ("Could not find an implementation for Conv(..) node ... tensor(double)"); a mixed
    float32/float64 conv call computes in float64, so it is unsupported too.
    Pad and MaxPool have float64 kernels.
  * AveragePool's divisor_override: ONNX AveragePool has no such attribute.
"""

from __future__ import annotations

import functools

import numpy as np
import onnxruntime as ort
from onnx import TensorProto, helper

from convcheck.reference import params

OPSET = 22  # the latest Conv, MaxPool and AveragePool in onnx 1.23 (Pad: 21), as adapters/onnx_reference.py
ELEM = {np.dtype(np.float32): TensorProto.FLOAT, np.dtype(np.float64): TensorProto.DOUBLE}
NAMES = {np.dtype(np.float32): "float32", np.dtype(np.float64): "float64"}

# What this onnxruntime CPU build computes (float64 probed: no Conv / AveragePool kernel).
DTYPES = {"pad": ["float32", "float64"], "conv": ["float32"], "max_pool": ["float32", "float64"], "average_pool": ["float32"]}

CAPABILITIES = {
    "framework": ["onnxruntime", ort.__version__],
    "dtypes": {"conv": DTYPES["conv"], "max_pool": DTYPES["max_pool"], "average_pool": DTYPES["average_pool"]},
    "conv": {"dilation": True, "groups": True, "pad_forms": ["int", "pair", "per-side", "same", "valid"], "no_bias": True},
    "max_pool": {"pad": True, "dilation": True, "ceil_mode": True, "stride_none": True},
    "average_pool": {"pad": True, "ceil_mode": True, "count_include_pad": True, "divisor_override": False},
}

CONVENTIONS: list = []


# ---- running ONNX Runtime -------------------------------------------------------------------


def _options() -> ort.SessionOptions:
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.log_severity_level = 3  # errors only
    return so


@functools.lru_cache(maxsize=None)
def _session(op: str, elem: int, inputs: tuple, attrs: tuple) -> ort.InferenceSession:
    """A one-node graph op(*inputs) -> Y on the CPU provider, cached by op, dtype, inputs and attributes."""
    node = helper.make_node(op, list(inputs), ["Y"], **{k: list(v) if isinstance(v, tuple) else v for k, v in attrs})
    info = [helper.make_tensor_value_info(n, TensorProto.INT64 if n == "pads" else elem, None) for n in inputs]
    graph = helper.make_graph([node], op, info, [helper.make_tensor_value_info("Y", elem, None)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    return ort.InferenceSession(model.SerializeToString(), _options(), providers=["CPUExecutionProvider"])


def _run(op: str, inputs: dict, **attrs) -> np.ndarray:
    elem = ELEM[next(iter(inputs.values())).dtype]
    try:
        session = _session(op, elem, tuple(inputs), tuple(sorted(attrs.items())))
        (y,) = session.run(None, inputs)
    except Exception as exc:  # noqa: BLE001 - the input was valid: whatever onnxruntime raises is its failure
        raise RuntimeError(f"onnxruntime {op} failed: {type(exc).__name__}: {exc}") from exc
    return y


def _require(op: str, dtype) -> None:
    name = NAMES[np.dtype(dtype)]
    if name not in DTYPES[op]:
        raise NotImplementedError(f"onnxruntime's CPU provider has no {name} {op} kernel (declared unsupported)")


def _nchw(A: np.ndarray, dtype) -> np.ndarray:
    return np.array(A.transpose(0, 3, 1, 2), dtype=dtype, order="C", copy=True)  # a copy: inputs stay untouched


def _nhwc(Y: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(Y.transpose(0, 2, 3, 1))


def _onnx_pads(pads) -> tuple:
    """((top, bottom), (left, right)) -> ONNX's [top, left, bottom, right]."""
    (top, bottom), (left, right) = pads
    return (top, left, bottom, right)


# ---- the seed functions ONNX has ops for ----------------------------------------------------


def zero_pad(X, pad):
    """ONNX Pad (constant 0) of height and width; pads are [begins..., ends...] over NHWC."""
    X = params.check_nonempty("X", params.check_float_array("X", X, 4))
    p = params.check_pad_amount(pad)
    _require("pad", X.dtype)
    data = np.array(X, order="C", copy=True)  # onnxruntime may bind the caller's buffer: hand it a copy
    return _run("Pad", {"data": data, "pads": np.array([0, p, p, 0, 0, p, p, 0], np.int64)}, mode="constant")


def conv_forward(A_prev, W, b, hparameters):
    """ONNX Conv with bias B (omitted when b is None); cache = (A_prev, W, b, hparameters)."""
    call = params.parse_conv(A_prev, W, b, hparameters)
    _require("conv", call.dtype)
    g = call.geometry
    inputs = {"X": _nchw(A_prev, call.dtype), "W": np.array(W.transpose(3, 2, 0, 1), dtype=call.dtype, order="C", copy=True)}
    if b is not None:
        inputs["B"] = np.array(b, dtype=call.dtype).reshape(call.n_C)
    Z = _run("Conv", inputs, kernel_shape=g.kernel, strides=g.stride, dilations=g.dilation,
             pads=_onnx_pads(g.pads), group=call.groups)
    return _nhwc(Z), (A_prev, W, b, hparameters)


def pool_forward(A_prev, hparameters, mode="max"):
    """ONNX MaxPool / AveragePool; cache = (A_prev, hparameters)."""
    call = params.parse_pool(A_prev, hparameters, mode)
    op = "max_pool" if call.mode == "max" else "average_pool"
    if call.mode == "average" and call.divisor_override is not None:
        raise NotImplementedError("ONNX AveragePool has no divisor_override (declared unsupported)")
    _require(op, call.dtype)
    g = call.geometry
    common = {"kernel_shape": g.kernel, "strides": g.stride, "pads": _onnx_pads(g.pads),
              "ceil_mode": int(bool(hparameters.get("ceil_mode", False)))}
    X = _nchw(A_prev, call.dtype)
    if call.mode == "max":
        Y = _run("MaxPool", {"X": X}, dilations=g.dilation, **common)
    else:
        Y = _run("AveragePool", {"X": X}, count_include_pad=int(call.count_include_pad), **common)
    return _nhwc(Y), (A_prev, hparameters)
