"""Replays of promoted failures (properties/regressions/NAME/{case.json, arrays.npz}) against the
implementation under test, before any fuzzing. Each case is replayed with exactly the code of
the standalone repro.py (convcheck/repro_template.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from convcheck import repro_template
from convcheck.properties.asserts import KINDS, REJECTED, CheckFailure, call
from convcheck.properties.checks import TORCH_MISSING, require, skip_outside_space

CORPUS = Path(__file__).resolve().parent / "regressions"


def _cases():
    params = []
    for folder in sorted(p for p in CORPUS.iterdir() if p.is_dir()) if CORPUS.is_dir() else []:
        case = repro_template.load_case(str(folder))
        params.append(pytest.param(folder, case, id=folder.name, marks=[pytest.mark.family(case["family"]), pytest.mark.regression]))
    return params




def _through_worker(impl):
    """The replay's calls made the suite's way, in the implementation's worker: its findings
    (crashes, hangs, modified inputs, warnings, the wrong structure) are raised as they come."""

    def caller(module, function, args, valid, strict=False):
        result = call(getattr(impl, function), function, *args, valid=valid)
        return repro_template.REJECTED if result is REJECTED else result

    return caller


def _poison_in_worker(impl):
    """repro.py's poisoning, in the implementation's worker: the allocator the replayed call draws
    from. A worker that dies or hangs while poisoning is replaced (the next call starts one), and
    the replay goes on unpoisoned, as repro.py's does."""
    from convcheck.worker import WorkerDied, WorkerHung

    def poisoner(case, args, value):
        try:
            impl.worker.request(("poison", case, list(args), value), repro_template.POISON_SECONDS + 5)
        except (WorkerDied, WorkerHung):
            impl.worker.stop()

    return poisoner


@pytest.mark.parametrize("folder, case", _cases())
def test_regression_case(impl, folder, case):
    if case["api"] == "full" and impl.api == "tutorial":
        pytest.skip("the case needs the full hyperparameter space (--api full)")
    require(impl, (case["function"],) + ((case["gradient"]["forward"],) if case["gradient"] else ()))
    arrays = repro_template.load_arrays(str(folder))
    skip_outside_space(impl, case["function"], [repro_template.decode(a, arrays) for a in case["args"]])
    try:
        if impl.worker is None:
            repro_template.run_case(case, arrays, impl.module)
        else:
            repro_template.run_case(case, arrays, None, caller=_through_worker(impl), poisoner=_poison_in_worker(impl))
    except repro_template.OracleMissing:  # the implementation ran (and did not raise); its values need torch
        pytest.skip(TORCH_MISSING)
    except repro_template.Mismatch as exc:
        message = str(exc)
        kind = message[1 : message.index("]")] if message.startswith("[") else "values"
        failure = CheckFailure(kind if kind in KINDS else "values", f"regression {folder.name}: {message}", rule=f"regression case {folder.name}")
        failure.function = case["function"]  # the finding it joins: one of this function's, of the same kind
        raise failure from None
