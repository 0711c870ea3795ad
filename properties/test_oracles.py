"""Forward and backward results against torch, one test per (op, oracle route) of the table."""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from convcheck.properties import strategies as S
from convcheck.properties.checks import check_deterministic, check_outputs, record_expected, require, require_torch
from convcheck.properties.ops import OPS, oracle_unusable
from convcheck.repro import Recorder

BACKWARD_FUNCTIONS = ("conv_backward", "pool_backward")


def _routes(backward: bool):
    return [
        pytest.param(op, oracle, id=f"{op.name}-{oracle}")
        for op in OPS
        for oracle in op.oracles
        if (op.function in BACKWARD_FUNCTIONS) == backward
    ]


def _check(impl, op, oracle, data):
    if op.full_only and impl.api != "full":  # before require: the tutorial's space is not a declared lack
        pytest.skip(f"{op.name}: only in torch's full hyperparameter space (--api full)")
    require(impl, op.requires, op.needs)
    require_torch()
    kinds = S.SPECIAL_KINDS if op.specials else S.VALUE_KINDS
    sample = data.draw(op.samples(kinds=kinds, api=impl.api), label="sample")
    assume(not oracle_unusable(f"{op.name}-{oracle}", sample))  # a known oracle defect: ops.ORACLE_DEFECTS
    family = "backward" if op.function in BACKWARD_FUNCTIONS else "forward"
    Recorder.start(op.function, "oracle", family, oracle=oracle, dtype=op.dtype(sample), example=sample)
    expected = op.oracles[oracle](sample)
    assume(expected is not None)  # this route does not apply to the sample
    record_expected(op, expected, sample)
    outputs = op.run(impl, sample)
    check_deterministic(op, impl, sample, outputs)
    check_outputs(op, outputs, expected, sample, oracle, impl)


@pytest.mark.family("forward")
@pytest.mark.parametrize("op, oracle", _routes(backward=False))
@given(data=st.data())
def test_forward_matches_torch(impl, op, oracle, data):
    """Outputs, shapes and dtypes equal torch's within the tolerance policy, NaN/inf included;
    the same call made twice gives the same outputs."""
    _check(impl, op, oracle, data)


@pytest.mark.family("backward")
@pytest.mark.parametrize("op, oracle", _routes(backward=True))
@given(data=st.data())
def test_backward_matches_torch(impl, op, oracle, data):
    """Gradients equal torch autograd's and the closed forms', within the tolerance policy; the
    same call made twice gives the same gradients."""
    _check(impl, op, oracle, data)
