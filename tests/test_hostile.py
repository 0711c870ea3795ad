"""Meta-test: implementations written to misbehave end in exit 1 with the kind they earn.

Each module in tests/impls/hostile/ is the loops reference with one function that returns what
the suite cannot use as it stands (a list, None, a short tuple, a wrong shape or dtype), returns
different results on identical calls, or raises a BaseException (KeyboardInterrupt, SystemExit,
GeneratorExit, pytest's skip / fail / exit). `convcheck verify MODULE -x --family FAMILY` must
exit 1 -- never 0 (a forged pass), 3 (the suite blaming itself) or an aborted run -- and report
the module's declared KIND. A module may name the family that shows its defect (FAMILY: e.g. the
finite-difference checks, which call the implementation once per example).
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from convcheck.properties.checks import needs_torch

HOSTILE = sorted((Path(__file__).resolve().parent / "impls" / "hostile").glob("*.py"))
IMPLS = Path(__file__).resolve().parent / "impls"


def _declared(module: Path, name: str, default=None) -> str:
    for node in ast.parse(module.read_text()).body:
        if isinstance(node, ast.Assign) and [getattr(t, "id", None) for t in node.targets] == [name]:
            return ast.literal_eval(node.value)
    if default is None:
        raise AssertionError(f"{module.name} declares no {name}")
    return default


def _declared_kind(module: Path) -> str:
    return _declared(module, "KIND")


def _verify(module: Path, tmp_path: Path, *args: str):
    report = tmp_path / "report.json"
    result = subprocess.run(
        [sys.executable, "-m", "convcheck.cli", "verify", str(module), "--report-json", str(report),
         "--repro-dir", str(tmp_path / "repros"), *args],
        capture_output=True, text=True, timeout=600,
    )
    return result, (json.loads(report.read_text()) if report.exists() else None)


@needs_torch
@pytest.mark.parametrize("module", HOSTILE, ids=[m.stem for m in HOSTILE])
def test_hostile_implementation_is_a_finding(module, tmp_path):
    result, report = _verify(module, tmp_path, "-x", "--family", _declared(module, "FAMILY", "forward"))
    kinds = sorted({k for r in (report or {}).get("rows", []) for k in r["kinds"]})
    assert result.returncode == 1, f"exit {result.returncode}, kinds {kinds}\n{result.stdout[-3000:]}\n{result.stderr[-2000:]}"
    assert kinds == [_declared_kind(module)], f"{module.name}: kinds {kinds}\n{result.stdout[-3000:]}"


def test_hostile_zoo_covers_every_kind_it_claims():
    assert {_declared_kind(m) for m in HOSTILE} == {"structure", "shape", "dtype", "nondeterministic", "raised"}


def test_a_run_that_verified_nothing_is_not_a_pass(tmp_path):
    """partial.py has zero_pad and distribute_value only: their backward checks do not exist, so
    --family backward skips every check -- nothing verified, exit 1, said so."""
    result, report = _verify(IMPLS / "partial.py", tmp_path, "--family", "backward")
    assert result.returncode == 1, result.stdout[-2000:]
    assert report["verified"] is False and not any(r["passed"] for r in report["rows"])
    assert "NOTHING VERIFIED" in result.stdout


def test_a_non_finite_gradient_fails_each_gradient_check(tmp_path):
    """NaN in dW (on finite inputs) is outside every finite-difference budget: both checks of dW
    fail, the directional one and the full Jacobian. No torch needed."""
    result = subprocess.run(
        [sys.executable, "-m", "pytest", str(Path(__file__).parent.parent / "properties"), f"--impl={IMPLS / 'nan_gradient.py'}",
         "--family=gradient", "-k", "conv_backward-dW", "-p", "no:xdist", "--hypothesis-profile=ci",
         f"--repro-dir={tmp_path / 'repros'}", "-q", "-rf"],
        capture_output=True, text=True, timeout=600,
    )
    failed = sorted(line.split("::")[1].split("[")[0] for line in result.stdout.splitlines() if line.startswith("FAILED"))
    assert failed == ["test_gradient_directional", "test_gradient_full_jacobian"], result.stdout[-3000:]


def test_a_real_ctrl_c_still_ends_the_run(tmp_path):
    """SIGINT while a call hangs (no call timeout): the run is interrupted (pytest's exit 2), not
    reported as a KeyboardInterrupt raised by the implementation. The check needs no torch, so
    this runs in the torch-free envs too."""
    import signal
    import time

    marker = tmp_path / "called"
    process = subprocess.Popen(
        [sys.executable, "-m", "pytest", str(Path(__file__).parent.parent / "properties"), f"--impl={IMPLS / 'hangs.py'}",
         "--family=contract", "-k", "zero_pad-pad-float", "--call-timeout=0", "-p", "no:xdist",
         f"--repro-dir={tmp_path / 'repros'}", "-q"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env={**os.environ, "HANGS_MARKER": str(marker)},
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not marker.is_file():
            time.sleep(0.2)
        time.sleep(0.5)  # the call is under way (hangs.py created the marker)
        process.send_signal(signal.SIGINT)
        out, _ = process.communicate(timeout=120)
    finally:
        process.kill()  # never left running (its worker goes with it: its pipes close)
    assert process.returncode == 2, out[-3000:]
    assert "KeyboardInterrupt" in out and "[raised]" not in out, out[-3000:]
