"""loops and fast over torch's whole Conv2d / MaxPool2d / AvgPool2d hyperparameter space.

Plain pytest, every configuration a fixed function of its seed:

* random configurations (conv: rectangular kernels, per-axis strides, int / pair / asymmetric /
  "same" / "valid" padding, dilation, groups from 1 to depthwise with channel multipliers, b
  None; pooling: rectangular windows, stride None / int / pair (also wider than the window),
  padding, dilation, ceil_mode, count_include_pad, divisor_override of either sign): loops,
  fast and torch (convcheck.oracle.torch_ops) agree forward and backward, and loops and fast
  agree with each other;
* targeted cases for each corner the random ones might reach rarely, with torch's numbers;
* max pooling where a window sees no real element: -inf forward and no gradient, the oracle's
  `max_pool_backward_unreliable` predicts exactly these geometries, and torch's max-pool
  backward is never called there (its explicit-padding route is);
* errors: over random configurations straddling every validity boundary, ValueError in both
  references exactly where torch raises; plus the contract's own rejections (types, options
  of the other pooling mode), each message naming its parameter;
* the tutorial's spellings and their pair / list equivalents give identical results.

Tolerances are the suite's policy, as in test_reference_vs_torch.py: magnitudes from the
oracle on absolute values; term counts conv forward kh*kw*C_prev/groups + 1, conv backward
dA kh*kw*n_C, dW and db m*n_H*n_W; max pooling 0 (a selection), average kh*kw + 1, pool
backward kh*kw (+1 for average), an upper bound on the windows sharing an element.
"""

from __future__ import annotations

import numpy as np
import pytest

from convcheck.oracle.tolerances import tolerance
from convcheck.properties.asserts import assert_array, assert_close, call
from convcheck.properties.checks import needs_torch
from convcheck.properties.ops import T
from convcheck.reference import fast, loops, params

REFS = (("loops", loops), ("fast", fast))
N_CONV, N_POOL, N_ERRORS = 120, 200, 300


def _form(rng, a, b):
    """An axis pair in one of its spellings: an int when both agree (sometimes), a tuple, a list."""
    if a == b and rng.random() < 0.5:
        return a
    return [a, b] if rng.random() < 0.3 else (a, b)


def _describe(arrays, hp, mode=None):
    return f"{hp}{'' if mode is None else ' ' + mode} " + " ".join(f"{a.shape}{a.dtype}" for a in arrays if a is not None)


# ---- convolution ----------------------------------------------------------------------------


def _conv_arrays(rng, dtype, m, H, W_, C, kh, kw, groups, n_C, with_bias):
    A = rng.standard_normal((m, H, W_, C)).astype(dtype)
    W = rng.standard_normal((kh, kw, C // groups, n_C)).astype(dtype)
    b = rng.standard_normal((1, 1, 1, n_C)).astype(dtype) if with_bias else None
    return A, W, b


def _conv_config(seed):
    rng = np.random.default_rng([31, seed])
    dtype = (np.float64, np.float32)[seed % 2]
    kind = rng.choice(["plain", "groups", "depthwise"], p=[0.4, 0.35, 0.25])
    if kind == "depthwise":
        groups = C = int(rng.integers(2, 5))
        n_C = C * int(rng.integers(1, 3))  # channel multiplier 1 or 2
    elif kind == "groups":
        groups = int(rng.integers(2, 4))
        C, n_C = groups * int(rng.integers(1, 3)), groups * int(rng.integers(1, 3))
    else:
        groups, C, n_C = 1, int(rng.integers(1, 4)), int(rng.integers(1, 4))
    kh, kw = int(rng.integers(1, 5)), int(rng.integers(1, 5))
    dh, dw = (int(rng.integers(1, 4)) if rng.random() < 0.4 else 1 for _ in range(2))
    sh, sw = int(rng.integers(1, 4)), int(rng.integers(1, 4))
    pad_kind = rng.choice(["int", "pair", "asym", "same", "valid"], p=[0.25, 0.2, 0.3, 0.15, 0.1])
    if pad_kind == "int":
        pad = int(rng.integers(0, 3))
        pads = ((pad, pad), (pad, pad))
    elif pad_kind == "pair":
        pads = tuple((p, p) for p in rng.integers(0, 3, size=2).tolist())
        pad = (pads[0][0], pads[1][0])
    elif pad_kind == "asym":
        pads = tuple(tuple(rng.integers(0, 4, size=2).tolist()) for _ in range(2))
        pad = pads if rng.random() < 0.7 else [list(pads[0]), list(pads[1])]
    elif pad_kind == "same":
        pad, sh, sw = "same", 1, 1
        pads = T.same_pads((kh, kw), (dh, dw))
    else:
        pad, pads = "valid", ((0, 0), (0, 0))
    extent = (dh * (kh - 1) + 1, dw * (kw - 1) + 1)
    H = max(1, extent[0] - sum(pads[0])) + int(rng.integers(0, 4))
    W_ = max(1, extent[1] - sum(pads[1])) + int(rng.integers(0, 4))
    m = int(rng.integers(1, 3))
    A, W, b = _conv_arrays(rng, dtype, m, H, W_, C, kh, kw, groups, n_C, rng.random() > 0.25)
    hp = {"stride": _form(rng, sh, sw), "pad": pad}
    if (dh, dw) != (1, 1) or rng.random() < 0.2:
        hp["dilation"] = _form(rng, dh, dw)
    if groups != 1 or rng.random() < 0.2:
        hp["groups"] = groups
    n_H = (H + sum(pads[0]) - extent[0]) // sh + 1
    n_W = (W_ + sum(pads[1]) - extent[1]) // sw + 1
    dZ = rng.standard_normal((m, n_H, n_W, n_C)).astype(dtype)
    return A, W, b, hp, dZ


def check_conv(A, W, b, hp, dZ, direct=False):
    dtype = np.result_type(A, W) if b is None else np.result_type(A, W, b)
    kh, kw, C_group, n_C = W.shape
    where = _describe((A, W, b, dZ), hp)
    absb = None if b is None else np.abs(b)

    Z_torch = T.conv_forward(A, W, b, **hp)
    M_Z = T.conv_forward(np.abs(A), np.abs(W), absb, **hp)
    n_Z = kh * kw * C_group + 1
    grads_torch = T.conv_backward(dZ, A, W, b, **hp)
    mags = T.conv_backward(np.abs(dZ), np.abs(A), np.abs(W), absb, **hp)
    positions = int(np.prod(dZ.shape[:3]))
    terms = (kh * kw * n_C, positions, positions)
    grad_dtype = np.result_type(dtype, dZ)
    if direct:  # the closed forms agree with autograd (and so with the references)
        for name, got, want, M, n in zip(("dA_prev", "dW"), T.conv_backward_direct(dZ, A, W, **hp), grads_torch, mags, terms):
            assert_close(got, want, tolerance(M, n + 1, np.float64), f"torch closed form vs autograd {name} {where}")

    results = {}
    for name, ref in REFS:
        Z, cache = call(ref.conv_forward, "conv_forward", A, W, b, hp)
        assert_array(Z, Z_torch.shape, dtype, f"{name} conv_forward Z {where}")
        assert_close(Z, Z_torch, tolerance(M_Z, n_Z, dtype), f"{name} conv_forward Z vs torch {where}")
        grads = call(ref.conv_backward, "conv_backward", dZ, cache)
        assert isinstance(grads, tuple) and len(grads) == 3
        if b is None:
            assert grads[2] is None and grads_torch[2] is None, f"{name}: db must be None without a bias {where}"
        for g_name, g, want, M, n in zip(("dA_prev", "dW", "db"), grads, grads_torch, mags, terms):
            if want is None:
                continue
            assert_array(g, want.shape, grad_dtype, f"{name} conv_backward {g_name} {where}")
            assert_close(g, want, tolerance(M, n, grad_dtype), f"{name} conv_backward {g_name} vs torch {where}")
        results[name] = (Z, *grads)

    for what, lo, fa, M, n in zip(("Z", "dA_prev", "dW", "db"), results["loops"], results["fast"], (M_Z, *mags), (n_Z, *terms)):
        if lo is not None:
            assert_close(fa, lo, tolerance(M, n + 1, lo.dtype), f"fast vs loops {what} {where}")


@needs_torch
@pytest.mark.parametrize("seed", range(N_CONV), ids=lambda s: f"cfg{s:03d}")
def test_conv_random_vs_torch(seed):
    check_conv(*_conv_config(seed), direct=seed % 4 == 0)


# (m, H, W, C, n_C, kh, kw, groups, hparameters beyond groups, bias): the corners, by name
CONV_CASES = {
    "depthwise": (2, 5, 6, 4, 4, 3, 3, 4, {"stride": 1, "pad": 1}, True),
    "depthwise-multiplier-dilated": (1, 7, 6, 3, 6, 3, 2, 3, {"stride": 1, "pad": 2, "dilation": 2}, True),
    "depthwise-stride-asym": (2, 6, 7, 2, 4, 2, 3, 2, {"stride": (2, 1), "pad": ((0, 2), (1, 0))}, False),
    "groups2-multiplier3": (1, 5, 5, 4, 6, 3, 3, 2, {"stride": (1, 2), "pad": ((0, 2), (1, 0))}, True),
    "groups3-rect": (2, 4, 6, 6, 3, 1, 3, 3, {"stride": [1, 2], "pad": [1, 0]}, True),
    "dilation-with-padding": (1, 6, 7, 2, 3, 3, 2, 1, {"stride": 1, "pad": (2, 1), "dilation": (2, 3)}, True),
    "dilation-kernel-fills-padded": (1, 3, 3, 1, 2, 3, 3, 1, {"stride": 1, "pad": 1, "dilation": 2}, True),
    "asymmetric-only-after": (1, 4, 4, 2, 2, 3, 3, 1, {"stride": 2, "pad": ((0, 3), (0, 1))}, True),
    "asymmetric-only-before": (2, 4, 3, 1, 1, 2, 2, 1, {"stride": 1, "pad": ((2, 0), (1, 0))}, True),
    "same-even-kernel": (1, 5, 6, 2, 2, 2, 4, 1, {"stride": 1, "pad": "same"}, True),
    "same-even-kernel-dilated": (1, 6, 5, 2, 3, 4, 2, 1, {"stride": 1, "pad": "same", "dilation": (1, 3)}, True),
    "same-odd-total": (2, 4, 4, 3, 3, 2, 2, 3, {"stride": 1, "pad": "same", "dilation": 3}, False),
    "same-kernel-larger-than-input": (1, 2, 3, 1, 1, 4, 5, 1, {"stride": 1, "pad": "same"}, True),
    "valid": (1, 5, 4, 2, 2, 3, 2, 1, {"stride": 2, "pad": "valid"}, True),
    "stride-larger-than-kernel": (1, 7, 8, 2, 2, 2, 1, 1, {"stride": (3, 4), "pad": 0}, True),
    "no-bias": (2, 4, 4, 3, 2, 3, 3, 1, {"stride": 1, "pad": 1}, False),
    "no-bias-groups": (1, 5, 5, 4, 2, 2, 2, 2, {"stride": 1, "pad": "same", "groups": 2}, False),
    "one-output-channel-asym": (2, 4, 5, 3, 1, 2, 3, 1, {"stride": 1, "pad": ((1, 0), (0, 2))}, True),
    "one-output-channel-dilated": (1, 5, 5, 2, 1, 2, 2, 1, {"stride": 2, "pad": 1, "dilation": 2}, True),
}


@needs_torch
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("name", list(CONV_CASES))
def test_conv_corner_vs_torch(name, dtype):
    m, H, W_, C, n_C, kh, kw, groups, hp, with_bias = CONV_CASES[name]
    rng = np.random.default_rng([32, len(name)])
    A, W, b = _conv_arrays(rng, dtype, m, H, W_, C, kh, kw, groups, n_C, with_bias)
    hp = {**hp, "groups": groups} if groups != 1 else dict(hp)
    n_H, n_W = T.conv_forward(A, W, b, **hp).shape[1:3]
    check_conv(A, W, b, hp, rng.standard_normal((m, n_H, n_W, n_C)).astype(dtype), direct=True)


@needs_torch
def test_same_is_torch_same():
    """torch's padding="same" puts the odd padding element at the bottom / right: the explicit
    pads the references use (and T.same_pads) give torch's numbers exactly."""
    rng = np.random.default_rng(33)
    A = rng.standard_normal((1, 6, 7, 1))
    for kh, kw, dilation in ((2, 2, 1), (4, 3, 1), (2, 4, 3), (3, 3, 2), (4, 2, (3, 1))):
        W = rng.standard_normal((kh, kw, 1, 1))
        native = T.conv_forward(A, W, None, 1, "same", dilation)
        pads = T.same_pads((kh, kw), dilation)
        assert np.array_equal(native, T.conv_forward(A, W, None, 1, pads, dilation)), (kh, kw, dilation, pads)
        assert native.shape == (1, 6, 7, 1)
        Z, _ = loops.conv_forward(A, W, None, {"stride": 1, "pad": "same", "dilation": dilation})
        assert_close(Z, native, tolerance(T.conv_forward(np.abs(A), np.abs(W), None, 1, "same", dilation), kh * kw + 1, np.float64), "same")


# ---- pooling --------------------------------------------------------------------------------


def _pool_config(seed):
    rng = np.random.default_rng([41, seed])
    dtype = (np.float64, np.float32)[seed % 2]
    mode = ("max", "average")[(seed // 2) % 2]
    kh, kw = int(rng.integers(1, 5)), int(rng.integers(1, 5))
    hp = {"f": _form(rng, kh, kw)}
    stride_kind = rng.choice(["none", "small", "wide"], p=[0.2, 0.6, 0.2])
    if stride_kind == "none":
        hp["stride"], (sh, sw) = None, (kh, kw)
    else:
        sh, sw = (int(rng.integers(1, 4)) if stride_kind == "small" else k + int(rng.integers(1, 3)) for k in (kh, kw))
        hp["stride"] = _form(rng, sh, sw)
    ph, pw = int(rng.integers(0, kh // 2 + 1)), int(rng.integers(0, kw // 2 + 1))
    if (ph, pw) != (0, 0) or rng.random() < 0.2:
        hp["pad"] = _form(rng, ph, pw)
    dh = dw = 1
    if mode == "max" and rng.random() < 0.5:
        dh, dw = int(rng.integers(1, 4)), int(rng.integers(1, 4))
        hp["dilation"] = _form(rng, dh, dw)
    only_padding = mode == "max" and rng.random() < 0.1  # then some window sees no real row
    if only_padding:  # taps -1 and dh - 1 = H: both padding
        kh, ph, dh = 2, 1, int(rng.integers(2, 4))
        hp.update(f=(2, kw), pad=(1, pw), dilation=(dh, dw))
        if hp["stride"] is None:
            hp["stride"], sh, sw = (2, kw), 2, kw
    ceil_mode = bool(rng.random() < 0.5)
    if ceil_mode or rng.random() < 0.2:
        hp["ceil_mode"] = ceil_mode
    if mode == "average":
        if rng.random() < 0.5:
            hp["count_include_pad"] = bool(rng.random() < 0.5)
        if rng.random() < 0.3:
            hp["divisor_override"] = int(rng.choice([-7, -3, -1, 1, 2, 5, 9]))
    sizes = []
    for k, s, p, d in ((kh, sh, ph, dh), (kw, sw, pw, dw)):
        smallest = max(1, d * (k - 1) + 1 - 2 * p - (s - 1 if ceil_mode else 0))
        sizes.append(smallest + int(rng.integers(0, 4)))
    if only_padding:
        sizes[0] = dh - 1
    m, C = int(rng.integers(1, 3)), int(rng.integers(1, 4))
    A = rng.standard_normal((m, *sizes, C)).astype(dtype)
    if seed % 5 == 0:  # NaN and infinities propagate as in torch, and steer the max gradient
        A.flat[rng.integers(0, A.size, 3)] = rng.choice([np.nan, np.inf, -np.inf], size=3)
    n_H, n_W = T.pool_forward(A[:1, :, :, :1], mode=mode, **hp).shape[1:3]
    dA = rng.standard_normal((m, n_H, n_W, C)).astype(dtype)
    return A, hp, mode, dA


def _max_backward_oracle(dA, A, hp):
    """torch's max-pool backward where it is reliable, else the explicit-padding route."""
    if T.max_pool_backward_unreliable(A.shape, hp):
        return T.max_pool_backward_padded_explicitly(dA, A, **{k: v for k, v in hp.items() if k != "count_include_pad"})
    return T.pool_backward(dA, A, mode="max", **hp)


def check_pool(A, hp, mode, dA):
    kh, kw = params.check_int_pair("f", hp["f"], 1)
    where = _describe((A, dA), hp, mode)
    out_torch = T.pool_forward(A, mode=mode, **hp)
    n_out = 0 if mode == "max" else kh * kw + 1
    M_out = np.abs(T.pool_forward(np.abs(A), mode=mode, **hp))
    if mode == "max":
        grad_torch = _max_backward_oracle(dA, A, hp)
        M_grad = _max_backward_oracle(np.abs(dA), A, hp)
    else:
        grad_torch = T.pool_backward(dA, A, mode=mode, **hp)
        M_grad = np.abs(T.pool_backward(np.abs(dA), A, mode=mode, **hp))
    n_grad = kh * kw + (mode == "average")
    results = {}
    for name, ref in REFS:
        with np.errstate(invalid="ignore"):  # inf - inf in an average window: NaN, as in torch
            out, cache = call(ref.pool_forward, "pool_forward", A, hp, mode)
        assert_array(out, out_torch.shape, A.dtype, f"{name} pool_forward {where}")
        assert_close(out, out_torch, tolerance(M_out, n_out, A.dtype), f"{name} pool_forward vs torch {where}")
        grad = call(ref.pool_backward, "pool_backward", dA, cache, mode)
        assert_array(grad, A.shape, np.result_type(A, dA), f"{name} pool_backward {where}")
        assert_close(grad, grad_torch, tolerance(M_grad, n_grad, grad.dtype), f"{name} pool_backward vs torch {where}")
        results[name] = (out, grad)
    for what, lo, fa, M, n in zip(("A", "dA_prev"), results["loops"], results["fast"], (M_out, M_grad), (n_out, n_grad)):
        n_pair = 0 if n == 0 else n + 1  # max pooling's forward is a selection: identical
        assert_close(fa, lo, tolerance(M, n_pair, lo.dtype), f"fast vs loops pool {what} {where}")


@needs_torch
@pytest.mark.parametrize("seed", range(N_POOL), ids=lambda s: f"cfg{s:03d}")
def test_pool_random_vs_torch(seed):
    check_pool(*_pool_config(seed))


# (A_prev shape, hparameters, mode): the corners, by name
POOL_CASES = {
    "ceil-drops-window-starting-in-padding": ((1, 5, 5, 2), {"f": 3, "stride": 3, "pad": 1, "ceil_mode": True}, "average"),
    "ceil-drops-window-max": ((1, 5, 5, 2), {"f": 3, "stride": 3, "pad": 1, "ceil_mode": True}, "max"),
    "ceil-clips-window-count-pad": ((2, 6, 6, 1), {"f": 3, "stride": 2, "pad": 1, "ceil_mode": True}, "average"),
    "ceil-clips-window-real-count": ((2, 6, 6, 1), {"f": 3, "stride": 2, "pad": 1, "ceil_mode": True, "count_include_pad": False}, "average"),
    "ceil-kernel-past-input": ((1, 1, 3, 2), {"f": (2, 4), "stride": 2, "ceil_mode": True}, "average"),
    "ceil-kernel-past-input-max": ((1, 1, 3, 2), {"f": (2, 4), "stride": 2, "ceil_mode": True}, "max"),
    "count-include-pad-false": ((1, 4, 5, 2), {"f": 3, "stride": 1, "pad": 1, "count_include_pad": False}, "average"),
    "divisor-override-negative": ((2, 5, 4, 2), {"f": (3, 2), "stride": (2, 1), "pad": (1, 0), "divisor_override": -3, "ceil_mode": True}, "average"),
    "divisor-override-with-real-count": ((1, 4, 4, 1), {"f": 2, "stride": 1, "pad": 1, "count_include_pad": False, "divisor_override": 7}, "average"),
    "stride-wider-than-window": ((1, 7, 9, 2), {"f": 2, "stride": (3, 4)}, "max"),
    "stride-wider-than-window-avg": ((1, 7, 9, 2), {"f": (1, 2), "stride": (4, 3), "ceil_mode": True}, "average"),
    "stride-none": ((2, 6, 7, 1), {"f": (2, 3), "stride": None}, "max"),
    "dilation-with-padding": ((1, 7, 6, 2), {"f": 3, "stride": 1, "pad": 1, "dilation": 2}, "max"),
    "dilation-ceil": ((2, 6, 5, 1), {"f": (2, 3), "stride": 2, "pad": (1, 1), "dilation": (3, 2), "ceil_mode": True}, "max"),
}


@needs_torch
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("name", list(POOL_CASES))
def test_pool_corner_vs_torch(name, dtype):
    shape, hp, mode = POOL_CASES[name]
    rng = np.random.default_rng([42, len(name)])
    A = rng.standard_normal(shape).astype(dtype)
    n_H, n_W = T.pool_forward(A, mode=mode, **hp).shape[1:3]
    check_pool(A, hp, mode, rng.standard_normal((shape[0], n_H, n_W, shape[3])).astype(dtype))


@needs_torch
def test_pool_design_example():
    """DESIGN.md §1: 6x6 arange, f 3, stride 2, ceil_mode -> the last column's windows are 3 x 2,
    divided by 6 (the window clipped to the padded input), so the corner reads 10.5."""
    A = np.arange(36, dtype=np.float64).reshape(1, 6, 6, 1)
    hp = {"f": 3, "stride": 2, "ceil_mode": True}
    assert np.array_equal(T.pool_forward(A, mode="average", **hp)[0, 0, :, 0], [7.0, 9.0, 10.5])
    for _, ref in REFS:
        out, _ = ref.pool_forward(A, hp, "average")
        assert out.shape == (1, 3, 3, 1) and np.array_equal(out[0, 0, :, 0], [7.0, 9.0, 10.5])


@pytest.mark.parametrize("ref", [loops, fast], ids=["loops", "fast"])
def test_stride_none_is_the_window(ref):
    A = np.random.default_rng(43).standard_normal((2, 7, 8, 2))
    for mode in ("max", "average"):
        a, _ = ref.pool_forward(A, {"f": (2, 3), "stride": None}, mode)
        b, _ = ref.pool_forward(A, {"f": (2, 3), "stride": (2, 3)}, mode)
        assert np.array_equal(a, b)


# ---- max pooling: -inf, and windows that see no real element ---------------------------------

inf = np.inf


@needs_torch
@pytest.mark.parametrize("ref", [loops, fast], ids=["loops", "fast"])
def test_max_all_minus_inf_goes_to_first_real_element(ref):
    """A window whose real values are all -inf outputs -inf and passes its gradient to its first
    real element (torch's initial index), padding before it or not, dilated or not; torch agrees."""
    A = np.array([-inf, -inf, -inf, 2.0, -inf]).reshape(1, 1, 5, 1)
    hp = {"f": (1, 3), "stride": (1, 2), "pad": (0, 1)}
    out, cache = ref.pool_forward(A, hp, "max")
    assert np.array_equal(out.ravel(), [-inf, 2.0, 2.0])
    dA = np.array([10.0, 20.0, 30.0]).reshape(1, 1, 3, 1)
    grad = ref.pool_backward(dA, cache, "max")
    assert np.array_equal(grad.ravel(), [10.0, 0.0, 0.0, 50.0, 0.0])
    assert np.array_equal(grad, T.pool_backward(dA, A, mode="max", **hp))  # reliable: every window sees a real element

    A = np.full((1, 1, 7, 1), -inf)
    hp = {"f": (1, 3), "stride": (1, 2), "pad": (0, 1), "dilation": (1, 2)}  # windows -1,1,3 / 1,3,5 / 3,5,7
    out, cache = ref.pool_forward(A, hp, "max")
    assert np.array_equal(out.ravel(), [-inf] * 3)
    assert np.array_equal(T.max_pool_indices(A, **hp).ravel(), [1, 1, 3])
    grad = ref.pool_backward(dA, cache, "max")
    assert np.array_equal(grad.ravel(), [0, 30.0, 0, 30.0, 0, 0, 0])
    assert not T.max_pool_backward_unreliable(A.shape, hp)
    assert np.array_equal(grad, T.pool_backward(dA, A, mode="max", **hp))

    A = np.full((1, 3, 3, 1), -inf)  # 2-D: the first real element row-major, past a padded row and column
    hp = {"f": 2, "stride": 2, "pad": 1}
    assert np.array_equal(T.max_pool_indices(A, **hp).ravel(), [0, 1, 3, 4])
    dA = np.arange(1.0, 5.0).reshape(1, 2, 2, 1)
    grad = ref.pool_backward(dA, ref.pool_forward(A, hp, "max")[1], "max")
    assert np.array_equal(grad[0, :, :, 0], [[1.0, 2.0, 0.0], [3.0, 4.0, 0.0], [0.0, 0.0, 0.0]])


# (A_prev shape, hparameters): geometries where some window sees only padding (DESIGN.md §3)
PADDING_ONLY = {
    "1x8-rows": ((1, 1, 8, 1), {"f": 2, "stride": 1, "pad": 1, "dilation": 2}),  # torch: out-of-bounds indices 8..14
    "7x1-columns": ((1, 7, 1, 1), {"f": 2, "stride": 1, "pad": 1, "dilation": 2}),  # torch: in-range, wrong indices
    "2d-batch-channels": ((2, 1, 5, 3), {"f": (2, 3), "stride": 1, "pad": 1, "dilation": (2, 1)}),
    "ceil-only": ((1, 1, 4, 2), {"f": 2, "stride": 2, "pad": 1, "dilation": (3, 1), "ceil_mode": True}),  # invalid without ceil_mode
}


@needs_torch
@pytest.mark.parametrize("name", list(PADDING_ONLY))
def test_max_window_seeing_only_padding(name):
    """-inf forward and no gradient from such a window; the oracle's predicate flags exactly
    these geometries; torch's forward agrees (its backward is never called here)."""
    shape, hp = PADDING_ONLY[name]
    assert T.max_pool_backward_unreliable(shape, hp)
    with pytest.raises(RuntimeError, match="refusing"):
        T.pool_backward(np.ones((1, 1, 1, 1)), np.ones(shape), mode="max", **hp)
    rng = np.random.default_rng([44, len(name)])
    A = rng.standard_normal(shape)
    geometry = params.parse_pool(A, hp, "max").geometry
    empty = np.array([[not (len(geometry.real_taps(0, h)) and len(geometry.real_taps(1, w))) for w in range(geometry.out[1])]
                      for h in range(geometry.out[0])])
    assert empty.any()
    out_torch = T.pool_forward(A, mode="max", **hp)
    assert np.array_equal(np.isneginf(out_torch), np.broadcast_to(empty[None, :, :, None], out_torch.shape))
    dA = rng.standard_normal(out_torch.shape)
    dA_empty_only = np.where(empty[None, :, :, None], dA, 0.0)
    for _, ref in REFS:
        out, cache = ref.pool_forward(A, hp, "max")
        assert np.array_equal(out, out_torch)
        assert not ref.pool_backward(dA_empty_only, cache, "max").any(), "a window of padding passed a gradient"
    check_pool(A, hp, "max", dA)  # the rest against torch's explicit-padding route


@needs_torch
def test_unreliable_predicate_matches_the_geometry():
    """Over many max-pooling configurations: the oracle's predicate (its own arithmetic) is true
    exactly when the references' geometry has a window without real elements, and where it is
    false torch's indices all point at real elements of their windows."""
    flagged = 0
    for seed in range(400):
        rng = np.random.default_rng([45, seed])
        k = rng.integers(1, 5, size=2)
        hp = {"f": tuple(k.tolist()), "stride": tuple(rng.integers(1, 4, size=2).tolist()),
              "pad": tuple(int(rng.integers(0, x // 2 + 1)) for x in k), "dilation": tuple(rng.integers(1, 4, size=2).tolist()),
              "ceil_mode": bool(rng.random() < 0.5)}
        shape = (1, int(rng.integers(1, 8)), int(rng.integers(1, 8)), 1)
        A = rng.standard_normal(shape)
        try:
            geometry = params.parse_pool(A, hp, "max").geometry
        except ValueError:
            continue
        empty = any(not len(geometry.real_taps(a, o)) for a in range(2) for o in range(geometry.out[a]))
        assert T.max_pool_backward_unreliable(shape, hp) == empty, (shape, hp)
        flagged += empty
        if not empty:
            idx = T.max_pool_indices(A, **hp)[0, :, :, 0]
            for h, w in np.ndindex(*geometry.out):
                rows, cols = geometry.real_taps(0, h), geometry.real_taps(1, w)
                assert divmod(int(idx[h, w]), shape[2]) in {(r, c) for r in rows for c in cols}, (shape, hp, h, w)
    assert flagged >= 5


@needs_torch
@pytest.mark.parametrize("ref", [loops, fast], ids=["loops", "fast"])
def test_max_nan_and_ties_with_dilation_and_padding(ref):
    """Torch's scan over a dilated, padded window: ties -> the first maximum, NaN -> the last NaN."""
    A = np.array([1.0, 5.0, 5.0, np.nan, 2.0, np.nan, 0.0]).reshape(1, 1, 7, 1)
    hp = {"f": (1, 3), "stride": 1, "pad": (0, 1), "dilation": (1, 2)}
    out, cache = ref.pool_forward(A, hp, "max")
    assert np.array_equal(out.ravel(), [np.nan, 5.0, np.nan, 5.0, np.nan], equal_nan=True)
    assert np.array_equal(T.max_pool_indices(A, **hp).ravel(), [3, 2, 5, 2, 5])
    dA = np.arange(1.0, 6.0).reshape(1, 1, 5, 1)
    assert np.array_equal(ref.pool_backward(dA, cache, "max"), T.pool_backward(dA, A, mode="max", **hp))


# ---- errors exactly where torch raises ------------------------------------------------------


def _torch_raises(fn):
    try:
        fn()
    except (RuntimeError, ValueError, TypeError, IndexError):
        return True
    return False


def _conv_error_config(seed):
    """Sizes that straddle "the kernel fits"; and half the time one hyperparameter spoiled to
    just past its boundary."""
    rng = np.random.default_rng([51, seed])
    dtype = (np.float64, np.float32)[seed % 2]
    groups = int(rng.choice([1, 1, 2, 3]))
    C, n_C = groups * int(rng.integers(1, 3)), groups * int(rng.integers(1, 3))
    c_in = C // groups
    kh, kw = int(rng.integers(1, 5)), int(rng.integers(1, 4))
    stride = [int(rng.integers(1, 3)), int(rng.integers(1, 3))]
    dilation = [int(rng.integers(1, 3)), 1]
    pad_kind = rng.choice(["int", "pair", "asym", "same", "valid"])
    pad = {"int": int(rng.integers(0, 2)), "pair": (int(rng.integers(0, 2)), 0), "asym": ((0, int(rng.integers(0, 3))), (1, 0)),
           "same": "same", "valid": "valid"}[pad_kind]
    if pad == "same":
        stride = [1, 1]
    spoil = rng.choice(["none"] * 9 + ["stride", "pad", "dilation", "groups-out", "groups-in", "channels", "same-strided"])
    if spoil == "stride":
        stride[int(rng.integers(0, 2))] = int(rng.integers(-1, 1))
    elif spoil == "pad":
        pad = (-1, 0) if rng.random() < 0.5 else ((0, 0), (1, -1))
    elif spoil == "dilation":
        dilation[int(rng.integers(0, 2))] = 0
    elif spoil == "groups-out":
        n_C += 1 if groups > 1 else 0
    elif spoil == "groups-in":
        groups = max(2, groups) + 1
    elif spoil == "channels":
        c_in += 1
    elif spoil == "same-strided":
        pad, stride[int(rng.integers(0, 2))] = "same", 2
    hp = {"stride": _form(rng, *stride), "pad": pad, "dilation": _form(rng, *dilation), "groups": groups}
    A = rng.standard_normal((int(rng.integers(1, 3)), int(rng.integers(1, 6)), int(rng.integers(1, 4)), C)).astype(dtype)
    W = rng.standard_normal((kh, kw, c_in, n_C)).astype(dtype)
    b = rng.standard_normal((1, 1, 1, n_C)).astype(dtype) if rng.random() < 0.7 else None
    return A, W, b, hp


def _pool_error_config(seed):
    """Sizes that straddle "the window fits" (with and without ceil_mode), and half the time one
    hyperparameter spoiled to just past its boundary."""
    rng = np.random.default_rng([52, seed])
    mode = ("max", "average")[seed % 2]
    f = [int(rng.integers(1, 5)), int(rng.integers(1, 4))]
    stride = [int(rng.integers(1, 4)), int(rng.integers(1, 3))]
    pad = [int(rng.integers(0, f[0] // 2 + 1)), 0]
    dilation = [int(rng.integers(1, 3)), 1]
    divisor = [None, -2, 3][int(rng.integers(0, 3))]
    spoil = rng.choice(["none"] * 7 + ["f", "stride", "pad-negative", "pad-over-half", "dilation", "divisor"])
    if spoil == "f":
        f[int(rng.integers(0, 2))] = 0
    elif spoil == "stride":
        stride[int(rng.integers(0, 2))] = int(rng.integers(-1, 1))
    elif spoil == "pad-negative":
        pad[1] = -1
    elif spoil == "pad-over-half":
        pad[0] = f[0] // 2 + 1
    elif spoil == "dilation":
        dilation[1] = 0
    elif spoil == "divisor":
        divisor = 0
    hp = {"f": _form(rng, *f), "stride": None if rng.random() < 0.15 else _form(rng, *stride), "pad": _form(rng, *pad),
          "ceil_mode": bool(rng.random() < 0.5)}
    if mode == "max":
        hp["dilation"] = _form(rng, *dilation)
    else:
        hp["count_include_pad"] = bool(rng.random() < 0.5)
        hp["divisor_override"] = divisor
    A = rng.standard_normal((1, int(rng.integers(1, 6)), int(rng.integers(1, 4)), int(rng.integers(1, 3))))
    return A, hp, mode


@needs_torch
@pytest.mark.parametrize("seed", range(N_ERRORS), ids=lambda s: f"cfg{s:03d}")
def test_errors_where_torch_raises(seed):
    """ValueError in both references (forward, and backward on the same cache) exactly where
    torch raises: over configurations straddling every numeric boundary."""
    A, W, b, hp = _conv_error_config(seed)
    valid = not _torch_raises(lambda: T.conv_forward(A, W, b, **hp))
    for name, ref in REFS:
        Z = call(ref.conv_forward, "conv_forward", A, W, b, hp, valid=valid)
        dZ = Z[0] if valid else np.zeros((A.shape[0], 1, 1, W.shape[3]), dtype=A.dtype)
        call(ref.conv_backward, "conv_backward", dZ, (A, W, b, hp), valid=valid)
    A, hp, mode = _pool_error_config(seed)
    valid = not _torch_raises(lambda: T.pool_forward(A, mode=mode, **hp))
    for name, ref in REFS:
        out = call(ref.pool_forward, "pool_forward", A, hp, mode, valid=valid)
        dA = out[0] if valid else np.zeros((1, 1, 1, A.shape[3]))
        call(ref.pool_backward, "pool_backward", dA, (A, hp), mode, valid=valid)


@needs_torch
def test_error_configurations_cover_both_sides():
    conv_valid = sum(not _torch_raises(lambda c=_conv_error_config(s): T.conv_forward(c[0], c[1], c[2], **c[3])) for s in range(N_ERRORS))
    pool_valid = sum(not _torch_raises(lambda c=_pool_error_config(s): T.pool_forward(c[0], mode=c[2], **c[1])) for s in range(N_ERRORS))
    assert 0.15 * N_ERRORS < conv_valid < 0.85 * N_ERRORS, conv_valid
    assert 0.15 * N_ERRORS < pool_valid < 0.85 * N_ERRORS, pool_valid


# (conv or the pooling mode, hparameters, what the message must contain, whether torch itself
# rejects it too): one named, targeted error each, torch's boundaries and the contract's own rules
_A = np.random.default_rng(53).standard_normal((1, 5, 5, 4))
_W = np.random.default_rng(54).standard_normal((3, 3, 2, 6))
_b = np.zeros((1, 1, 1, 6))
NAMED_ERRORS = {
    # conv, torch's
    "conv-stride-pair-zero": ("conv", {"stride": (1, 0), "pad": 0, "groups": 2}, "hparameters['stride'][1]", True),
    "conv-pad-pair-negative": ("conv", {"stride": 1, "pad": (0, -1), "groups": 2}, "hparameters['pad'][1]", True),
    "conv-pad-asym-negative": ("conv", {"stride": 1, "pad": ((0, 1), (-1, 2)), "groups": 2}, "hparameters['pad'][1][0]", True),
    "conv-dilation-zero": ("conv", {"stride": 1, "pad": 0, "dilation": 0, "groups": 2}, "hparameters['dilation']", True),
    "conv-dilated-kernel-too-big": ("conv", {"stride": 1, "pad": 0, "dilation": (3, 1), "groups": 2}, "W.shape[0]=3 with dilation 3 (extent 7)", True),
    "conv-same-strided": ("conv", {"stride": (1, 2), "pad": "same", "groups": 2}, "'same'", True),
    "conv-groups-not-dividing-out": ("conv", {"stride": 1, "pad": 0, "groups": 4}, "hparameters['groups']=4", True),
    "conv-groups-not-dividing-in": ("conv", {"stride": 1, "pad": 0, "groups": 3}, "hparameters['groups']=3", True),
    "conv-channel-mismatch": ("conv", {"stride": 1, "pad": 0}, "W.shape[2]", True),
    "conv-groups-zero": ("conv", {"stride": 1, "pad": 0, "groups": 0}, "hparameters['groups']", True),
    # conv, the contract's types (torch rejects most too: TypeError) and keys
    "conv-stride-triple": ("conv", {"stride": (1, 1, 1), "pad": 0, "groups": 2}, "hparameters['stride']", True),
    "conv-stride-float-in-pair": ("conv", {"stride": (1, 1.0), "pad": 0, "groups": 2}, "hparameters['stride'][1]", True),
    "conv-pad-word": ("conv", {"stride": 1, "pad": "full", "groups": 2}, "hparameters['pad']", True),
    "conv-pad-short-pair": ("conv", {"stride": 1, "pad": ((1,), (1, 1)), "groups": 2}, "hparameters['pad'][0]", False),
    "conv-dilation-bool": ("conv", {"stride": 1, "pad": 0, "dilation": True, "groups": 2}, "hparameters['dilation']", True),
    "conv-groups-float": ("conv", {"stride": 1, "pad": 0, "groups": 2.0}, "hparameters['groups']", True),
    "conv-groups-pair": ("conv", {"stride": 1, "pad": 0, "groups": (2, 2)}, "hparameters['groups']", True),
    "conv-unknown-key": ("conv", {"stride": 1, "pad": 0, "groups": 2, "padding_mode": "zeros"}, "'padding_mode'", False),
    # pool, torch's
    "pool-pad-over-half": ("max", {"f": (3, 2), "stride": 1, "pad": (1, 2)}, "hparameters['pad']", True),
    "pool-pad-over-half-dilated": ("max", {"f": 2, "stride": 1, "pad": 2, "dilation": 3}, "hparameters['pad']", True),
    "pool-divisor-zero": ("average", {"f": 2, "stride": 1, "divisor_override": 0}, "hparameters['divisor_override']", True),
    "pool-stride-zero-pair": ("average", {"f": 2, "stride": (0, 1)}, "hparameters['stride'][0]", True),
    "pool-dilation-zero": ("max", {"f": 2, "stride": 1, "dilation": (1, 0)}, "hparameters['dilation'][1]", True),
    "pool-window-too-big-ceil": ("max", {"f": (1, 7), "stride": 2, "ceil_mode": True}, "hparameters['f'][1]=7", True),
    # pool, the contract's types (torch: TypeError), options of the other mode, keys
    "pool-ceil-int": ("max", {"f": 2, "stride": 1, "ceil_mode": 1}, "hparameters['ceil_mode']", True),
    "pool-ceil-none": ("average", {"f": 2, "stride": 1, "ceil_mode": None}, "hparameters['ceil_mode']", True),
    "pool-count-include-pad-int": ("average", {"f": 2, "stride": 1, "count_include_pad": 0}, "hparameters['count_include_pad']", True),
    "pool-divisor-float": ("average", {"f": 2, "stride": 1, "divisor_override": 2.0}, "hparameters['divisor_override']", True),
    "pool-divisor-bool": ("average", {"f": 2, "stride": 1, "divisor_override": True}, "hparameters['divisor_override']", True),
    "pool-dilation-average": ("average", {"f": 2, "stride": 1, "dilation": 2}, "hparameters['dilation']", False),
    "pool-count-include-pad-max": ("max", {"f": 2, "stride": 1, "count_include_pad": False}, "hparameters['count_include_pad']", False),
    "pool-divisor-max": ("max", {"f": 2, "stride": 1, "divisor_override": 3}, "hparameters['divisor_override']", False),
    "pool-pad-same": ("max", {"f": 3, "stride": 1, "pad": "same"}, "hparameters['pad']", True),
    "pool-pad-asym": ("max", {"f": 3, "stride": 1, "pad": ((1, 0), (1, 1))}, "hparameters['pad'][0]", True),
    "pool-f-triple": ("max", {"f": (2, 2, 2), "stride": 1}, "hparameters['f']", True),
    "pool-unknown-key": ("average", {"f": 2, "stride": 1, "padding": 1}, "'padding'", False),
}


@pytest.mark.parametrize("ref", [loops, fast], ids=["loops", "fast"])
@pytest.mark.parametrize("name", list(NAMED_ERRORS))
def test_named_errors(name, ref):
    kind, hp, shows, _ = NAMED_ERRORS[name]
    if kind == "conv":
        forward, backward = (lambda: ref.conv_forward(_A, _W, _b, hp)), (lambda: ref.conv_backward(np.zeros((1, 1, 1, 6)), (_A, _W, _b, hp)))
    else:
        forward, backward = (lambda: ref.pool_forward(_A, hp, kind)), (lambda: ref.pool_backward(np.zeros((1, 1, 1, 4)), (_A, hp), kind))
    for fn in (forward, backward):
        with pytest.raises(ValueError) as excinfo:
            fn()
        assert shows in str(excinfo.value), f"{shows!r} not in {str(excinfo.value)!r}"


@needs_torch
def test_named_torch_errors_are_torch_errors():
    """The entries above marked as torch's: torch rejects them too (through the oracle's routes)."""
    for name, (kind, hp, _, torch_rejects) in NAMED_ERRORS.items():
        if not torch_rejects:
            continue
        if kind == "conv":
            assert _torch_raises(lambda: T.conv_forward(_A, _W, _b, **hp)), name
        else:
            assert _torch_raises(lambda: T.pool_forward(_A, mode=kind, **hp)), name


# ---- the tutorial's spellings ---------------------------------------------------------------


@pytest.mark.parametrize("ref", [loops, fast], ids=["loops", "fast"])
def test_spellings_are_equivalent(ref):
    """An int, the pair of it, a list, explicit default options: bit-for-bit the same results."""
    rng = np.random.default_rng(61)
    A, W, b = rng.standard_normal((2, 6, 5, 3)), rng.standard_normal((3, 3, 3, 2)), rng.standard_normal((1, 1, 1, 2))
    conv_spellings = [
        {"stride": 2, "pad": 1},
        {"stride": (2, 2), "pad": (1, 1)},
        {"stride": [2, 2], "pad": ((1, 1), (1, 1))},
        {"stride": 2, "pad": [[1, 1], [1, 1]], "dilation": 1, "groups": 1},
        {"stride": np.int64(2), "pad": (np.int32(1), 1), "dilation": (1, 1)},
    ]
    Z0, _ = ref.conv_forward(A, W, b, conv_spellings[0])
    dZ = rng.standard_normal(Z0.shape)
    g0 = ref.conv_backward(dZ, (A, W, b, conv_spellings[0]))
    for hp in conv_spellings[1:]:
        Z, cache = ref.conv_forward(A, W, b, hp)
        assert np.array_equal(Z, Z0), hp
        assert all(np.array_equal(x, y) for x, y in zip(ref.conv_backward(dZ, cache), g0)), hp
    assert np.array_equal(ref.conv_forward(A, W, b, {"stride": 1, "pad": 0})[0], ref.conv_forward(A, W, b, {"stride": 1, "pad": "valid"})[0])
    assert np.array_equal(ref.conv_forward(A, W, b, {"stride": 1, "pad": 1})[0], ref.conv_forward(A, W, b, {"stride": 1, "pad": "same"})[0])
    for mode in ("max", "average"):
        pool_spellings = [
            {"f": 2, "stride": 1},
            {"f": (2, 2), "stride": [1, 1], "pad": 0, "ceil_mode": False},
            {"f": [2, 2], "stride": (1, 1), "pad": (0, 0), "ceil_mode": np.bool_(False)},
            {"f": 2, "stride": 1, **({"dilation": 1} if mode == "max" else {"count_include_pad": True, "divisor_override": None})},
        ]
        out0, _ = ref.pool_forward(A, pool_spellings[0], mode)
        dA = rng.standard_normal(out0.shape)
        grad0 = ref.pool_backward(dA, (A, pool_spellings[0]), mode)
        for hp in pool_spellings[1:]:
            out, cache = ref.pool_forward(A, hp, mode)
            assert np.array_equal(out, out0) and np.array_equal(ref.pool_backward(dA, cache, mode), grad0), (mode, hp)


@needs_torch
def test_random_configurations_cover_the_space():
    convs = [_conv_config(s) for s in range(N_CONV)]
    pools = [_pool_config(s) for s in range(N_POOL)]
    hps = [c[3] for c in convs]
    assert any(c[2] is None for c in convs) and any(c[2] is not None for c in convs)
    assert any(hp.get("groups", 1) == c[0].shape[3] > 1 for hp, c in zip(hps, convs))  # depthwise
    assert any(c[1].shape[3] > hp.get("groups", 1) == c[0].shape[3] > 1 for hp, c in zip(hps, convs))  # with a multiplier
    assert any(1 < hp.get("groups", 1) < c[0].shape[3] for hp, c in zip(hps, convs))
    assert any(hp["pad"] == "same" and (c[1].shape[0] % 2 == 0 or c[1].shape[1] % 2 == 0) for hp, c in zip(hps, convs))
    assert any(hp["pad"] == "valid" for hp in hps)
    assert any(isinstance(hp["pad"], (tuple, list)) and isinstance(hp["pad"][0], (tuple, list)) and hp["pad"][0][0] != hp["pad"][0][1] for hp in hps)
    assert any("dilation" in hp and hp["pad"] not in (0, "valid") for hp in hps)
    assert any(c[1].shape[0] != c[1].shape[1] for c in convs)
    assert {c[0].dtype for c in convs} == {np.dtype(np.float64), np.dtype(np.float32)}
    modes = {p[2] for p in pools}
    assert modes == {"max", "average"}
    p_hps = [(p[1], p[2], p[0].shape) for p in pools]
    assert any(hp.get("ceil_mode") for hp, _, _ in p_hps)
    assert any(hp["stride"] is None for hp, _, _ in p_hps)
    assert any(hp.get("count_include_pad") is False and hp.get("pad", 0) != 0 for hp, _, _ in p_hps)
    assert any((hp.get("divisor_override") or 0) < 0 for hp, _, _ in p_hps)
    assert any(mode == "max" and T.max_pool_backward_unreliable(shape, hp) for hp, mode, shape in p_hps)
    assert any(mode == "max" and hp.get("dilation", 1) != 1 and hp.get("pad", 0) != 0 for hp, mode, shape in p_hps)
    geometries = [params.parse_pool(p[0], p[1], p[2]).geometry for p in pools]
    assert any(any(g.overhang) for g in geometries)  # clipped windows
    assert any(g.stride[0] > g.extent[0] or g.stride[1] > g.extent[1] for g in geometries)  # skipped inputs
    # a ceil_mode window dropped because it would start in the trailing padding
    dropped = 0
    for p in pools:
        hp = p[1]
        if hp.get("ceil_mode"):
            g = params.parse_pool(p[0], p[1], p[2]).geometry
            for a in range(2):
                k, s, (lo, hi), n, d = g.kernel[a], g.stride[a], g.pads[a], g.size[a], g.dilation[a]
                dropped += -(-(n + lo + hi - d * (k - 1) - 1) // s) + 1 > g.out[a]
    assert dropped > 0
