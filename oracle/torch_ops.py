"""PyTorch as the oracle: the seed API's layers computed by torch, in float64, on the CPU.

Arrays cross the boundary in NHWC / (kh, kw, C_prev // groups, C) layout and are converted to
contiguous NCHW / (C, C_prev // groups, kh, kw) tensors here. Contiguous, not permuted views:
torch's float64 conv backward raises "grad_weight must be contiguous" on channels_last views
when the conv has one output channel.

Every function returns NumPy float64 arrays in the seed's layout, whatever the inputs' dtype:
float32 inputs are widened exactly, so the oracle's own rounding is that of float64.

Hyperparameters are passed as the reference's hparameters keys, so a reference call's dict
can be splatted in: ``conv_forward(A, W, b, **hp)``, ``pool_forward(A, mode=mode, **hp)``.
The tutorial's positional forms ``(..., stride, pad)`` and ``(..., f, stride, mode)`` still work.

* conv ``pad``: an int, (ph, pw), "same" and "valid" go to torch as they are (torch decides
  what "same" means); ((top, bottom), (left, right)) with unequal sides is F.pad then a
  conv without padding (a negative amount raises, as torch's conv does: F.pad would crop).
* ``b`` may be None (then conv_backward's db is None).
* max pooling's backward is refused (RuntimeError) where some window sees no real element
  (``max_pool_backward_unreliable``): torch then follows bogus indices, writing out of
  bounds (heap corruption, abort) or silently misplacing gradients (DESIGN.md §3).
  ``max_pool_backward_padded_explicitly`` is a safe second route for those geometries.
"""

from __future__ import annotations

import warnings
from typing import Any, Mapping, overload

import numpy as np
import torch
import torch.nn.functional as F
from torch.nn import grad as closed_form_grad

torch.set_num_threads(1)
# The public torch.use_deterministic_algorithms also imports torch._inductor to configure a
# compiler the oracle never uses (about 3 s per process on torch 2.13); the flag itself is this.
_set_deterministic = getattr(torch._C, "_set_deterministic_algorithms", None)
if _set_deterministic is None:
    torch.use_deterministic_algorithms(True)
else:
    _set_deterministic(True)


def nchw(x: np.ndarray, requires_grad: bool = False) -> torch.Tensor:
    """(m, H, W, C) array -> contiguous (m, C, H, W) float64 tensor."""
    t = torch.from_numpy(np.array(x.transpose(0, 3, 1, 2), dtype=np.float64, order="C"))  # a copy: inputs may be read-only
    return t.requires_grad_(requires_grad)


def nhwc(t: torch.Tensor) -> np.ndarray:
    """(m, C, H, W) tensor -> (m, H, W, C) float64 array."""
    return np.ascontiguousarray(t.detach().permute(0, 2, 3, 1).numpy())


def weight_to_torch(W: np.ndarray, requires_grad: bool = False) -> torch.Tensor:
    """(kh, kw, C_prev, C) array -> contiguous (C, C_prev, kh, kw) float64 tensor."""
    t = torch.from_numpy(np.array(W.transpose(3, 2, 0, 1), dtype=np.float64, order="C"))
    return t.requires_grad_(requires_grad)


def weight_from_torch(t: torch.Tensor) -> np.ndarray:
    return np.ascontiguousarray(t.detach().permute(2, 3, 1, 0).numpy())


def grad_of(t: torch.Tensor) -> torch.Tensor:
    """t's gradient after a backward pass that reached it."""
    if t.grad is None:
        raise RuntimeError("the backward pass did not reach this tensor")
    return t.grad


@overload
def bias_to_torch(b: np.ndarray, requires_grad: bool = False) -> torch.Tensor: ...
@overload
def bias_to_torch(b: None, requires_grad: bool = False) -> None: ...
def bias_to_torch(b: np.ndarray | None, requires_grad: bool = False) -> torch.Tensor | None:
    if b is None:
        return None
    return torch.from_numpy(np.array(b, dtype=np.float64).reshape(-1)).requires_grad_(requires_grad)


def _plain(value: Any) -> Any:
    """NumPy integers as Python ints, lists as tuples; anything else untouched (torch judges it)."""
    if isinstance(value, (tuple, list)):
        return tuple(_plain(v) for v in value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def _pair(value: Any) -> tuple:
    value = _plain(value)
    return value if isinstance(value, tuple) else (value, value)


def zero_pad(X: np.ndarray, pad: int) -> np.ndarray:
    return nhwc(F.pad(nchw(X), (pad, pad, pad, pad)))


def single_step(a_slice: np.ndarray, W: np.ndarray, b: np.ndarray) -> float:
    t = lambda x: torch.from_numpy(np.array(x, dtype=np.float64))  # noqa: E731  (a copy: x may be read-only)
    return float(torch.sum(t(a_slice) * t(W)) + t(b).reshape(()))


# ---- convolution -----------------------------------------------------------------------------


def _explicit_pads(pad: Any) -> tuple | None:
    """((top, bottom), (left, right)) when `pad` has a pair per axis with unequal sides, else None."""
    pad = _plain(pad)
    if not (isinstance(pad, tuple) and len(pad) == 2 and any(isinstance(p, tuple) for p in pad)):
        return None
    pads = tuple(p if isinstance(p, tuple) else (p, p) for p in pad)
    if all(lo == hi for lo, hi in pads):
        return None
    if any(v < 0 for p in pads for v in p):
        raise RuntimeError(f"negative padding is not supported (pad={pad})")
    return pads


def _conv_input(x: torch.Tensor, pad: Any) -> tuple[torch.Tensor, Any]:
    """(input, padding argument for F.conv2d): unequal sides are padded here, the rest by torch."""
    pads = _explicit_pads(pad)
    if pads is not None:
        (top, bottom), (left, right) = pads
        return F.pad(x, (left, right, top, bottom)), 0
    pad = _plain(pad)
    if isinstance(pad, tuple) and any(isinstance(p, tuple) for p in pad):  # ((p, p), (q, q))
        pad = tuple(p[0] if isinstance(p, tuple) else p for p in pad)
    return x, pad


def _conv2d(x, w, bias, stride, pad, dilation, groups):
    x, padding = _conv_input(x, pad)
    with warnings.catch_warnings():  # "same" with an even kernel: torch warns that it copies
        warnings.filterwarnings("ignore", message="Using padding='same'")
        return F.conv2d(x, w, bias, stride=_plain(stride), padding=padding, dilation=_plain(dilation), groups=_plain(groups))


def conv_forward(A_prev: np.ndarray, W: np.ndarray, b: np.ndarray | None, stride: Any, pad: Any, dilation: Any = 1, groups: int = 1) -> np.ndarray:
    with torch.no_grad():
        return nhwc(_conv2d(nchw(A_prev), weight_to_torch(W), bias_to_torch(b), stride, pad, dilation, groups))


def conv_backward(dZ: np.ndarray, A_prev: np.ndarray, W: np.ndarray, b: np.ndarray | None, stride: Any, pad: Any,
                  dilation: Any = 1, groups: int = 1):
    """(dA_prev, dW, db) by autograd; db is None when b is None."""
    a, w, bias = nchw(A_prev, True), weight_to_torch(W, True), bias_to_torch(b, True)
    _conv2d(a, w, bias, stride, pad, dilation, groups).backward(nchw(dZ))
    db = None if b is None or bias is None else grad_of(bias).numpy().reshape(b.shape)  # both None or neither
    return nhwc(grad_of(a)), weight_from_torch(grad_of(w)), db


def same_pads(kernel: tuple[int, int], dilation: Any) -> tuple:
    """torch's "same" padding as ((top, bottom), (left, right)): total dilation*(k-1), the odd
    one at the bottom / right (checked against padding="same" in tests/test_reference_full.py)."""
    totals = [d * (k - 1) for d, k in zip(_pair(dilation), kernel)]
    return tuple((t // 2, t - t // 2) for t in totals)


def conv_backward_direct(dZ: np.ndarray, A_prev: np.ndarray, W: np.ndarray, stride: Any, pad: Any, dilation: Any = 1, groups: int = 1):
    """(dA_prev, dW) by torch.nn.grad's closed forms: a second route, independent of autograd.
    Padding is made explicit here (the closed forms take symmetric integer padding only)."""
    pad = _plain(pad)
    if pad == "same":
        if _pair(stride) != (1, 1):
            raise RuntimeError("padding='same' is not supported for strided convolutions")
        pads = same_pads(W.shape[:2], dilation)
    elif pad == "valid":
        pads = ((0, 0), (0, 0))
    else:
        pads = tuple(p if isinstance(p, tuple) else (p, p) for p in _pair(pad))
    if any(v < 0 for p in pads for v in p):
        raise RuntimeError(f"negative padding is not supported (pad={pad})")
    (top, bottom), (left, right) = pads
    x = F.pad(nchw(A_prev), (left, right, top, bottom))
    g, w = nchw(dZ), weight_to_torch(W)
    kw = dict(stride=_plain(stride), padding=0, dilation=_plain(dilation), groups=_plain(groups))
    dA = closed_form_grad.conv2d_input(x.shape, w, g, **kw)
    dW = closed_form_grad.conv2d_weight(x, w.shape, g, **kw)
    H, W_ = A_prev.shape[1:3]
    return nhwc(dA[:, :, top : top + H, left : left + W_]), weight_from_torch(dW)


# ---- pooling ---------------------------------------------------------------------------------


def _max_pool(x, f, stride, pad, dilation, ceil_mode, return_indices=False):
    return F.max_pool2d(x, _plain(f), _plain(stride), _plain(pad), _plain(dilation), ceil_mode=_plain(ceil_mode), return_indices=return_indices)


def _avg_pool(x, f, stride, pad, dilation, ceil_mode, count_include_pad, divisor_override):
    if _pair(dilation) != (1, 1):
        raise ValueError(f"torch's avg_pool2d has no dilation, got dilation={dilation!r}")
    return F.avg_pool2d(x, _plain(f), _plain(stride), _plain(pad), ceil_mode=_plain(ceil_mode),
                        count_include_pad=_plain(count_include_pad), divisor_override=_plain(divisor_override))


def _pool(x, f, stride, mode, pad, dilation, ceil_mode, count_include_pad, divisor_override):
    if mode == "max":
        if not count_include_pad or divisor_override is not None:
            raise ValueError("count_include_pad / divisor_override apply to average pooling only")
        return _max_pool(x, f, stride, pad, dilation, ceil_mode)
    return _avg_pool(x, f, stride, pad, dilation, ceil_mode, count_include_pad, divisor_override)


def pool_forward(A_prev: np.ndarray, f: Any, stride: Any = None, mode: str = "max", pad: Any = 0, dilation: Any = 1,
                 ceil_mode: bool = False, count_include_pad: bool = True, divisor_override: int | None = None) -> np.ndarray:
    with torch.no_grad():
        return nhwc(_pool(nchw(A_prev), f, stride, mode, pad, dilation, ceil_mode, count_include_pad, divisor_override))


def max_pool_indices(A_prev: np.ndarray, f: Any, stride: Any = None, pad: Any = 0, dilation: Any = 1, ceil_mode: bool = False) -> np.ndarray:
    """Flat index (into each H*W plane) of the element torch selects for every window, NHWC.
    Meaningless for a window that sees no real element (see max_pool_backward_unreliable)."""
    with torch.no_grad():
        _, idx = _max_pool(nchw(A_prev), f, stride, pad, dilation, ceil_mode, return_indices=True)
    return np.ascontiguousarray(idx.permute(0, 2, 3, 1).numpy())


def _pool_output_size(n: int, k: int, s: int, p: int, d: int, ceil_mode: bool) -> int:
    """torch's pooling_output_shape (aten/src/ATen/native/Pool.h)."""
    out = (n + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (out - 1) * s >= n + p:
        out -= 1
    return out


def max_pool_backward_unreliable(A_shape: tuple, params: Mapping[str, Any]) -> bool:
    """Whether some max-pooling window of an input of shape (m, H, W, C) (NHWC) sees no real
    element, so that torch's backward must not be called. `params` are the pool hyperparameters
    (keys f, stride, and optionally pad, dilation, ceil_mode). Decided from the geometry alone:
    along each axis, window o has its taps at o*stride - pad + j*dilation, j < f; a window
    whose taps miss the input along either axis sees only padding."""
    kernel = _pair(params["f"])
    stride = kernel if params.get("stride") is None else _pair(params["stride"])
    pad, dilation = _pair(params.get("pad", 0)), _pair(params.get("dilation", 1))
    ceil_mode = bool(params.get("ceil_mode", False))
    for axis in range(2):
        n, k, s, p, d = A_shape[1 + axis], kernel[axis], stride[axis], pad[axis], dilation[axis]
        for o in range(_pool_output_size(n, k, s, p, d, ceil_mode)):
            start = o * s - p
            if not any(0 <= start + j * d < n for j in range(k)):
                return True
    return False


def pool_backward(dA: np.ndarray, A_prev: np.ndarray, f: Any, stride: Any = None, mode: str = "max", pad: Any = 0, dilation: Any = 1,
                  ceil_mode: bool = False, count_include_pad: bool = True, divisor_override: int | None = None) -> np.ndarray:
    if mode == "max" and max_pool_backward_unreliable(A_prev.shape, dict(f=f, stride=stride, pad=pad, dilation=dilation, ceil_mode=ceil_mode)):
        raise RuntimeError(
            "refusing torch's max_pool2d backward: a window sees no real element, where torch follows "
            "bogus indices (out-of-bounds writes or misplaced gradients); use max_pool_backward_padded_explicitly"
        )
    a = nchw(A_prev, True)
    _pool(a, f, stride, mode, pad, dilation, ceil_mode, count_include_pad, divisor_override).backward(nchw(dA))
    return nhwc(grad_of(a))


def max_pool_backward_padded_explicitly(dA: np.ndarray, A_prev: np.ndarray, f: Any, stride: Any = None, pad: Any = 0, dilation: Any = 1,
                                        ceil_mode: bool = False) -> np.ndarray:
    """Max pooling's input gradient with the -inf padding made explicit (F.pad) and torch's pool
    run without padding, so that every window holds at least one element and torch's indices
    are valid; gradients landing on padding are dropped with it. Safe for every geometry.
    It equals the reference semantics except where every real element of a window is -inf
    and the window starts in padding (then torch's pick is a padding element: no gradient)."""
    ph, pw = _pair(pad)
    kernel = _pair(f)
    stride = kernel if stride is None else _pair(stride)
    a = nchw(A_prev, True)
    padded = F.pad(a, (pw, pw, ph, ph), value=-np.inf)
    out = _max_pool(padded, kernel, stride, 0, dilation, ceil_mode)
    # with ceil_mode the unpadded-then-pooled input may keep one more window per axis (the
    # drop rule compares with the input size plus the left padding): the first ones are ours
    out[:, :, : dA.shape[1], : dA.shape[2]].backward(nchw(dA))
    return nhwc(grad_of(a))


def avg_pool_as_conv(A_prev: np.ndarray, f: Any, stride: Any = None, pad: Any = 0, divisor_override: int | None = None) -> np.ndarray:
    """Average pooling (count_include_pad, no ceil_mode) as a depthwise conv with a uniform
    kernel 1/(fh*fw), or 1/divisor_override: a second route."""
    C = A_prev.shape[3]
    kh, kw = _pair(f)
    stride = (kh, kw) if stride is None else _plain(stride)
    divisor = kh * kw if divisor_override is None else int(divisor_override)
    kernel = torch.full((C, 1, kh, kw), 1.0 / divisor, dtype=torch.float64)
    with torch.no_grad():
        return nhwc(F.conv2d(nchw(A_prev), kernel, stride=stride, padding=_plain(pad), groups=C))
