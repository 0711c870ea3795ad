"""`convcheck findings-table`: the findings of verify reports as one Markdown table."""

from __future__ import annotations

import json
import subprocess
import sys

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


def test_no_table_of_a_broken_run(tmp_path):
    broken = _report(tmp_path, [{"function": "f", "family": "forward", "kinds": ["internal error (ValueError)"], "unsupported": {}}])
    result = _table(broken)
    assert result.returncode == 2 and "internal error" in result.stderr and not result.stdout
    assert _table(tmp_path / "missing.json").returncode == 2
