"""The five defects of the tutorial's code, each pinned by a check that the references pass.

Each defect has a ``check_<defect>(impl)`` that raises AssertionError (usually a CheckFailure
from convcheck.properties.asserts, which is one) when ``impl`` has the defect, and returns
quietly otherwise. Two tests use it:

* ``test_<defect>_fixed[loops|fast]``: both references pass the check;
* ``test_<defect>_caught``: the check raises on a deliberately broken variant.

The broken variants are written here (they are not the tutorial's code): each is the loops
reference with one function swapped for a small function that has exactly that defect and is
otherwise right, so a failing check can only be the defect. ``test_broken_variants_are_
otherwise_right`` shows that: on inputs that do not trigger the defect, each swapped-in
function agrees with torch.

The defects:
1. conv_forward's window ends at start + stride instead of start + f;
2. conv_backward crops the padding with [pad:-pad], which is empty at pad = 0;
3. create_mask_from_window marks every tied maximum (x >= max(x)), so pool_backward passes
   the gradient of a tied window once per tie, and a NaN window gets no mask at all;
4. conv_single_step does float(b) on a (1, 1, 1) array: a DeprecationWarning from NumPy 1.25
   on, a TypeError on the NumPy installed here (2.4) -- and a Python float b turns a float32
   result into float64 on NumPy 1.x;
5. no validation: an f x f window larger than the input gives an empty array, not an error.
"""

from __future__ import annotations

import types
import warnings

import numpy as np
import pytest

from convcheck.implementations import SEED_FUNCTIONS
from convcheck.oracle.tolerances import tolerance
from convcheck.properties.asserts import CheckFailure, assert_array, assert_close, call
from convcheck.properties.checks import needs_torch, require_torch
from convcheck.properties.ops import T
from convcheck.reference import fast, loops

IMPLS = [pytest.param(loops, id="loops"), pytest.param(fast, id="fast")]


def broken(**replacements):
    """The loops reference with some functions replaced: a module-like namespace."""
    functions = {name: getattr(loops, name) for name in SEED_FUNCTIONS}
    functions.update(replacements)
    return types.SimpleNamespace(**functions)


def rand(rng, shape, dtype=np.float64):
    return rng.standard_normal(shape).astype(dtype)


# ---- hand-written variants, each with one defect ---------------------------------------------


def _naive_conv_forward(A_prev, W, b, hparameters, window_extent=None):
    """Unvalidated, loop-per-position conv. window_extent=None: the window is W's size (right);
    window_extent="stride": the window ends stride elements after its start (defect 1).
    The window slice is given a trailing axis so that it broadcasts against all filters."""
    stride, pad = hparameters["stride"], hparameters["pad"]
    A = np.pad(A_prev, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
    f = W.shape[0]
    extent = stride if window_extent == "stride" else f
    n_H = (A.shape[1] - f) // stride + 1
    n_W = (A.shape[2] - f) // stride + 1
    Z = np.zeros((A.shape[0], n_H, n_W, W.shape[3]), dtype=np.result_type(A_prev, W, b))
    for i in range(A.shape[0]):
        for h in range(n_H):
            for w in range(n_W):
                window = A[i, h * stride : h * stride + extent, w * stride : w * stride + extent, :, None]
                Z[i, h, w, :] = (window * W).sum(axis=(0, 1, 2)) + b.reshape(-1)
    return Z, (A_prev, W, b, hparameters)


def _conv_forward_window_is_stride(A_prev, W, b, hparameters):  # defect 1
    return _naive_conv_forward(A_prev, W, b, hparameters, window_extent="stride")


def _conv_backward_negative_crop(dZ, cache):  # defect 2
    """The reference's gradient w.r.t. the *padded* input, then cropped with [p:-p]."""
    A_prev, W, b, hparameters = cache
    p = hparameters["pad"]
    padded_cache = (loops.zero_pad(A_prev, p), W, b, {"stride": hparameters["stride"], "pad": 0})
    dA_pad, dW, db = loops.conv_backward(dZ, padded_cache)
    return dA_pad[:, p:-p, p:-p, :], dW, db


def _mask_all_ties(x):  # defect 3
    return x == x.max()


def _pool_backward_all_ties(dA, cache, mode="max"):  # defect 3, as pool_backward sees it
    A_prev, hparameters = cache
    f, s = hparameters["f"], hparameters["stride"]
    if mode != "max":
        return loops.pool_backward(dA, cache, mode)
    dA_prev = np.zeros(A_prev.shape, dtype=np.result_type(A_prev, dA))
    for i, h, w, c in np.ndindex(*dA.shape):
        window = (i, slice(h * s, h * s + f), slice(w * s, w * s + f), c)
        dA_prev[window] += _mask_all_ties(A_prev[window]) * dA[i, h, w, c]
    return dA_prev


# Defect 4 as NumPy 1.25 to 2.3 show it (2.4 raises instead): expected from the broken variant
FLOAT_OF_ARRAY_WARNS = pytest.mark.filterwarnings("ignore:Conversion of an array with ndim > 0 to a scalar:DeprecationWarning")


def _single_step_float_b(a_slice_prev, W, b):  # defect 4
    return (a_slice_prev * W).sum() + float(b)


def _conv_forward_float_b(A_prev, W, b, hparameters):  # defect 4, as conv_forward sees it
    s, p = hparameters["stride"], hparameters["pad"]
    A = np.pad(A_prev, ((0, 0), (p, p), (p, p), (0, 0)))
    f, n_C = W.shape[0], W.shape[3]
    n_H, n_W = (A.shape[1] - f) // s + 1, (A.shape[2] - f) // s + 1
    Z = np.zeros((A.shape[0], n_H, n_W, n_C))
    for i, h, w, c in np.ndindex(A.shape[0], n_H, n_W, n_C):
        Z[i, h, w, c] = _single_step_float_b(A[i, h * s : h * s + f, w * s : w * s + f], W[..., c], b[..., c])
    return Z, (A_prev, W, b, hparameters)


def _pool_forward_unchecked(A_prev, hparameters, mode="max"):  # defect 5
    f, s = hparameters["f"], hparameters["stride"]
    m, H, W_, C = A_prev.shape
    n_H, n_W = (H - f) // s + 1, (W_ - f) // s + 1
    reduce = np.max if mode == "max" else np.mean
    A = np.zeros((m, n_H, n_W, C), dtype=A_prev.dtype)
    for i, h, w in np.ndindex(m, n_H, n_W):
        A[i, h, w] = reduce(A_prev[i, h * s : h * s + f, w * s : w * s + f], axis=(0, 1))
    return A, (A_prev, hparameters)


BROKEN = {
    "window_extent": broken(conv_forward=_conv_forward_window_is_stride),
    "crop_at_pad_0": broken(conv_backward=_conv_backward_negative_crop),
    "tied_max_mask": broken(create_mask_from_window=_mask_all_ties, pool_backward=_pool_backward_all_ties),
    "float_of_b": broken(conv_single_step=_single_step_float_b, conv_forward=_conv_forward_float_b),
    "no_validation": broken(conv_forward=_naive_conv_forward, pool_forward=_pool_forward_unchecked),
}


# ---- defect 1: the window extent -------------------------------------------------------------

# (m, H, W, C_prev, n_C, f, stride, pad): every case has f != stride
WINDOW_CASES = [
    (2, 5, 5, 3, 2, 3, 1, 1),  # window wider than the stride: the defect slices 1 x 1
    (1, 6, 7, 2, 3, 2, 1, 0),
    (1, 7, 7, 2, 2, 2, 3, 1),  # window narrower than the stride
    (2, 8, 6, 1, 1, 4, 2, 2),  # n_C = 1
]


def check_window_extent(impl):
    require_torch()
    rng = np.random.default_rng(11)
    for m, H, W_, C, n_C, f, stride, pad in WINDOW_CASES:
        for dtype in (np.float64, np.float32):
            A, W, b = rand(rng, (m, H, W_, C), dtype), rand(rng, (f, f, C, n_C), dtype), rand(rng, (1, 1, 1, n_C), dtype)
            Z, _ = call(impl.conv_forward, "conv_forward", A, W, b, {"stride": stride, "pad": pad})
            expected = T.conv_forward(A, W, b, stride, pad)
            M = T.conv_forward(np.abs(A), np.abs(W), np.abs(b), stride, pad)
            what = f"conv_forward Z, f={f} stride={stride} pad={pad} {np.dtype(dtype)}"
            assert_array(Z, expected.shape, dtype, what)
            assert_close(Z, expected, tolerance(M, f * f * C + 1, dtype), what)


@pytest.mark.parametrize("ref", IMPLS)
def test_window_extent_fixed(ref):
    check_window_extent(ref)


def test_window_extent_caught():
    with pytest.raises(AssertionError):
        check_window_extent(BROKEN["window_extent"])


# ---- defect 2: the crop of the padding at pad = 0 --------------------------------------------

# (m, H, W, C_prev, n_C, f, stride, pad)
CROP_CASES = [
    (2, 4, 5, 3, 2, 2, 1, 0),
    (1, 6, 6, 2, 1, 3, 2, 0),  # n_C = 1
    (1, 3, 3, 1, 1, 3, 1, 0),  # the window is the whole input
    (2, 4, 4, 2, 3, 3, 1, 1),  # pad > 0 too: the fix must not break the usual case
]


def check_crop_at_pad_0(impl):
    require_torch()
    rng = np.random.default_rng(22)
    for m, H, W_, C, n_C, f, stride, pad in CROP_CASES:
        A, W, b = rand(rng, (m, H, W_, C)), rand(rng, (f, f, C, n_C)), rand(rng, (1, 1, 1, n_C))
        n_H, n_W = (H + 2 * pad - f) // stride + 1, (W_ + 2 * pad - f) // stride + 1
        dZ = rand(rng, (m, n_H, n_W, n_C))
        # a ValueError (or any exception) here is a CheckFailure: the input is valid
        grads = call(impl.conv_backward, "conv_backward", dZ, (A, W, b, {"stride": stride, "pad": pad}))
        assert isinstance(grads, tuple) and len(grads) == 3, f"conv_backward returned {type(grads).__name__}"
        expected = T.conv_backward(dZ, A, W, b, stride, pad)
        mags = T.conv_backward(np.abs(dZ), np.abs(A), np.abs(W), np.abs(b), stride, pad)
        positions = m * n_H * n_W
        for name, got, want, M, n in zip(("dA_prev", "dW", "db"), grads, expected, mags, (f * f * n_C, positions, positions)):
            what = f"conv_backward {name}, f={f} stride={stride} pad={pad}"
            assert_array(got, want.shape, np.float64, what)
            assert_close(got, want, tolerance(M, n, np.float64), what)


@pytest.mark.parametrize("ref", IMPLS)
def test_crop_at_pad_0_fixed(ref):
    check_crop_at_pad_0(ref)


def test_crop_at_pad_0_caught():
    with pytest.raises(AssertionError):
        check_crop_at_pad_0(BROKEN["crop_at_pad_0"])


# ---- defect 3: one winner per window ---------------------------------------------------------

# (window, the one (row, col) that must be True): ties -> the first maximum in row-major order,
# any NaN -> the last NaN
MASK_CASES = [
    ([[1.0, 3.0], [3.0, 0.0]], (0, 1)),
    ([[2.0, 2.0], [2.0, 2.0]], (0, 0)),
    ([[-1.0, -5.0, -1.0]], (0, 0)),
    ([[0.0], [4.0], [4.0]], (1, 0)),
    ([[np.nan, 1.0], [2.0, np.nan]], (1, 1)),
    ([[5.0, np.nan], [np.inf, 0.0]], (0, 1)),
    ([[np.nan, np.nan, np.nan]], (0, 2)),
    ([[-np.inf, -np.inf]], (0, 0)),
]


def check_tied_max_mask(impl):
    for values, winner in MASK_CASES:
        for dtype in (np.float64, np.float32):
            x = np.array(values, dtype=dtype)
            mask = call(impl.create_mask_from_window, "create_mask_from_window", x)
            assert_array(mask, x.shape, np.bool_, f"mask of {values}")
            expected = np.zeros(x.shape, dtype=bool)
            expected[winner] = True
            if not np.array_equal(mask, expected):
                raise CheckFailure("values", f"mask of {values} ({np.dtype(dtype)}): expected True only at {winner}, got\n{mask}")
    # pool_backward on tied windows: each window's gradient reaches one input, as in torch
    require_torch()
    A_prev = np.array([[3.0, 3.0, 1.0], [1.0, 3.0, 3.0], [2.0, 2.0, 2.0]]).reshape(1, 3, 3, 1)
    for f, stride in ((2, 1), (3, 1), (2, 2)):
        hp = {"f": f, "stride": stride}
        n = (3 - f) // stride + 1
        dA = np.arange(1.0, n * n + 1).reshape(1, n, n, 1)
        got = call(impl.pool_backward, "pool_backward", dA, (A_prev, hp), "max")
        expected = T.pool_backward(dA, A_prev, f, stride, "max")
        M = T.pool_backward(np.abs(dA), A_prev, f, stride, "max")
        what = f"pool_backward (max) on tied windows, f={f} stride={stride}"
        assert_array(got, A_prev.shape, np.float64, what)
        assert_close(got, expected, tolerance(M, (-(-f // stride)) ** 2, np.float64), what)
        if not np.isclose(got.sum(), dA.sum()):
            raise CheckFailure("values", f"{what}: the gradient sums to {got.sum()}, dA to {dA.sum()}")


@pytest.mark.parametrize("ref", IMPLS)
def test_tied_max_mask_fixed(ref):
    check_tied_max_mask(ref)


def test_tied_max_mask_caught():
    with pytest.raises(AssertionError):
        check_tied_max_mask(BROKEN["tied_max_mask"])


def test_tied_max_mask_caught_by_pool_backward_alone():
    """Even with a right mask, a pool_backward that spreads over ties is caught."""
    impl = broken(pool_backward=_pool_backward_all_ties)
    with pytest.raises(AssertionError, match="tied windows"):
        check_tied_max_mask(impl)


# ---- defect 4: float(b) ----------------------------------------------------------------------


def check_float_of_b(impl):
    rng = np.random.default_rng(44)
    for dtype in (np.float32, np.float64):
        a, W, b = rand(rng, (3, 3, 2), dtype), rand(rng, (3, 3, 2), dtype), rand(rng, (1, 1, 1), dtype)
        with warnings.catch_warnings():
            # a DeprecationWarning (NumPy 1.25 - 2.x) becomes an error, as TypeError is on later NumPy
            warnings.simplefilter("error", DeprecationWarning)
            Z = call(impl.conv_single_step, "conv_single_step", a, W, b)
        if not isinstance(Z, np.floating):
            raise CheckFailure("dtype", f"conv_single_step must return a NumPy floating scalar, got {type(Z).__name__} {Z!r}")
        if Z.dtype != dtype:
            raise CheckFailure("dtype", f"conv_single_step on {np.dtype(dtype)} inputs returned {Z.dtype}")
        require_torch()
        M = T.single_step(np.abs(a), np.abs(W), np.abs(b))
        assert_close(np.array(Z), np.array(T.single_step(a, W, b)), tolerance(np.array(M), a.size + 1, dtype), "conv_single_step")

        A, Wc, bc = rand(rng, (2, 4, 4, 2), dtype), rand(rng, (3, 3, 2, 3), dtype), rand(rng, (1, 1, 1, 3), dtype)
        with warnings.catch_warnings():
            warnings.simplefilter("error", DeprecationWarning)
            Zc, _ = call(impl.conv_forward, "conv_forward", A, Wc, bc, {"stride": 1, "pad": 1})
        expected = T.conv_forward(A, Wc, bc, 1, 1)
        M = T.conv_forward(np.abs(A), np.abs(Wc), np.abs(bc), 1, 1)
        assert_array(Zc, expected.shape, dtype, f"conv_forward Z ({np.dtype(dtype)})")
        assert_close(Zc, expected, tolerance(M, 3 * 3 * 2 + 1, dtype), f"conv_forward Z ({np.dtype(dtype)})")


@pytest.mark.parametrize("ref", IMPLS)
def test_float_of_b_fixed(ref):
    check_float_of_b(ref)


@FLOAT_OF_ARRAY_WARNS
def test_float_of_b_caught():
    with pytest.raises(AssertionError):
        check_float_of_b(BROKEN["float_of_b"])


# ---- defect 5: no validation -----------------------------------------------------------------


def _expect_value_error(fn, name, args, mentions):
    """ValueError (not an empty result, not another exception) whose message mentions `mentions`."""
    try:
        result = fn(*args)
    except ValueError as exc:
        if mentions not in str(exc):
            raise CheckFailure("accepted invalid", f"{name}: the ValueError does not mention {mentions!r}: {exc}") from exc
        return
    except Exception as exc:  # noqa: BLE001
        raise CheckFailure("raised", f"{name} raised {type(exc).__name__} instead of ValueError: {exc}") from exc
    shapes = [r.shape for r in (result if isinstance(result, tuple) else (result,)) if isinstance(r, np.ndarray)]
    raise CheckFailure("accepted invalid", f"{name} returned arrays of shape {shapes} instead of raising ValueError")


def check_no_validation(impl):
    rng = np.random.default_rng(55)
    # windows larger than the input, where the unvalidated size formula gives 0 (an empty array)
    for H, f, stride in ((2, 3, 2), (2, 3, 1), (1, 2, 3), (3, 4, 4)):
        A = rand(rng, (2, H, H, 3))
        for mode in ("max", "average"):
            _expect_value_error(impl.pool_forward, f"pool_forward(H={H}, f={f}, stride={stride}, {mode})", (A, {"f": f, "stride": stride}, mode), "f")
    # kernels larger than the padded input
    for H, f, stride, pad in ((2, 3, 2, 0), (2, 3, 1, 0), (1, 4, 1, 1), (3, 6, 2, 1)):
        A, W, b = rand(rng, (1, H, H, 2)), rand(rng, (f, f, 2, 2)), rand(rng, (1, 1, 1, 2))
        _expect_value_error(impl.conv_forward, f"conv_forward(H={H}, f={f}, stride={stride}, pad={pad})", (A, W, b, {"stride": stride, "pad": pad}), "W")


@pytest.mark.parametrize("ref", IMPLS)
def test_no_validation_fixed(ref):
    check_no_validation(ref)


def test_no_validation_caught():
    with pytest.raises(AssertionError):
        check_no_validation(BROKEN["no_validation"])


# ---- the broken variants differ from the references only by their defect ---------------------


@needs_torch
@FLOAT_OF_ARRAY_WARNS
def test_broken_variants_are_otherwise_right():
    rng = np.random.default_rng(66)
    A, W, b = rand(rng, (2, 5, 6, 3)), rand(rng, (2, 2, 3, 4)), rand(rng, (1, 1, 1, 4))
    hp = {"stride": 2, "pad": 1}  # f == stride: defect 1 is silent
    expected = T.conv_forward(A, W, b, 2, 1)
    M = T.conv_forward(np.abs(A), np.abs(W), np.abs(b), 2, 1)
    for fn in (_conv_forward_window_is_stride, _naive_conv_forward, _conv_forward_float_b):
        if fn is _conv_forward_float_b:  # float(b) fails on this NumPy; the arithmetic is right
            try:
                float(np.ones((1, 1, 1)))
            except TypeError:
                continue
        assert_close(fn(A, W, b, hp)[0], expected, tolerance(M, 2 * 2 * 3 + 1, np.float64), fn.__name__)
    dZ = rand(rng, expected.shape)
    for name, got, want in zip(("dA", "dW", "db"), _conv_backward_negative_crop(dZ, (A, W, b, hp)), T.conv_backward(dZ, A, W, b, 2, 1)):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12, err_msg=f"crop variant {name} at pad=1")
    P = rand(rng, (2, 6, 5, 3))  # distinct values: no ties, so defect 3 is silent
    for mode in ("max", "average"):
        np.testing.assert_allclose(_pool_forward_unchecked(P, {"f": 3, "stride": 2}, mode)[0], T.pool_forward(P, 3, 2, mode), rtol=1e-14)
        dA = rand(rng, (2, 2, 2, 3))
        np.testing.assert_allclose(
            _pool_backward_all_ties(dA, (P, {"f": 3, "stride": 2}), mode), T.pool_backward(dA, P, 3, 2, mode), rtol=1e-14, atol=1e-15
        )
    assert np.array_equal(_mask_all_ties(np.array([[1.0, 2.0], [0.0, -1.0]])), [[False, True], [False, False]])
