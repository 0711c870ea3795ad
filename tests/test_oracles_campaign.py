"""`convcheck oracles`: torch through the seed API against the second routes; each disagreement
matched against ORACLE_DEFECTS -- known, or new -- from its recorded case."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from convcheck import oracles_campaign as O
from convcheck import repro
from convcheck.properties import strategies as S
from convcheck.properties.checks import needs_torch
from convcheck.properties.ops import Sample

# ORACLE_DEFECTS' minimal case: columns -1 and +1 only, so the first window sees nothing real
PADDING_ONLY = {"f": 2, "stride": 1, "pad": 1, "dilation": 2}
PLAIN = {"f": 2, "stride": 2}


def _pool_backward_sample(hp: dict) -> Sample:
    A = np.arange(8.0).reshape(1, 1, 8, 1)
    out = S.pool_output_shape(S.PoolCase(A, hp, "max"))
    return Sample(S.PoolCase(A, hp, "max"), {"dA": np.ones(out)})


def _recorded(tmp_path, hp: dict) -> str:
    """A case folder as a failing pool_backward check writes it."""
    s = _pool_backward_sample(hp)
    args = (s.extra["dA"], (s.case.A_prev, hp), "max")
    record = {"context": {"function": "pool_backward", "check": "oracle", "family": "backward", "oracle": "loops reference",
                          "dtype": "float64", "gradient": None, "outputs": []},
              "calls": [("pool_backward", args, args, True, None)], "arrays": {}}
    case, arrays = repro.case_from_record(record, "t", "torch_functional", "full", ValueError("x"), {})
    return repro.write_folder(str(tmp_path), f"case{len(os.listdir(tmp_path))}", case, arrays)


@needs_torch
def test_the_known_torch_defect_is_recognised_and_a_plain_case_is_new():
    assert O.classify("pool_backward", _pool_backward_sample(PADDING_ONLY)).startswith("KNOWN: pool_backward[max]-autograd")
    assert O.classify("pool_backward", _pool_backward_sample(PLAIN)) == "NEW"
    assert O.classify(None, None).startswith("NEW")


def test_features_name_what_the_case_uses():
    assert O.features("pool_backward", _pool_backward_sample(PADDING_ONLY)) == ["max_pool pad", "max_pool dilation"]
    assert O.features("pool_backward", _pool_backward_sample(PLAIN)) == ["none"]


@needs_torch
def test_summary_counts_new_classes_from_the_recorded_cases(tmp_path):
    findings = [{"kind": "values", "rule": "pool_backward(mode='max'): dA_prev", "words": "w", "example": "", "replay": "r",
                 "checks": [f"test_backward_matches_torch[torch_functional-pool_backward[max]-{route}]"], "repro": _recorded(tmp_path, hp)}
                for hp, route in ((PADDING_ONLY, "loops reference"), (PLAIN, "jax"))]
    lines, new = O.summarize({"findings": findings})
    assert new == 1
    verdicts = [line.strip() for line in lines if line.strip().startswith(("KNOWN", "NEW"))]
    assert verdicts[0].startswith("KNOWN") and verdicts[1] == "NEW", lines
    assert "   routes: loops reference" in lines and "   routes: jax" in lines


TIES_SPLIT = ("max_ties_split", "the gradient of tied maxima is shared", "somewhere.py:1")


def _tied_jax_finding(tmp_path, answer) -> dict:
    """A class of one JAX route on a window of four tied maxima, with JAX's answer recorded."""
    A, dA = np.zeros((1, 2, 2, 1)), np.full((1, 1, 1, 1), 4.0)
    args = (dA, (A, {"f": 2, "stride": 2}), "max")
    record = {"context": {"function": "pool_backward", "check": "oracle", "family": "backward", "oracle": "jax",
                          "dtype": "float64", "gradient": None, "outputs": ["dA_prev"]},
              "calls": [("pool_backward", args, args, True, None)], "arrays": {"want__dA_prev": answer}}
    case, arrays = repro.case_from_record(record, "t", "torch_functional", "full", ValueError("x"), {})
    return {"kind": "values", "rule": "pool_backward(mode='max'): dA_prev", "words": "w", "example": "", "replay": "r",
            "checks": ["test_backward_matches_torch[torch_functional-pool_backward[max]-jax]"],
            "repro": repro.write_folder(str(tmp_path), f"case{len(os.listdir(tmp_path))}", case, arrays)}


@pytest.mark.parametrize(("answer", "declared", "verdict"), [
    (np.ones((1, 2, 2, 1)), (TIES_SPLIT,), "KNOWN (convention): jax follows max_ties_split, which it declares"),
    (np.ones((1, 2, 2, 1)), (), "NEW (jax's answer follows the known convention max_ties_split, which it does not declare)"),
    (np.full((1, 2, 2, 1), 2.0), (TIES_SPLIT,), "NEW"),
])
def test_a_class_is_known_where_the_routes_answer_follows_a_convention_its_engine_declares(tmp_path, answer, declared, verdict):
    lines, new = O.summarize({"findings": [_tied_jax_finding(tmp_path, answer)]}, {"jax": declared})
    verdicts = [line.strip() for line in lines if line.strip().startswith(("KNOWN", "NEW"))]
    assert len(verdicts) == 1 and verdicts[0].startswith(verdict), lines
    assert new == verdict.startswith("NEW")


def test_the_subjects_declared_conventions_are_listed_with_their_counts():
    report = {"findings": [], "rows": [{"conventions": {"max_ties_split": 3}}, {"conventions": {"max_ties_split": 2}}],
              "implementations": [{"name": "torch_functional", "conventions": [dict(zip(("convention", "says", "source"), TIES_SPLIT))]}]}
    lines, new = O.summarize(report)
    assert new == 0 and lines == ["KNOWN (convention): torch_functional declares max_ties_split: the gradient of tied maxima is "
                                  "shared (somewhere.py:1); results that followed it: 5"]


@needs_torch
@pytest.mark.skipif(os.environ.get("CONVCHECK_SLOW") != "1", reason="about 2 minutes (torch aborts, its worker restarts): CONVCHECK_SLOW=1")
def test_the_campaign_finds_the_padding_only_max_pool_defect_by_itself(tmp_path):
    check = "test_backward_matches_torch[pool_backward[max, padding-only windows]-loops reference]"
    result = subprocess.run([sys.executable, "-m", "convcheck.cli", "oracles", "--profile", "dev", "--check", check,
                             "--repro-dir", str(tmp_path)], capture_output=True, text=True, timeout=1200, cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "KNOWN: pool_backward[max]-autograd" in result.stdout and "0 new" in result.stdout
