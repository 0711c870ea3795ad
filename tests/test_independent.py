"""No false alarm on correct code written elsewhere.

tests/impls/independent/ holds four correct implementations written without reading reference/
(each checked against torch directly first): two of the tutorial's API -- plain loops, lenient
wherever an open point allows it (an empty batch computed, mixed dtypes computed), and vectorized
(sliding windows, row blocks, np.add.at), strict there (ValueError) -- and two of the full API, one
in NumPy and one that computes with torch itself, with the other choices at the open points.
`convcheck verify` (ci profile) must pass each at its API level.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from convcheck.properties.checks import needs_torch

INDEPENDENT = Path(__file__).resolve().parent / "impls" / "independent"
CASES = [("tutorial_loops_lenient", "tutorial"), ("tutorial_vectorized_strict", "tutorial"), ("full_numpy", "full"), ("full_torch", "full")]


@needs_torch
@pytest.mark.parametrize("name, api", CASES, ids=[c[0] for c in CASES])
def test_correct_independent_implementation_passes(name, api, tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "convcheck.cli", "verify", str(INDEPENDENT / f"{name}.py"), "--api", api,
         "--repro-dir", str(tmp_path / "repros")],
        capture_output=True, text=True, timeout=1200,
    )
    assert result.returncode == 0, f"a correct implementation failed (exit {result.returncode}):\n{result.stdout[-4000:]}\n{result.stderr[-2000:]}"
