"""The readable specification: the tutorial's eight layer functions as explicit loops.

Every value is computed in float64 and the result is cast to the inputs' result dtype
(float32 stays float32). Validation, geometry and dtype rules come from ``params``; this
module only walks over output positions, one window at a time, in the tutorial's order.

Beyond the tutorial, the layers take torch's whole hyperparameter space (see ``params``):
rectangular kernels, per-axis strides, asymmetric or "same" padding, dilation (a window's
taps are ``dilation`` apart: a strided slice), groups (output channel c sees only the input
channels of its group), no bias, and for pooling padding, ceil_mode, count_include_pad and
divisor_override. The semantics are torch's CPU ones:

* convolution pads with zeros;
* max pooling pads with -inf, which never wins: a window's maximum is that of its REAL
  elements, and a window without any (possible with dilation) gives -inf and passes no
  gradient anywhere;
* average pooling pads with zeros and divides by divisor_override if given, else by the
  number of the window's taps inside the padded input (count_include_pad) or of its real
  elements; with ceil_mode a window reaching past the padded input is clipped there.
"""

from __future__ import annotations

import numpy as np

from . import params


def zero_pad(X, pad):
    """Pad the height and width of every image of X (m, n_H, n_W, n_C) with `pad` zeros."""
    X = params.check_nonempty("X", params.check_float_array("X", X, 4))
    pad = params.check_pad_amount(pad)
    return np.pad(X, ((0, 0), (pad, pad), (pad, pad), (0, 0)), mode="constant", constant_values=0)


def _as64(x):
    """A C-ordered float64 copy or view: the summation order must not depend on the caller's layout."""
    return np.ascontiguousarray(x, dtype=np.float64)


def _single_step(a_slice_prev, W, b):
    total = np.sum(a_slice_prev * W)
    return total if b is None else total + b


def conv_single_step(a_slice_prev, W, b):
    """One filter W (f, f, n_C_prev) with bias b (1, 1, 1) applied to one window: a scalar."""
    dtype = params.check_single_step(a_slice_prev, W, b)
    value = _single_step(_as64(a_slice_prev), _as64(W), np.float64(b[0, 0, 0]))
    return dtype.type(value)


def _group_channels(c, n_C, C_per_group, groups):
    """The input channels that output channel c sees: those of its group."""
    g = c // (n_C // groups)
    return slice(g * C_per_group, (g + 1) * C_per_group)


def conv_forward(A_prev, W, b, hparameters):
    """Cross-correlate A_prev (m, n_H_prev, n_W_prev, n_C_prev) with W (kh, kw, n_C_prev // groups,
    n_C), add b (or nothing when b is None)."""
    call = params.parse_conv(A_prev, W, b, hparameters)
    geometry = call.geometry
    n_H, n_W = geometry.out
    m = A_prev.shape[0]
    A_pad = np.pad(_as64(A_prev), geometry.pad_width())
    W64 = _as64(W)
    Z = np.zeros((m, n_H, n_W, call.n_C))
    for i in range(m):
        for h in range(n_H):
            for w in range(n_W):
                rows, cols = geometry.window(h, w)
                for c in range(call.n_C):
                    channels = _group_channels(c, call.n_C, W.shape[2], call.groups)
                    a_slice = A_pad[i, rows, cols, channels]
                    bias = None if b is None else np.float64(b[0, 0, 0, c])
                    Z[i, h, w, c] = _single_step(a_slice, W64[:, :, :, c], bias)
    return Z.astype(call.dtype, copy=False), (A_prev, W, b, hparameters)


def conv_backward(dZ, cache):
    """Gradients of conv_forward: each output gradient flows back through the window it saw.
    db is None when the forward had no bias."""
    A_prev, W, b, call = params.parse_conv_cache(dZ, cache)
    geometry = call.geometry
    n_H, n_W = geometry.out
    m = A_prev.shape[0]
    A_pad = np.pad(_as64(A_prev), geometry.pad_width())
    W64, dZ64 = _as64(W), _as64(dZ)
    dA_pad = np.zeros_like(A_pad)
    dW = np.zeros(W.shape)
    db = np.zeros((1, 1, 1, call.n_C))
    for i in range(m):
        for h in range(n_H):
            for w in range(n_W):
                rows, cols = geometry.window(h, w)
                for c in range(call.n_C):
                    channels = _group_channels(c, call.n_C, W.shape[2], call.groups)
                    g = dZ64[i, h, w, c]
                    dA_pad[i, rows, cols, channels] += W64[:, :, :, c] * g
                    dW[:, :, :, c] += A_pad[i, rows, cols, channels] * g
                    db[:, :, :, c] += g
    dA_prev = np.ascontiguousarray(geometry.unpad(dA_pad))
    dA_prev, dW, db = (x.astype(call.dtype, copy=False) for x in (dA_prev, dW, db))
    return dA_prev, dW, (None if b is None else db)


def _average_divisor(call, h, w, window):
    """What average pooling divides window (h, w)'s sum by (window: its real elements)."""
    if call.divisor_override is not None:
        return call.divisor_override
    if call.count_include_pad:  # the taps inside the padded input, padding included
        return len(call.geometry.taps(0, h)) * len(call.geometry.taps(1, w))
    return window.size


def pool_forward(A_prev, hparameters, mode="max"):
    """Max or average of every window of each channel (f x f, or fh x fw), windows `stride` apart."""
    call = params.parse_pool(A_prev, hparameters, mode)
    (n_H, n_W), m, n_C = call.geometry.out, A_prev.shape[0], A_prev.shape[3]
    A64 = _as64(A_prev)
    A = np.zeros((m, n_H, n_W, n_C))
    for i in range(m):
        for h in range(n_H):
            for w in range(n_W):
                rows, cols = call.geometry.real_window(h, w)
                for c in range(n_C):
                    window = A64[i, rows, cols, c]  # real elements: -inf padding never wins, zeros add nothing
                    if call.mode == "max":
                        A[i, h, w, c] = np.max(window) if window.size else -np.inf
                    else:
                        A[i, h, w, c] = np.sum(window) / _average_divisor(call, h, w, window)
    return A.astype(call.dtype, copy=False), (A_prev, hparameters)


def _winner(x):
    """(row, col) of the element torch's CPU max pooling selects: scanning row-major, the
    current best is replaced by a strictly greater value or by any NaN. So ties go to the
    first maximum, and a window holding NaN goes to its last NaN."""
    best = (0, 0)
    for r in range(x.shape[0]):
        for c in range(x.shape[1]):
            if x[r, c] > x[best] or np.isnan(x[r, c]):
                best = (r, c)
    return best


def create_mask_from_window(x):
    """Boolean mask of x's shape, True at exactly one place: the element max pooling selects."""
    x = params.check_window("x", x)
    mask = np.zeros(x.shape, dtype=bool)
    mask[_winner(x)] = True
    return mask


def distribute_value(dz, shape):
    """An (n_H, n_W) array whose entries are equal and sum to dz."""
    dz = params.check_real("dz", dz)
    n_H, n_W = params.check_distribute_shape(shape)
    dtype = dz.dtype if isinstance(dz, np.floating) and dz.dtype in params.FLOAT_DTYPES else np.float64
    return np.full((n_H, n_W), np.float64(dz) / (n_H * n_W), dtype=dtype)


def pool_backward(dA, cache, mode="max"):
    """Gradient of pool_forward: max sends each dA to its window's winner (torch's scan over the
    window's real elements; a window without any sends it nowhere), average spreads dA / divisor
    over the window's real elements."""
    A_prev, call = params.parse_pool_cache(dA, cache, mode)
    (n_H, n_W), m, n_C = call.geometry.out, A_prev.shape[0], A_prev.shape[3]
    A64, dA64 = _as64(A_prev), _as64(dA)
    dA_prev = np.zeros(A_prev.shape)
    for i in range(m):
        for h in range(n_H):
            for w in range(n_W):
                rows, cols = call.geometry.real_window(h, w)
                for c in range(n_C):
                    window = A64[i, rows, cols, c]
                    if window.size == 0:
                        continue  # only padding: no element to pass the gradient to
                    if call.mode == "max":
                        # where(), not mask * dA: a non-finite dA must reach the winner only
                        dA_prev[i, rows, cols, c] += np.where(create_mask_from_window(window), dA64[i, h, w, c], 0.0)
                    else:
                        dA_prev[i, rows, cols, c] += dA64[i, h, w, c] / _average_divisor(call, h, w, window)
    return dA_prev.astype(call.dtype, copy=False)
