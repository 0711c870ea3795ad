"""`convcheck verify` as a user runs it: exit statuses, skips for missing functions, hangs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from convcheck.properties.checks import needs_torch

IMPLS = Path(__file__).resolve().parent / "impls"
ZOO = Path(__file__).resolve().parent.parent / "zoo"


def verify(*args, timeout=600):
    return subprocess.run(
        [sys.executable, "-m", "convcheck.cli", "verify", *map(str, args)], capture_output=True, text=True, timeout=timeout
    )


def test_import_failure_is_one_clear_error_and_exit_2():
    result = verify(IMPLS / "import_error.py")
    assert result.returncode == 2, result
    assert "broken on purpose" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("args", [["no/such/file.py"], ["no_such_module_xyz"], ["--profile", "nightly"], ["--family", "speed"],
                                  ["--check", "test_no_such_check*"], ["--max-examples", "0"]])
def test_bad_command_line_exits_2(args):
    assert verify(*args).returncode == 2


@pytest.mark.parametrize("profile, budget", [("thorough", 7), ("ci", 3)])
def test_an_example_budget_caps_every_property_test_of_any_profile(tmp_path, profile, budget):
    counts = tmp_path / "counts"
    (tmp_path / "test_budget.py").write_text(
        "from hypothesis import given, strategies as st\n"
        f"@given(st.integers())\ndef test_counted(x):\n    open({str(counts)!r}, 'a').write('.')\n")
    result = subprocess.run([sys.executable, "-m", "pytest", str(tmp_path / "test_budget.py"), "-p", "convcheck.plugin", "-q",
                             "-p", "no:cacheprovider", f"--hypothesis-profile={profile}", f"--max-examples={budget}"],
                            capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-2000:]
    assert counts.read_text() == "." * budget  # without the budget: 400 (thorough) and 40 (ci)


def test_verify_states_its_example_budget(tmp_path):
    report = tmp_path / "r.json"
    result = verify("convcheck.reference.fast", "--check", "test_zero_pad_crop_identity", "--max-examples", 3, "--report-json", report)
    assert result.returncode == 0, result.stdout[-2000:]
    assert json.loads(report.read_text())["profile"] == {"name": "ci", "seed": "derandomized", "max_examples": 3}
    assert "profile ci, at most 3 examples per test" in result.stdout


def test_check_patterns_select_the_checks_they_name(tmp_path):
    report = tmp_path / "r.json"
    result = verify("convcheck.reference.fast", "--check", "test_contract_rejects[zero_pad-*", "--check", "test_zero_pad_crop_identity",
                    "--report-json", report)
    assert result.returncode == 0, result.stdout[-2000:]
    ran = {(r["function"], r["family"]): r["passed"] for r in json.loads(report.read_text())["rows"] if r["passed"]}
    assert set(ran) == {("zero_pad", "contract"), ("zero_pad_crop_identity", "metamorphic")}, ran


@needs_torch
def test_missing_functions_skip_only_their_checks(tmp_path):
    report = tmp_path / "r.json"
    result = verify(IMPLS / "partial.py", "--family", "forward,contract", "--report-json", report)
    assert result.returncode == 0, result.stdout[-2000:]
    rows = {(r["function"], r["family"]): r for r in json.loads(report.read_text())["rows"]}
    assert rows[("zero_pad", "forward")]["passed"] and not rows[("zero_pad", "forward")]["skipped"]
    assert rows[("conv_forward", "forward")]["skipped"] and not rows[("conv_forward", "forward")]["passed"]
    assert "partial lacks conv_forward" in subprocess.run(
        [sys.executable, "-m", "pytest", str(Path(__file__).parent.parent / "properties"), f"--impl={IMPLS / 'partial.py'}",
         "--family=forward", "-rs", "-q"], capture_output=True, text=True).stdout


def test_a_hanging_call_is_cut_off_and_reported(tmp_path):
    report = tmp_path / "r.json"
    result = subprocess.run(
        [sys.executable, "-m", "pytest", str(Path(__file__).parent.parent / "properties"), f"--impl={IMPLS / 'hangs.py'}",
         "--family=contract", "-k", "zero_pad", "--call-timeout=2", f"--report-json={report}", "-q"],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 1
    kinds = [k for r in json.loads(report.read_text())["rows"] for k in r["kinds"]]
    assert kinds and set(kinds) == {"timeout"}, kinds
    assert "zero_pad did not return within 2 s" in result.stdout


def test_verify_cuts_a_hanging_call_off_at_its_call_timeout(tmp_path):
    report = tmp_path / "r.json"
    result = verify(IMPLS / "hangs.py", "--family", "contract", "--call-timeout", "2", "-x", "--report-json", report, timeout=300)
    assert result.returncode == 1, result.stdout[-2000:]
    assert {k for r in json.loads(report.read_text())["rows"] for k in r["kinds"]} == {"timeout"}
    assert "did not return within 2 s" in result.stdout


@needs_torch
def test_a_failing_check_exits_1_and_names_its_kind(tmp_path):
    report = tmp_path / "r.json"
    result = verify(ZOO / "flipped_kernel.py", "-x", "--family", "forward", "--report-json", report)
    assert result.returncode == 1
    failed = [r for r in json.loads(report.read_text())["rows"] if r["failed"]]
    assert failed == [{**failed[0], "function": "conv_forward", "family": "forward", "kinds": ["values"]}]


@needs_torch
def test_tutorial_only_implementation_raises_no_false_alarm(tmp_path):
    """An outside implementation is checked on the tutorial's space by default; the same
    implementation under --api full is (rightly) told it rejects valid configurations."""
    tutorial = verify(IMPLS / "tutorial_only.py", "--family", "forward,backward,contract")
    assert tutorial.returncode == 0, tutorial.stdout[-3000:]
    report = tmp_path / "r.json"
    full = verify(IMPLS / "tutorial_only.py", "--api", "full", "--family", "forward", "-x", "--report-json", report)
    assert full.returncode == 1
    assert {k for r in json.loads(report.read_text())["rows"] for k in r["kinds"]} == {"rejected valid"}


@needs_torch
def test_a_crash_is_a_finding_with_its_example(tmp_path):
    """Isolated (the default), the implementation's process dies, not the suite's: kind 'crashed'."""
    report = tmp_path / "r.json"
    result = verify(IMPLS / "crashes.py", "--family", "forward", "-x", "--report-json", report)
    assert result.returncode == 1, result.stdout[-3000:]
    assert {k for r in json.loads(report.read_text())["rows"] for k in r["kinds"]} == {"crashed"}
    assert "the implementation's process died during the call (exit status 134)" in result.stdout, result.stdout[-3000:]


@needs_torch
def test_in_process_a_worker_crash_names_the_test_and_the_example():
    """--isolation none: the crash takes an xdist worker down; the report names the test and the example."""
    result = subprocess.run(
        [sys.executable, "-m", "pytest", str(Path(__file__).parent.parent / "properties"), f"--impl={IMPLS / 'crashes.py'}",
         "--family=forward", "-k", "conv_forward", "-n", "2", "-p", "no:randomly", "-q", "--isolation=none"],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 1
    assert "crashed while running" in result.stdout and "it was running this example" in result.stdout, result.stdout[-3000:]
    assert "ConvCase(hparameters=" in result.stdout
