"""Cost of running the implementation in its own process, measured side by side in one run.

Run from the project root:

    python benchmarks/bench_isolation.py                         # the main job: verify the bundled references
    python benchmarks/bench_isolation.py --family forward,backward
    python benchmarks/bench_isolation.py --rounds 3              # alternate the two sides three times

Both sides run `convcheck verify` (ci profile: derandomized, the same examples every run) on the
bundled references, in-process (`--isolation none`) and isolated (the default), one after the
other and alternating over the rounds, each with one torch / BLAS / OpenMP thread (the plugin's
policy, also set here). It prints each run's wall time, the best per side and their ratio.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def run(isolation: str, family: str | None) -> float:
    env = {**os.environ, **{v: "1" for v in THREAD_VARS}}
    command = [sys.executable, "-m", "convcheck.cli", "verify", "--isolation", isolation] + (["--family", family] if family else [])
    start = time.perf_counter()
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(f"convcheck verify --isolation {isolation} exited {result.returncode}:\n{result.stdout[-3000:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--family", help="check families to run (default: all)")
    parser.add_argument("--rounds", type=int, default=1, help="alternating rounds of both sides (default 1)")
    args = parser.parse_args()
    print(f"convcheck verify on the bundled references (loops, fast), ci profile, families {args.family or 'all'}; "
          f"1 thread for torch and the BLAS; {args.rounds} round(s)")
    times: dict[str, list[float]] = {"none": [], "process": []}
    for _ in range(args.rounds):
        for isolation in ("none", "process"):
            times[isolation].append(run(isolation, args.family))
            print(f"  --isolation {isolation:<8} {times[isolation][-1]:8.1f} s")
    best = {k: min(v) for k, v in times.items()}
    print(f"best: in-process {best['none']:.1f} s, isolated {best['process']:.1f} s; isolated / in-process = {best['process'] / best['none']:.2f}")


if __name__ == "__main__":
    main()
