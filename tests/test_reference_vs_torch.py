"""loops and fast against torch (convcheck.oracle.torch_ops) and against each other.

300 seeded random configurations per layer family (m 1-3, input sizes 1-9, channels 1-4,
f 1-4, stride 1-3, pad 0-3, float64 and float32), plus explicit single-output-channel
(n_C = 1) configurations. Plain pytest: every configuration is a fixed function of its seed.

Tolerances are the suite's policy, ``tolerance(magnitude, n_terms, dtype)``:
* magnitudes come from torch_ops applied to the absolute values of the inputs (|A|, |W|,
  |b|, |dZ|, |dA|), as in convcheck/properties/ops.py;
* n_terms as in properties/ops.py: conv forward kh*kw*C_prev + 1; conv backward dA_prev
  kh*kw*n_C, dW and db m*n_H*n_W; max pooling 0 (a selection: exact); average pooling
  f*f + 1; pool backward ceil(f/stride)^2 (+1 for average);
* loops vs fast: each is within gamma_(n+1)(dtype)*M (+ the float64 side) of the exact value,
  so their difference is bounded by the sum of both bounds, which tolerance(M, n + 1, dtype)
  covers (gamma_(n+2) >= gamma_(n+1) + u: one more term pays for the second rounding).
"""

from __future__ import annotations

import numpy as np
import pytest

from convcheck.oracle.tolerances import tolerance
from convcheck.properties.asserts import assert_array, assert_close, call
from convcheck.properties.checks import needs_torch
from convcheck.properties.ops import T
from convcheck.reference import fast, loops

N_CONFIGS = 300
REFS = (("loops", loops), ("fast", fast))


def _conv_config(seed: int, n_C: int | None = None):
    rng = np.random.default_rng([7, seed])
    dtype = (np.float64, np.float32)[seed % 2]
    m = int(rng.integers(1, 4))
    C_prev = int(rng.integers(1, 5))
    n_C = int(rng.integers(1, 5)) if n_C is None else n_C
    stride, pad = int(rng.integers(1, 4)), int(rng.integers(0, 4))
    H, W_ = int(rng.integers(1, 10)), int(rng.integers(1, 10))
    f = int(rng.integers(1, 5))
    f = min(f, H + 2 * pad, W_ + 2 * pad)  # valid: the kernel fits the padded input
    A = rng.standard_normal((m, H, W_, C_prev)).astype(dtype)
    W = rng.standard_normal((f, f, C_prev, n_C)).astype(dtype)
    b = rng.standard_normal((1, 1, 1, n_C)).astype(dtype)
    n_H, n_W = (H + 2 * pad - f) // stride + 1, (W_ + 2 * pad - f) // stride + 1
    dZ = rng.standard_normal((m, n_H, n_W, n_C)).astype(dtype)
    return A, W, b, {"stride": stride, "pad": pad}, dZ


def _pool_config(seed: int):
    rng = np.random.default_rng([8, seed])
    dtype = (np.float64, np.float32)[seed % 2]
    m, C = int(rng.integers(1, 4)), int(rng.integers(1, 5))
    H, W_ = int(rng.integers(1, 10)), int(rng.integers(1, 10))
    f = min(int(rng.integers(1, 5)), H, W_)
    stride = int(rng.integers(1, 4))
    A = rng.standard_normal((m, H, W_, C)).astype(dtype)
    n_H, n_W = (H - f) // stride + 1, (W_ - f) // stride + 1
    dA = rng.standard_normal((m, n_H, n_W, C)).astype(dtype)
    return A, {"f": f, "stride": stride}, dA


def _describe(arrays, hp):
    return f"{hp} " + " ".join(f"{a.shape}{a.dtype}" for a in arrays)


def check_conv(A, W, b, hp, dZ):
    s, p = hp["stride"], hp["pad"]
    dtype = np.result_type(A, W, b)
    kh, kw, C_prev, n_C = W.shape
    where = _describe((A, W, b, dZ), hp)

    Z_torch = T.conv_forward(A, W, b, s, p)
    M_Z = T.conv_forward(np.abs(A), np.abs(W), np.abs(b), s, p)
    n_Z = kh * kw * C_prev + 1
    grads_torch = T.conv_backward(dZ, A, W, b, s, p)
    mags = T.conv_backward(np.abs(dZ), np.abs(A), np.abs(W), np.abs(b), s, p)
    positions = int(np.prod(dZ.shape[:3]))
    terms = (kh * kw * n_C, positions, positions)
    grad_dtype = np.result_type(dtype, dZ)

    results = {}
    for name, ref in REFS:
        Z, cache = call(ref.conv_forward, "conv_forward", A, W, b, hp)
        assert_array(Z, Z_torch.shape, dtype, f"{name} conv_forward Z {where}")
        assert_close(Z, Z_torch, tolerance(M_Z, n_Z, dtype), f"{name} conv_forward Z vs torch {where}")
        grads = call(ref.conv_backward, "conv_backward", dZ, cache)
        assert isinstance(grads, tuple) and len(grads) == 3
        for g_name, g, want, M, n in zip(("dA_prev", "dW", "db"), grads, grads_torch, mags, terms):
            assert_array(g, want.shape, grad_dtype, f"{name} conv_backward {g_name} {where}")
            assert_close(g, want, tolerance(M, n, grad_dtype), f"{name} conv_backward {g_name} vs torch {where}")
        results[name] = (Z, *grads)

    for what, lo, fa, M, n in zip(("Z", "dA_prev", "dW", "db"), results["loops"], results["fast"], (M_Z, *mags), (n_Z, *terms)):
        assert_close(fa, lo, tolerance(M, n + 1, lo.dtype), f"fast vs loops {what} {where}")


def check_pool(A, hp, dA):
    f, s = hp["f"], hp["stride"]
    where = _describe((A, dA), hp)
    for mode in ("max", "average"):
        out_torch = T.pool_forward(A, f, s, mode)
        n_out = 0 if mode == "max" else f * f + 1
        M_out = T.pool_forward(np.abs(A), f, s, mode)
        grad_torch = T.pool_backward(dA, A, f, s, mode)
        M_grad = T.pool_backward(np.abs(dA), A, f, s, mode)
        n_grad = (-(-f // s)) ** 2 + (mode == "average")
        results = {}
        for name, ref in REFS:
            out, cache = call(ref.pool_forward, "pool_forward", A, hp, mode)
            assert_array(out, out_torch.shape, A.dtype, f"{name} pool_forward({mode}) {where}")
            assert_close(out, out_torch, tolerance(M_out, n_out, A.dtype), f"{name} pool_forward({mode}) vs torch {where}")
            grad = call(ref.pool_backward, "pool_backward", dA, cache, mode)
            assert_array(grad, A.shape, np.result_type(A, dA), f"{name} pool_backward({mode}) {where}")
            assert_close(grad, grad_torch, tolerance(M_grad, n_grad, grad.dtype), f"{name} pool_backward({mode}) vs torch {where}")
            results[name] = (out, grad)
        for what, lo, fa, M, n in zip(("A", "dA_prev"), results["loops"], results["fast"], (M_out, M_grad), (n_out, n_grad)):
            n_pair = 0 if n == 0 else n + 1  # max pooling's forward is a selection: identical
            assert_close(fa, lo, tolerance(M, n_pair, lo.dtype), f"fast vs loops pool({mode}) {what} {where}")


@needs_torch
@pytest.mark.parametrize("seed", range(N_CONFIGS), ids=lambda s: f"cfg{s:03d}-{('f64', 'f32')[s % 2]}")
def test_conv_vs_torch(seed):
    check_conv(*_conv_config(seed))


@needs_torch
@pytest.mark.parametrize("seed", range(N_CONFIGS), ids=lambda s: f"cfg{s:03d}-{('f64', 'f32')[s % 2]}")
def test_pool_vs_torch(seed):
    check_pool(*_pool_config(seed))


# ---- a single output channel, explicitly ----------------------------------------------------
# (torch's float64 conv backward has a layout pitfall exactly at n_C = 1, see torch_ops)

SINGLE_CHANNEL = [
    # (m, H, W, C_prev, f, stride, pad, dtype)
    (1, 1, 1, 1, 1, 1, 0, np.float64),
    (1, 5, 5, 1, 3, 1, 1, np.float64),
    (2, 7, 4, 3, 2, 2, 0, np.float64),
    (3, 6, 9, 4, 4, 3, 3, np.float64),
    (2, 1, 8, 2, 3, 1, 1, np.float32),
    (1, 9, 9, 4, 4, 1, 0, np.float32),
    (2, 3, 3, 2, 3, 2, 2, np.float32),
]


@needs_torch
@pytest.mark.parametrize("config", SINGLE_CHANNEL, ids=lambda c: "m{}-{}x{}x{}-f{}-s{}-p{}-{}".format(*c[:7], np.dtype(c[7]).name))
def test_conv_single_output_channel_vs_torch(config):
    m, H, W_, C_prev, f, stride, pad, dtype = config
    rng = np.random.default_rng(list(config[:7]))
    A = rng.standard_normal((m, H, W_, C_prev)).astype(dtype)
    W = rng.standard_normal((f, f, C_prev, 1)).astype(dtype)
    b = rng.standard_normal((1, 1, 1, 1)).astype(dtype)
    n_H, n_W = (H + 2 * pad - f) // stride + 1, (W_ + 2 * pad - f) // stride + 1
    dZ = rng.standard_normal((m, n_H, n_W, 1)).astype(dtype)
    check_conv(A, W, b, {"stride": stride, "pad": pad}, dZ)


@needs_torch
@pytest.mark.parametrize("seed", range(20))
def test_conv_single_output_channel_random(seed):
    check_conv(*_conv_config(1000 + seed, n_C=1))


@needs_torch
@pytest.mark.parametrize("seed", range(8))
def test_pool_single_channel(seed):
    A, hp, dA = _pool_config(2000 + seed)
    check_pool(A[..., :1], hp, dA[..., :1])


def test_configurations_cover_the_ranges():
    """The random configurations reach every corner the brief asks for."""
    convs = [_conv_config(s) for s in range(N_CONFIGS)]
    pools = [_pool_config(s) for s in range(N_CONFIGS)]
    assert {c[0].dtype for c in convs} == {np.dtype(np.float64), np.dtype(np.float32)}
    assert {c[0].shape[0] for c in convs} == {1, 2, 3}
    assert {c[1].shape[3] for c in convs} == {1, 2, 3, 4}  # n_C, including 1
    assert {c[1].shape[2] for c in convs} == {1, 2, 3, 4}
    assert {c[1].shape[0] for c in convs} == {1, 2, 3, 4}
    assert {c[3]["stride"] for c in convs} == {1, 2, 3}
    assert {c[3]["pad"] for c in convs} == {0, 1, 2, 3}
    assert {c[0].shape[1] for c in convs} == set(range(1, 10))
    assert any(c[1].shape[0] != c[3]["stride"] for c in convs)
    assert any(c[1].shape[0] == c[0].shape[1] + 2 * c[3]["pad"] for c in convs)  # the kernel fills the padded input
    assert {p[1]["f"] for p in pools} == {1, 2, 3, 4}
    assert {p[1]["stride"] for p in pools} == {1, 2, 3}
    assert any(p[1]["stride"] < p[1]["f"] for p in pools)  # overlapping windows
    assert any(p[1]["stride"] > p[1]["f"] for p in pools)  # skipped inputs
