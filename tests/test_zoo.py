"""Meta-test: the suite catches every member of the bug zoo.

Each member of zoo/ is a complete implementation with exactly one defect. The suite is run on
it as a user would run it (`convcheck verify MEMBER -x`, ci profile), restricted to the checks
that the rule table (properties/rules.py) says fail when the member's rule breaks, and must
report a failed check -- exit status 1, not an internal error (3) or a pass (0). Those checks are
part of the whole suite, so the whole suite fails on the member too; that it passes on both
bundled references is the main property run itself.

Without torch the members that the torch-free checks (finite differences, metamorphic laws,
contract tables, regression replays) catch are still run; the others, in NEEDS_TORCH, skip.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from convcheck.properties.checks import TORCH_MISSING
from convcheck.properties.ops import T
from convcheck.properties.results import KINDS

ZOO = Path(__file__).resolve().parent.parent / "zoo"
MEMBERS = sorted(p for p in ZOO.glob("*.py") if not p.name.startswith("_"))

# Members that only a comparison with torch catches, and why the torch-free checks cannot.
NEEDS_TORCH = {
    "asymmetric_pads_swapped": "a conv with swapped pad sides is still linear, batch-independent and its own backward's adjoint",
    "same_pad_extra_on_top": "likewise: the odd padding element on the other side is a consistent conv",
    "divisor_override_ignored": "average pooling by the window size is self-consistent; only torch knows the override",
    "max_pool_ignores_nan": "only NaN inputs show it, and no torch-free check compares results on NaN inputs",
    "single_step_no_bias": "conv_single_step has neither a backward nor a law; conv_forward is right",
    "max_pool_first_nan": "only NaN inputs show it (several in one window), and only torch's pick tells the last NaN",
    "conv_backward_nan_to_num": "only non-finite upstream gradients show it; the torch-free laws draw finite values",
    "mask_compares_in_float32": "only torch's pick over large integer windows tells which maximum is the true one",
}


def test_zoo_is_large_enough():
    assert len(MEMBERS) >= 15, [m.name for m in MEMBERS]


def test_needs_torch_names_members():
    assert set(NEEDS_TORCH) <= {m.stem for m in MEMBERS}, sorted(set(NEEDS_TORCH) - {m.stem for m in MEMBERS})


@pytest.mark.parametrize("member", MEMBERS, ids=[m.stem for m in MEMBERS])
def test_suite_catches_zoo_member(member, tmp_path):
    if T is None and member.stem in NEEDS_TORCH:
        pytest.skip(TORCH_MISSING)
    # a defect that only warns on older NumPy is caught there by strict mode alone
    strict = np.lib.NumpyVersion(np.__version__) < _member_constant(member, "STRICT_BEFORE_NUMPY", "0.0.0")
    report = tmp_path / "report.json"
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    # without torch the torch-free checks of other rules catch some members: the whole suite runs
    checks = [f"--check={c}" for c in _rule_checks(member)] if T is not None else []
    result = subprocess.run(
        [sys.executable, "-m", "convcheck.cli", "verify", str(member), "-x", "--profile", "ci", "--report-json", str(report),
         "--repro-dir", str(tmp_path / "repros"), "--api", _member_constant(member, "API", "tutorial")] + ["--strict"] * strict + checks,
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )
    failed = [r for r in json.loads(report.read_text())["rows"] if r["failed"]] if report.exists() else []
    assert result.returncode == 1, (
        f"convcheck verify {member.name} exited {result.returncode} (1 = a check failed); "
        f"failed rows: {failed}\n{result.stdout[-3000:]}\n{result.stderr[-2000:]}"
    )
    assert failed and not any(k.startswith("internal error") for r in failed for k in r["kinds"]), failed
    if T is not None:  # without torch other checks catch some members first; the rule table lists torch's
        _assert_caught_by_a_check_of_its_rules(member, failed)
        if not strict:  # strict: on this NumPy the defect is a warning first
            _assert_declared_finding_found(member, json.loads(report.read_text())["findings"])
    if _member_constant(member, "BREAKS", None) == ():  # a defect of composition: no seed-function call replays it alone
        assert all(r["function"].startswith("text_cnn") for r in failed), failed
        _assert_minimal_text_cnn(result.stdout, {**DEFAULT_BOUNDS, **_member_constant(member, "SHRINK_BOUNDS", {})})
        return
    if T is None and not failed[0]["repros"]:
        return  # caught by a metamorphic law without a standalone replay (only the adjoint law has one)
    folder = Path(failed[0]["repros"][0])
    if T is not None:  # a replay on the fixed reference compares with torch
        _replays(folder, tmp_path)
    _assert_minimal(folder, {**DEFAULT_BOUNDS, **_member_constant(member, "SHRINK_BOUNDS", {})})


# A fixed selection run without -x, in the families that hold the declared check (all families of
# each would cost minutes per member): the member's FINDING -- its one defect, as data -- is the
# first finding of the summary, and its repro folder replays it.
FIRST_FINDING = {
    "bias_wrong_channel": "forward",
    "float32_becomes_float64": "forward,backward",
    "mutates_input": "backward",
    "accepts_unknown_keys": "contract",
    "seed_backward_crop": "backward",
    "average_pool_sum": "forward,metamorphic",
    "mask_last_max": "forward,backward",
}


def test_every_member_declares_its_finding():
    for member in MEMBERS:
        function, kind, rule = _member_constant(member, "FINDING", (None, None, None))
        assert kind in KINDS and rule and function, member.stem


@pytest.mark.skipif(T is None, reason=TORCH_MISSING)
@pytest.mark.parametrize("name", sorted(FIRST_FINDING))
def test_declared_defect_is_the_first_finding(name, tmp_path):
    member = ZOO / f"{name}.py"
    report = tmp_path / "report.json"
    result = subprocess.run(
        [sys.executable, "-m", "convcheck.cli", "verify", str(member), "--profile", "ci", "--family", FIRST_FINDING[name],
         "--report-json", str(report), "--repro-dir", str(tmp_path / "repros"), "--api", _member_constant(member, "API", "tutorial")],
        capture_output=True, text=True, timeout=900,
    )
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-2000:]
    found = json.loads(report.read_text())["findings"]
    function, kind, rule = _member_constant(member, "FINDING", None)
    first = found[0]
    assert (first["kind"], first["rule"]) == (kind, rule) and function in first["functions"], (
        f"{name} declares ({function}, {kind}, {rule}); the findings are {[(f['kind'], f['rule'], f['functions']) for f in found]}")
    folder = Path(first["repro"])
    if (folder / "repro.py").exists():
        _replays(folder, tmp_path)


def _assert_declared_finding_found(member: Path, found: list) -> None:
    """The member's FINDING, as data: under -x (the first failing test only) a finding of its kind
    on its function; run in full (FIRST_FINDING), exactly its kind and rule, first."""
    function, kind, _ = _member_constant(member, "FINDING", None)
    assert any(f["kind"] == kind and function in f["functions"] for f in found), (
        f"{member.stem} declares a {kind} finding of {function}; found {[(f['kind'], f['rule'], f['functions']) for f in found]}")


def _assert_caught_by_a_check_of_its_rules(member: Path, failed: list) -> None:
    """The check that caught the member is one of the checks of a rule (properties/rules.py) that
    names it: the rule table says truly what fails when each rule breaks."""
    from convcheck.properties import rules

    checks = _rule_checks(member)
    if checks == [COMPOSITION]:
        assert _member_constant(member, "BREAKS", None) == (), f"{member.stem} proves no rule of properties/rules.py"
        return
    caught_by = [rules.test_id(t, member.stem) for r in failed for t in r["failures"]]
    assert any(rules.matches(c, t) for c in checks for t in caught_by), (
        f"{member.stem} was caught by {caught_by}, which is none of the checks of its rules: {checks}")


# The checks of a defect of composition (BREAKS = (): no rule of a seed function breaks)
COMPOSITION = "test_text_cnn_*"


def _rule_checks(member: Path) -> list:
    """The checks of the rules that name the member as their proof."""
    from convcheck.properties import rules

    checks = [c for r in rules.RULES if member.stem in r.zoo for c in r.checks]
    return checks or [COMPOSITION]


# A shrunk example is minimal: one example, one channel, a spatial extent of at most 3, unless the
# member's SHRINK_BOUNDS says its defect needs more (e.g. two examples to show a batch sum).
DEFAULT_BOUNDS = {"batch": 1, "channels": 1, "spatial": 3}


def _member_constant(member: Path, name: str, default):
    """A module-level constant of a member, read without importing it."""
    import ast

    for node in ast.parse(member.read_text()).body:
        if isinstance(node, ast.Assign) and [getattr(t, "id", None) for t in node.targets] == [name]:
            return ast.literal_eval(node.value)
    return default


def _assert_minimal(folder: Path, bounds: dict) -> None:
    from convcheck import repro_template as R

    case = R.load_case(str(folder))
    args = [R.decode(a, R.load_arrays(str(folder))) for a in case["args"]]
    activation = args[1][0] if case["function"] in ("conv_backward", "pool_backward") else args[0]
    weights = args[1][1] if case["function"] == "conv_backward" else (args[1] if case["function"] == "conv_forward" else None)
    if getattr(activation, "ndim", 0) == 4:
        m, H, W, C = activation.shape
        assert m <= bounds["batch"], f"shrunk example has batch {m} > {bounds['batch']}: {activation.shape}"
        assert C <= bounds["channels"], f"shrunk input has {C} channels > {bounds['channels']}"
        assert max(H, W) <= bounds["spatial"], f"shrunk input is {H}x{W}, more than {bounds['spatial']}"
    elif getattr(activation, "ndim", 0):
        assert max(activation.shape) <= bounds["spatial"], activation.shape
    if getattr(weights, "ndim", 0) == 4:
        kh, kw, _, n_C = weights.shape
        assert max(kh, kw) <= bounds["spatial"] and n_C <= bounds["channels"], f"shrunk W has shape {weights.shape}"


def _assert_minimal_text_cnn(stdout: str, bounds: dict) -> None:
    """The shrunk text CNN example, as printed: one sentence, one-wide embeddings, a short sentence."""
    import re

    shown = re.search(r"TextCNNCase\(vocab=\d+, emb_width=(\d+), .*?batch=(\d+), seq_len=(\d+)", stdout)
    assert shown, f"no shrunk TextCNNCase in the output:\n{stdout[-3000:]}"
    emb_width, batch, seq_len = map(int, shown.groups())
    assert batch <= bounds["batch"] and emb_width <= bounds["channels"] and seq_len <= bounds["spatial"], shown.group(0)


def _replays(folder: Path, tmp_path: Path) -> None:
    """The written repro folder, copied to a fresh directory, replays standalone: exit 1 on the
    member, 0 on a bundled reference."""

    def run(where, *args):
        return subprocess.run([sys.executable, "repro.py", *args], cwd=where, capture_output=True, text=True, timeout=300)

    copy = tmp_path / "elsewhere" / folder.name
    shutil.copytree(folder, copy)
    assert run(copy).returncode == 1, f"{folder}, copied to a fresh directory, did not reproduce"
    fixed = run(copy, "--impl", "convcheck.reference.fast")
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
