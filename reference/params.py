"""Input contract shared by both reference implementations.

Everything that decides whether a call is valid, and where its windows sit, lives here once:
array checks, hyperparameter parsing, and the window geometry (output size, padding,
dilation, ceil-mode clipping). ``loops.py`` and ``fast.py`` only compute.

Every rejection is a ``ValueError`` whose message names the parameter and the value it got.

The hyperparameters are torch's ``Conv2d`` / ``MaxPool2d`` / ``AvgPool2d`` ones; the tutorial's
(``{"stride": int, "pad": int}`` and ``{"f": int, "stride": int}``) are a strict subset and
mean what they always meant:

* conv: ``"stride"`` int | (sh, sw); ``"pad"`` int | (ph, pw) | ((top, bottom), (left, right))
  | ``"same"`` | ``"valid"``; optional ``"dilation"`` int | (dh, dw); optional ``"groups"`` int.
  W is (kh, kw, n_C_prev // groups, n_C); b is (1, 1, 1, n_C) or None.
* pool: ``"f"`` int | (fh, fw); ``"stride"`` int | (sh, sw) | None (None: the window size);
  optional ``"pad"`` int | (ph, pw) (symmetric per axis, at most half the window size);
  ``"dilation"`` (max pooling only); ``"ceil_mode"`` bool; ``"count_include_pad"`` bool and
  ``"divisor_override"`` nonzero int or None (average pooling only).
Pairs may be tuples or lists. An option of one pooling mode given a non-default value with
the other mode is rejected (torch's avg_pool2d has no dilation, max_pool2d no divisor).
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Any, Callable, Mapping, TypeVar

import numpy as np

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
POOL_MODES = ("max", "average")
CONV_REQUIRED = ("stride", "pad")
CONV_KEYS = CONV_REQUIRED + ("dilation", "groups")
POOL_REQUIRED = ("f", "stride")
POOL_KEYS = POOL_REQUIRED + ("pad", "dilation", "ceil_mode", "count_include_pad", "divisor_override")
PAD_WORDS = ("same", "valid")
AXES = ("height", "width")

Pair = tuple[int, int]  # (height, width)
Pads = tuple[Pair, Pair]  # ((top, bottom), (left, right))
_T = TypeVar("_T")


def per_axis(value: Callable[[int], _T]) -> tuple[_T, _T]:
    """(value(0), value(1)): one value per axis, height then width."""
    return value(0), value(1)


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


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def check_nonempty(name: str, array: np.ndarray) -> np.ndarray:
    """The contract never returns an empty result, so no input dimension may be empty."""
    if 0 in array.shape:
        raise ValueError(f"{name} must have no empty dimension, got shape {array.shape}")
    return array


def check_int(name: str, value: Any, minimum: int) -> int:
    """A Python or NumPy integer >= minimum (bools are not integers here), as a Python int."""
    if not _is_int(value):
        raise ValueError(f"{name} must be an integer, got {_describe(value)}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value!r}")
    return int(value)


def check_int_pair(name: str, value: Any, minimum: int) -> tuple[int, int]:
    """An integer (the same for both axes) or a pair (tuple or list) of integers, each >= minimum."""
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"{name} must be an integer or a pair of integers (height, width), got {_describe(value)}")
        return check_int(f"{name}[0]", value[0], minimum), check_int(f"{name}[1]", value[1], minimum)
    if not _is_int(value):
        raise ValueError(f"{name} must be an integer or a pair of integers (height, width), got {_describe(value)}")
    value = check_int(name, value, minimum)
    return value, value


def check_bool(name: str, value: Any) -> bool:
    """A Python or NumPy bool (integers such as 0 and 1 are not bools here), as a Python bool."""
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be a bool, got {_describe(value)}")
    return bool(value)


def check_real(name: str, value: Any) -> numbers.Real:
    """A real scalar (Python or NumPy; not bool, not complex)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a real number, got {_describe(value)}")
    return value


def check_keys(name: str, hparameters: Any, required: tuple[str, ...], allowed: tuple[str, ...]) -> Mapping[str, Any]:
    """A mapping holding every ``required`` key and no key outside ``allowed``."""
    if not isinstance(hparameters, Mapping):
        raise ValueError(f"{name} must be a dict (a mapping), got {_describe(hparameters)}")
    missing = [key for key in required if key not in hparameters]
    if missing:
        raise ValueError(f"{name} is missing key(s) {missing}; got keys {sorted(map(str, hparameters))}")
    unknown = [key for key in hparameters if key not in allowed]
    if unknown:
        raise ValueError(f"{name} has unknown key(s) {unknown}; allowed keys are {list(allowed)}")
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


# ---- geometry --------------------------------------------------------------------------------


def output_size(axis: str, size: int, kernel: int, stride: int, pad_lo: int, pad_hi: int, kernel_name: str,
                dilation: int, ceil_mode: bool) -> int:
    """Number of windows along one axis, torch's formula:
    floor((n + pad_lo + pad_hi - dilation*(k-1) - 1) / stride) + 1, rounded up instead with
    ceil_mode, which then drops a last window that would start in the trailing padding
    (it is kept only if (out-1)*stride < n + pad_lo).

    A result < 1 is rejected: the (dilated) kernel is larger than the padded input (with
    ceil_mode, by stride or more).
    """
    padded = size + pad_lo + pad_hi
    extent = dilation * (kernel - 1) + 1
    span = padded - extent + (stride - 1 if ceil_mode else 0)
    if span < 0:
        dilated = f" with dilation {dilation} (extent {extent})" if dilation != 1 else ""
        ceil = f", by {stride} or more with ceil_mode and stride {stride}" if ceil_mode and stride > 1 else ""
        raise ValueError(
            f"{kernel_name}={kernel}{dilated} is larger than the padded input {axis} {padded} "
            f"({axis}={size} + padding {pad_lo}+{pad_hi}){ceil}"
        )
    out = span // stride + 1
    if ceil_mode and (out - 1) * stride >= size + pad_lo:
        out -= 1
    return out


@dataclass(frozen=True)
class WindowGeometry:
    """Where the windows of a conv or pool layer sit, per spatial axis (H, then W).

    Along an axis, input index i is a real element when 0 <= i < size; padding adds pad_lo
    positions before it (i < 0) and pad_hi after it (size <= i < size + pad_hi). Window o has
    its taps at o*stride - pad_lo + j*dilation, j = 0 .. kernel-1. With ceil_mode the last
    window may reach past the padded input: those taps are clipped away (``overhang``).
    Padded arrays (``pad_width``) hold input index i at i + pad_lo.
    """

    size: Pair  # input height, width
    kernel: Pair
    stride: Pair
    pads: Pads
    out: Pair
    dilation: Pair = (1, 1)

    @property
    def extent(self) -> Pair:
        """Span of one window, per axis: dilation * (kernel - 1) + 1."""
        return per_axis(lambda a: self.dilation[a] * (self.kernel[a] - 1) + 1)

    @property
    def pad(self) -> tuple[int, int]:
        """The tutorial's symmetric padding (ph, pw); asymmetric geometries have none."""
        (top, bottom), (left, right) = self.pads
        if top != bottom or left != right:
            raise ValueError(f"the padding {self.pads} is not symmetric per axis: use pads")
        return top, left

    @property
    def overhang(self) -> Pair:
        """How far the last window reaches past the padded input, per axis (ceil_mode only)."""
        extent = self.extent
        return per_axis(lambda a: max(0, (self.out[a] - 1) * self.stride[a] + extent[a] - (self.size[a] + sum(self.pads[a]))))

    def pad_width(self, overhang: bool = False) -> tuple:
        """np.pad widths of an (m, H, W, C) array: the padding, plus the overhang if asked."""
        (top, bottom), (left, right) = self.pads
        oh, ow = self.overhang if overhang else (0, 0)
        return ((0, 0), (top, bottom + oh), (left, right + ow), (0, 0))

    def taps(self, axis: int, o: int) -> range:
        """Input indices (padding included, negative before the input) of window o's taps along
        `axis` that lie in the padded input: the clipped window."""
        start = o * self.stride[axis] - self.pads[axis][0]
        stop = min(start + self.extent[axis], self.size[axis] + self.pads[axis][1])
        return range(start, stop, self.dilation[axis])

    def real_taps(self, axis: int, o: int) -> range:
        """Input indices of window o's taps along `axis` that are real elements (maybe none)."""
        t = self.taps(axis, o)
        skipped = max(0, -(t.start // t.step))  # taps before index 0: ceil(-start / dilation)
        first = t.start + skipped * t.step
        return range(first, min(t.stop, self.size[axis]), t.step)

    def window(self, h: int, w: int) -> tuple[slice, slice]:
        """Rows and columns of the padded input (``pad_width()``) seen by output position (h, w)."""
        rows, cols = self.taps(0, h), self.taps(1, w)
        (top, _), (left, _) = self.pads
        return (
            slice(rows.start + top, rows.stop + top, rows.step),
            slice(cols.start + left, cols.stop + left, cols.step),
        )

    def real_window(self, h: int, w: int) -> tuple[slice, slice]:
        """Rows and columns of the unpadded input seen by output position (h, w) (maybe empty)."""
        rows, cols = self.real_taps(0, h), self.real_taps(1, w)
        return slice(rows.start, rows.stop, rows.step), slice(cols.start, cols.stop, cols.step)

    def offset_slices(self, p: int, q: int) -> tuple[slice, slice]:
        """Rows and columns that kernel offset (p, q) sees, one per output position, in the
        input padded with ``pad_width(overhang=True)``."""
        (sh, sw), (dh, dw) = self.stride, self.dilation
        return (
            slice(p * dh, p * dh + sh * (self.out[0] - 1) + 1, sh),
            slice(q * dw, q * dw + sw * (self.out[1] - 1) + 1, sw),
        )

    def tap_indices(self, axis: int) -> np.ndarray:
        """(out, kernel) array: the input index of every tap along `axis`, unclipped."""
        starts = np.arange(self.out[axis]) * self.stride[axis] - self.pads[axis][0]
        return starts[:, None] + np.arange(self.kernel[axis]) * self.dilation[axis]

    def unpad(self, padded: np.ndarray) -> np.ndarray:
        """The part of a padded (m, H', W', C) array (with or without overhang) over the real input."""
        (top, _), (left, _) = self.pads
        H, W = self.size
        return padded[:, top : top + H, left : left + W, :]


def _geometry(A_prev: np.ndarray, kernel: Pair, stride: Pair, pads: Pads, kernel_names: tuple[str, str],
              dilation: Pair = (1, 1), ceil_mode: bool = False) -> WindowGeometry:
    size = (A_prev.shape[1], A_prev.shape[2])
    out = per_axis(lambda a: output_size(AXES[a], size[a], kernel[a], stride[a], *pads[a], kernel_names[a], dilation[a], ceil_mode))
    return WindowGeometry(size=size, kernel=kernel, stride=stride, pads=pads, out=out, dilation=dilation)


# ---- conv ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConvCall:
    geometry: WindowGeometry
    dtype: np.dtype
    n_C: int
    groups: int = 1


def _conv_pads(value: Any, stride: Pair, kernel: Pair, dilation: Pair) -> Pads:
    """((top, bottom), (left, right)) from any accepted form of hparameters['pad']."""
    name = "hparameters['pad']"
    if isinstance(value, str):
        if value not in PAD_WORDS:
            raise ValueError(f"{name} must be an integer, a pair, a pair of pairs, 'same' or 'valid', got {_describe(value)}")
        if value == "valid":
            return (0, 0), (0, 0)
        if stride != (1, 1):
            raise ValueError(f"{name}='same' needs stride 1 (as torch), got hparameters['stride']={stride}")
        # the total padding dilation*(k-1) keeps the size; an odd total puts the extra at the end
        totals = per_axis(lambda a: dilation[a] * (kernel[a] - 1))
        return per_axis(lambda a: (totals[a] // 2, totals[a] - totals[a] // 2))
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"{name} must be an integer, a pair (ph, pw) or a pair of pairs ((top, bottom), (left, right)), got {_describe(value)}")
        return per_axis(lambda a: _side_pads(f"{name}[{a}]", value[a]))
    if not _is_int(value):
        raise ValueError(f"{name} must be an integer, a pair, a pair of pairs, 'same' or 'valid', got {_describe(value)}")
    p = check_int(name, value, 0)
    return (p, p), (p, p)


def _side_pads(name: str, value: Any) -> Pair:
    """(before, after) of one axis: an integer for both sides, or a pair."""
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"{name} must be an integer or a pair (before, after), got {_describe(value)}")
        return check_int(f"{name}[0]", value[0], 0), check_int(f"{name}[1]", value[1], 0)
    p = check_int(name, value, 0)
    return p, p


def parse_conv(A_prev: Any, W: Any, b: Any, hparameters: Any) -> ConvCall:
    """Validate a conv_forward call; return its geometry and result dtype."""
    A_prev = check_float_array("A_prev", A_prev, 4)
    W = check_float_array("W", W, 4)
    if b is not None:
        b = check_float_array("b", b, 4)
    hp = check_keys("hparameters", hparameters, CONV_REQUIRED, CONV_KEYS)
    stride = check_int_pair("hparameters['stride']", hp["stride"], 1)
    dilation = check_int_pair("hparameters['dilation']", hp.get("dilation", 1), 1)
    groups = check_int("hparameters['groups']", hp.get("groups", 1), 1)
    kh, kw, c_in, n_C = W.shape
    check_nonempty("W", W)
    pads = _conv_pads(hp["pad"], stride, (kh, kw), dilation)
    check_nonempty("A_prev", A_prev)
    if groups == 1:
        if c_in != A_prev.shape[3]:
            raise ValueError(
                f"W.shape[2] (input channels) must equal A_prev.shape[3]={A_prev.shape[3]}, got W of shape {W.shape}"
            )
    else:
        if n_C % groups:
            raise ValueError(f"hparameters['groups']={groups} must divide W.shape[3] (output channels), got W of shape {W.shape}")
        if A_prev.shape[3] % groups:
            raise ValueError(f"hparameters['groups']={groups} must divide A_prev.shape[3] (input channels), got A_prev of shape {A_prev.shape}")
        if c_in * groups != A_prev.shape[3]:
            raise ValueError(
                f"W.shape[2] (input channels per group) must equal A_prev.shape[3] / groups = "
                f"{A_prev.shape[3]} / {groups}, got W of shape {W.shape}"
            )
    if b is not None:
        check_shape("b", b, (1, 1, 1, n_C))
    geometry = _geometry(A_prev, (kh, kw), stride, pads, ("W.shape[0]", "W.shape[1]"), dilation)
    dtype = np.result_type(A_prev, W) if b is None else np.result_type(A_prev, W, b)
    return ConvCall(geometry, dtype, n_C, groups)


def parse_conv_cache(dZ: Any, cache: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, ConvCall]:
    """Validate a conv_backward call: the cache must be a valid conv call, dZ its output's shape."""
    A_prev, W, b, hparameters = check_cache("cache", cache, 4)
    call = parse_conv(A_prev, W, b, hparameters)
    dZ = check_float_array("dZ", dZ, 4)
    check_shape("dZ", dZ, (A_prev.shape[0], *call.geometry.out, call.n_C))
    return A_prev, W, b, ConvCall(call.geometry, np.result_type(call.dtype, dZ), call.n_C, call.groups)


# ---- pool ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PoolCall:
    geometry: WindowGeometry
    dtype: np.dtype
    mode: str
    count_include_pad: bool = True
    divisor_override: int | None = None


def parse_pool(A_prev: Any, hparameters: Any, mode: Any) -> PoolCall:
    """Validate a pool_forward call; return its geometry and result dtype."""
    A_prev = check_float_array("A_prev", A_prev, 4)
    hp = check_keys("hparameters", hparameters, POOL_REQUIRED, POOL_KEYS)
    f_name = "hparameters['f']"
    kernel = check_int_pair(f_name, hp["f"], 1)
    stride = kernel if hp["stride"] is None else check_int_pair("hparameters['stride']", hp["stride"], 1)
    mode = check_mode(mode)
    pad = check_int_pair("hparameters['pad']", hp.get("pad", 0), 0)
    dilation = check_int_pair("hparameters['dilation']", hp.get("dilation", 1), 1)
    ceil_mode = check_bool("hparameters['ceil_mode']", hp.get("ceil_mode", False))
    count_include_pad = check_bool("hparameters['count_include_pad']", hp.get("count_include_pad", True))
    divisor_override = hp.get("divisor_override")
    if divisor_override is not None:
        if not _is_int(divisor_override) or divisor_override == 0:
            raise ValueError(f"hparameters['divisor_override'] must be a nonzero integer or None, got {_describe(divisor_override)}")
        divisor_override = int(divisor_override)
    if mode == "average" and dilation != (1, 1):
        raise ValueError(f"hparameters['dilation'] must be 1 for average pooling (torch's avg_pool2d has none), got {hp['dilation']!r}")
    if mode == "max" and not count_include_pad:
        raise ValueError("hparameters['count_include_pad'] applies to average pooling only, got False with mode 'max'")
    if mode == "max" and divisor_override is not None:
        raise ValueError(f"hparameters['divisor_override'] applies to average pooling only, got {divisor_override!r} with mode 'max'")
    check_nonempty("A_prev", A_prev)
    for a in range(2):
        if pad[a] > kernel[a] // 2:
            raise ValueError(
                f"hparameters['pad']={hp['pad']!r} must be at most half the window size "
                f"hparameters['f']={hp['f']!r} along the {AXES[a]} ({kernel[a]} // 2 = {kernel[a] // 2})"
            )
    kernel_names = (f_name,) * 2 if _is_int(hp["f"]) else (f"{f_name}[0]", f"{f_name}[1]")
    geometry = _geometry(A_prev, kernel, stride, ((pad[0], pad[0]), (pad[1], pad[1])), kernel_names, dilation, ceil_mode)
    return PoolCall(geometry, A_prev.dtype, mode, count_include_pad, divisor_override)


def parse_pool_cache(dA: Any, cache: Any, mode: Any) -> tuple[np.ndarray, PoolCall]:
    """Validate a pool_backward call: the cache must be a valid pool call, dA its output's shape."""
    A_prev, hparameters = check_cache("cache", cache, 2)
    call = parse_pool(A_prev, hparameters, mode)
    dA = check_float_array("dA", dA, 4)
    check_shape("dA", dA, (A_prev.shape[0], *call.geometry.out, A_prev.shape[3]))
    return A_prev, PoolCall(call.geometry, np.result_type(call.dtype, dA), call.mode, call.count_include_pad, call.divisor_override)


# ---- the small functions ---------------------------------------------------------------------


def check_pad_amount(pad: Any) -> int:
    return check_int("pad", pad, 0)


def check_window(name: str, x: Any) -> np.ndarray:
    """A 2-D window of a float32 / float64 or any integer dtype (the assignment's own tests pass
    int64 windows). Values are compared in the window's own dtype, so integers are exact at any
    magnitude; bool is not an integer here."""
    if not isinstance(x, np.ndarray):
        raise ValueError(f"{name} must be a numpy.ndarray, got {_describe(x)}")
    if x.ndim != 2:
        raise ValueError(f"{name} must have 2 dimensions, got shape {x.shape}")
    if x.dtype not in FLOAT_DTYPES and x.dtype.kind not in "iu":
        raise ValueError(f"{name} must have an integer dtype or float32 / float64, got dtype {x.dtype}")
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
