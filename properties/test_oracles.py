"""Forward and backward results against torch, one test per (op, oracle route) of the table:
torch's routes, and JAX's where it is installed (it abstains where its semantics differ). Under
`convcheck oracles` (CAMPAIGN set) the loops reference's routes join them."""

from __future__ import annotations

import os

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from convcheck.properties import strategies as S
from convcheck.properties.checks import check_deterministic, check_outputs, record_expected, require, require_torch
from convcheck.properties.ops import CAMPAIGN_ROUTES, OPS, draws_specials, engine_unavailable, route_abstains
from convcheck.repro import Recorder

BACKWARD_FUNCTIONS = ("conv_backward", "pool_backward")
CAMPAIGN = os.environ.get("CONVCHECK_CAMPAIGN") == "oracles"  # set by `convcheck oracles`


def _routes(backward: bool):
    return [
        pytest.param(op, oracle, id=f"{op.name}-{oracle}")
        for op in OPS
        for oracle in op.oracles
        if (op.function in BACKWARD_FUNCTIONS) == backward and (CAMPAIGN or oracle not in CAMPAIGN_ROUTES)
    ]


def _check(impl, op, oracle, data):
    if op.full_only and impl.api != "full":  # before require: the tutorial's space is not a declared lack
        pytest.skip(f"{op.name}: only in torch's full hyperparameter space (--api full)")
    require(impl, op.requires, op.needs)
    require_torch()
    unavailable = engine_unavailable(oracle)
    if unavailable:
        pytest.skip(unavailable)
    kinds = S.SPECIAL_KINDS if draws_specials(op, oracle) else S.VALUE_KINDS
    sample = data.draw(op.samples(kinds=kinds, api=impl.api), label="sample")
    assume(route_abstains(f"{op.name}-{oracle}", sample) is None)  # a known defect of the route, or other semantics
    family = "backward" if op.function in BACKWARD_FUNCTIONS else "forward"
    Recorder.start(op.function, "oracle", family, oracle=oracle, dtype=op.dtype(sample), example=sample)
    expected = op.oracles[oracle](sample)
    assume(expected is not None)  # this route does not apply to the sample
    record_expected(op, expected, sample, oracle)
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
