"""JAX as a second oracle: its routes in the op table, its abstentions as data, and its opinion
in a torch route's failure report (an annotation, never a verdict)."""

from __future__ import annotations

import numpy as np
import pytest

from convcheck.properties import checks, ops
from convcheck.properties import strategies as S
from convcheck.properties.checks import needs_torch
from convcheck.properties.ops import OPS_BY_NAME, Sample

JAX_MISSING = ops.engine_unavailable("jax")
needs_jax = pytest.mark.skipif(JAX_MISSING is not None, reason=str(JAX_MISSING))


def test_every_abstention_and_known_defect_names_a_route_of_the_table():
    routes = {f"{op.name}-{route}" for op in ops.OPS for route in op.oracles}
    for entry in (*ops.ORACLE_DEFECTS, *ops.ABSTENTIONS):
        assert entry.route in routes, entry.route


def test_jax_and_the_loops_reference_are_second_routes_of_every_conv_and_pool_op():
    for op in ops.OPS:
        if op.function in ("conv_forward", "conv_backward", "pool_forward", "pool_backward"):
            assert "loops reference" in op.oracles, op.name
            # the dilated max windows over padding have no JAX route: JAX has no VJP of a dilated max
            assert ("jax" in op.oracles) == (op.name != "pool_backward[max, padding-only windows]"), op.name


def _conv_sample(A=None) -> Sample:
    rng = np.random.default_rng(0)
    A = rng.standard_normal((1, 4, 4, 2)) if A is None else A
    return Sample(S.ConvCase(A, rng.standard_normal((2, 2, 2, 3)), rng.standard_normal((1, 1, 1, 3)), {"stride": 1, "pad": 1}))


@needs_torch
def test_without_jax_a_failure_report_says_nothing_of_it():
    if JAX_MISSING is None:
        pytest.skip("JAX is installed here")
    op, s = OPS_BY_NAME["conv_forward"], _conv_sample()
    Z = op.oracles["F.conv2d"](s)["Z"].value
    assert checks.second_opinion(op, s, "Z", Z + 1, Z, np.full(Z.shape, 1e-9)) == ""


@needs_torch
@needs_jax
def test_the_jax_opinion_sides_with_whoever_it_agrees_with():
    op, s = OPS_BY_NAME["conv_forward"], _conv_sample()
    Z = op.oracles["F.conv2d"](s)["Z"].value
    tol = np.full(Z.shape, 1e-9)
    assert checks.second_opinion(op, s, "Z", Z + 1, Z, tol) == "JAX agrees with torch"
    assert checks.second_opinion(op, s, "Z", Z, Z + 1, tol) == "JAX agrees with the implementation: suspected oracle defect"
    assert checks.second_opinion(op, s, "Z", Z - 1, Z + 1, tol) == "JAX agrees with neither"
    A = np.full((1, 4, 4, 2), np.nan)
    assert checks.second_opinion(op, _conv_sample(A), "Z", Z, Z, tol).startswith("JAX abstains here (NaN routing")


@needs_torch
@needs_jax
def test_each_jax_route_answers_like_torch_on_a_plain_sample():
    for name, s in (("conv_forward", _conv_sample()),
                    ("pool_forward[average]", Sample(S.PoolCase(_conv_sample().case.A_prev, {"f": 2, "stride": 1, "pad": 1}, "average")))):
        op = OPS_BY_NAME[name]
        torch_answer, jax_answer = op.oracles[next(iter(op.oracles))](s), op.oracles["jax"](s)
        for output, want in torch_answer.items():
            np.testing.assert_allclose(jax_answer[output].value, want.value, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(("limit", "recycled"), [(0, 3), (1 << 50, 0)])
def test_an_engine_worker_past_its_size_limit_is_replaced_and_answers_on(monkeypatch, limit, recycled):
    """XLA's compile cache grows a JAX worker without bound: past RSS_LIMIT the worker is stopped
    after a call and the next call starts a new one (here an engine of an independent NumPy
    implementation)."""
    from pathlib import Path

    from convcheck.oracle import isolated
    from convcheck.reference import loops

    monkeypatch.setattr(isolated, "RSS_LIMIT", limit)
    monkeypatch.setattr(isolated, "RSS_CHECK_EVERY", 1)
    engine = isolated.IsolatedEngine("numpy", str(Path(__file__).parent / "impls" / "independent" / "full_numpy.py"), "numpy")
    X = np.arange(6.0).reshape(1, 2, 3, 1)
    pids = []
    try:
        for pad in (1, 2, 3):
            np.testing.assert_array_equal(engine.call("zero_pad", [X, pad]), loops.zero_pad(X, pad))
            pids.append(engine._client.process.pid if engine._client.process else None)
        assert engine.recycled == recycled
        assert (pids == [None] * 3) if recycled else (len(set(pids)) == 1)
    finally:
        engine._client.stop()
