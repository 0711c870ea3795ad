"""Sizes at which fast computes differently, and which small fuzzed layers never reach.

* Convolution in blocks: fast builds the im2col matrix block by block, a block being several
  whole images or some rows of one image, with a last block that may be partial. A layer
  larger than one block must give torch's numbers however it is split. The block size
  (fast._BLOCK_ENTRIES, entries of the im2col matrix per block) is set here so that one small
  layer is split every way: one row per block, several rows (the last block shorter), several
  images (the last block shorter), and the whole batch in one block.
* Wide max-pooling windows: fast numbers a window's taps 0 .. kh*kw - 1 in the smallest
  unsigned type that holds them. Windows of 256 and 257 taps (and 65536, 65537) sit on either
  side of the 8-bit (16-bit) boundary; the maximum, and its gradient, must land on the last tap.
"""

from __future__ import annotations

import numpy as np
import pytest

from convcheck.oracle.tolerances import tolerance
from convcheck.properties.checks import needs_torch
from convcheck.properties.ops import T
from convcheck.reference import fast, loops

# the layer: 5 images of 6 x 6 x 3, a 3 x 3 kernel, padding 1, so the output is 5 x 6 x 6
M_IMAGES, SIZE, CHANNELS, KERNEL, N_C = 5, 6, 3, 3, 6
ROW_ENTRIES = SIZE * KERNEL * KERNEL * CHANNELS  # the im2col entries of one output row
BLOCKS = {
    "one-row": 1,  # less than a row: a block is never smaller than one row
    "four-rows": 4 * ROW_ENTRIES,  # rows 0-3, then the last two
    "two-and-a-half-images": 5 * SIZE * ROW_ENTRIES // 2,  # images 0-1, 2-3, then image 4
    "whole-batch": M_IMAGES * SIZE * ROW_ENTRIES,
    # the depthwise path (groups = 3) counts a block in output entries, four bytes' worth each:
    # 4 * n_W * N_C = 144 per output row here. Less than a row: still one row per block; four
    # rows: rows 0-3, then the last two
    "depthwise-part-row": 4 * 20,
    "depthwise-four-rows": 4 * 4 * SIZE * N_C,
}


@needs_torch
@pytest.mark.parametrize("groups", [1, 3], ids=["groups1", "depthwise"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("block", list(BLOCKS))
def test_conv_split_into_blocks_matches_torch(block, dtype, groups, monkeypatch):
    monkeypatch.setattr(fast, "_BLOCK_ENTRIES", BLOCKS[block])
    rng = np.random.default_rng([71, groups])
    A = rng.standard_normal((M_IMAGES, SIZE, SIZE, CHANNELS)).astype(dtype)
    W = rng.standard_normal((KERNEL, KERNEL, CHANNELS // groups, N_C)).astype(dtype)
    b = rng.standard_normal((1, 1, 1, N_C)).astype(dtype)
    hp = {"stride": 1, "pad": 1, "groups": groups}
    dZ = rng.standard_normal((M_IMAGES, SIZE, SIZE, N_C)).astype(dtype)

    Z, cache = fast.conv_forward(A, W, b, hp)
    magnitude = T.conv_forward(np.abs(A), np.abs(W), np.abs(b), **hp)
    terms = KERNEL * KERNEL * CHANNELS // groups + 1
    want = T.conv_forward(A, W, b, **hp)
    assert Z.dtype == dtype and np.all(np.abs(Z - want) <= tolerance(magnitude, terms, dtype)), "Z"

    grads = fast.conv_backward(dZ, cache)
    magnitudes = T.conv_backward(np.abs(dZ), np.abs(A), np.abs(W), np.abs(b), **hp)
    positions = M_IMAGES * SIZE * SIZE
    for name, got, want, magnitude, terms in zip(
        ("dA_prev", "dW", "db"), grads, T.conv_backward(dZ, A, W, b, **hp), magnitudes, (KERNEL * KERNEL * N_C, positions, positions)
    ):
        assert got.dtype == dtype and got.shape == want.shape, name
        assert np.all(np.abs(got - want) <= tolerance(magnitude, terms, dtype)), name


@pytest.mark.parametrize("ref", [pytest.param(loops, id="loops"), pytest.param(fast, id="fast")])
@pytest.mark.parametrize("taps", [255, 256, 257, 65536, 65537])
def test_max_pool_window_of_many_taps_finds_its_last_tap(ref, taps):
    """One 1 x taps window over a row whose maximum is the last element."""
    A = np.linspace(-1.0, 1.0, taps).reshape(1, 1, taps, 1)
    hp = {"f": (1, taps), "stride": 1}
    out, cache = ref.pool_forward(A, hp, "max")
    assert out.shape == (1, 1, 1, 1) and out[0, 0, 0, 0] == 1.0
    expected = np.zeros_like(A)
    expected[0, 0, -1, 0] = 2.5
    assert np.array_equal(ref.pool_backward(np.full((1, 1, 1, 1), 2.5), cache, "max"), expected)
