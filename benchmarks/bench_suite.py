"""Where the property suite's time goes: examples per second and the split of wall time, per family.

Run from the project root:

    python benchmarks/bench_suite.py                          # fast reference, forward + gradient, isolated
    python benchmarks/bench_suite.py --isolation none         # the same, in-process (no round trips)
    python benchmarks/bench_suite.py --impl convcheck.reference.loops --family forward,gradient,metamorphic

It runs a fixed, derandomized selection of the property tests (the ci profile: the same
examples every run; the op-table checks of the chosen families, text-CNN checks left out) on one
implementation, in this process, with one thread for NumPy's BLAS, OpenMP and torch. Each test's
call phase is split into:

- generation: Hypothesis outside the test body (drawing the arguments, shrinking, its
  bookkeeping) plus every `data.draw` inside it;
- implementation: the implementation's own calls (isolated: the time the worker reports for
  the call alone);
- oracle: the op table's oracle routes (torch);
- suite: the rest of the test body -- snapshots and comparisons of inputs, result validation,
  tolerance magnitudes, recording, the checks themselves;
- process: isolated only, each round trip's time beyond the call it carried (encoding,
  decoding, the worker's snapshot and comparison of its arguments, waiting on the pipe).

It prints a table per family, the totals, and the ratio the suite is judged by: its own work
(generation + suite + process) against the computation it checks (implementation + oracle).
"""

from __future__ import annotations

import os
import sys

THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
for _var in THREAD_VARS:  # before NumPy or torch load their thread pools
    os.environ[_var] = "1"

import argparse  # noqa: E402
import functools  # noqa: E402
import time  # noqa: E402
from collections import defaultdict  # noqa: E402

import pytest  # noqa: E402

PARTS = ("generation", "implementation", "oracle", "suite", "process")


class Clock:
    """Seconds per (family, part) and examples per family; `family` is the test under way's."""

    def __init__(self):
        self.seconds = defaultdict(float)
        self.examples = defaultdict(int)
        self.family: str | None = None

    def add(self, part: str, seconds: float) -> None:
        if self.family is not None:
            self.seconds[self.family, part] += seconds


def _timed(clock: Clock, part: str, fn):
    @functools.wraps(fn)
    def timed(*args, **kwargs):
        start = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            clock.add(part, time.perf_counter() - start)

    return timed


class Timer:
    """A pytest plugin that attributes each test's call phase to the parts above."""

    def __init__(self):
        self.clock = Clock()
        self.restore: list = []

    def _patch(self, owner, name, replacement) -> None:
        """owner.name (or owner[name], for a dict) = replacement, until the run ends."""
        if isinstance(owner, dict):
            self.restore.append((owner.__setitem__, name, owner[name]))
            owner[name] = replacement
        else:
            self.restore.append((functools.partial(setattr, owner), name, getattr(owner, name)))
            setattr(owner, name, replacement)

    def pytest_collection_finish(self, session):
        import hypothesis.strategies._internal.core as hypothesis_core

        from convcheck import worker
        from convcheck.implementations import SEED_FUNCTIONS
        from convcheck.properties import ops

        clock = self.clock
        for op in ops.OPS:
            for route, oracle in list(op.oracles.items()):
                self._patch(op.oracles, route, _timed(clock, "oracle", oracle))
        self._patch(hypothesis_core.DataObject, "draw", _timed(clock, "draw", hypothesis_core.DataObject.draw))
        for impl in session.config._convcheck_impls:
            if impl.module is not None:  # in-process: its functions themselves
                for name in SEED_FUNCTIONS:
                    if callable(getattr(impl.module, name, None)):
                        self._patch(impl.module, name, _timed(clock, "implementation", getattr(impl.module, name)))
        send, receive = worker.WorkerClient._send, worker.WorkerClient._receive

        def timed_receive(client, *rest):
            start = time.perf_counter()
            answer = receive(client, *rest)
            clock.add("round trip", time.perf_counter() - start)
            if answer[0] in ("returned", "raised"):
                clock.add("implementation", answer[-1])
            return answer

        self._patch(worker.WorkerClient, "_send", _timed(clock, "round trip", send))
        self._patch(worker.WorkerClient, "_receive", timed_receive)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_call(self, item):
        marker = item.get_closest_marker("family")
        handle = getattr(item.obj, "hypothesis", None)
        self.clock.family = marker.args[0] if marker else None
        if handle is not None and not getattr(handle.inner_test, "_bench_timed", False):
            inner = handle.inner_test

            @functools.wraps(inner)
            def body(*args, **kwargs):
                self.clock.examples[self.clock.family] += 1
                return _timed(self.clock, "body", inner)(*args, **kwargs)

            body._bench_timed = True
            handle.inner_test = body
        start = time.perf_counter()
        yield
        self.clock.add("call", time.perf_counter() - start)
        self.clock.family = None

    def pytest_unconfigure(self, config):
        for put, name, original in reversed(self.restore):
            put(name, original)

    def split(self, family: str) -> dict:
        s = {part: self.clock.seconds[family, part] for part in ("call", "body", "draw", "implementation", "oracle", "round trip")}
        process = max(0.0, s["round trip"] - s["implementation"]) if s["round trip"] else 0.0
        # in-process the implementation's time is inside the body; isolated, inside the round trips
        inside = s["round trip"] if s["round trip"] else s["implementation"]
        return {
            "generation": s["call"] - s["body"] + s["draw"],
            "implementation": s["implementation"],
            "oracle": s["oracle"],
            "suite": s["body"] - s["draw"] - inside - s["oracle"],
            "process": process,
            "wall": s["call"],
        }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--impl", default="convcheck.reference.fast", help="dotted module or .py path (default: the fast reference)")
    parser.add_argument("--family", default="forward,gradient", help="check families (default: forward,gradient)")
    parser.add_argument("--isolation", default="process", choices=("process", "none"))
    parser.add_argument("--profile", default="ci", help="Hypothesis profile (default: ci, derandomized)")
    args = parser.parse_args()

    from convcheck import properties

    _warm_torch()
    timer = Timer()
    tests = os.path.dirname(os.path.abspath(properties.__file__))
    status = pytest.main([tests, "-p", "convcheck.plugin", "-p", "no:xdist", "-p", "no:cacheprovider", "--import-mode=importlib",
                          "-q", "--no-header", "--tb=short", f"--hypothesis-profile={args.profile}", f"--impl={args.impl}",
                          f"--family={args.family}", f"--isolation={args.isolation}", "-k", "not text_cnn"], plugins=[timer])
    if status != 0:
        print(f"the selection did not pass (pytest exit {int(status)}): no timing is reported", file=sys.stderr)
        return 1

    import numpy as np
    import torch

    print(f"\nbench_suite: {args.impl}, families {args.family}, profile {args.profile}, isolation {args.isolation}; "
          f"1 thread (torch {torch.get_num_threads()}, {', '.join(f'{v}={os.environ[v]}' for v in THREAD_VARS)}); "
          f"NumPy {np.__version__}, torch {torch.__version__}")
    header = f"{'family':<12}{'examples':>9}{'ex/s':>8}{'wall s':>8}" + "".join(f"{p:>15}" for p in PARTS) + f"{'own/checked':>13}"
    print(header)
    totals = defaultdict(float)
    for family in args.family.split(","):
        split, n = timer.split(family), timer.clock.examples[family]
        for key, value in split.items():
            totals[key] += value
        totals["examples"] += n
        print(_row(family, n, split))
    print(_row("all", int(totals["examples"]), totals))
    print("generation, suite and process are the suite's own work; implementation and oracle the computation it checks. "
          "own/checked = (generation + suite + process) / (implementation + oracle).")
    return 0


def _warm_torch() -> None:
    """torch's first autograd call starts its engine (about 0.4 s here, once per process): paid
    before the timed selection, so it is not counted as the oracle's computation."""
    import numpy as np

    from convcheck.oracle import torch_ops as T

    x = np.zeros((1, 2, 2, 1))
    T.conv_backward(np.ones((1, 1, 1, 1)), x, np.zeros((2, 2, 1, 1)), np.zeros(1), 1, 0)
    T.pool_backward(np.ones((1, 1, 1, 1)), x, (2, 2), 1, "average")


def _row(name: str, examples: int, split: dict) -> str:
    wall = split["wall"]
    parts = "".join(f"{split[p]:8.2f} {100 * split[p] / wall if wall else 0:4.0f}%" + " " for p in PARTS)
    checked = split["implementation"] + split["oracle"]
    own = split["generation"] + split["suite"] + split["process"]
    return f"{name:<12}{examples:>9}{examples / wall if wall else 0:>8.1f}{wall:>8.2f} {parts}{own / checked if checked else float('inf'):>11.2f}"


if __name__ == "__main__":
    sys.exit(main())
