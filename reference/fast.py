"""The vectorized twin of ``loops``: same API, same validation, same results up to rounding.

No Python loop runs over output positions. Convolution is one GEMM over an im2col matrix
built with one strided copy per kernel offset; its backward is two GEMMs plus a scatter-add
per kernel offset. Pooling runs torch's row-major scan across all windows at once, one kernel
offset per step. Arithmetic is done in the result dtype, so float32 runs at float32 speed.
"""

from __future__ import annotations

import numpy as np

from . import params
from .loops import conv_single_step, distribute_value, zero_pad

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


def _padded(A, geometry, dtype):
    ph, pw = geometry.pad
    A = A.astype(dtype, copy=False)
    if ph == pw == 0:
        return A
    return np.pad(A, ((0, 0), (ph, ph), (pw, pw), (0, 0)))


def _im2col(A_pad, geometry):
    """(m * n_H * n_W, kh * kw * C) matrix: row = one window, columns ordered like W's (kh, kw, C)."""
    (kh, kw), (n_H, n_W) = geometry.kernel, geometry.out
    m, C = A_pad.shape[0], A_pad.shape[3]
    cols = np.empty((m, n_H, n_W, kh, kw, C), dtype=A_pad.dtype)
    for p in range(kh):
        for q in range(kw):
            rows, columns = geometry.offset_slices(p, q)
            cols[:, :, :, p, q, :] = A_pad[:, rows, columns, :]
    return cols.reshape(m * n_H * n_W, kh * kw * C)


def conv_forward(A_prev, W, b, hparameters):
    call = params.parse_conv(A_prev, W, b, hparameters)
    m, (n_H, n_W) = A_prev.shape[0], call.geometry.out
    cols = _im2col(_padded(A_prev, call.geometry, call.dtype), call.geometry)
    Z = cols @ W.astype(call.dtype, copy=False).reshape(-1, call.n_C)
    Z += b.reshape(1, call.n_C)
    return Z.reshape(m, n_H, n_W, call.n_C), (A_prev, W, b, hparameters)


def conv_backward(dZ, cache):
    A_prev, W, b, call = params.parse_conv_cache(dZ, cache)
    geometry, dtype = call.geometry, call.dtype
    (kh, kw), (n_H, n_W) = geometry.kernel, geometry.out
    A_pad = _padded(A_prev, geometry, dtype)
    m, C = A_pad.shape[0], A_pad.shape[3]
    dZ_mat = dZ.astype(dtype, copy=False).reshape(-1, call.n_C)
    dW = (_im2col(A_pad, geometry).T @ dZ_mat).reshape(W.shape)
    db = dZ_mat.sum(axis=0).reshape(b.shape)
    d_cols = (dZ_mat @ W.astype(dtype, copy=False).reshape(-1, call.n_C).T).reshape(m, n_H, n_W, kh, kw, C)
    dA_pad = np.zeros(A_pad.shape, dtype=dtype)
    for p in range(kh):
        for q in range(kw):
            rows, columns = geometry.offset_slices(p, q)
            dA_pad[:, rows, columns, :] += d_cols[:, :, :, p, q, :]
    return np.ascontiguousarray(geometry.unpad(dA_pad)), dW, db


def _max_scan(A, geometry):
    """Value and flat kernel offset of each window's winner, by torch's CPU rule: scanning the
    window row-major, a strictly greater value or any NaN replaces the current best."""
    kh, kw = geometry.kernel
    rows, columns = geometry.offset_slices(0, 0)
    best = A[:, rows, columns, :].copy()
    winner = np.zeros(best.shape, dtype=np.intp)
    for k in range(1, kh * kw):
        rows, columns = geometry.offset_slices(*divmod(k, kw))
        candidate = A[:, rows, columns, :]
        replace = (candidate > best) | np.isnan(candidate)
        np.copyto(best, candidate, where=replace)
        winner[replace] = k
    return best, winner


def pool_forward(A_prev, hparameters, mode="max"):
    call = params.parse_pool(A_prev, hparameters, mode)
    geometry = call.geometry
    if call.mode == "max":
        A = _max_scan(A_prev, geometry)[0]
    else:
        kh, kw = geometry.kernel
        A = np.zeros((A_prev.shape[0], *geometry.out, A_prev.shape[3]), dtype=call.dtype)
        for p in range(kh):
            for q in range(kw):
                A += A_prev[(slice(None), *geometry.offset_slices(p, q))]
        A /= kh * kw
    return A, (A_prev, hparameters)


def create_mask_from_window(x):
    x = params.check_window("x", x)
    flat = x.ravel()
    nan = np.isnan(flat)
    # the last NaN if there is one, else the first maximum (np.argmax returns the first)
    index = flat.size - 1 - np.argmax(nan[::-1]) if nan.any() else np.argmax(flat)
    mask = np.zeros(flat.size, dtype=bool)
    mask[index] = True
    return mask.reshape(x.shape)


def pool_backward(dA, cache, mode="max"):
    A_prev, call = params.parse_pool_cache(dA, cache, mode)
    geometry, dtype = call.geometry, call.dtype
    kh, kw = geometry.kernel
    dA = dA.astype(dtype, copy=False)
    dA_prev = np.zeros(A_prev.shape, dtype=dtype)
    if call.mode == "max":
        winner = _max_scan(A_prev, geometry)[1]
        for k in range(kh * kw):
            target = dA_prev[(slice(None), *geometry.offset_slices(*divmod(k, kw)))]
            # where=, not dA * mask: a non-finite dA must reach the winner only
            np.add(target, dA, out=target, where=winner == k)
    else:
        share = dA / (kh * kw)
        for p in range(kh):
            for q in range(kw):
                dA_prev[(slice(None), *geometry.offset_slices(p, q))] += share
    return dA_prev
