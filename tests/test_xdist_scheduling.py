"""The plugin's choice of xdist scheduler: worksteal when -n is given without --dist, whatever the
user asks for otherwise (convcheck.plugin.pytest_cmdline_main; benchmarks/bench_xdist.py measures
why)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytest.importorskip("xdist")

# loaded into the run under test: prints the scheduler xdist will use (controller only)
REPORTER = """
def pytest_configure(config):
    if not hasattr(config, "workerinput"):
        print("dist mode:", config.getvalue("dist"))
"""


@pytest.mark.parametrize(
    "args, expected",
    [(["-n", "2"], "worksteal"), (["-n", "2", "--dist", "load"], "load"), (["-n", "1", "--dist", "loadfile"], "loadfile"), (["-n", "0"], "no"), ([], "no")],
    ids=["n2", "n2-load", "n1-loadfile", "n0", "no-n"],
)
def test_scheduler(tmp_path, args, expected):
    (tmp_path / "report_dist.py").write_text(REPORTER)
    (tmp_path / "test_one.py").write_text("def test_one():\n    pass\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(tmp_path), os.environ.get("PYTHONPATH")])))
    command = [sys.executable, "-m", "pytest", "test_one.py", "-p", "convcheck.plugin", "-p", "report_dist",
               "-p", "no:cacheprovider", "-q", "--rootdir", str(tmp_path), *args]
    result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert f"dist mode: {expected}" in result.stdout, result.stdout[-2000:]
