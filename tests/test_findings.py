"""One defect, one finding: an implementation with four defects at once gets four findings, worst
first, each with a minimal example and a repro folder that replays it.

tests/impls/four_defects.py has: float32 inputs give float64 results; no validation; the mask
marks every tied maximum (and pool_backward uses it); average pooling returns zeros. Each of
them alone would be found; together, none may hide another, and the dtype and the validation
findings (real, but the least severe) come last.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from convcheck import repro_template as R
from convcheck.properties.checks import needs_torch

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
