"""One defect, one finding: an implementation with four defects at once gets four findings, worst
first, each with a minimal example and a repro folder that replays it.

tests/impls/four_defects.py has: float32 inputs give float64 results; no validation; the mask
marks every tied maximum (and pool_backward uses it); average pooling returns zeros. Each of
them alone would be found; together, none may hide another, and the dtype and the validation
findings (real, but the least severe) come last.
"""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convcheck import repro_template as R
from convcheck.plugin import findings
from convcheck.properties.asserts import NON_FINITE
from convcheck.properties.checks import needs_torch
from convcheck.properties.results import CheckFailure

if sys.version_info < (3, 11):  # Hypothesis depends on the backport there
    from exceptiongroup import BaseExceptionGroup

FOUR_DEFECTS = Path(__file__).resolve().parent / "impls" / "four_defects.py"
EXPECTED = [
    ("values", "create_mask_from_window: mask"),
    ("values", "pool_forward(mode='average'): A"),
    ("dtype", "float32 -> float64"),
    ("accepted invalid", "ValueError on invalid input"),
]
MINIMAL = 4  # array elements in a shrunk example's arguments, at most


@needs_torch
def test_four_defects_four_findings_worst_first(tmp_path):
    report = tmp_path / "report.json"
    # forward and contract hold a check of each defect; the other families add checks, not findings
    result = subprocess.run(
        [sys.executable, "-m", "convcheck.cli", "verify", str(FOUR_DEFECTS), "--family", "forward,contract",
         "--report-json", str(report), "--repro-dir", str(tmp_path / "repros")],
        capture_output=True, text=True, timeout=1800,
    )
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-2000:]
    found = json.loads(report.read_text())["findings"]
    assert [(f["kind"], f["rule"]) for f in found] == EXPECTED, [(f["kind"], f["rule"], f["words"]) for f in found]
    assert "convcheck findings: 4, worst first" in result.stdout
    assert "returns 0 where F.avg_pool2d gives" in found[1]["words"], found[1]["words"]
    assert "pool_backward" in found[0]["functions"], found[0]  # the tied maxima, through pool_backward too
    for finding in found:
        folder = Path(finding["repro"])
        case = R.load_case(str(folder))
        arrays = R.load_arrays(str(folder))
        size = sum(np.size(R.decode(a, arrays)) for a in case["args"] if isinstance(R.decode(a, arrays), np.ndarray))
        assert size <= MINIMAL, f"{finding['rule']}: the kept example has {size} array elements: {case['args']}"
        replay = subprocess.run([sys.executable, str(folder / "repro.py")], capture_output=True, text=True, timeout=300)
        assert replay.returncode == 1, f"{folder} does not replay its finding: {replay.stdout[-2000:]}"
    assert sorted(p.name for p in (tmp_path / "repros").iterdir()) == sorted([Path(f["repro"]).name for f in found] + ["findings.json"])


def _raise(kind: str, rule: str):
    raise CheckFailure(kind, "a finding", rule=rule)  # one line for every finding, as in asserts.py


def test_each_kind_and_rule_is_its_own_failure_for_hypothesis():
    """Hypothesis tells failures apart by exception type and raising line: two rules raised from
    one line are two failures, each shrunk on its own; the same rule twice is one."""
    assert type(CheckFailure("values", "a", rule="r")) is type(CheckFailure("values", "b", rule="r"))
    assert type(CheckFailure("values", "a", rule="r")) is not type(CheckFailure("values", "a", rule="s"))
    assert type(CheckFailure("values", "a", rule="r")) is not type(CheckFailure("dtype", "a", rule="r"))
    again = pickle.loads(pickle.dumps(CheckFailure("dtype", "a", rule="r", words="w")))
    assert (again.kind, again.rule, again.words, type(again)) == ("dtype", "r", "w", type(CheckFailure("dtype", "x", rule="r")))

    @settings(report_multiple_bugs=True, database=None, derandomize=True, max_examples=60)
    @given(st.integers(-1000, 1000))
    def two_defects(x):
        if x < -10:
            _raise("values", "negative side")
        if x > 10:
            _raise("values", "positive side")

    with pytest.raises(BaseExceptionGroup) as raised:
        two_defects()
    assert sorted(e.rule for e in raised.value.exceptions) == ["negative side", "positive side"]


def _leaf(kind, rule, size, test="t::a", family="forward", primary=True, function="f", functions=("f",)):
    return {"implementation": "impl", "kind": kind, "rule": rule, "words": f"{rule} at {size}", "function": function,
            "functions": list(functions), "test": test, "family": family, "primary": primary, "message": "", "example": "",
            "size": [0, size, 1, str(size), test], "candidate": f"candidate-{size}", "replay": "", "repro": f"repro-{rule}"}


class _Config:
    def __init__(self, leaves):
        self._convcheck_leaves = leaves


def test_the_kept_example_is_the_smallest_whatever_order_the_workers_reported_in():
    leaves = [_leaf("values", "f: Z", size, test=f"t::{size}") for size in (9, 2, 5)]
    for order in (leaves, leaves[::-1], leaves[1:] + leaves[:1]):
        (found,) = findings(_Config(order))
        assert found["candidate"] == "candidate-2" and found["checks"] == ["t::2", "t::5", "t::9"]


def test_findings_are_ordered_by_severity_and_joined_only_where_there_is_one_to_join():
    leaves = [
        _leaf("accepted invalid", "ValueError on invalid input", 1, family="contract"),
        _leaf("dtype", "float32 -> float64", 1),
        _leaf("values", "pool: A", 3, function="pool", functions=("pool",)),
        _leaf("values", "pool: A" + NON_FINITE, 1, function="pool", functions=("pool",)),  # joins pool: A
        _leaf("values", "mask: m", 2, function="mask", functions=("mask", "back")),
        _leaf("values", "law", 1, test="t::law", family="metamorphic", primary=False, function=None, functions=("pool", "back")),
        _leaf("values", "lonely law", 1, test="t::lonely", family="metamorphic", primary=False, function=None, functions=("zero",)),
        _leaf("values", "conv: Z" + NON_FINITE, 1, function="conv", functions=("conv",)),  # nothing to join: its own
    ]
    found = findings(_Config(leaves))
    # worst kind first; within a kind, the oracle and contract checks' findings, by family, then by rule
    assert [(f["kind"], f["rule"]) for f in found] == [
        ("values", "conv: Z" + NON_FINITE), ("values", "mask: m"), ("values", "pool: A"), ("values", "lonely law"),
        ("dtype", "float32 -> float64"), ("accepted invalid", "ValueError on invalid input")]
    pool = found[2]
    assert pool["candidate"] == "candidate-3"  # the NaN leaf joined it: its checks, not its example
    assert "t::law" in pool["checks"]  # the law called pool and back: it joins the finding with fewer functions under test
    assert "t::law" not in found[1]["checks"]


SENTINEL_MAX_POOL = Path(__file__).resolve().parent / "impls" / "sentinel_max_pool.py"


@needs_torch
def test_two_ways_of_routing_non_finite_values_wrongly_are_two_findings(tmp_path):
    """A max pool that drops NaN and gives -DBL_MAX for -inf breaks one rule in two ways; the
    second must not hide behind the first's smaller example (ONNX Runtime's MaxPool does both)."""
    report = tmp_path / "report.json"
    result = subprocess.run(
        [sys.executable, "-m", "convcheck.cli", "verify", str(SENTINEL_MAX_POOL), "--api", "full",
         "--check", "test_forward_matches_torch[pool_forward[max]-F.max_pool2d]",
         "--report-json", str(report), "--repro-dir", str(tmp_path / "repros")],
        capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-2000:]
    found = {f["rule"]: f for f in json.loads(report.read_text())["findings"]}
    rule = "pool_forward(mode='max'): A" + NON_FINITE
    assert set(found) == {f"{rule} (NaN lost)", f"{rule} (infinity differs)"}, sorted(found)
    assert "where F.max_pool2d gives nan" in found[f"{rule} (NaN lost)"]["words"]
    assert "returns -1.798e+308 where F.max_pool2d gives -inf" in found[f"{rule} (infinity differs)"]["words"] or \
        "returns -3.403e+38 where F.max_pool2d gives -inf" in found[f"{rule} (infinity differs)"]["words"]
    for finding in found.values():
        replay = subprocess.run([sys.executable, str(Path(finding["repro"]) / "repro.py")], capture_output=True, text=True, timeout=300)
        assert replay.returncode == 1, replay.stdout[-2000:]
