"""An independent vectorized NumPy implementation of the tutorial's eight CNN layer functions
(NHWC): sliding-window views, row blocks, GEMMs and np.add.at scatters, float64 accumulation.
Tutorial API only (conv {"stride", "pad"}, pool {"f", "stride"}, square W, b (1, 1, 1, n_C)),
strict on the open points: an empty batch and mixed float32/float64 arrays are ValueErrors.
"""

import functools

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

__all__ = [
    "zero_pad",
    "conv_single_step",
    "conv_forward",
    "conv_backward",
    "pool_forward",
    "create_mask_from_window",
    "distribute_value",
    "pool_backward",
]

# Largest number of float64 elements a row block of windows may hold (about 32 MiB).
_BLOCK_ELEMS = 1 << 22


# ----------------------------------------------------------------------------- validation


def _describe(x):
    if isinstance(x, np.ndarray):
        return f"array of dtype {x.dtype} and shape {x.shape}"
    text = repr(x)
    if len(text) > 80:
        text = text[:77] + "..."
    return f"{type(x).__name__} {text}"


def _float_array(func, name, x, ndim):
    """x must be a non-empty ndarray of float32/float64 with ndim dimensions."""
    if not isinstance(x, np.ndarray):
        raise ValueError(f"{func}: {name} must be a NumPy ndarray, got {_describe(x)}")
    if x.dtype.kind != "f" or x.dtype.itemsize not in (4, 8):
        raise ValueError(
            f"{func}: {name} must have dtype float32 or float64, got dtype {x.dtype}"
        )
    if x.ndim != ndim:
        raise ValueError(
            f"{func}: {name} must be a {ndim}-D array, got {x.ndim}-D with shape {x.shape}"
        )
    if 0 in x.shape:
        raise ValueError(
            f"{func}: {name} must not be empty (no axis of size 0, the batch axis included), "
            f"got shape {x.shape}"
        )
    return np.float32 if x.dtype.itemsize == 4 else np.float64


def _same_dtype(func, named):
    """All arrays of one call must share one dtype (strict: no float32/float64 mix)."""
    kinds = {np.dtype(t) for _, t in named}
    if len(kinds) > 1:
        desc = ", ".join(f"{n} {np.dtype(t)}" for n, t in named)
        raise ValueError(f"{func}: mixed float32/float64 arrays are not accepted, got {desc}")
    return named[0][1]


def _is_int(v):
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))


def _int_param(func, name, v, minimum):
    if not _is_int(v):
        raise ValueError(f"{func}: {name} must be an integer, got {type(v).__name__} {v!r}")
    if v < minimum:
        raise ValueError(f"{func}: {name} must be >= {minimum}, got {v!r}")
    return int(v)


def _hparams(func, hparameters, keys):
    if not isinstance(hparameters, dict):
        raise ValueError(
            f"{func}: hparameters must be a dict with keys {sorted(keys)}, "
            f"got {type(hparameters).__name__} {hparameters!r}"
        )
    got = set(hparameters.keys())
    missing = [k for k in keys if k not in got]
    unknown = [k for k in got if k not in keys]
    if missing or unknown:
        raise ValueError(
            f"{func}: hparameters must have exactly the keys {sorted(keys)}; "
            f"missing {missing}, unknown {sorted(map(repr, unknown))}, got {hparameters!r}"
        )


def _mode(func, mode):
    if not isinstance(mode, str) or mode not in ("max", "average"):
        raise ValueError(f"{func}: mode must be 'max' or 'average', got {mode!r}")
    return str(mode)


def _conv_setup(func, A_prev, W, b, hparameters):
    ta = _float_array(func, "A_prev", A_prev, 4)
    tw = _float_array(func, "W", W, 4)
    tb = _float_array(func, "b", b, 4)
    dtype = _same_dtype(func, [("A_prev", ta), ("W", tw), ("b", tb)])
    f, f2, c_w, n_c = W.shape
    if f != f2:
        raise ValueError(f"{func}: W must be square (f, f, n_C_prev, n_C), got shape {W.shape}")
    if c_w != A_prev.shape[3]:
        raise ValueError(
            f"{func}: W has {c_w} input channels (shape {W.shape}) but A_prev has "
            f"{A_prev.shape[3]} (shape {A_prev.shape})"
        )
    if b.shape != (1, 1, 1, n_c):
        raise ValueError(f"{func}: b must have shape (1, 1, 1, {n_c}), got shape {b.shape}")
    _hparams(func, hparameters, ("stride", "pad"))
    stride = _int_param(func, "hparameters['stride']", hparameters["stride"], 1)
    pad = _int_param(func, "hparameters['pad']", hparameters["pad"], 0)
    m, n_h_prev, n_w_prev, _ = A_prev.shape
    for axis, n in (("height", n_h_prev), ("width", n_w_prev)):
        if f > n + 2 * pad:
            raise ValueError(
                f"{func}: kernel size f={f} is larger than the padded input {axis} "
                f"{n} + 2*{pad} = {n + 2 * pad} (W shape {W.shape}, A_prev shape {A_prev.shape})"
            )
    n_h = (n_h_prev + 2 * pad - f) // stride + 1
    n_w = (n_w_prev + 2 * pad - f) // stride + 1
    return dtype, f, stride, pad, n_h, n_w


def _pool_setup(func, A_prev, hparameters, mode):
    dtype = _float_array(func, "A_prev", A_prev, 4)
    _hparams(func, hparameters, ("f", "stride"))
    f = _int_param(func, "hparameters['f']", hparameters["f"], 1)
    stride = _int_param(func, "hparameters['stride']", hparameters["stride"], 1)
    mode = _mode(func, mode)
    _, n_h_prev, n_w_prev, _ = A_prev.shape
    for axis, n in (("height", n_h_prev), ("width", n_w_prev)):
        if f > n:
            raise ValueError(
                f"{func}: window size hparameters['f']={f} is larger than the input {axis} {n} "
                f"(A_prev shape {A_prev.shape})"
            )
    n_h = (n_h_prev - f) // stride + 1
    n_w = (n_w_prev - f) // stride + 1
    return dtype, f, stride, mode, n_h, n_w


def _cache(func, cache, length, what):
    if not isinstance(cache, tuple) or len(cache) != length:
        got = f"tuple of length {len(cache)}" if isinstance(cache, tuple) else _describe(cache)
        raise ValueError(f"{func}: cache must be a tuple {what}, got {got}")
    return cache


# ----------------------------------------------------------------------------- helpers


def _quiet(fn):
    """Run fn with NumPy's floating-point warnings off: NaN and inf propagate silently."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with np.errstate(all="ignore"):
            return fn(*args, **kwargs)

    return wrapper


def _row_blocks(n_rows, elems_per_row):
    """Split range(n_rows) into blocks holding at most about _BLOCK_ELEMS elements each."""
    rows = max(1, _BLOCK_ELEMS // max(1, elems_per_row))
    for start in range(0, n_rows, rows):
        yield start, min(n_rows, start + rows)


def _padded64(X, pad):
    """A new float64 array: X with pad zeros around height and width (X is never written)."""
    m, h, w, c = X.shape
    out = np.zeros((m, h + 2 * pad, w + 2 * pad, c), dtype=np.float64)
    out[:, pad : pad + h, pad : pad + w, :] = X
    return out


def _windows(X, f, stride, n_h, n_w):
    """Read-only strided view of the f x f windows: (m, n_h, n_w, C, f, f)."""
    win = sliding_window_view(X, (f, f), axis=(1, 2))
    return win[:, ::stride, ::stride][:, :n_h, :n_w]


def _offsets(h0, h1, n_w, f, stride):
    """Row and column indices of window elements: rows (bh, 1, f, 1), columns (1, n_w, 1, f)."""
    rows = (np.arange(h0, h1) * stride)[:, None, None, None] + np.arange(f)[None, None, :, None]
    cols = (np.arange(n_w) * stride)[None, :, None, None] + np.arange(f)[None, None, None, :]
    return rows, cols


def _select(win_flat):
    """Index along the last axis that max pooling picks: the first maximum; the last NaN."""
    idx = np.argmax(win_flat, axis=-1)
    if win_flat.dtype.kind == "f":
        nan = np.isnan(win_flat)
        any_nan = nan.any(axis=-1)
        if any_nan.any():
            k = win_flat.shape[-1]
            last_nan = k - 1 - np.argmax(nan[..., ::-1], axis=-1)
            idx = np.where(any_nan, last_nan, idx)
    return idx


# ----------------------------------------------------------------------------- layers


@_quiet
def zero_pad(X, pad):
    """Pad height and width of X (m, n_H, n_W, n_C) with pad zeros on each side."""
    dtype = _float_array("zero_pad", "X", X, 4)
    pad = _int_param("zero_pad", "pad", pad, 0)
    m, h, w, c = X.shape
    out = np.zeros((m, h + 2 * pad, w + 2 * pad, c), dtype=dtype)
    out[:, pad : pad + h, pad : pad + w, :] = X
    return out


@_quiet
def conv_single_step(a_slice_prev, W, b):
    """sum(a_slice_prev * W) + b as a NumPy floating scalar."""
    func = "conv_single_step"
    ta = _float_array(func, "a_slice_prev", a_slice_prev, 3)
    tw = _float_array(func, "W", W, 3)
    tb = _float_array(func, "b", b, 3)
    dtype = _same_dtype(func, [("a_slice_prev", ta), ("W", tw), ("b", tb)])
    if W.shape != a_slice_prev.shape:
        raise ValueError(
            f"{func}: W must have the shape of a_slice_prev {a_slice_prev.shape}, got {W.shape}"
        )
    if b.shape != (1, 1, 1):
        raise ValueError(f"{func}: b must have shape (1, 1, 1), got shape {b.shape}")
    s = np.sum(a_slice_prev.astype(np.float64) * W.astype(np.float64))
    z = s + b.astype(np.float64).reshape(())
    return dtype(z)


@_quiet
def conv_forward(A_prev, W, b, hparameters):
    """Cross-correlation of A_prev with W plus b; returns (Z, cache)."""
    dtype, f, stride, pad, n_h, n_w = _conv_setup("conv_forward", A_prev, W, b, hparameters)
    m, _, _, c_prev = A_prev.shape
    n_c = W.shape[3]
    a_pad = _padded64(A_prev, pad)
    win = _windows(a_pad, f, stride, n_h, n_w)  # (m, n_h, n_w, C, f, f)
    w_mat = W.astype(np.float64).transpose(2, 0, 1, 3).reshape(c_prev * f * f, n_c)
    b64 = b.astype(np.float64).reshape(n_c)
    Z = np.empty((m, n_h, n_w, n_c), dtype=dtype)
    for h0, h1 in _row_blocks(n_h, m * n_w * c_prev * f * f):
        cols = win[:, h0:h1].reshape(-1, c_prev * f * f)
        z = cols @ w_mat + b64
        Z[:, h0:h1] = z.reshape(m, h1 - h0, n_w, n_c)
    return Z, (A_prev, W, b, hparameters)


@_quiet
def conv_backward(dZ, cache):
    """Gradients (dA_prev, dW, db) of conv_forward, cache = (A_prev, W, b, hparameters)."""
    func = "conv_backward"
    A_prev, W, b, hparameters = _cache(func, cache, 4, "(A_prev, W, b, hparameters)")
    dtype, f, stride, pad, n_h, n_w = _conv_setup(func, A_prev, W, b, hparameters)
    td = _float_array(func, "dZ", dZ, 4)
    m, n_h_prev, n_w_prev, c_prev = A_prev.shape
    n_c = W.shape[3]
    if dZ.shape != (m, n_h, n_w, n_c):
        raise ValueError(
            f"{func}: dZ must have shape {(m, n_h, n_w, n_c)} (from the cache), got {dZ.shape}"
        )
    _same_dtype(func, [("A_prev", dtype), ("dZ", td)])
    dz64 = dZ.astype(np.float64)
    a_pad = _padded64(A_prev, pad)
    win = _windows(a_pad, f, stride, n_h, n_w)  # read-only view
    k = c_prev * f * f
    w_mat = W.astype(np.float64).transpose(2, 0, 1, 3).reshape(k, n_c)
    da_pad = np.zeros_like(a_pad)
    dw_mat = np.zeros((k, n_c), dtype=np.float64)
    for h0, h1 in _row_blocks(n_h, m * n_w * k):
        bh = h1 - h0
        cols = win[:, h0:h1].reshape(-1, k)
        dzb = dz64[:, h0:h1].reshape(-1, n_c)
        dw_mat += cols.T @ dzb
        dcols = (dzb @ w_mat.T).reshape(m, bh, n_w, c_prev, f, f).transpose(0, 1, 2, 4, 5, 3)
        rows, cls = _offsets(h0, h1, n_w, f, stride)
        np.add.at(da_pad, (slice(None), rows, cls, slice(None)), dcols)
    dA_prev = da_pad[:, pad : pad + n_h_prev, pad : pad + n_w_prev, :].astype(dtype)
    dW = dw_mat.reshape(c_prev, f, f, n_c).transpose(1, 2, 0, 3).astype(dtype)
    db = dz64.sum(axis=(0, 1, 2)).reshape(1, 1, 1, n_c).astype(dtype)
    return dA_prev, dW, db


@_quiet
def pool_forward(A_prev, hparameters, mode="max"):
    """Max or average pooling of A_prev; returns (A, cache)."""
    dtype, f, stride, mode, n_h, n_w = _pool_setup("pool_forward", A_prev, hparameters, mode)
    m, _, _, c = A_prev.shape
    src = A_prev if mode == "max" else A_prev.astype(np.float64)
    win = _windows(src, f, stride, n_h, n_w)  # (m, n_h, n_w, C, f, f), read-only
    A = np.empty((m, n_h, n_w, c), dtype=dtype)
    for h0, h1 in _row_blocks(n_h, m * n_w * c * f * f):
        wb = win[:, h0:h1].reshape(m, h1 - h0, n_w, c, f * f)
        if mode == "max":
            idx = _select(wb)
            A[:, h0:h1] = np.take_along_axis(wb, idx[..., None], axis=-1)[..., 0]
        else:
            A[:, h0:h1] = wb.sum(axis=-1) / (f * f)
    return A, (A_prev, hparameters)


@_quiet
def create_mask_from_window(x):
    """One-hot boolean mask of the element max pooling selects in the 2-D window x."""
    func = "create_mask_from_window"
    if not isinstance(x, np.ndarray):
        raise ValueError(f"{func}: x must be a NumPy ndarray, got {_describe(x)}")
    ok = x.dtype.kind in "iu" or (x.dtype.kind == "f" and x.dtype.itemsize in (4, 8))
    if not ok:
        raise ValueError(
            f"{func}: x must have an integer or float32/float64 dtype, got dtype {x.dtype}"
        )
    if x.ndim != 2:
        raise ValueError(f"{func}: x must be a 2-D array, got {x.ndim}-D with shape {x.shape}")
    if x.size == 0:
        raise ValueError(f"{func}: x must not be empty, got shape {x.shape}")
    flat = x.reshape(1, -1)  # row-major scan, in x's own dtype
    idx = int(_select(flat)[0])
    mask = np.zeros(x.size, dtype=bool)
    mask[idx] = True
    return mask.reshape(x.shape)


@_quiet
def distribute_value(dz, shape):
    """An array of the given (n_H, n_W) shape with equal entries summing to dz."""
    func = "distribute_value"
    real = isinstance(dz, (int, float, np.integer, np.floating))
    if not real or isinstance(dz, (bool, np.bool_)):
        raise ValueError(f"{func}: dz must be a real number, got {type(dz).__name__} {dz!r}")
    if (
        not isinstance(shape, (tuple, list))
        or len(shape) != 2
        or not all(_is_int(n) and n >= 1 for n in shape)
    ):
        raise ValueError(f"{func}: shape must be two positive integers, got {shape!r}")
    n_h, n_w = int(shape[0]), int(shape[1])
    if isinstance(dz, np.floating) and dz.dtype.itemsize in (4, 8) and dz.dtype.kind == "f":
        dtype = np.float32 if dz.dtype.itemsize == 4 else np.float64
        value = dtype(dz) / dtype(n_h * n_w)
    else:
        dtype = np.float64
        try:
            value = np.float64(dz) / np.float64(n_h * n_w)
        except OverflowError:
            raise ValueError(f"{func}: dz={dz!r} is too large for float64") from None
    return np.full((n_h, n_w), value, dtype=dtype)


@_quiet
def pool_backward(dA, cache, mode="max"):
    """Gradient dA_prev of pool_forward, cache = (A_prev, hparameters)."""
    func = "pool_backward"
    A_prev, hparameters = _cache(func, cache, 2, "(A_prev, hparameters)")
    dtype, f, stride, mode, n_h, n_w = _pool_setup(func, A_prev, hparameters, mode)
    td = _float_array(func, "dA", dA, 4)
    m, n_h_prev, n_w_prev, c = A_prev.shape
    if dA.shape != (m, n_h, n_w, c):
        raise ValueError(
            f"{func}: dA must have shape {(m, n_h, n_w, c)} (from the cache), got {dA.shape}"
        )
    _same_dtype(func, [("A_prev", dtype), ("dA", td)])
    da64 = dA.astype(np.float64)
    out = np.zeros((m, n_h_prev, n_w_prev, c), dtype=np.float64)
    if mode == "max":
        win = _windows(A_prev, f, stride, n_h, n_w)  # read-only view of the caller's array
        mi = np.arange(m)[:, None, None, None]
        ci = np.arange(c)[None, None, None, :]
        for h0, h1 in _row_blocks(n_h, m * n_w * c * f * f):
            wb = win[:, h0:h1].reshape(m, h1 - h0, n_w, c, f * f)
            idx = _select(wb)
            rows = (np.arange(h0, h1) * stride)[None, :, None, None] + idx // f
            cols = (np.arange(n_w) * stride)[None, None, :, None] + idx % f
            np.add.at(out, (mi, rows, cols, ci), da64[:, h0:h1])
    else:
        share = da64 / (f * f)
        for h0, h1 in _row_blocks(n_h, m * n_w * c * f * f):
            rows, cols = _offsets(h0, h1, n_w, f, stride)
            vals = np.broadcast_to(
                share[:, h0:h1, :, None, None, :], (m, h1 - h0, n_w, f, f, c)
            )
            np.add.at(out, (slice(None), rows, cols, slice(None)), vals)
    return out.astype(dtype)
