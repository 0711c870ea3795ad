"""Input contract shared by both reference implementations.

Everything that decides whether a call is valid, and what shape its result has, lives here
once: array checks, hyperparameter parsing, and the output-size formula. ``loops.py`` and
``fast.py`` only compute.

Every rejection is a ``ValueError`` whose message names the parameter and the value it got.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
POOL_MODES = ("max", "average")
CONV_KEYS = ("stride", "pad")
POOL_KEYS = ("f", "stride")


def _describe(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"array of shape {value.shape} and dtype {value.dtype}"
    return f"{value!r} ({type(value).__name__})"


def check_float_array(name: str, value: Any, ndim: int) -> np.ndarray:
    """``value`` as an ndarray of rank ``ndim`` and dtype float32/float64, else ValueError."""
    if not isinstance(value, np.ndarray):
        raise ValueError(f"{name} must be a numpy.ndarray, got {_describe(value)}")
    if value.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimensions, got shape {value.shape}")
    if value.dtype not in FLOAT_DTYPES:
        raise ValueError(f"{name} must have dtype float32 or float64, got dtype {value.dtype}")
    return value


def check_int(name: str, value: Any, minimum: int) -> int:
    """A Python or NumPy integer >= minimum (bools are not integers here), as a Python int."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be an integer, got {_describe(value)}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value!r}")
    return int(value)


def check_real(name: str, value: Any) -> float:
    """A real scalar (Python or NumPy; not bool, not complex)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a real number, got {_describe(value)}")
    return value


def check_keys(name: str, hparameters: Any, required: tuple[str, ...]) -> Mapping[str, Any]:
    if not isinstance(hparameters, Mapping):
        raise ValueError(f"{name} must be a dict (a mapping), got {_describe(hparameters)}")
    missing = [key for key in required if key not in hparameters]
    if missing:
        raise ValueError(f"{name} is missing key(s) {missing}; got keys {sorted(map(str, hparameters))}")
    unknown = [key for key in hparameters if key not in required]
    if unknown:
        raise ValueError(f"{name} has unknown key(s) {unknown}; allowed keys are {list(required)}")
    return hparameters


def check_mode(mode: Any) -> str:
    if not isinstance(mode, str) or mode not in POOL_MODES:
        raise ValueError(f"mode must be one of {POOL_MODES}, got {_describe(mode)}")
    return mode


def check_shape(name: str, array: np.ndarray, expected: tuple[int, ...]) -> None:
    if array.shape != tuple(expected):
        raise ValueError(f"{name} must have shape {tuple(expected)}, got shape {array.shape}")


def check_cache(name: str, cache: Any, length: int) -> tuple:
    if not isinstance(cache, tuple) or len(cache) != length:
        raise ValueError(f"{name} must be a tuple of {length} items, got {_describe(cache)}")
    return cache


def output_size(axis: str, size: int, kernel: int, stride: int, pad_lo: int, pad_hi: int, kernel_name: str) -> int:
    """Number of window positions along one axis: floor((n + pads - k) / s) + 1.

    A kernel larger than the padded input is rejected rather than giving an empty output.
    """
    padded = size + pad_lo + pad_hi
    if kernel > padded:
        raise ValueError(
            f"{kernel_name}={kernel} is larger than the padded input {axis} {padded} "
            f"({axis}={size} + padding {pad_lo}+{pad_hi})"
        )
    return (padded - kernel) // stride + 1


@dataclass(frozen=True)
class WindowGeometry:
    """Where the windows of a conv or pool layer sit, per spatial axis (H, then W)."""

    kernel: tuple[int, int]
    stride: tuple[int, int]
    pad: tuple[int, int]  # symmetric per axis: rows added at top and bottom, columns at left and right
    out: tuple[int, int]

    def window(self, h: int, w: int) -> tuple[slice, slice]:
        """Rows and columns of the padded input seen by output position (h, w)."""
        top = h * self.stride[0]
        left = w * self.stride[1]
        return slice(top, top + self.kernel[0]), slice(left, left + self.kernel[1])

    def offset_slices(self, p: int, q: int) -> tuple[slice, slice]:
        """Padded-input rows and columns that kernel offset (p, q) sees, one per output position."""
        sh, sw = self.stride
        return (
            slice(p, p + sh * (self.out[0] - 1) + 1, sh),
            slice(q, q + sw * (self.out[1] - 1) + 1, sw),
        )

    def unpad(self, padded: np.ndarray) -> np.ndarray:
        """The part of an (m, H + 2ph, W + 2pw, C) array that lies over the real input."""
        ph, pw = self.pad
        return padded[:, ph : padded.shape[1] - ph, pw : padded.shape[2] - pw, :]


def _geometry(A_prev: np.ndarray, kernel: tuple[int, int], stride: int, pad: int, kernel_names: tuple[str, str]) -> WindowGeometry:
    out = (
        output_size("height", A_prev.shape[1], kernel[0], stride, pad, pad, kernel_names[0]),
        output_size("width", A_prev.shape[2], kernel[1], stride, pad, pad, kernel_names[1]),
    )
    return WindowGeometry(kernel=kernel, stride=(stride, stride), pad=(pad, pad), out=out)


@dataclass(frozen=True)
class ConvCall:
    geometry: WindowGeometry
    dtype: np.dtype
    n_C: int


def parse_conv(A_prev: Any, W: Any, b: Any, hparameters: Any) -> ConvCall:
    """Validate a conv_forward call; return its geometry and result dtype."""
    A_prev = check_float_array("A_prev", A_prev, 4)
    W = check_float_array("W", W, 4)
    b = check_float_array("b", b, 4)
    hp = check_keys("hparameters", hparameters, CONV_KEYS)
    stride = check_int("hparameters['stride']", hp["stride"], 1)
    pad = check_int("hparameters['pad']", hp["pad"], 0)
    kh, kw, c_in, n_C = W.shape
    if min(W.shape) < 1:
        raise ValueError(f"W must have no empty dimension, got shape {W.shape}")
    if min(A_prev.shape) < 1:
        raise ValueError(f"A_prev must have no empty dimension, got shape {A_prev.shape}")
    if c_in != A_prev.shape[3]:
        raise ValueError(
            f"W.shape[2] (input channels) must equal A_prev.shape[3]={A_prev.shape[3]}, got W of shape {W.shape}"
        )
    check_shape("b", b, (1, 1, 1, n_C))
    geometry = _geometry(A_prev, (kh, kw), stride, pad, ("W.shape[0]", "W.shape[1]"))
    return ConvCall(geometry, np.result_type(A_prev, W, b), n_C)


def parse_conv_cache(dZ: Any, cache: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, ConvCall]:
    """Validate a conv_backward call: the cache must be a valid conv call, dZ its output's shape."""
    A_prev, W, b, hparameters = check_cache("cache", cache, 4)
    call = parse_conv(A_prev, W, b, hparameters)
    dZ = check_float_array("dZ", dZ, 4)
    check_shape("dZ", dZ, (A_prev.shape[0], *call.geometry.out, call.n_C))
    return A_prev, W, b, ConvCall(call.geometry, np.result_type(call.dtype, dZ), call.n_C)


@dataclass(frozen=True)
class PoolCall:
    geometry: WindowGeometry
    dtype: np.dtype
    mode: str


def parse_pool(A_prev: Any, hparameters: Any, mode: Any) -> PoolCall:
    """Validate a pool_forward call; return its geometry and result dtype."""
    A_prev = check_float_array("A_prev", A_prev, 4)
    hp = check_keys("hparameters", hparameters, POOL_KEYS)
    f = check_int("hparameters['f']", hp["f"], 1)
    stride = check_int("hparameters['stride']", hp["stride"], 1)
    mode = check_mode(mode)
    if min(A_prev.shape) < 1:
        raise ValueError(f"A_prev must have no empty dimension, got shape {A_prev.shape}")
    geometry = _geometry(A_prev, (f, f), stride, 0, ("hparameters['f']",) * 2)
    return PoolCall(geometry, A_prev.dtype, mode)


def parse_pool_cache(dA: Any, cache: Any, mode: Any) -> tuple[np.ndarray, PoolCall]:
    """Validate a pool_backward call: the cache must be a valid pool call, dA its output's shape."""
    A_prev, hparameters = check_cache("cache", cache, 2)
    call = parse_pool(A_prev, hparameters, mode)
    dA = check_float_array("dA", dA, 4)
    check_shape("dA", dA, (A_prev.shape[0], *call.geometry.out, A_prev.shape[3]))
    return A_prev, PoolCall(call.geometry, np.result_type(call.dtype, dA), call.mode)


def check_pad_amount(pad: Any) -> int:
    return check_int("pad", pad, 0)


def check_window(name: str, x: Any) -> np.ndarray:
    x = check_float_array(name, x, 2)
    if x.size == 0:
        raise ValueError(f"{name} must not be empty, got shape {x.shape}")
    return x


def check_distribute_shape(shape: Any) -> tuple[int, int]:
    if not isinstance(shape, (tuple, list)) or len(shape) != 2:
        raise ValueError(f"shape must be a pair of positive sizes (n_H, n_W), got {_describe(shape)}")
    return check_int("shape[0]", shape[0], 1), check_int("shape[1]", shape[1], 1)


def check_single_step(a_slice_prev: Any, W: Any, b: Any) -> np.dtype:
    a_slice_prev = check_float_array("a_slice_prev", a_slice_prev, 3)
    W = check_float_array("W", W, 3)
    b = check_float_array("b", b, 3)
    check_shape("W", W, a_slice_prev.shape)
    check_shape("b", b, (1, 1, 1))
    return np.result_type(a_slice_prev, W, b)
