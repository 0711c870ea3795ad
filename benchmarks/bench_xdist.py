"""Speed-up of the gate on two xdist workers against one, measured side by side in one run.

Run from the project root:

    python benchmarks/bench_xdist.py                      # the gate: -n 1, then -n 2
    python benchmarks/bench_xdist.py -- -k conv_forward   # a part of it (arguments after --)
    python benchmarks/bench_xdist.py -- --dist load       # xdist's default scheduler instead

With -n and no --dist, the plugin picks xdist's worksteal scheduler; ``--dist load`` shows why.

Both sides run the README's test command (``-n N --hypothesis-profile=ci``), with one torch /
BLAS / OpenMP thread per worker (the plugin's policy, also set here in the environment). For
each side it prints the wall time and, per worker, how many tests it ran, the time they took
(setup + call + teardown, as pytest reports them) and when the worker finished its last test;
the gap between that and the end of the run is time that worker sat idle. The ratio of the two
wall times is the speed-up; the busy time of -n 2 over that of -n 1 tells whether tests got
slower when two run at once (shared caches, memory bandwidth), as opposed to scheduling.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
LOAD_FILE_VARIABLE = "BENCH_XDIST_LOAD_FILE"


# ------------------------------------------------ the pytest plugin (loaded in the controller)

_events: list[tuple[str, str, float, float]] = []  # (worker, phase, duration, finished at)


def pytest_runtest_logreport(report):
    node = getattr(report, "node", None)  # set by xdist on reports that came from a worker
    worker = node.gateway.id if node is not None else "main"
    _events.append((worker, report.when, report.duration, time.time()))


def pytest_sessionfinish(session):
    path = os.environ.get(LOAD_FILE_VARIABLE)
    if path and not hasattr(session.config, "workerinput"):
        with open(path, "w", encoding="utf-8") as fh:
            json.dump(_events, fh)


# ------------------------------------------------------------------------------ the driver

def run_side(workers: int, extra: list[str]) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        load_file = os.path.join(tmp, "load.json")
        env = dict(os.environ, **{name: "1" for name in THREAD_VARS})
        env[LOAD_FILE_VARIABLE] = load_file
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(Path(__file__).parent), env.get("PYTHONPATH")]))
        command = [sys.executable, "-m", "pytest", "-n", str(workers), "--hypothesis-profile=ci", "-q",
                   "-p", Path(__file__).stem, "--repro-dir", os.path.join(tmp, "repros"), *extra]
        start = time.time()
        status = subprocess.call(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
        end = time.time()
        with open(load_file, encoding="utf-8") as fh:
            events = json.load(fh)
    per_worker: dict[str, dict] = defaultdict(lambda: {"tests": 0, "busy": 0.0, "last": start})
    for worker, phase, duration, finished in events:
        load = per_worker[worker]
        load["tests"] += phase == "setup"
        load["busy"] += duration
        load["last"] = max(load["last"], finished)
    return {"workers": workers, "status": status, "start": start, "wall": end - start, "per_worker": dict(sorted(per_worker.items()))}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("pytest_args", nargs="*", help="extra pytest arguments, after --")
    args = parser.parse_args()
    sides = [run_side(workers, args.pytest_args) for workers in (1, 2)]
    for side in sides:
        end = side["start"] + side["wall"]
        print(f"-n {side['workers']}: wall {side['wall']:7.1f} s, pytest exit {side['status']}")
        for worker, load in side["per_worker"].items():
            print(f"    {worker}: {load['tests']:5d} tests, busy {load['busy']:7.1f} s, idle for the last {end - load['last']:5.1f} s")
    one, two = sides
    busy_one = sum(w["busy"] for w in one["per_worker"].values())
    busy_two = sum(w["busy"] for w in two["per_worker"].values())
    print(f"speed-up (wall -n 1 / wall -n 2): {one['wall'] / two['wall']:.2f}x")
    print(f"busy time -n 2 / -n 1: {busy_two / busy_one:.2f} (above 1: tests run slower two at a time)")
    print(f"start-up and collection, -n 1: {one['wall'] - busy_one:.1f} s outside tests")
    return max(side["status"] for side in sides)


if __name__ == "__main__":
    sys.exit(main())
