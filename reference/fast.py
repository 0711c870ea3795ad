"""The vectorized twin of ``loops``: same API, same validation, same results up to rounding.

No Python loop runs over output positions. Convolution is an im2col GEMM, done in blocks of
the output (whole images, or rows of one image) so that the im2col matrix stays small, in
cache, in a buffer that every block reuses; each block's matrix is one strided copy of a
sliding-window view. Its backward adds two GEMMs and a scatter-add per kernel offset. Max
pooling finds each window's winner with torch's row-major scan, one kernel offset per step,
then gathers (forward) or scatters (backward) through it. Arithmetic is done in the result
dtype, so float32 runs at float32 speed.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

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

# Convolution works through the output in blocks whose im2col matrix holds about this many
# entries: several whole images when images are small, else a run of output rows of one image.
# One small buffer, reused by every block and so kept in cache, is far cheaper than an im2col
# matrix for the whole batch: that is a fresh array kh*kw times the input's size, and writing
# it (page faults, cache misses) costs about as much as the GEMM that reads it. The size is
# the fastest found for the benchmark's layer in both dtypes (512 KB of float32, 1 MB of float64).
_BLOCK_ENTRIES = 1 << 17


def _windows(padded, geometry, writeable=False):
    """(m, n_H, n_W, kh, kw, C) view of a padded batch: [i, h, w, p, q, c] is
    padded[i, h*sh + p, w*sw + q, c], the entry that kernel offset (p, q) of window (h, w) sees."""
    (kh, kw), (sh, sw) = geometry.kernel, geometry.stride
    view = sliding_window_view(padded, (kh, kw), axis=(1, 2), writeable=writeable)[:, ::sh, ::sw]
    return view.transpose(0, 1, 2, 4, 5, 3)


class _Im2col:
    """The im2col matrix of A_prev block by block, built in buffers that every block reuses."""

    def __init__(self, A_prev, geometry, dtype):
        (kh, kw), (n_H, n_W), (ph, pw) = geometry.kernel, geometry.out, geometry.pad
        m, H, W, C = A_prev.shape
        self.A_prev, self.geometry = A_prev, geometry
        self.K = kh * kw * C
        rows = max(1, _BLOCK_ENTRIES // (n_W * self.K))
        # a block is whole images, or rows of one image: either way its output is contiguous
        self.images_per_block = min(m, max(1, rows // n_H))
        self.rows_per_block = min(n_H, rows)
        # Zeroed once: blocks only ever overwrite the interior, so the border stays padding.
        self.padded = np.zeros((self.images_per_block, H + 2 * ph, W + 2 * pw, C), dtype=dtype)
        self.windows = _windows(self.padded, geometry)
        self.buffer = np.empty(self.images_per_block * self.rows_per_block * n_W * self.K, dtype=dtype)

    def blocks(self):
        """Yield (images, rows, positions, cols) per block: its slices of the batch and of the
        output rows, its slice of all m * n_H * n_W output positions, and its (positions,
        kh * kw * C) im2col matrix, columns ordered like W's (kh, kw, C). cols lives in the
        reused buffer, so the next block overwrites it."""
        (n_H, n_W), m = self.geometry.out, self.A_prev.shape[0]
        for first in range(0, m, self.images_per_block):
            images = slice(first, min(first + self.images_per_block, m))
            n = images.stop - images.start
            self.geometry.unpad(self.padded[:n])[...] = self.A_prev[images]
            for top in range(0, n_H, self.rows_per_block):
                rows = slice(top, min(top + self.rows_per_block, n_H))
                windows = self.windows[:n, rows]
                cols = self.buffer[: windows.size].reshape(windows.shape)
                cols[...] = windows  # the one copy that builds the matrix
                start = (images.start * n_H + top) * n_W
                yield images, rows, slice(start, start + windows.size // self.K), cols.reshape(-1, self.K)


def conv_forward(A_prev, W, b, hparameters):
    call = params.parse_conv(A_prev, W, b, hparameters)
    dtype, (n_H, n_W) = call.dtype, call.geometry.out
    W_mat = np.ascontiguousarray(W, dtype=dtype).reshape(-1, call.n_C)
    bias = b.astype(dtype, copy=False).reshape(call.n_C)
    # zeros, not empty: BLAS may scale the out= array by beta = 0 (1-channel cases go to gemv),
    # and 0 * a NaN bit pattern left in fresh memory raises a spurious "invalid value" flag
    Z = np.zeros((A_prev.shape[0], n_H, n_W, call.n_C), dtype=dtype)
    Z_mat = Z.reshape(-1, call.n_C)
    for _, _, positions, cols in _Im2col(A_prev, call.geometry, dtype).blocks():
        Z_block = Z_mat[positions]
        np.matmul(cols, W_mat, out=Z_block)
        Z_block += bias
    return Z, (A_prev, W, b, hparameters)


def conv_backward(dZ, cache):
    A_prev, W, b, call = params.parse_conv_cache(dZ, cache)
    geometry, dtype, n_C = call.geometry, call.dtype, call.n_C
    (kh, kw), n_H, C = geometry.kernel, geometry.out[0], A_prev.shape[3]
    dZ_mat = np.ascontiguousarray(dZ, dtype=dtype).reshape(-1, n_C)
    # W per kernel offset, transposed: (kh * kw, n_C, C), for one batched GEMM below
    W_offsets = np.ascontiguousarray(W.transpose(0, 1, 3, 2), dtype=dtype).reshape(kh * kw, n_C, C)
    im2col = _Im2col(A_prev, geometry, dtype)
    dW = np.zeros((im2col.K, n_C), dtype=dtype)
    dW_block = np.zeros_like(dW)  # zeros: see conv_forward
    dA_pad = np.empty_like(im2col.padded)
    # Writable: one kernel offset's entries are distinct elements of dA_pad (the offsets
    # overlap one another, so they are added one at a time)
    dA_windows = _windows(dA_pad, geometry, writeable=True)
    dA_prev = np.empty(A_prev.shape, dtype=dtype)
    for images, rows, positions, cols in im2col.blocks():
        n = images.stop - images.start
        dZ_block = dZ_mat[positions]
        np.matmul(cols.T, dZ_block, out=dW_block)
        dW += dW_block
        # cols is spent: its buffer takes, per kernel offset, the gradient of the entries that
        # offset sees, each offset one contiguous (n, rows, n_W, C) array
        d_offsets = cols.reshape(kh * kw, -1, C)
        d_offsets[...] = 0  # it held A's entries, maybe non-finite: see conv_forward
        np.matmul(dZ_block, W_offsets, out=d_offsets)
        d_offsets = d_offsets.reshape(kh, kw, n, rows.stop - rows.start, -1, C)
        if rows.start == 0:
            dA_pad[:n] = 0
        for p in range(kh):
            for q in range(kw):
                dA_windows[:n, rows, :, p, q] += d_offsets[p, q]
        if rows.stop == n_H:
            dA_prev[images] = geometry.unpad(dA_pad[:n])
    db = dZ_mat.sum(axis=0).reshape(b.shape)
    return dA_prev, dW.reshape(W.shape), db


def _window_origins(shape, geometry):
    """Flat (C-order) index into an array of `shape` of each window's top-left element, per
    channel: an (m, n_H, n_W, C) array."""
    m, H, W, C = shape
    (sh, sw), (n_H, n_W) = geometry.stride, geometry.out
    images = np.arange(m).reshape(-1, 1, 1, 1) * (H * W * C)
    rows = np.arange(n_H).reshape(-1, 1, 1) * (sh * W * C)
    columns = np.arange(n_W).reshape(-1, 1) * (sw * C)
    return images + rows + columns + np.arange(C)


def _max_winners(A, geometry):
    """Flat (C-order) index into A of each window's winner, by torch's CPU rule: scanning the
    window row-major, a strictly greater value or any NaN replaces the current best."""
    kh, kw = geometry.kernel
    candidates = [A[(slice(None), *geometry.offset_slices(*divmod(k, kw)))] for k in range(kh * kw)]
    best = candidates[0].copy()
    winner = np.zeros(best.shape, dtype=np.min_scalar_type(kh * kw - 1))  # kernel offset k
    replace = np.empty(best.shape, dtype=bool)
    for k in range(1, kh * kw):
        np.greater(candidates[k], best, out=replace)
        # k grows, so "winner = k where replace" is a maximum: no masked copy, whose cost
        # grows with how often the mask switches between True and False
        np.maximum(winner, np.multiply(replace, k, dtype=winner.dtype), out=winner)
        # The running best only steers the comparisons above, and np.maximum keeps it equal to
        # the rule's best as far as any comparison can tell: it differs at most in the sign of
        # a zero or in which NaN it holds. The winner's exact bits come from A itself.
        np.maximum(best, candidates[k], out=best)
    # np.maximum propagates NaN, so the windows holding a NaN are those whose best is NaN;
    # there the rule's winner is the last NaN
    has_nan = np.isnan(best)
    if has_nan.any():
        last_nan = np.zeros_like(winner)
        for k in range(1, kh * kw):
            np.maximum(last_nan, np.multiply(np.isnan(candidates[k]), k, dtype=winner.dtype), out=last_nan)
        winner = np.where(has_nan, last_nan, winner)
    W, C = A.shape[2], A.shape[3]
    offsets = np.array([(p * W + q) * C for p in range(kh) for q in range(kw)])
    return _window_origins(A.shape, geometry) + offsets.take(winner)


def pool_forward(A_prev, hparameters, mode="max"):
    call = params.parse_pool(A_prev, hparameters, mode)
    geometry = call.geometry
    if call.mode == "max":
        A = np.take(A_prev, _max_winners(A_prev, geometry))
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
    if call.mode == "max":
        # Each dA goes to its window's winner alone (an added value, never a product with a
        # mask: a non-finite dA must reach the winner only); add.at accumulates overlaps.
        dA_prev = np.zeros(A_prev.size, dtype=dtype)
        np.add.at(dA_prev, _max_winners(A_prev, geometry).ravel(), dA.ravel())
        return dA_prev.reshape(A_prev.shape)
    dA_prev = np.zeros(A_prev.shape, dtype=dtype)
    share = dA / (kh * kw)
    for p in range(kh):
        for q in range(kw):
            dA_prev[(slice(None), *geometry.offset_slices(p, q))] += share
    return dA_prev
