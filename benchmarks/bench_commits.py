"""An older commit against this checkout, measured side by side in one run.

Run from the project root:

    python benchmarks/bench_commits.py --old c3a009c                         # every measurement
    python benchmarks/bench_commits.py --old c3a009c --only four-defects     # one of them
    python benchmarks/bench_commits.py --old f556d23 --only bundled --rounds 2

The old commit is checked out in a temporary git worktree with a virtualenv of its own (torch
pinned, as CI installs it). Each side then runs, one after the other and alternating over the
rounds, with one torch / BLAS / OpenMP thread per process:

- `four-defects`: `convcheck verify tests/impls/four_defects.py` (ci profile; this checkout's
  file of that implementation on both sides): the cost of telling findings apart;
- `bundled`: `convcheck verify`, the main job (the bundled references, ci profile, one pytest process);
- `gate`: CI's test command, `python -m pytest -n 2 --hypothesis-profile=ci`, in each checkout;
- `suite`: this checkout's benchmarks/bench_suite.py run on each side's code (its "all" row
  printed: where the time of the forward and gradient checks goes, and own / checked).

It prints each run's wall time and exit status, the best per side and new / old.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FOUR_DEFECTS = ROOT / "tests" / "impls" / "four_defects.py"
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
MEASUREMENTS = ("four-defects", "bundled", "gate", "suite")


def checkout(commit: str, where: Path) -> Path:
    """The commit in a worktree under `where`, with its own virtualenv; its python."""
    tree = where / "old"
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tree), commit], check=True, capture_output=True)
    subprocess.run([sys.executable, "-m", "venv", str(tree / ".venv")], check=True)
    python = tree / ".venv" / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "torch==2.13.0", "-e", f"{tree}[redis]"], check=True)
    return python


def timed(command: list, cwd: Path) -> tuple[float, int, str]:
    env = {**os.environ, **{v: "1" for v in THREAD_VARS}}
    start = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    if result.returncode not in (0, 1):  # not a verdict: say why
        print(result.stdout[-2000:], result.stderr[-2000:], file=sys.stderr)
    return time.perf_counter() - start, result.returncode, result.stdout


def commands(python: Path, repros: Path) -> dict:
    return {
        "four-defects": [str(python), "-m", "convcheck.cli", "verify", str(FOUR_DEFECTS), "--repro-dir", str(repros)],
        "bundled": [str(python), "-m", "convcheck.cli", "verify", "--repro-dir", str(repros)],
        # one argument: pytest reads a separate value as a path (and its rootdir from it) before the plugin is loaded
        "gate": [str(python), "-m", "pytest", "-n", "2", "--hypothesis-profile=ci", "-q", "-p", "no:cacheprovider", f"--repro-dir={repros}"],
        "suite": [str(python), str(ROOT / "benchmarks" / "bench_suite.py")],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--old", required=True, help="the commit to compare with")
    parser.add_argument("--only", choices=MEASUREMENTS, help="one of the measurements (default: all)")
    parser.add_argument("--rounds", type=int, default=1, help="alternating rounds of both sides (default 1)")
    args = parser.parse_args()
    which = [args.only] if args.only else list(MEASUREMENTS)
    with tempfile.TemporaryDirectory(prefix="bench-commits-") as tmp:
        where = Path(tmp)
        try:
            old_python = checkout(args.old, where)
            sides = {"old": (old_python, where / "old"), "new": (Path(sys.executable), ROOT)}
            print(f"old = {args.old}, new = this checkout; 1 thread for torch and the BLAS per process; {args.rounds} round(s)")
            for name in which:
                times: dict = {"old": [], "new": []}
                for _ in range(args.rounds):
                    for side, (python, tree) in sides.items():
                        seconds, status, output = timed(commands(python, where / f"repros-{side}")[name], tree)
                        times[side].append(seconds)
                        print(f"  {name:<12} {side}: {seconds:8.1f} s (exit {status})", flush=True)
                        if name == "suite":  # its header and totals row
                            lines = output.splitlines()
                            print("".join(f"      {line}\n" for line in lines if line.startswith(("family", "all "))), end="", flush=True)
                best = {k: min(v) for k, v in times.items()}
                print(f"{name}: best old {best['old']:.1f} s, new {best['new']:.1f} s; new / old = {best['new'] / best['old']:.2f}", flush=True)
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(where / "old")], capture_output=True)


if __name__ == "__main__":
    main()
