"""`convcheck findings-table`: the findings of verify reports as one Markdown table."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from convcheck import repro_template as R
from convcheck.properties.checks import needs_torch

CASE = Path(__file__).resolve().parent.parent / "properties" / "regressions" / "tutorial_seed_window_end_stride"

FINDING = {
    "implementation": "jax_lax", "kind": "values", "rule": "conv_forward: Z", "words": "conv_forward returns 0 where F.conv2d gives nan",
    "functions": ["conv_forward"], "checks": ["t"], "repro": "/x/repros/jax_lax-values-conv_forward_Z-1234",
    "example": "Failing test case: ...\nDraw 1 (sample): ConvCase(hparameters={'stride': 1, 'pad': 1}, A_prev=...)\nDraw 2: x",
}


def _report(tmp_path, rows=(), findings=(FINDING,), declared="jax 0.10.2: declared unsupported: max_pool dilation"):
    path = tmp_path / "report.json"
    path.write_text(json.dumps({"schema": 4, "rows": list(rows), "findings": list(findings),
                                "implementations": [{"name": "jax_lax", "source": "s", "framework": ["jax", "0.10.2"], "declared": declared}]}))
    return path


def _table(*paths):
    return subprocess.run([sys.executable, "-m", "convcheck.cli", "findings-table", *map(str, paths)], capture_output=True, text=True)


def test_a_row_per_finding_and_one_for_what_is_unsupported(tmp_path):
    rows = [{"function": "pool_forward", "family": "forward", "kinds": [], "unsupported": {"max_pool dilation": 7}},
            {"function": "pool_backward", "family": "backward", "kinds": [], "unsupported": {"max_pool dilation": 5}}]
    result = _table(_report(tmp_path, rows))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[2] == ("| jax 0.10.2 | wrong value | conv_forward: Z | `ConvCase(hparameters={'stride': 1, 'pad': 1}, A_prev=...)` | "
                        "conv_forward returns 0 where F.conv2d gives nan | jax_lax-values-conv_forward_Z-1234 |"), lines[2]
    assert lines[3] == "| jax 0.10.2 | unsupported | max_pool dilation | - | replaced in the checks: max_pool dilation (12 draws) | - |", lines[3]


def test_a_finding_of_several_runs_is_one_row_that_of_the_first_run(tmp_path):
    (tmp_path / "ci").mkdir()
    (tmp_path / "shard").mkdir()
    other = {**FINDING, "rule": "pool_forward(mode='max'): A", "repro": "/x/shard/jax_lax-values-pool-5678"}
    ci = _report(tmp_path / "ci")
    shard = _report(tmp_path / "shard", findings=[{**FINDING, "repro": "/x/shard/jax_lax-values-conv_forward_Z-9999"}, other])
    lines = _table(ci, shard).stdout.splitlines()[2:]
    assert [line.split(" | ")[2] for line in lines] == ["conv_forward: Z", "max_pool dilation", "pool_forward(mode='max'): A"], lines
    assert lines[0].endswith("| jax_lax-values-conv_forward_Z-1234 |") and lines[2].endswith("| jax_lax-values-pool-5678 |")


def test_no_table_of_a_broken_run(tmp_path):
    broken = _report(tmp_path, [{"function": "f", "family": "forward", "kinds": ["internal error (ValueError)"], "unsupported": {}}])
    result = _table(broken)
    assert result.returncode == 2 and "internal error" in result.stderr and not result.stdout
    assert _table(tmp_path / "missing.json").returncode == 2


def test_a_row_per_declared_convention_with_its_count(tmp_path):
    path = tmp_path / "report.json"
    convention = {"convention": "max_ties_split", "says": "ties share the gradient", "source": "tensor.py:1"}
    path.write_text(json.dumps({"schema": 4, "findings": [],
                                "rows": [{"function": "pool_backward", "kinds": [], "unsupported": {}, "conventions": {"max_ties_split": 3}}],
                                "implementations": [{"name": "t", "source": "s", "framework": ["tinygrad", "0.14.0"], "declared": None,
                                                     "conventions": [convention]}]}))
    result = _table(path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[2] == ("| tinygrad 0.14.0 | convention | max_ties_split: ties share the gradient (tensor.py:1) | - | "
                                             "results that followed it: 3 | - |"), result.stdout


@needs_torch
def test_replay_says_whether_each_row_reproduces(tmp_path):
    folders = []
    for name, implementation in (("still", None), ("fixed", "convcheck.reference.loops")):
        folder = tmp_path / name
        shutil.copytree(CASE, folder)
        shutil.copyfile(R.__file__, folder / "repro.py")
        if implementation:
            case = json.loads((folder / "case.json").read_text())
            (folder / "case.json").write_text(json.dumps({**case, "implementation": implementation}))
        folders.append(folder)
    report = _report(tmp_path, findings=[{**FINDING, "rule": f"conv_forward: Z ({f.name})", "repro": str(f)} for f in folders])
    result = subprocess.run([sys.executable, "-m", "convcheck.cli", "findings-table", "--replay", str(report)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    rows = result.stdout.splitlines()[2:4]
    assert rows[0].endswith("| still (replays (exit 1)) |") and rows[1].endswith("| fixed (DOES NOT REPLAY (exit 0)) |"), rows


@needs_torch
def test_kept_findings_replay_from_their_new_folder_and_table_from_any_directory(tmp_path):
    """findings-keep copies each finding's case (or its example only) beside a report whose repro
    paths are relative to it; the table of the kept report replays them from another cwd."""
    run = tmp_path / "run"
    shutil.copytree(CASE, run / "still")
    (run / "law").mkdir()
    (run / "law" / "example.txt").write_text("the failure and its pytest command")
    findings = [{**FINDING, "rule": "conv_forward: Z (still)", "repro": str(run / "still")},
                {**FINDING, "rule": "a law", "repro": str(run / "law")}]
    rows = [{"function": "conv_forward", "kinds": ["values"], "unsupported": {}, "repros": [str(run / "still"), str(run / "gone")]}]
    report = _report(run, rows, findings)
    kept = tmp_path / "kept"
    result = subprocess.run([sys.executable, "-m", "convcheck.cli", "findings-keep", str(report), str(kept)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    shutil.rmtree(run)
    data = json.loads((kept / "report.json").read_text())
    assert [f["repro"] for f in data["findings"]] == ["still", "law"] and data["rows"][0]["repros"] == ["still"], data
    assert sorted(p.name for p in (kept / "still").iterdir()) == ["arrays.npz", "case.json"]
    assert [p.name for p in (kept / "law").iterdir()] == ["example.txt"]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    table = subprocess.run([sys.executable, "-m", "convcheck.cli", "findings-table", "--replay", str(kept / "report.json")],
                           capture_output=True, text=True, cwd=elsewhere)
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()[2:4]
    assert lines[0].endswith("| still (replays (exit 1)) |") and lines[1].endswith("| law (no standalone replay: the example only) |"), lines


def test_keep_refuses_a_broken_run_and_a_finding_without_its_folder(tmp_path):
    broken = _report(tmp_path, [{"function": "f", "kinds": ["internal error (ValueError)"], "unsupported": {}}])
    keep = [sys.executable, "-m", "convcheck.cli", "findings-keep"]
    assert subprocess.run([*keep, str(broken), str(tmp_path / "k1")], capture_output=True).returncode == 2
    missing = _report(tmp_path, findings=[{**FINDING, "repro": str(tmp_path / "nowhere")}])
    result = subprocess.run([*keep, str(missing), str(tmp_path / "k2")], capture_output=True, text=True)
    assert result.returncode == 2 and "neither a case nor an example" in result.stderr, result.stderr
