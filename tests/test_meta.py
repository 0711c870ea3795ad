"""Meta-tests of the suite's own machinery: the tolerance policy is tight, the finite-difference
check agrees with torch.autograd.gradcheck, and the strategies reach their edges."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import find, settings

from convcheck.oracle.tolerances import tolerance
from convcheck.properties import strategies as S
from convcheck.properties.asserts import CheckFailure, assert_close
from convcheck.properties.checks import needs_torch
from convcheck.properties.ops import T
from convcheck.reference import loops


def _conv_case(seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((2, 6, 5, 3)).astype(dtype)
    W = rng.standard_normal((3, 3, 3, 4)).astype(dtype)
    b = rng.standard_normal((1, 1, 1, 4)).astype(dtype)
    return A, W, b, {"stride": 1, "pad": 1}


def _conv_expected(A, W, b, hp):
    Z = T.conv_forward(A, W, b, hp["stride"], hp["pad"])
    M = T.conv_forward(np.abs(A), np.abs(W), np.abs(b), hp["stride"], hp["pad"])
    return Z, tolerance(M, W.shape[0] * W.shape[1] * W.shape[2] + 1, np.result_type(A, W, b))


@needs_torch
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_tolerance_is_tight_for_a_perturbed_output(dtype):
    A, W, b, hp = _conv_case(dtype=dtype)
    Z, tol = _conv_expected(A, W, b, hp)
    good = loops.conv_forward(A, W, b, hp)[0]
    assert_close(good, Z, tol, "correct output")
    for factor in (2.0, 1.1):
        bad = good.astype(np.float64)
        bad[0, 1, 2, 3] += factor * tol[0, 1, 2, 3]
        with pytest.raises(CheckFailure, match="values"):
            assert_close(bad, Z, tol, f"output perturbed by {factor}x its tolerance")


@needs_torch
def test_float32_accumulation_in_a_float64_implementation_is_caught():
    A, W, b, hp = _conv_case()
    Z, tol = _conv_expected(A, W, b, hp)
    lossy = loops.conv_forward(A.astype(np.float32), W.astype(np.float32), b.astype(np.float32), hp)[0].astype(np.float64)
    with pytest.raises(CheckFailure, match="values"):
        assert_close(lossy, Z, tol, "float64 output accumulated in float32")


def _loops_conv():
    """The loops reference as a torch op, so torch.autograd.gradcheck can judge its backward
    (built on demand: torch is optional)."""
    import torch

    class LoopsConv(torch.autograd.Function):
        @staticmethod
        def forward(ctx, A, W, b, stride, pad):
            Z, cache = loops.conv_forward(A.numpy(), W.numpy(), b.numpy(), {"stride": stride, "pad": pad})
            ctx.cache = cache
            return torch.from_numpy(Z)

        @staticmethod
        def backward(ctx, dZ):
            dA, dW, db = loops.conv_backward(dZ.numpy().copy(), ctx.cache)
            return torch.from_numpy(dA), torch.from_numpy(dW), torch.from_numpy(db), None, None

    return torch, LoopsConv


@needs_torch
@pytest.mark.parametrize("stride, pad", [(1, 0), (2, 1), (3, 2)])
def test_gradcheck_agrees_with_our_finite_differences(stride, pad):
    """torch's own finite-difference checker passes the loops reference: a cross-check of the
    suite's FD code, which passes it too (properties/test_gradients.py)."""
    torch, LoopsConv = _loops_conv()
    rng = np.random.default_rng(stride)
    A = torch.tensor(rng.standard_normal((1, 4, 5, 2)), requires_grad=True)
    W = torch.tensor(rng.standard_normal((2, 2, 2, 3)), requires_grad=True)
    b = torch.tensor(rng.standard_normal((1, 1, 1, 3)), requires_grad=True)
    assert torch.autograd.gradcheck(lambda a, w, c: LoopsConv.apply(a, w, c, stride, pad), (A, W, b))


@needs_torch
def test_gradcheck_catches_a_wrong_backward():
    torch, LoopsConv = _loops_conv()

    class Wrong(LoopsConv):
        @staticmethod
        def backward(ctx, dZ):
            dA, dW, db = LoopsConv.backward(ctx, dZ)[:3]
            return dA * 1.1, dW, db, None, None

    rng = np.random.default_rng(0)
    args = [torch.tensor(rng.standard_normal(s), requires_grad=True) for s in ((1, 3, 3, 1), (2, 2, 1, 1), (1, 1, 1, 1))]
    assert not torch.autograd.gradcheck(lambda a, w, c: Wrong.apply(a, w, c, 1, 0), args, raise_exception=False)


_FIND = settings(max_examples=2000, database=None, deadline=None)


@pytest.mark.parametrize(
    "edge",
    [
        ("batch 1", lambda c: c.A_prev.shape[0] == 1),
        ("single input channel", lambda c: c.A_prev.shape[3] == 1),
        ("single output channel", lambda c: c.W.shape[3] == 1),
        ("f = 1", lambda c: c.W.shape[0] == 1),
        ("f equal to the padded size", lambda c: c.W.shape[0] == c.A_prev.shape[1] + 2 * c.pad),
        ("stride > f", lambda c: c.stride > c.W.shape[0]),
        ("stride not dividing the span", lambda c: (c.A_prev.shape[1] + 2 * c.pad - c.W.shape[0]) % c.stride != 0),
        ("pad 0", lambda c: c.pad == 0),
        ("pad >= f", lambda c: c.pad >= c.W.shape[0]),
        ("non-square input", lambda c: c.A_prev.shape[1] != c.A_prev.shape[2]),
        ("float32", lambda c: c.A_prev.dtype == np.float32),
        ("read-only", lambda c: not c.A_prev.flags.writeable),
        ("non-contiguous view", lambda c: not (c.A_prev.flags.c_contiguous or c.A_prev.flags.f_contiguous)),
        ("ties", lambda c: len(np.unique(c.A_prev)) < c.A_prev.size),
    ],
    ids=lambda e: e[0] if isinstance(e, tuple) else None,
)
def test_conv_strategy_reaches_edge(edge):
    find(S.conv_cases(), edge[1], settings=_FIND)


def test_conv_strategy_draws_only_valid_cases():
    """Every drawn case is accepted by the reference and has the predicted output shape."""
    from hypothesis import given

    @settings(max_examples=200, deadline=None, database=None)
    @given(S.conv_cases(), S.pool_cases())
    def check(conv, pool):
        assert loops.conv_forward(conv.A_prev, conv.W, conv.b, conv.hparameters)[0].shape == S.conv_output_shape(conv)
        assert loops.pool_forward(pool.A_prev, pool.hparameters, pool.mode)[0].shape == S.pool_output_shape(pool)

    check()


def test_specials_kind_injects_non_finite_values():
    find(S.float_arrays((2, 3), np.float64, kinds=("specials",)), lambda x: np.isnan(x).any() and np.isinf(x).any(), settings=_FIND)


def test_distinct_kind_has_no_near_ties():
    from hypothesis import given

    @settings(max_examples=100, deadline=None, database=None)
    @given(S.float_arrays((3, 4, 4, 2), np.float64, kinds=("distinct",)))
    def check(x):
        values = np.sort(x.ravel())
        assert np.diff(values).min() >= 0.5

    check()
