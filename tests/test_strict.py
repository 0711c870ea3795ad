"""--strict-warnings: a warning raised from the implementation's own code during a call is a
finding (kind "warning"); warnings from anywhere else -- NumPy, torch, the suite -- pass on
unchanged, and so do NumPy's warnings about the NaN / inf inputs drawn on purpose."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from convcheck.implementations import load
from convcheck.properties.asserts import CheckFailure, StrictWarnings, call
from convcheck.properties.checks import needs_torch
from convcheck.repro_template import own_source

IMPLS = Path(__file__).resolve().parent / "impls"
ZOO = Path(__file__).resolve().parent.parent / "zoo"
THIS_FILE = os.path.realpath(__file__)


def _deprecated_identity(x):
    warnings.warn("deprecated here", DeprecationWarning)
    return x


def _log(x):
    return np.log(x)  # NumPy's floating-point warnings point at this line


def test_a_warning_from_the_implementations_code_is_a_finding(monkeypatch):
    monkeypatch.setattr(StrictWarnings, "sources", (THIS_FILE,))
    with pytest.raises(CheckFailure, match=r"^\[warning\] f raised DeprecationWarning at .*test_strict\.py:\d+: deprecated here"):
        call(_deprecated_identity, "f", 1)


def test_a_warning_from_other_code_passes_on(monkeypatch):
    monkeypatch.setattr(StrictWarnings, "sources", (own_source(load(str(IMPLS / "warns.py")).module),))
    with pytest.warns(DeprecationWarning, match="deprecated here"):
        assert call(_deprecated_identity, "f", 1) == 1


def test_without_strict_a_warning_is_only_a_warning(monkeypatch):
    monkeypatch.setattr(StrictWarnings, "sources", ())  # the strict tox env sets it for the whole run
    with pytest.warns(DeprecationWarning, match="deprecated here"):
        assert call(_deprecated_identity, "f", 1) == 1


def test_warnings_about_non_finite_inputs_are_not_findings(monkeypatch):
    monkeypatch.setattr(StrictWarnings, "sources", (THIS_FILE,))
    with np.errstate(all="warn"):  # divide by zero and invalid value
        logs = call(_log, "log", np.array([0.0, -1.0]))
    assert np.isneginf(logs[0]) and np.isnan(logs[1])


def test_own_source_is_the_file_or_the_package_folder():
    assert own_source(load(str(IMPLS / "warns.py")).module) == os.path.realpath(IMPLS / "warns.py")
    fast = load("convcheck.reference.fast").module
    assert own_source(fast) == os.path.dirname(os.path.realpath(fast.__file__))


def test_float_of_an_array_warns_before_numpy_2_4_and_raises_from_it(monkeypatch):
    """zoo/seed_float_bias calls float() on a (1, 1, 1) array: right values with a
    DeprecationWarning from its own line on NumPy 1.25 - 2.3 (a finding under
    --strict-warnings only), a TypeError on NumPy 2.4 and later."""
    member = load(str(ZOO / "seed_float_bias.py"))
    args = (np.ones((2, 2, 1)), np.ones((2, 2, 1)), np.full((1, 1, 1), 0.5))
    if np.lib.NumpyVersion(np.__version__) >= "2.4.0":
        with pytest.raises(CheckFailure, match=r"^\[raised\] conv_single_step raised TypeError"):
            call(member.conv_single_step, "conv_single_step", *args)
        return
    with pytest.warns(DeprecationWarning):
        assert call(member.conv_single_step, "conv_single_step", *args) == 4.5
    monkeypatch.setattr(StrictWarnings, "sources", (own_source(member.module),))
    with pytest.raises(CheckFailure, match=r"^\[warning\] conv_single_step raised DeprecationWarning at .*seed_float_bias\.py:\d+"):
        call(member.conv_single_step, "conv_single_step", *args)


def _verify(*args):
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_ADDOPTS"}  # the strict tox env sets it
    return subprocess.run([sys.executable, "-m", "convcheck.cli", "verify", *map(str, args)],
                          capture_output=True, text=True, timeout=600, env=env)


@needs_torch
def test_verify_strict_flags_the_warning_and_its_repro_replays_it(tmp_path):
    impl = IMPLS / "warns.py"
    plain = _verify(impl, "--family", "backward", "--profile", "dev")
    assert plain.returncode == 0, plain.stdout[-3000:]
    report = tmp_path / "r.json"
    strict = _verify(impl, "--family", "backward", "--profile", "dev", "-x", "--strict", "--report-json", report,
                     "--repro-dir", tmp_path / "repros")
    assert strict.returncode == 1, strict.stdout[-3000:]
    failed = [r for r in json.loads(report.read_text())["rows"] if r["failed"]]
    assert failed and {k for r in failed for k in r["kinds"]} == {"warning"}, failed
    assert "conv_backward raised DeprecationWarning at " in strict.stdout and "warns.py:" in strict.stdout
    repro = Path(failed[0]["repros"][0]) / "repro.py"
    replay = subprocess.run([sys.executable, str(repro)], capture_output=True, text=True, timeout=300)
    assert replay.returncode == 1 and "[warning]" in replay.stdout, replay.stdout + replay.stderr
    fixed = subprocess.run([sys.executable, str(repro), "--impl", "convcheck.reference.loops"], capture_output=True, text=True, timeout=300)
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
