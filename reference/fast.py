"""The vectorized twin of ``loops``: same API, same validation, same results up to rounding.

No Python loop runs over output positions. Convolution is an im2col GEMM, done in blocks of
the output (whole images, or rows of one image) so that the im2col matrix stays small, in
cache, in a buffer that every block reuses; each block's matrix is one strided copy of a
sliding-window view (dilation: the view takes every dilation-th element of each window).
With groups the matrix is laid out group by group and each group is its own GEMM, except with
one input channel per group (depthwise): a broadcast multiply-add per kernel offset. Its
backward adds two GEMMs and a scatter-add per kernel offset. Max pooling finds each window's
winner with torch's row-major scan, one kernel offset per step, then gathers (forward) or
scatters (backward) through it. Padding and ceil_mode's overhang are materialized once
(-inf for max, zeros for average); average pooling divides by a per-window divisor built from
per-axis counts. Arithmetic is done in the result dtype, so float32 runs at float32 speed.
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
    padded[i, h*sh + p*dh, w*sw + q*dw, c], the entry that kernel offset (p, q) of window (h, w) sees."""
    (sh, sw), (dh, dw) = geometry.stride, geometry.dilation
    view = sliding_window_view(padded, geometry.extent, axis=(1, 2), writeable=writeable)
    view = view[:, ::sh, ::sw, :, ::dh, ::dw][:, : geometry.out[0], : geometry.out[1]]
    return view.transpose(0, 1, 2, 4, 5, 3)


class _Im2col:
    """The im2col matrix of A_prev block by block, built in buffers that every block reuses."""

    def __init__(self, A_prev, geometry, dtype, groups):
        (kh, kw), (n_H, n_W) = geometry.kernel, geometry.out
        m, H, W, C = A_prev.shape
        self.A_prev, self.geometry, self.groups = A_prev, geometry, groups
        self.K = kh * kw * C
        self.K_group = self.K // groups
        rows = max(1, _BLOCK_ENTRIES // (n_W * self.K))
        # a block is whole images, or rows of one image: either way its output is contiguous
        self.images_per_block = min(m, max(1, rows // n_H))
        self.rows_per_block = min(n_H, rows)
        # Zeroed once: blocks only ever overwrite the interior, so the border stays padding.
        _, (top, bottom), (left, right), _ = geometry.pad_width()
        self.padded = np.zeros((self.images_per_block, H + top + bottom, W + left + right, C), dtype=dtype)
        # [group, i, h, w, p, q, c]: the channels of each group last, so that a group's columns
        # are contiguous and ordered like W's (kh, kw, C // groups)
        windows = _windows(self.padded, geometry)
        self.windows = windows.reshape(*windows.shape[:5], groups, C // groups).transpose(5, 0, 1, 2, 3, 4, 6)
        self.buffer = np.empty(self.images_per_block * self.rows_per_block * n_W * self.K, dtype=dtype)

    def blocks(self):
        """Yield (images, rows, positions, cols) per block: its slices of the batch and of the
        output rows, its slice of all m * n_H * n_W output positions, and its (groups, positions,
        kh * kw * C // groups) im2col matrices, columns ordered like W's (kh, kw, C // groups).
        cols lives in the reused buffer, so the next block overwrites it."""
        (n_H, n_W), m = self.geometry.out, self.A_prev.shape[0]
        for first in range(0, m, self.images_per_block):
            images = slice(first, min(first + self.images_per_block, m))
            n = images.stop - images.start
            self.geometry.unpad(self.padded[:n])[...] = self.A_prev[images]
            for top in range(0, n_H, self.rows_per_block):
                rows = slice(top, min(top + self.rows_per_block, n_H))
                windows = self.windows[:, :n, rows]
                cols = self.buffer[: windows.size].reshape(windows.shape)
                cols[...] = windows  # the one copy that builds the matrix
                start = (images.start * n_H + top) * n_W
                count = windows.size // self.K
                yield images, rows, slice(start, start + count), cols.reshape(self.groups, count, self.K_group)


def _depthwise(call, W) -> bool:
    """One input channel per group (depthwise, with or without a channel multiplier): per-group
    GEMMs would degenerate into one matrix-vector product per group and block, so these convs
    are broadcast multiply-adds over the kernel offsets instead."""
    return call.groups > 1 and W.shape[2] == 1


class _Depthwise:
    """A depthwise conv's operands, walked in blocks of output rows of one image small enough
    for the cache (_BLOCK_ENTRIES // 4 output entries): all kh * kw offsets of a block are
    accumulated while it is in cache, instead of streaming the whole output once per offset.
    With M output channels per input channel the arrays carry a trailing M axis; with M = 1
    they do not (a trailing axis of length 1 would be iterated element by element)."""

    def __init__(self, A_prev, W, call):
        geometry, dtype = call.geometry, call.dtype
        (kh, kw), (n_H, n_W), C = geometry.kernel, geometry.out, A_prev.shape[3]
        self.geometry, self.M, self.n_H = geometry, call.n_C // C, n_H
        self.padded = np.pad(A_prev.astype(dtype, copy=False), geometry.pad_width())
        self.W = W.astype(dtype, copy=False).reshape((kh, kw, C) + ((self.M,) if self.M > 1 else ()))
        self.tail = (C, self.M) if self.M > 1 else (C,)  # the channel axes of an output entry
        self.rows = max(1, min(n_H, (_BLOCK_ENTRIES // 4) // (n_W * C * self.M)))

    def expand(self, x):
        """An input-shaped block broadcast against the output's channel axes."""
        return x[..., None] if self.M > 1 else x

    def blocks(self):
        """Yield (i, rows, seen): image i, its output rows, and per kernel offset (p, q) a
        function giving the view of a padded array (input or its gradient) those rows see."""
        (kh, kw), (sh, _) = self.geometry.kernel, self.geometry.stride
        for i in range(self.padded.shape[0]):
            for top in range(0, self.n_H, self.rows):
                rows = slice(top, min(top + self.rows, self.n_H))
                n = rows.stop - rows.start

                def seen(padded, p, q, i=i, top=top, n=n):
                    r, c = self.geometry.offset_slices(p, q)
                    start = r.start + top * sh
                    return padded[i, start : start + (n - 1) * sh + 1 : sh, c]

                yield i, rows, [(p, q, seen) for p in range(kh) for q in range(kw)]


def _depthwise_forward(A_prev, W, b, call):
    """Z[..., c*M + j] = sum over offsets (p, q) of A_pad seen by (p, q) [..., c] * W[p, q, 0, c*M + j]."""
    dw = _Depthwise(A_prev, W, call)
    n_W = call.geometry.out[1]
    Z = np.zeros((A_prev.shape[0], dw.n_H, n_W) + dw.tail, dtype=call.dtype)
    term = np.empty((dw.rows, n_W) + dw.tail, dtype=call.dtype)
    for i, rows, offsets in dw.blocks():
        Z_block = Z[i, rows]
        t = term[: Z_block.shape[0]]
        for p, q, seen in offsets:
            np.multiply(dw.expand(seen(dw.padded, p, q)), dw.W[p, q], out=t)
            Z_block += t
    Z = Z.reshape(*Z.shape[:3], call.n_C)
    if b is not None:
        Z += b.astype(call.dtype, copy=False).reshape(call.n_C)
    return Z


def _depthwise_backward(dZ, A_prev, W, b, call):
    """The gradients of _depthwise_forward, block by block and offset by offset: dW[p, q] sums
    what (p, q) saw times dZ; the padded dA gets dZ times W[p, q] where (p, q) looked."""
    dw = _Depthwise(A_prev, W, call)
    dZ_mult = np.ascontiguousarray(dZ, dtype=call.dtype).reshape(dZ.shape[:3] + dw.tail)
    dA_pad = np.zeros_like(dw.padded)
    dW = np.zeros(dw.W.shape, dtype=call.dtype)
    term = np.empty((dw.rows, call.geometry.out[1], A_prev.shape[3]), dtype=call.dtype)
    weight_sum, input_sum = ("hwc,hwcj->cj", "hwcj,cj->hwc") if dw.M > 1 else ("hwc,hwc->c", None)
    for i, rows, offsets in dw.blocks():
        dZ_block = dZ_mult[i, rows]
        t = term[: dZ_block.shape[0]]
        for p, q, seen in offsets:
            dW[p, q] += np.einsum(weight_sum, seen(dw.padded, p, q), dZ_block)
            if input_sum is None:
                np.multiply(dZ_block, dw.W[p, q], out=t)
            else:
                np.einsum(input_sum, dZ_block, dw.W[p, q], out=t)
            seen(dA_pad, p, q)[...] += t
    db = None if b is None else dZ_mult.sum(axis=(0, 1, 2)).reshape(b.shape)
    return np.ascontiguousarray(call.geometry.unpad(dA_pad)), dW.reshape(W.shape), db


def conv_forward(A_prev, W, b, hparameters):
    call = params.parse_conv(A_prev, W, b, hparameters)
    if _depthwise(call, W):
        return _depthwise_forward(A_prev, W, b, call), (A_prev, W, b, hparameters)
    dtype, (n_H, n_W), G = call.dtype, call.geometry.out, call.groups
    M = call.n_C // G  # output channels per group
    # per group: (kh * kw * C // groups, M), the group's output channels
    W_mat = np.ascontiguousarray(W, dtype=dtype).reshape(-1, G, M).transpose(1, 0, 2).copy()
    # zeros, not empty: BLAS may scale the out= array by beta = 0 (1-channel cases go to gemv),
    # and 0 * a NaN bit pattern left in fresh memory raises a spurious "invalid value" flag
    Z = np.zeros((A_prev.shape[0], n_H, n_W, call.n_C), dtype=dtype)
    Z_mat = Z.reshape(-1, call.n_C)
    bias = None if b is None else b.astype(dtype, copy=False).reshape(call.n_C)
    for _, _, positions, cols in _Im2col(A_prev, call.geometry, dtype, G).blocks():
        Z_block = Z_mat[positions]
        for g in range(G):
            np.matmul(cols[g], W_mat[g], out=Z_block[:, g * M : (g + 1) * M])
        if bias is not None:
            Z_block += bias
    return Z, (A_prev, W, b, hparameters)


def conv_backward(dZ, cache):
    A_prev, W, b, call = params.parse_conv_cache(dZ, cache)
    if _depthwise(call, W):
        return _depthwise_backward(dZ, A_prev, W, b, call)
    geometry, dtype, n_C, G = call.geometry, call.dtype, call.n_C, call.groups
    (kh, kw), n_H, C = geometry.kernel, geometry.out[0], A_prev.shape[3]
    M, C_group = n_C // G, C // G
    dZ_mat = np.ascontiguousarray(dZ, dtype=dtype).reshape(-1, n_C)
    # W per group and kernel offset, transposed: (groups, kh * kw, M, C // groups), for the
    # batched GEMMs below
    W_offsets = np.ascontiguousarray(
        W.reshape(kh, kw, C_group, G, M).transpose(3, 0, 1, 4, 2), dtype=dtype
    ).reshape(G, kh * kw, M, C_group)
    im2col = _Im2col(A_prev, geometry, dtype, G)
    dW = np.zeros((G, im2col.K_group, M), dtype=dtype)
    dW_block = np.zeros((im2col.K_group, M), dtype=dtype)  # zeros: see conv_forward
    dA_pad = np.empty_like(im2col.padded)
    # Writable: one kernel offset's entries are distinct elements of dA_pad (the offsets
    # overlap one another, so they are added one at a time)
    dA_windows = _windows(dA_pad, geometry, writeable=True)
    dA_prev = np.empty(A_prev.shape, dtype=dtype)
    for images, rows, positions, cols in im2col.blocks():
        n = images.stop - images.start
        dZ_block = dZ_mat[positions]
        for g in range(G):
            np.matmul(cols[g].T, dZ_block[:, g * M : (g + 1) * M], out=dW_block)
            dW[g] += dW_block
        # cols is spent: its buffer takes, per kernel offset, the gradient of the entries that
        # offset sees, each offset one contiguous (n, rows, n_W, C) array
        d_offsets = cols.reshape(kh * kw, -1, C)
        d_offsets[...] = 0  # it held A's entries, maybe non-finite: see conv_forward
        for g in range(G):
            np.matmul(dZ_block[:, g * M : (g + 1) * M], W_offsets[g], out=d_offsets[:, :, g * C_group : (g + 1) * C_group])
        d_offsets = d_offsets.reshape(kh, kw, n, rows.stop - rows.start, -1, C)
        if rows.start == 0:
            dA_pad[:n] = 0
        for p in range(kh):
            for q in range(kw):
                dA_windows[:n, rows, :, p, q] += d_offsets[p, q]
        if rows.stop == n_H:
            dA_prev[images] = geometry.unpad(dA_pad[:n])
    db = None if b is None else dZ_mat.sum(axis=0).reshape(b.shape)
    # (groups, kh * kw * C // groups, M) -> (kh, kw, C // groups, n_C), channel g * M + j
    return dA_prev, dW.transpose(1, 0, 2).reshape(W.shape), db


# ---- pooling ---------------------------------------------------------------------------------


def _extended(A, geometry, fill):
    """A padded with `fill` by the padding plus ceil_mode's overhang (A itself when both are 0):
    every kernel offset's slice (geometry.offset_slices) lies inside it."""
    widths = geometry.pad_width(overhang=True)
    if not any(lo or hi for lo, hi in widths):
        return A
    return np.pad(A, widths, constant_values=fill)


def _axis_taps(geometry, axis):
    """Per output position along `axis`: which taps are real elements, (out, kernel) bool, and
    which lie inside the padded input (the others are ceil_mode's overhang)."""
    taps = geometry.tap_indices(axis)
    n, (_, hi) = geometry.size[axis], geometry.pads[axis]
    return (taps >= 0) & (taps < n), taps < n + hi


def _window_origins(shape, geometry):
    """Flat (C-order) index into an array of `shape` (the extended input) of each window's
    top-left tap, per channel: an (m, n_H, n_W, C) array."""
    m, H, W, C = shape
    (sh, sw), (n_H, n_W) = geometry.stride, geometry.out
    images = np.arange(m).reshape(-1, 1, 1, 1) * (H * W * C)
    rows = np.arange(n_H).reshape(-1, 1, 1) * (sh * W * C)
    columns = np.arange(n_W).reshape(-1, 1) * (sw * C)
    return images + rows + columns + np.arange(C)


def _max_winners(E, geometry):
    """Flat (C-order) index into E (the input extended with -inf) of each window's winner, by
    torch's CPU rule: scanning the window's real elements row-major from the first one, with
    -inf as the best so far, a strictly greater value or any NaN replaces the current best.
    Padding is -inf and never NaN, so scanning every tap changes nothing, provided the winner
    starts at the first real tap. A window without any real tap keeps its starting offset, a
    padding element (so its output is -inf, and its gradient is cropped away with the padding)."""
    (kh, kw), (dh, dw) = geometry.kernel, geometry.dilation
    real_rows, _ = _axis_taps(geometry, 0)
    real_cols, _ = _axis_taps(geometry, 1)
    first_real = real_rows.argmax(axis=1)[:, None] * kw + real_cols.argmax(axis=1)  # (n_H, n_W); 0 if none
    candidates = [E[(slice(None), *geometry.offset_slices(*divmod(k, kw)))] for k in range(kh * kw)]
    dtype = np.min_scalar_type(kh * kw - 1)
    if first_real.any():
        winner = np.broadcast_to(first_real.astype(dtype)[:, :, None], candidates[0].shape).copy()  # kernel offset k
    else:
        winner = np.zeros(candidates[0].shape, dtype=dtype)
    # offset 0 is either real (then the first real tap) or padding (-inf, the scan's start)
    best = candidates[0].copy()
    replace = np.empty(best.shape, dtype=bool)
    for k in range(1, kh * kw):
        np.greater(candidates[k], best, out=replace)
        # Offsets before first_real are padding (-inf), never greater: so k only grows past the
        # start, and "winner = k where replace" is a maximum: no masked copy, whose cost grows
        # with how often the mask switches between True and False
        np.maximum(winner, np.multiply(replace, k, dtype=winner.dtype), out=winner)
        # The running best only steers the comparisons above, and np.maximum keeps it equal to
        # the rule's best as far as any comparison can tell: it differs at most in the sign of
        # a zero or in which NaN it holds. The winner's exact bits come from E itself.
        np.maximum(best, candidates[k], out=best)
    # np.maximum propagates NaN, so the windows holding a NaN are those whose best is NaN;
    # there the rule's winner is the last NaN
    has_nan = np.isnan(best)
    if has_nan.any():
        last_nan = np.zeros_like(winner)
        for k in range(1, kh * kw):
            np.maximum(last_nan, np.multiply(np.isnan(candidates[k]), k, dtype=winner.dtype), out=last_nan)
        winner = np.where(has_nan, last_nan, winner)
    W, C = E.shape[2], E.shape[3]
    offsets = np.array([(p * dh * W + q * dw) * C for p in range(kh) for q in range(kw)])
    return _window_origins(E.shape, geometry) + offsets.take(winner)


def _divisors(call):
    """What average pooling divides each window's sum by: an (n_H, n_W, 1) array (or a scalar)."""
    geometry = call.geometry
    if call.divisor_override is not None:
        return call.divisor_override
    if call.count_include_pad:
        counts = [inside.sum(axis=1) for _, inside in (_axis_taps(geometry, 0), _axis_taps(geometry, 1))]
    else:
        counts = [real.sum(axis=1) for real, _ in (_axis_taps(geometry, 0), _axis_taps(geometry, 1))]
    divisors = np.multiply.outer(*counts)[:, :, None].astype(call.dtype)  # in the result dtype
    # one divisor for every window (no padding, or padding counted and no clipping): a scalar
    return divisors.flat[0] if (divisors == divisors.flat[0]).all() else divisors


def pool_forward(A_prev, hparameters, mode="max"):
    call = params.parse_pool(A_prev, hparameters, mode)
    geometry = call.geometry
    if call.mode == "max":
        E = _extended(A_prev, geometry, -np.inf)
        A = np.take(E, _max_winners(E, geometry))
    else:
        E = _extended(A_prev, geometry, 0)
        kh, kw = geometry.kernel
        A = np.zeros((A_prev.shape[0], *geometry.out, A_prev.shape[3]), dtype=call.dtype)
        for p in range(kh):
            for q in range(kw):
                A += E[(slice(None), *geometry.offset_slices(p, q))]
        A /= _divisors(call)
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
        # mask: a non-finite dA must reach the winner only); add.at accumulates overlaps. A
        # window without a real element "wins" padding, which is cropped away with its gradient.
        E = _extended(A_prev, geometry, -np.inf)
        dE = np.zeros(E.size, dtype=dtype)
        np.add.at(dE, _max_winners(E, geometry).ravel(), dA.ravel())
        dE = dE.reshape(E.shape)
        return dE if E is A_prev else np.ascontiguousarray(geometry.unpad(dE))
    dE = np.zeros([n + lo + hi for n, (lo, hi) in zip(A_prev.shape, geometry.pad_width(overhang=True))], dtype=dtype)
    share = dA / _divisors(call)
    for p in range(kh):
        for q in range(kw):
            dE[(slice(None), *geometry.offset_slices(p, q))] += share
    return dE if dE.shape == A_prev.shape else np.ascontiguousarray(geometry.unpad(dE))
