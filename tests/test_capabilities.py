"""Capabilities and conventions as data: an implementation's declared space
(convcheck/capabilities.py) and its documented differences from torch (properties/conventions.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from convcheck import capabilities as C
from convcheck.properties import conventions as CV
from convcheck.properties.checks import needs_torch

DECLARED = Path(__file__).resolve().parent / "impls" / "declared"


@pytest.mark.parametrize("declared, named", [
    ([], "must be a dict"),
    ({"framework": "jax"}, "CAPABILITIES['framework']"),
    ({"framework": ["x", "1"], "convolution": {}}, "unknown keys ['convolution']"),
    ({"framework": ["x", "1"], "conv": {"dilatoin": False}}, "unknown keys ['dilatoin']"),
    ({"framework": ["x", "1"], "conv": {"groups": "no"}}, "CAPABILITIES['conv']['groups'] must be a bool, got 'no'"),
    ({"framework": ["x", "1"], "conv": {"pad_forms": ["int", "symmetric"]}}, "pad_forms"),
    ({"framework": ["x", "1"], "conv": {"pad_forms": []}}, "pad_forms"),
    ({"framework": ["x", "1"], "dtypes": {"conv": ["float16"]}}, "CAPABILITIES['dtypes']['conv']"),
    ({"framework": ["x", "1"], "dtypes": {"conv": []}}, "CAPABILITIES['dtypes']['conv']"),
    ({"framework": ["x", "1"], "max_pool": []}, "CAPABILITIES['max_pool'] must be a dict or None"),
])
def test_a_malformed_declaration_is_an_error_naming_it(declared, named):
    with pytest.raises(C.CapabilitiesError, match=None) as info:
        C.parse(declared)
    assert named in str(info.value), str(info.value)


def test_what_a_call_uses_outside_the_space_is_named():
    space = C.parse({"framework": ["x", "1"], "dtypes": {"conv": ["float32"]}, "conv": {"dilation": False, "pad_forms": ["int"]},
                     "average_pool": None, "max_pool": {"ceil_mode": False}})
    f64, f32 = np.dtype(np.float64), np.dtype(np.float32)
    assert space.outside("conv_forward", [f32, f32], {"stride": 1, "pad": 1}) == []
    assert space.outside("conv_backward", [f64, f32], {"stride": 1, "pad": (1, 2), "dilation": (1, 2)}) == [
        "conv float64", "conv dilation", "conv pad 'pair'"]
    assert space.outside("pool_forward", [f64], {"f": 2, "stride": None, "divisor_override": 3}, "average") == ["average_pool"]
    assert space.outside("pool_forward", [f64], {"f": 2, "stride": 1, "ceil_mode": True}) == ["max_pool ceil mode"]
    assert space.outside("pool_forward", [f64], {"f": 2, "stride": 1, "ceil_mode": False}) == []
    assert C.FULL.outside("conv_forward", [f64], {"stride": 1, "pad": "same", "dilation": 2, "groups": 2}) == []


def test_a_replaced_draw_is_counted_by_feature():
    space = C.parse({"framework": ["x", "1"], "dtypes": {"conv": ["float32"]}})
    C.activate(space)
    try:
        assert space.dtype("conv", np.dtype(np.float64), (np.float64, np.float32)) == np.float32
        assert space.dtype("conv", np.dtype(np.float64), (np.float64,)) is None  # none of the test's: it skips
        assert space.dtype("conv", np.dtype(np.float32), (np.float64, np.float32)) == np.float32
        assert C.counted() == {"conv float64": 2}
    finally:
        C.activate(C.FULL)


def _verify(impl, tmp_path, *args):
    report = tmp_path / "report.json"
    result = subprocess.run([sys.executable, "-m", "convcheck.cli", "verify", str(impl), "--api", "full", "--report-json", str(report),
                             "--repro-dir", str(tmp_path / "repros"), *args], capture_output=True, text=True, timeout=900)
    return result, (json.loads(report.read_text()) if report.exists() else None)


@needs_torch
def test_a_narrow_space_is_drawn_inside_and_what_lies_outside_is_counted(tmp_path):
    """narrow.py raises NotImplementedError on everything it declares unsupported: a run that
    drew outside its space would fail. It passes, and the summary counts each feature it lacks."""
    result, report = _verify(DECLARED / "narrow.py", tmp_path, "--family", "forward,backward,contract")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    counted = {}
    for row in report["rows"]:
        for feature, n in row["unsupported"].items():
            counted[feature] = counted.get(feature, 0) + n
    lacked = {"conv dilation", "conv groups", "conv pad 'per-side'", "conv pad 'valid'", "conv float32", "max_pool ceil mode", "average_pool"}
    assert lacked <= set(counted), counted
    assert set(counted) <= lacked, f"counted as unsupported what narrow declares it has: {set(counted) - lacked}"
    assert "unsupported (drawn outside the declared space" in result.stdout
    assert report["implementations"][0]["framework"] == ["narrow", "1.0"]


@needs_torch
def test_laws_that_derive_a_configuration_stay_inside_the_space(tmp_path):
    """narrow_average.py computes average pooling in float32 only, without count_include_pad=False:
    the laws that turn a drawn pooling into an average one (or rewrite count_include_pad) count
    what the derived one lacks instead of calling it."""
    result, report = _verify(DECLARED / "narrow_average.py", tmp_path, "--check", "test_pooling_laws", "--check",
                             "test_pool_backward_conserves_gradient")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    counted = {feature for row in report["rows"] for feature in row["unsupported"]}
    assert {"average_pool float64", "average_pool count include pad"} <= counted, counted


@needs_torch
def test_raising_inside_the_declared_space_is_a_finding(tmp_path):
    """overclaims.py declares conv dilation, which narrow.py's functions refuse: a finding."""
    result, report = _verify(DECLARED / "overclaims.py", tmp_path, "--family", "forward")
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-2000:]
    raised = [f for f in report["findings"] if f["kind"] == "raised" and "conv_forward" in f["functions"]]
    assert raised, [(f["kind"], f["words"]) for f in report["findings"]]
    assert "dilation" in json.dumps(raised[0]["example"]), raised[0]["example"]


# ---- conventions (properties/conventions.py) ----------------------------------------------------


@pytest.mark.parametrize("declared, named", [
    ({"function": "pool_backward", "convention": "ties_split", "says": "s", "source": "x"}, "unknown 'ties_split'"),
    ({"function": "pool_forward", "convention": "max_ties_split", "says": "s", "source": "x"}, "a convention of pool_backward"),
    ({"function": "pool_backward", "convention": "max_ties_split", "says": "s"}, "must be a dict of function, convention, says, source"),
    ({"function": "pool_backward", "convention": "max_ties_split", "says": "s", "source": " "}, "non-empty strings"),
])
def test_a_malformed_convention_is_an_error_naming_it(declared, named):
    with pytest.raises(CV.ConventionsError) as info:
        CV.parse([declared])
    assert named in str(info.value), str(info.value)


# checks whose expected max-pool gradient follows the contract's tie rule (the first maximum): an
# oracle's, and a law's
TIE_RULE_CHECKS = pytest.mark.parametrize("check", ["test_backward_matches_torch[pool_backward[max]*", "test_pool_backward_disjoint_windows*"])


def _ties_run(name, tmp_path, check):
    """`check` on tests/impls/declared/NAME.py, 400 seeded examples (ties with a nonzero upstream
    gradient are rare among 40)."""
    report = tmp_path / "report.json"
    result = subprocess.run(
        [sys.executable, "-m", "pytest", str(Path(__file__).resolve().parent.parent / "properties"), "-p", "convcheck.plugin",
         f"--impl={DECLARED / (name + '.py')}", "--hypothesis-profile=thorough", "--hypothesis-seed=1", "-q",
         f"--check={check}", f"--report-json={report}", f"--repro-dir={tmp_path / 'repros'}"],
        capture_output=True, text=True, timeout=900)
    return result, json.loads(report.read_text())


@needs_torch
@TIE_RULE_CHECKS
def test_a_declared_convention_is_counted_not_failed(tmp_path, check):
    result, report = _ties_run("ties_split", tmp_path, check)
    assert result.returncode == 0, result.stdout[-3000:]
    assert sum(r["conventions"].get("max_ties_split", 0) for r in report["rows"]) > 0, report["rows"]
    assert all(r["worst"] <= 1 for r in report["rows"]), report["rows"]  # the differing comparisons are not the worst seen
    assert report["implementations"][0]["conventions"][0]["convention"] == "max_ties_split"


@needs_torch
@TIE_RULE_CHECKS
def test_the_same_difference_undeclared_is_a_failure(tmp_path, check):
    result, report = _ties_run("ties_split_undeclared", tmp_path, check)
    assert result.returncode == 1, result.stdout[-3000:]
    assert [f["kind"] for f in report["findings"]] == ["values"], report["findings"]


@needs_torch
def test_torch_itself_takes_either_answer_at_the_open_point_of_nan_meeting_padding():
    """torch's F.conv2d with its padding argument forms products with padding elements or not,
    depending on its path: float64 does (as zero_pad-then-multiply: NaN), float32 with pad
    'same' does not (conv_skips_padding; found by `convcheck oracles`). Over fuzzed NaN / inf
    cases its result is always one of the two answers, never a third."""
    import torch
    import torch.nn.functional as F
    from hypothesis import HealthCheck, given, settings

    from convcheck.oracle import torch_ops as T
    from convcheck.oracle.tolerances import tolerance
    from convcheck.properties import strategies as S
    from convcheck.properties.conventions import OPEN, followed

    def torch_Z(A, W, pad, dtype, stride=1):
        a = torch.tensor(A.transpose(0, 3, 1, 2).copy(), dtype=dtype)
        w = torch.tensor(W.transpose(3, 2, 0, 1).copy(), dtype=dtype)
        return F.conv2d(a, w, stride=stride, padding=pad).numpy().transpose(0, 2, 3, 1)

    A, W = np.zeros((2, 1, 1, 1)), np.array([np.nan, -0.13, 0.64]).reshape(1, 3, 1, 1)
    args = (A, W, None, {"stride": 1, "pad": "same"})
    assert followed(OPEN, "conv_forward", "Z", args, torch_Z(A, W, "same", torch.float32)) == "conv_skips_padding"
    assert followed(OPEN, "conv_forward", "Z", args, torch_Z(A, W, "same", torch.float64)) is None  # NaN: the tutorial's answer

    # the weight gradient likewise (the campaign's case): float32 skips, float64 forms the product
    A, W, dZ = np.zeros((2, 1, 1, 1)), np.zeros((1, 2, 1, 1)), np.array([np.nan, -0.13]).reshape(2, 1, 1, 1)
    for dtype, answer in ((torch.float32, "conv_weight_gradient_skips_padding"), (torch.float64, None)):
        w = torch.tensor(W.transpose(3, 2, 0, 1).copy(), dtype=dtype, requires_grad=True)
        out = F.conv2d(torch.tensor(A.transpose(0, 3, 1, 2).copy(), dtype=dtype), w, stride=2, padding=(0, 1))
        out.backward(torch.tensor(dZ.transpose(0, 3, 1, 2).copy(), dtype=dtype))
        dW = w.grad.numpy().transpose(2, 3, 1, 0)
        assert followed(OPEN, "conv_backward", "dW", (dZ, (A, W, None, {"stride": 2, "pad": (0, 1)})), dW) == answer, dtype

    @settings(max_examples=150, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(S.conv_cases(api="tutorial", kinds=S.SPECIAL_KINDS, dtypes=(np.dtype(np.float32),)))
    def check(case):
        A, W, hp = case.A_prev.astype(np.float64), case.W.astype(np.float64), {**case.hparameters, "pad": int(case.hparameters["pad"])}
        Z = torch_Z(A, W, hp["pad"], torch.float32, int(hp["stride"]))
        if followed(OPEN, "conv_forward", "Z", (A, W, None, hp), Z) is not None:
            return
        tutorial = T.conv_forward(A, W, None, stride=int(hp["stride"]), pad=hp["pad"])
        M = T.conv_forward(np.abs(A), np.abs(W), None, stride=int(hp["stride"]), pad=hp["pad"])
        tol = tolerance(M, int(np.prod(W.shape[:3])), np.float32)
        assert np.array_equal(np.isnan(Z), np.isnan(tutorial)) and np.all((np.abs(Z - tutorial) <= tol) | (Z == tutorial) | np.isnan(Z))

    check()


@needs_torch
def test_the_padding_skipping_answer_is_the_convolution_where_every_value_is_finite():
    """conv_skipping_padding's geometry over the whole space (every pad form, dilation, groups,
    strides): with finite values it is torch's convolution and weight gradient."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from convcheck.oracle import torch_ops as T
    from convcheck.oracle.tolerances import tolerance
    from convcheck.properties import strategies as S
    from convcheck.repro_template import conv_skipping_padding

    @settings(max_examples=100, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(S.conv_cases(api="full", dtypes=(np.dtype(np.float64),)), st.data())
    def check(case, data):
        A, W, b, hp = case.A_prev, case.W, case.b, case.hparameters
        dZ = data.draw(S.gradients_for(S.conv_output_shape(case), np.dtype(np.float64)))
        Z = T.conv_forward(A, W, b, **hp)
        n = int(np.prod(W.shape[:3])) + 1
        got = conv_skipping_padding("conv_forward", (A, W, b, hp))
        np.testing.assert_array_less(np.abs(got - Z), tolerance(conv_skipping_padding("conv_forward", (A, W, b, hp), True), n, np.float64) + 1e-300)
        dW = T.conv_backward(dZ, A, W, b, **hp)[1]
        got = conv_skipping_padding("conv_backward", (dZ, (A, W, b, hp)))
        magnitude = conv_skipping_padding("conv_backward", (dZ, (A, W, b, hp)), True)
        np.testing.assert_array_less(np.abs(got - dW), tolerance(magnitude, int(np.prod(dZ.shape[:3])), np.float64) + 1e-300)

    check()
