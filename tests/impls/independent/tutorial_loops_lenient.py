"""Independent implementation of the tutorial's eight CNN layer functions (NHWC, NumPy).

Plain loops over output positions, in the style of "Convolution model - Step by Step"; tutorial
API only. Lenient on the open points: an empty batch returns torch's (empty) result, and mixed
float32/float64 arrays are computed in np.result_type.
"""

import numbers

import numpy as np

# ----------------------------------------------------------------------------------------------
# validation helpers
# ----------------------------------------------------------------------------------------------

def _describe(x):
    if isinstance(x, np.ndarray):
        return f"ndarray(shape={x.shape}, dtype={x.dtype})"
    text = repr(x)
    if len(text) > 80:
        text = text[:77] + "..."
    return f"{text} ({type(x).__name__})"


def _check_float_array(name, x, ndim, allow_empty_batch=False):
    """x must be a float32/float64 ndarray of rank ndim with no empty axis (axis 0 may be empty
    when allow_empty_batch)."""
    if not isinstance(x, np.ndarray):
        raise ValueError(f"{name} must be a NumPy ndarray of float32 or float64, got {_describe(x)}")
    if x.dtype.kind != "f" or x.dtype.itemsize not in (4, 8):
        raise ValueError(f"{name} must have dtype float32 or float64, got {_describe(x)}")
    if x.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimensions, got {_describe(x)}")
    for axis, size in enumerate(x.shape):
        if size == 0 and not (allow_empty_batch and axis == 0):
            raise ValueError(f"{name} must not be empty (axis {axis} has size 0), got {_describe(x)}")


def _result_dtype(*arrays):
    """NumPy's result type of the arrays, as a native-byte-order float32 or float64."""
    if all(a.dtype.itemsize == 4 for a in arrays):
        return np.dtype(np.float32)
    return np.dtype(np.float64)


def _is_int(value):
    if isinstance(value, (bool, np.bool_)):
        return False
    return isinstance(value, (int, np.integer))


def _check_int(name, value, minimum):
    if not _is_int(value):
        raise ValueError(f"{name} must be an integer, got {_describe(value)}")
    value = int(value)
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return value


def _check_hparameters(hparameters, keys):
    if not isinstance(hparameters, dict):
        raise ValueError(f"hparameters must be a dict with keys {sorted(keys)}, got {_describe(hparameters)}")
    missing = [k for k in keys if k not in hparameters]
    unknown = [k for k in hparameters if k not in keys]
    if missing:
        raise ValueError(f"hparameters is missing key(s) {missing}, got {hparameters!r}")
    if unknown:
        raise ValueError(f"hparameters has unknown key(s) {unknown}, got {hparameters!r}")


def _check_mode(mode):
    if not isinstance(mode, str) or mode not in ("max", "average"):
        raise ValueError(f"mode must be 'max' or 'average', got {_describe(mode)}")
    return mode


def _check_cache(cache, length):
    if not isinstance(cache, tuple) or len(cache) != length:
        raise ValueError(f"cache must be a tuple of {length} items, got {_describe(cache)}")


def _conv_geometry(A_prev, W, b, hparameters):
    """Validates conv_forward's arguments; returns (stride, pad, f, n_H, n_W)."""
    _check_float_array("A_prev", A_prev, 4, allow_empty_batch=True)
    _check_float_array("W", W, 4)
    if not isinstance(b, np.ndarray) or b.dtype.kind != "f" or b.dtype.itemsize not in (4, 8):
        raise ValueError(f"b must be a NumPy ndarray of float32 or float64, got {_describe(b)}")
    _check_hparameters(hparameters, ("stride", "pad"))
    stride = _check_int("hparameters['stride']", hparameters["stride"], 1)
    pad = _check_int("hparameters['pad']", hparameters["pad"], 0)

    m, n_H_prev, n_W_prev, n_C_prev = A_prev.shape
    f, f2, n_C_prev_w, n_C = W.shape
    if f != f2:
        raise ValueError(f"W must be square (f, f, n_C_prev, n_C), got shape {W.shape}")
    if n_C_prev_w != n_C_prev:
        raise ValueError(f"W has {n_C_prev_w} input channels but A_prev has {n_C_prev} "
                         f"(W shape {W.shape}, A_prev shape {A_prev.shape})")
    if b.shape != (1, 1, 1, n_C):
        raise ValueError(f"b must have shape {(1, 1, 1, n_C)}, got shape {b.shape}")
    if f > n_H_prev + 2 * pad or f > n_W_prev + 2 * pad:
        raise ValueError(f"kernel size f={f} is larger than the padded input "
                         f"({n_H_prev + 2 * pad}, {n_W_prev + 2 * pad}) (pad={pad})")
    n_H = (n_H_prev + 2 * pad - f) // stride + 1
    n_W = (n_W_prev + 2 * pad - f) // stride + 1
    if n_H < 1 or n_W < 1:
        raise ValueError(f"output size ({n_H}, {n_W}) is < 1")
    return stride, pad, f, n_H, n_W


def _pool_geometry(A_prev, hparameters):
    _check_float_array("A_prev", A_prev, 4, allow_empty_batch=True)
    _check_hparameters(hparameters, ("f", "stride"))
    f = _check_int("hparameters['f']", hparameters["f"], 1)
    stride = _check_int("hparameters['stride']", hparameters["stride"], 1)
    m, n_H_prev, n_W_prev, n_C = A_prev.shape
    if f > n_H_prev or f > n_W_prev:
        raise ValueError(f"window size f={f} is larger than the input ({n_H_prev}, {n_W_prev})")
    n_H = (n_H_prev - f) // stride + 1
    n_W = (n_W_prev - f) // stride + 1
    if n_H < 1 or n_W < 1:
        raise ValueError(f"output size ({n_H}, {n_W}) is < 1")
    return f, stride, n_H, n_W


def _max_index(window):
    """Flat index torch's max pooling selects in a 2-D window: the first maximum in row-major
    order, or the last NaN if there is one.  The comparisons happen in the window's own dtype."""
    flat = window.ravel()
    if flat.dtype.kind == "f":
        nans = np.flatnonzero(np.isnan(flat))
        if nans.size:
            return int(nans[-1])
    return int(np.argmax(flat))  # argmax returns the first occurrence of the maximum


# ----------------------------------------------------------------------------------------------
# the eight functions
# ----------------------------------------------------------------------------------------------

def zero_pad(X, pad):
    """Pads the height and width of every image of X (m, n_H, n_W, n_C) with pad zeros."""
    _check_float_array("X", X, 4, allow_empty_batch=True)
    pad = _check_int("pad", pad, 0)
    m, n_H, n_W, n_C = X.shape
    X_pad = np.zeros((m, n_H + 2 * pad, n_W + 2 * pad, n_C), dtype=_result_dtype(X))
    X_pad[:, pad:pad + n_H, pad:pad + n_W, :] = X
    return X_pad


def conv_single_step(a_slice_prev, W, b):
    """sum(a_slice_prev * W) + b as a NumPy floating scalar."""
    _check_float_array("a_slice_prev", a_slice_prev, 3)
    _check_float_array("W", W, 3)
    if not isinstance(b, np.ndarray) or b.dtype.kind != "f" or b.dtype.itemsize not in (4, 8):
        raise ValueError(f"b must be a NumPy ndarray of float32 or float64, got {_describe(b)}")
    if b.shape != (1, 1, 1):
        raise ValueError(f"b must have shape (1, 1, 1), got shape {b.shape}")
    if a_slice_prev.shape != W.shape:
        raise ValueError(f"a_slice_prev and W must have the same shape, got {a_slice_prev.shape} "
                         f"and {W.shape}")
    dtype = _result_dtype(a_slice_prev, W, b)
    s = np.sum(a_slice_prev.astype(np.float64) * W.astype(np.float64))
    Z = s + np.float64(b[0, 0, 0])
    return dtype.type(Z)


def conv_forward(A_prev, W, b, hparameters):
    """Cross-correlation of A_prev (m, n_H_prev, n_W_prev, n_C_prev) with W (f, f, n_C_prev, n_C)
    plus b (1, 1, 1, n_C). Returns (Z, cache)."""
    stride, pad, f, n_H, n_W = _conv_geometry(A_prev, W, b, hparameters)
    m = A_prev.shape[0]
    n_C = W.shape[3]
    dtype = _result_dtype(A_prev, W, b)

    A_prev_pad = zero_pad(A_prev.astype(np.float64), pad)
    W64 = W.astype(np.float64)
    b64 = b.astype(np.float64).reshape(n_C)
    Z = np.zeros((m, n_H, n_W, n_C), dtype=np.float64)

    for i in range(m):
        a_prev_pad = A_prev_pad[i]
        for h in range(n_H):
            vert_start = h * stride
            vert_end = vert_start + f
            for w in range(n_W):
                horiz_start = w * stride
                horiz_end = horiz_start + f
                a_slice = a_prev_pad[vert_start:vert_end, horiz_start:horiz_end, :]
                for c in range(n_C):
                    Z[i, h, w, c] = np.sum(a_slice * W64[:, :, :, c]) + b64[c]

    cache = (A_prev, W, b, hparameters)
    return Z.astype(dtype), cache


def conv_backward(dZ, cache):
    """Gradients of conv_forward: returns (dA_prev, dW, db)."""
    _check_cache(cache, 4)
    A_prev, W, b, hparameters = cache
    stride, pad, f, n_H, n_W = _conv_geometry(A_prev, W, b, hparameters)
    _check_float_array("dZ", dZ, 4, allow_empty_batch=True)
    m, n_H_prev, n_W_prev, n_C_prev = A_prev.shape
    n_C = W.shape[3]
    if dZ.shape != (m, n_H, n_W, n_C):
        raise ValueError(f"dZ must have shape {(m, n_H, n_W, n_C)} (from the cache), got shape {dZ.shape}")
    dtype = _result_dtype(dZ, A_prev, W, b)

    A_prev_pad = zero_pad(A_prev.astype(np.float64), pad)
    W64 = W.astype(np.float64)
    dZ64 = dZ.astype(np.float64)
    dA_prev_pad = np.zeros(A_prev_pad.shape, dtype=np.float64)
    dW = np.zeros(W.shape, dtype=np.float64)
    db = np.zeros(b.shape, dtype=np.float64)

    for i in range(m):
        a_prev_pad = A_prev_pad[i]
        da_prev_pad = dA_prev_pad[i]
        for h in range(n_H):
            vert_start = h * stride
            vert_end = vert_start + f
            for w in range(n_W):
                horiz_start = w * stride
                horiz_end = horiz_start + f
                a_slice = a_prev_pad[vert_start:vert_end, horiz_start:horiz_end, :]
                for c in range(n_C):
                    g = dZ64[i, h, w, c]
                    da_prev_pad[vert_start:vert_end, horiz_start:horiz_end, :] += W64[:, :, :, c] * g
                    dW[:, :, :, c] += a_slice * g
                    db[:, :, :, c] += g

    dA_prev = dA_prev_pad[:, pad:pad + n_H_prev, pad:pad + n_W_prev, :]
    return dA_prev.astype(dtype), dW.astype(dtype), db.astype(dtype)


def pool_forward(A_prev, hparameters, mode="max"):
    """Max or average pooling of A_prev (m, n_H_prev, n_W_prev, n_C). Returns (A, cache)."""
    f, stride, n_H, n_W = _pool_geometry(A_prev, hparameters)
    mode = _check_mode(mode)
    m, _, _, n_C = A_prev.shape
    dtype = _result_dtype(A_prev)
    A = np.zeros((m, n_H, n_W, n_C), dtype=dtype)

    for i in range(m):
        for h in range(n_H):
            vert_start = h * stride
            vert_end = vert_start + f
            for w in range(n_W):
                horiz_start = w * stride
                horiz_end = horiz_start + f
                for c in range(n_C):
                    window = A_prev[i, vert_start:vert_end, horiz_start:horiz_end, c]
                    if mode == "max":
                        A[i, h, w, c] = window.ravel()[_max_index(window)]
                    else:
                        A[i, h, w, c] = np.sum(window.astype(np.float64)) / (f * f)

    cache = (A_prev, hparameters)
    return A, cache


def create_mask_from_window(x):
    """Boolean mask of x's shape, True only at the element max pooling selects."""
    if not isinstance(x, np.ndarray):
        raise ValueError(f"x must be a 2-D NumPy ndarray, got {_describe(x)}")
    kind_ok = (x.dtype.kind in "iu") or (x.dtype.kind == "f" and x.dtype.itemsize in (4, 8))
    if not kind_ok:
        raise ValueError(f"x must have an integer, float32 or float64 dtype, got {_describe(x)}")
    if x.ndim != 2:
        raise ValueError(f"x must have 2 dimensions, got {_describe(x)}")
    if x.size == 0:
        raise ValueError(f"x must not be empty, got {_describe(x)}")
    mask = np.zeros(x.shape, dtype=bool)
    mask.ravel()[_max_index(x)] = True
    return mask


def distribute_value(dz, shape):
    """An (n_H, n_W) array of equal entries that sum to dz."""
    if isinstance(dz, (bool, np.bool_)) or isinstance(dz, np.ndarray) \
            or not isinstance(dz, (numbers.Real, np.integer, np.floating)):
        raise ValueError(f"dz must be a real number, got {_describe(dz)}")
    if not isinstance(shape, (tuple, list)) or len(shape) != 2:
        raise ValueError(f"shape must be two positive integers, got {_describe(shape)}")
    n_H = _check_int("shape[0]", shape[0], 1)
    n_W = _check_int("shape[1]", shape[1], 1)
    if isinstance(dz, (np.float32, np.float64)):
        dtype = dz.dtype
    else:
        dtype = np.dtype(np.float64)
    try:
        value = dtype.type(dz) / dtype.type(n_H * n_W)
    except OverflowError:
        raise ValueError(f"dz is out of the float range, got {_describe(dz)}") from None
    a = np.empty((n_H, n_W), dtype=dtype)
    a[...] = value
    return a


def pool_backward(dA, cache, mode="max"):
    """Gradient of pool_forward with respect to A_prev."""
    _check_cache(cache, 2)
    A_prev, hparameters = cache
    f, stride, n_H, n_W = _pool_geometry(A_prev, hparameters)
    mode = _check_mode(mode)
    _check_float_array("dA", dA, 4, allow_empty_batch=True)
    m, _, _, n_C = A_prev.shape
    if dA.shape != (m, n_H, n_W, n_C):
        raise ValueError(f"dA must have shape {(m, n_H, n_W, n_C)} (from the cache), got shape {dA.shape}")
    dtype = _result_dtype(dA, A_prev)
    dA64 = dA.astype(np.float64)
    dA_prev = np.zeros(A_prev.shape, dtype=np.float64)

    for i in range(m):
        for h in range(n_H):
            vert_start = h * stride
            vert_end = vert_start + f
            for w in range(n_W):
                horiz_start = w * stride
                horiz_end = horiz_start + f
                for c in range(n_C):
                    g = dA64[i, h, w, c]
                    if mode == "max":
                        window = A_prev[i, vert_start:vert_end, horiz_start:horiz_end, c]
                        k = _max_index(window)
                        # add to the selected element only (mask * g would turn 0 * inf into NaN)
                        dA_prev[i, vert_start + k // f, horiz_start + k % f, c] += g
                    else:
                        dA_prev[i, vert_start:vert_end, horiz_start:horiz_end, c] += \
                            distribute_value(g, (f, f))

    return dA_prev.astype(dtype)
