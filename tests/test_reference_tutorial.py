"""The tutorial's printed outputs, reproduced by both reference implementations.

Every example of the tutorial (/work/shared/seed/000_7c2e83e318201444.txt) is replayed with
the tutorial's own call sequence: ``np.random.seed(1)`` before each example, then the same
``np.random.randn`` draws in the same order, then the same calls.

How each printed value is compared:

* Values printed with 16-17 significant digits (conv_single_step's Z, the means) are
  ``repr`` round-trips of a float64: the printed text *is* the tutorial's float64, so
  ``loops`` must give it with ``==`` (bit for bit).
* Arrays are printed by NumPy's default ``precision=8``: fixed-point with 8 digits after the
  decimal point (trailing zeros dropped). A printed element therefore carries an *absolute*
  rounding error of at most half a unit of the 8th decimal, 0.5e-8, whatever its magnitude
  (relative to the element that is ~1e-9 for 5.05844394 but ~6e-8 for 0.08485462), so printed
  arrays are compared with ``atol=PRINT_ATOL`` (that half unit, plus 1e-14 for the
  decimal-to-binary conversion of the printed literal) and ``rtol=0``: the tightest
  comparison the printed digits allow. Both implementations must pass it.
* ``fast`` computes in another order (GEMM / vectorised sums), so on top of the printed digits
  it must agree with the full-precision values within the suite's tolerance policy
  ``tolerance(magnitude, n_terms, dtype)``. The full-precision tutorial values are those of
  ``loops`` (the same tests prove ``loops`` reproduces the tutorial bit for bit). The
  magnitudes are computed **by the torch oracle on absolute values** (convcheck.oracle.torch_ops
  applied to |A|, |W|, |b|, |dZ|), with the term counts of convcheck/properties/ops.py.
* A printed mean over N elements, each a sum of at most n terms, is itself one sum of all
  those terms divided by N: every term passes through at most n + N roundings, so its
  tolerance is ``tolerance(mean(M), n + N, dtype)`` with M the per-element magnitudes.
"""

from __future__ import annotations

import numpy as np
import pytest

from convcheck.oracle.tolerances import tolerance
from convcheck.properties.asserts import assert_close, call
from convcheck.properties.checks import require_torch
from convcheck.properties.ops import T
from convcheck.reference import fast, loops

IMPLS = [pytest.param(loops, id="loops"), pytest.param(fast, id="fast")]

PRINT_ATOL = 0.5e-8 + 1e-14  # half a unit of the 8th printed decimal (+ literal conversion)


def assert_printed(actual, printed, what):
    """`actual` equals an array printed with NumPy's default 8 decimals, to those decimals."""
    actual = np.asarray(actual)
    printed = np.asarray(printed, dtype=np.float64)
    assert actual.shape == printed.shape, f"{what}: shape {actual.shape}, printed {printed.shape}"
    np.testing.assert_allclose(actual, printed, rtol=0, atol=PRINT_ATOL, err_msg=what)


def assert_exact_scalar(actual, printed, what):
    assert isinstance(actual, np.floating), f"{what}: expected a NumPy floating scalar, got {type(actual).__name__}"
    assert actual == printed, f"{what}: got {actual!r}, the tutorial printed {printed!r}"


def mean_tolerance(magnitude: np.ndarray, n_terms: int, dtype) -> float:
    """Tolerance of the mean of elements that are sums of <= n_terms terms with magnitudes M."""
    magnitude = np.asarray(magnitude, dtype=np.float64)
    return float(tolerance(np.mean(magnitude), n_terms + magnitude.size, dtype))


def assert_mean(ref, actual, printed, what, tolerance_of_mean):
    """loops: bit for bit; fast: within tolerance_of_mean() of the printed float64 (called for
    fast only: its magnitudes come from torch)."""
    if ref is loops:
        assert_exact_scalar(actual, printed, what)
    else:
        assert_close(np.array(actual), np.array(printed), np.array(tolerance_of_mean()), what)


# ---- the tutorial's examples, replayed -------------------------------------------------------


def example_zero_pad(ref):
    np.random.seed(1)
    x = np.random.randn(4, 3, 3, 2)
    x_pad = call(ref.zero_pad, "zero_pad", x, 2)
    return x, x_pad


def example_conv_single_step(ref):
    np.random.seed(1)
    a_slice_prev = np.random.randn(4, 4, 3)
    W = np.random.randn(4, 4, 3)
    b = np.random.randn(1, 1, 1)
    return call(ref.conv_single_step, "conv_single_step", a_slice_prev, W, b), (a_slice_prev, W, b)


def example_conv_forward(ref):
    np.random.seed(1)
    A_prev = np.random.randn(10, 4, 4, 3)
    W = np.random.randn(2, 2, 3, 8)
    b = np.random.randn(1, 1, 1, 8)
    hparameters = {"pad": 2, "stride": 2}
    Z, cache_conv = call(ref.conv_forward, "conv_forward", A_prev, W, b, hparameters)
    return Z, cache_conv


def example_conv_backward(ref):
    Z, cache_conv = example_conv_forward(ref)
    np.random.seed(1)
    dA, dW, db = call(ref.conv_backward, "conv_backward", Z, cache_conv)
    return (dA, dW, db), Z, cache_conv


def example_pool_forward(ref):
    np.random.seed(1)
    A_prev = np.random.randn(2, 4, 4, 3)
    hparameters = {"stride": 2, "f": 3}
    A_max, _ = call(ref.pool_forward, "pool_forward", A_prev, hparameters)
    A_avg, _ = call(ref.pool_forward, "pool_forward", A_prev, hparameters, "average")
    return A_max, A_avg, A_prev


def example_create_mask(ref):
    np.random.seed(1)
    x = np.random.randn(2, 3)
    return x, call(ref.create_mask_from_window, "create_mask_from_window", x)


def example_pool_backward(ref):
    np.random.seed(1)
    A_prev = np.random.randn(5, 5, 3, 2)
    hparameters = {"stride": 1, "f": 2}
    A, cache = call(ref.pool_forward, "pool_forward", A_prev, hparameters)
    dA = np.random.randn(5, 4, 2, 2)
    dA_prev_max = call(ref.pool_backward, "pool_backward", dA, cache, "max")
    dA_prev_avg = call(ref.pool_backward, "pool_backward", dA, cache, "average")
    return dA, dA_prev_max, dA_prev_avg, A_prev


# ---- zero_pad --------------------------------------------------------------------------------


@pytest.mark.parametrize("ref", IMPLS)
def test_zero_pad_example(ref):
    x, x_pad = example_zero_pad(ref)
    assert x.shape == (4, 3, 3, 2)
    assert x_pad.shape == (4, 7, 7, 2)
    assert_printed(x[1, 1], [[0.90085595, -0.68372786], [-0.12289023, -0.93576943], [-0.26788808, 0.53035547]], "x[1,1]")
    # printed as "0." : exactly zero (padding is a selection, n_terms = 0: exact)
    assert np.array_equal(x_pad[1, 1], np.zeros((7, 2))), f"x_pad[1,1] = {x_pad[1, 1]}"
    assert x_pad.dtype == np.float64
    # not printed, but what the figure shows: the interior is x itself, bit for bit
    assert np.array_equal(x_pad[:, 2:-2, 2:-2, :], x)


# ---- conv_single_step ------------------------------------------------------------------------


@pytest.mark.parametrize("ref", IMPLS)
def test_conv_single_step_example(ref):
    Z, (a, W, b) = example_conv_single_step(ref)
    printed = -6.999089450680221
    if ref is loops:
        assert_exact_scalar(Z, printed, "Z")
    else:
        assert isinstance(Z, np.floating) and Z.dtype == np.float64, f"Z is {type(Z).__name__}"
        require_torch()
        magnitude = T.single_step(np.abs(a), np.abs(W), np.abs(b))
        assert_close(np.array(Z), np.array(printed), tolerance(np.array(magnitude), a.size + 1, np.float64), "Z")


# ---- conv_forward ----------------------------------------------------------------------------

Z_3_2_1 = [-0.61490741, -6.7439236, -2.55153897, 1.75698377, 3.56208902, 0.53036437, 5.18531798, 8.75898442]


def _conv_forward_magnitude(cache):
    require_torch()
    A_prev, W, b, hp = cache
    M = T.conv_forward(np.abs(A_prev), np.abs(W), np.abs(b), hp["stride"], hp["pad"])
    return M, W.shape[0] * W.shape[1] * W.shape[2] + 1


@pytest.mark.parametrize("ref", IMPLS)
def test_conv_forward_example(ref):
    Z, cache_conv = example_conv_forward(ref)
    assert Z.shape == (10, 4, 4, 8) and Z.dtype == np.float64
    assert_mean(ref, np.mean(Z), 0.048995203528855794, "Z's mean",
                lambda: mean_tolerance(*_conv_forward_magnitude(cache_conv), np.float64))
    assert_printed(Z[3, 2, 1], Z_3_2_1, "Z[3,2,1]")
    assert_printed(cache_conv[0][1][2][3], [-0.20075807, 0.18656139, 0.41005165], "cache_conv[0][1][2][3]")
    assert isinstance(cache_conv, tuple) and len(cache_conv) == 4
    assert cache_conv[3] == {"pad": 2, "stride": 2}


def test_conv_forward_example_fast_matches_full_precision():
    """Every element of fast's Z (not only the printed ones) within tolerance of the tutorial's."""
    Z_tutorial, cache = example_conv_forward(loops)
    Z_fast, _ = example_conv_forward(fast)
    M, n = _conv_forward_magnitude(cache)
    assert_close(Z_fast, Z_tutorial, tolerance(M, n, np.float64), "fast Z vs the tutorial's Z")


# ---- conv_backward ---------------------------------------------------------------------------


def _conv_backward_bounds(Z, cache, Z_error):
    """Per-gradient (magnitude, n_terms) as in properties/ops.py, plus the propagated error.

    The tutorial feeds conv_forward's own Z back as dZ, so fast's dZ already differs from the
    tutorial's by up to Z_error (fast's forward tolerance). The gradients are linear in dZ, so
    that difference reaches them as at most conv_backward(Z_error, |A|, |W|) (torch, exact up
    to float64 rounding of a bound): it is added to the tolerance of fast's backward.
    """
    require_torch()
    A_prev, W, b, hp = cache
    s, p = hp["stride"], hp["pad"]
    mags = T.conv_backward(np.abs(Z), np.abs(A_prev), np.abs(W), np.abs(b), s, p)
    propagated = T.conv_backward(Z_error, np.abs(A_prev), np.abs(W), np.abs(b), s, p)
    kh, kw, _, n_C = W.shape
    positions = int(np.prod(Z.shape[:3]))
    return list(zip(mags, (kh * kw * n_C, positions, positions), propagated))


@pytest.mark.parametrize("ref", IMPLS)
def test_conv_backward_example(ref):
    (dA, dW, db), Z, cache = example_conv_backward(ref)
    assert dA.shape == (10, 4, 4, 3) and dW.shape == (2, 2, 3, 8) and db.shape == (1, 1, 1, 8)
    assert dA.dtype == dW.dtype == db.dtype == np.float64

    def tolerance_of_mean(which):  # fast's: its dZ (= its Z) is off by up to its forward tolerance
        M, n = _conv_forward_magnitude(cache)
        mag, terms, propagated = _conv_backward_bounds(Z, cache, tolerance(M, n, np.float64))[which]
        return mean_tolerance(mag, terms, np.float64) + float(np.mean(propagated))

    printed = (1.4524377775388075, 1.7269914583139097, 7.839232564616838)
    for which, (name, grad, value) in enumerate(zip(("dA_mean", "dW_mean", "db_mean"), (dA, dW, db), printed)):
        assert_mean(ref, np.mean(grad), value, name, lambda: tolerance_of_mean(which))


def test_conv_backward_example_fast_matches_full_precision():
    """fast's backward on the tutorial's exact dZ, element by element, within tolerance."""
    (grads_tutorial), Z, cache = example_conv_backward(loops)
    grads_fast = call(fast.conv_backward, "conv_backward", Z, cache)
    zero = np.zeros(Z.shape)
    for name, got, want, (mag, terms, _) in zip(
        ("dA", "dW", "db"), grads_fast, grads_tutorial, _conv_backward_bounds(Z, cache, zero)
    ):
        assert_close(got, want, tolerance(mag, terms, np.float64), f"fast {name} vs the tutorial's")


# ---- pool_forward ----------------------------------------------------------------------------


@pytest.mark.parametrize("ref", IMPLS)
def test_pool_forward_example(ref):
    A_max, A_avg, A_prev = example_pool_forward(ref)
    assert A_max.shape == A_avg.shape == (2, 1, 1, 3)
    assert A_max.dtype == A_avg.dtype == np.float64
    assert_printed(A_max, [[[[1.74481176, 0.86540763, 1.13376944]]], [[[1.13162939, 1.51981682, 2.18557541]]]], "A (max)")
    assert_printed(A_avg, [[[[0.02105773, -0.20328806, -0.40389855]]], [[[-0.22154621, 0.51716526, 0.48155844]]]], "A (average)")
    A_max_tutorial, A_avg_tutorial, _ = example_pool_forward(loops)
    # max pooling selects: n_terms = 0, exact for both implementations
    assert_close(A_max, A_max_tutorial, tolerance(np.abs(A_max_tutorial), 0, np.float64), "A (max) vs the tutorial's")
    require_torch()
    M = T.pool_forward(np.abs(A_prev), 3, 2, "average")
    assert_close(A_avg, A_avg_tutorial, tolerance(M, 3 * 3 + 1, np.float64), "A (average) vs the tutorial's")


# ---- create_mask_from_window -----------------------------------------------------------------


@pytest.mark.parametrize("ref", IMPLS)
def test_create_mask_from_window_example(ref):
    x, mask = example_create_mask(ref)
    assert_printed(x, [[1.62434536, -0.61175641, -0.52817175], [-1.07296862, 0.86540763, -2.3015387]], "x")
    assert mask.dtype == np.bool_, mask.dtype
    assert np.array_equal(mask, [[True, False, False], [False, False, False]]), f"mask = {mask}"


@pytest.mark.parametrize("ref", IMPLS)
def test_create_mask_from_window_public_test_int_window(ref):
    """The assignment's public test file passes an int64 window and expects the one-hot mask at
    the maximum, 5 at (2, 1)."""
    x = np.array([[-1, 2, 3], [2, -3, 2], [1, 5, -2]])
    mask = ref.create_mask_from_window(x)
    assert mask.dtype == np.bool_, mask.dtype
    assert np.array_equal(mask, [[False, False, False], [False, False, False], [False, True, False]]), f"mask = {mask}"


@pytest.mark.parametrize("ref", IMPLS)
@pytest.mark.parametrize("dtype", [np.int8, np.uint8, np.int32, np.uint32, np.int64, np.uint64])
def test_create_mask_from_window_integer_windows_exact(ref, dtype):
    """Integer windows are compared in their own dtype: the extremes of the dtype, and int64
    neighbours above 2**53 that float64 cannot tell apart, pick the right element."""
    info = np.iinfo(dtype)
    x = np.array([[info.max - 1, info.min], [info.max, info.max]], dtype=dtype)
    assert np.array_equal(ref.create_mask_from_window(x), [[False, False], [True, False]])
    if np.dtype(dtype) == np.int64:
        big = np.array([[2**60, 2**60 + 1]], dtype=dtype)  # equal as float64
        assert np.array_equal(ref.create_mask_from_window(big), [[False, True]])


# ---- distribute_value ------------------------------------------------------------------------


@pytest.mark.parametrize("ref", IMPLS)
def test_distribute_value_example(ref):
    a = call(ref.distribute_value, "distribute_value", 2, (2, 2))
    assert isinstance(a, np.ndarray) and a.dtype == np.float64, a
    # 2 / 4 = 0.5 is exact in binary floating point
    assert np.array_equal(a, [[0.5, 0.5], [0.5, 0.5]]), f"distributed value = {a}"


# ---- pool_backward ---------------------------------------------------------------------------

DA_PREV_1_1 = {
    "max": [[0.0, 0.0], [5.05844394, -1.68282702], [0.0, 0.0]],
    "average": [[0.08485462, 0.2787552], [1.26461098, -0.25749373], [1.17975636, -0.53624893]],
}


@pytest.mark.parametrize("ref", IMPLS)
def test_pool_backward_example(ref):
    dA, dA_prev_max, dA_prev_avg, A_prev = example_pool_backward(ref)
    # dA is the tutorial's draw, so its mean is the same float64 whatever the implementation
    assert_exact_scalar(np.mean(dA), 0.14571390272918056, "mean of dA")
    _, tut_max, tut_avg, _ = example_pool_backward(loops)
    results = (("max", dA_prev_max, tut_max), ("average", dA_prev_avg, tut_avg))
    for mode, got, _ in results:
        assert got.shape == (5, 5, 3, 2) and got.dtype == np.float64
        assert_printed(got[1, 1], DA_PREV_1_1[mode], f"dA_prev[1,1] ({mode})")
    # printed as "0." : no gradient at all reaches these inputs (exact)
    assert dA_prev_max[1, 1, 0, 0] == dA_prev_max[1, 1, 0, 1] == dA_prev_max[1, 1, 2, 0] == dA_prev_max[1, 1, 2, 1] == 0.0
    require_torch()
    for mode, got, tutorial in results:
        M = T.pool_backward(np.abs(dA), A_prev, 2, 1, mode)
        n = (-(-2 // 1)) ** 2 + (mode == "average")  # windows overlapping one input, + the division
        assert_close(got, tutorial, tolerance(M, n, np.float64), f"dA_prev ({mode}) vs the tutorial's")
