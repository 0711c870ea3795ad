"""Turning a failing property into a standalone case: case.json + arrays.npz + repro.py.

The property tests say what they check (`Recorder.start`); every call into the implementation
is recorded by `properties.asserts.call`. When a test fails, Hypothesis has just replayed the
minimal example, so the recorder holds exactly that example's calls; the plugin then writes
the folder. Replaying uses convcheck/repro_template.py, copied verbatim as repro.py.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import io
import json
import os
import re
import shutil
import tempfile
from typing import Any

import numpy as np

from . import repro_template as template
from . import wire

TEMPLATE_PATH = template.__file__


class Recorder:
    """What the current example checks and which calls it made."""

    context: dict | None = None
    calls: list = []
    arrays: dict = {}
    inflight: str | None = None  # file naming the test and example under way, for a crash report
    test: str = ""
    law: str = ""  # what the current test checks (the rule of a finding that names no other)
    called: set = set()  # the implementation's functions the current example called
    _inflight_fd: int | None = None

    @classmethod
    def start(cls, function: str, check: str, family: str, oracle: str | None = None, dtype=None, gradient=None,
              example: Any = None) -> None:
        cls.context = {"function": function, "check": check, "family": family, "oracle": oracle,
                       "dtype": None if dtype is None else str(np.dtype(dtype)), "gradient": gradient, "outputs": []}
        cls.calls, cls.arrays = [], {}
        if cls.inflight and example is not None:
            # written before any oracle or implementation call: if the process dies (a torch
            # crash, an abort), this is what it was running. As data (wire's encoding, no repr:
            # printing arrays costs more than the call it precedes), into a file kept open.
            if cls._inflight_fd is None:
                cls._inflight_fd = os.open(cls.inflight, os.O_WRONLY | os.O_CREAT, 0o644)
            message = cls.test.encode() + b"\n" + wire.dumps(_as_data(example))
            os.ftruncate(cls._inflight_fd, 0)
            os.pwrite(cls._inflight_fd, message, 0)

    @staticmethod
    def read_inflight(path: str) -> tuple[str, str]:
        """(test id, the example it was running, printed) from an in-flight file."""
        with open(path, "rb") as fh:
            test, _, data = fh.read().partition(b"\n")
        try:
            example = repr(_from_data(wire.read_message(io.BytesIO(data).read)))
        except Exception as exc:  # noqa: BLE001 - a file cut short by the crash it reports
            example = f"(not readable: {type(exc).__name__}: {exc})"
        return test.decode(errors="replace"), example

    @classmethod
    def record_call(cls, name: str, args: tuple, snapshot: list, valid: bool | None) -> None:
        cls.called.add(name)
        if cls.context is not None:
            cls.calls.append((name, args, snapshot, valid, None))

    @classmethod
    def record_declared(cls, name: str, declared) -> None:
        """The shapes and dtypes the contract declares for the result of the last call of `name`
        (a function returning [output, shape or None for a scalar, dtype name] for each output,
        called only when a case is written): the replay checks them too."""
        if cls.context is not None and cls.calls and cls.calls[-1][0] == name:
            cls.calls[-1] = (*cls.calls[-1][:4], declared)

    @classmethod
    def record_tolerance(cls, output: str, tol: np.ndarray) -> None:
        if cls.context is not None:
            if output not in cls.context["outputs"]:
                cls.context["outputs"].append(output)
            cls.arrays[f"tol__{output}"] = np.asarray(tol, dtype=np.float64)

    @classmethod
    def record_route(cls, route: str) -> None:
        """The oracle route that answers the current example (a test may name its first route
        before it knows which one serves the sample)."""
        if cls.context is not None:
            cls.context["oracle"] = route

    @classmethod
    def record_answer(cls, output: str, value) -> None:
        """The route's answer for `output`, for a replay that cannot recompute it (a route of
        another engine: template.TORCH_ROUTES)."""
        if cls.context is not None:
            cls.arrays[f"want__{output}"] = np.asarray(value)

    @classmethod
    def clear(cls) -> None:
        cls.context, cls.calls, cls.arrays, cls.called = None, [], {}, set()

    @classmethod
    def snapshot(cls) -> dict:
        """What the current example recorded, to travel with a failure it raised: Hypothesis
        replays each distinct failure in turn, and each is written from its own replay."""
        context = None if cls.context is None else {**cls.context, "outputs": list(cls.context["outputs"])}
        return {"context": context, "calls": list(cls.calls), "arrays": dict(cls.arrays), "called": set(cls.called)}


DATACLASS = "convcheck dataclass"  # _as_data's key for a dataclass: (module, class name) -> fields


def _as_data(value: Any) -> Any:
    """An example as plain data that wire carries: the suite's dataclasses (cases, samples) as
    {(DATACLASS, module, class name): fields}."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: _as_data(getattr(value, f.name)) for f in dataclasses.fields(value)}
        return {(DATACLASS, type(value).__module__, type(value).__qualname__): fields}
    if type(value) in (list, tuple):
        return type(value)(_as_data(v) for v in value)
    if type(value) is dict:
        return {k: _as_data(v) for k, v in value.items()}
    return value


def _from_data(value: Any) -> Any:
    """_as_data's inverse, for the suite's own classes only (a module under convcheck)."""
    if type(value) is dict and len(value) == 1:
        (key, fields), = value.items()
        if type(key) is tuple and len(key) == 3 and key[0] == DATACLASS and str(key[1]).startswith("convcheck."):
            cls = getattr(importlib.import_module(key[1]), key[2])
            return cls(**{k: _from_data(v) for k, v in fields.items()})
    if type(value) in (list, tuple):
        return type(value)(_from_data(v) for v in value)
    if type(value) is dict:
        return {k: _from_data(v) for k, v in value.items()}
    return value


def _layout(x: np.ndarray) -> str:
    if not x.flags.writeable:
        return "read_only"
    if x.flags.c_contiguous:
        return "contiguous"
    return "fortran" if x.flags.f_contiguous else "strided_view"


def encode(value: Any, original: Any, arrays: dict) -> Any:
    """The exact argument as tagged JSON; arrays go to `arrays` (the value before the call,
    the layout of what the caller passed)."""
    if isinstance(value, np.ndarray):
        name = f"arg{len([k for k in arrays if k.startswith('arg')])}"
        arrays[name] = np.ascontiguousarray(value)
        return {"array": [name, _layout(original) if isinstance(original, np.ndarray) else "contiguous"]}
    if isinstance(value, (list, tuple)):
        originals = original if isinstance(original, (list, tuple)) and len(original) == len(value) else value
        return {type(value).__name__ if type(value) in (list, tuple) else "tuple": [encode(v, o, arrays) for v, o in zip(value, originals)]}
    if isinstance(value, dict):
        return {"dict": [[str(k), encode(v, (original or {}).get(k, v), arrays)] for k, v in value.items()]}
    for kind, tag in ((bool, "bool"), (np.bool_, "np.bool_"), (int, "int"), (float, "float"), (str, "str"),
                      (np.float32, "np.float32"), (np.float64, "np.float64"), (np.integer, "np.int64")):
        if isinstance(value, kind):
            return {tag: value.item() if isinstance(value, np.generic) else value}
    if isinstance(value, complex):
        return {"complex": [value.real, value.imag]}
    if value is None:
        return {"none": None}
    return {"str": repr(value)[:64]}


def folder_name(nodeid: str) -> str:
    """A safe, unique folder name for a test id (also unique under xdist: one test, one name)."""
    readable = re.sub(r"[^A-Za-z0-9_.\-]+", "_", nodeid.split("::", 1)[-1]).strip("_")[:100]
    return f"{readable}-{hashlib.sha1(nodeid.encode()).hexdigest()[:8]}"


def case_from_record(record: dict | None, test: str, implementation: str, api: str, failure: Exception, versions: dict,
                     seed=None) -> tuple[dict, dict] | None:
    """(case.json contents, arrays) for a failing example's record (Recorder.snapshot), or None
    when nothing replayable was recorded."""
    if record is None or record["context"] is None or record["context"]["check"] not in template.CHECKS:
        return None
    context = record["context"]
    calls = [c for c in record["calls"] if c[0] == context["function"]]
    if not calls:
        return None
    _, args, snapshot, valid, declared = calls[-1]
    arrays = dict(record["arrays"])
    encoded = [encode(v, o, arrays) for v, o in zip(snapshot, args)]
    case = {
        "schema": template.SCHEMA,
        "function": context["function"],
        "check": context["check"],
        "family": context["family"],
        "oracle": context["oracle"],
        "test": test,
        "api": api,
        "implementation": implementation,
        "dtype": context["dtype"],
        "args": encoded,
        "valid": None if valid is None else bool(valid),
        "outputs": context["outputs"],
        "gradient": context["gradient"],
        "mismatch": {"kind": getattr(failure, "kind", type(failure).__name__), "message": str(failure)[:4000]},
        "versions": versions,
        "seed": seed,
        "repeats": template.REPEATS if getattr(failure, "kind", None) == "nondeterministic" else 1,
        "declared": declared() if callable(declared) else declared,
    }
    return case, arrays


def case_from_regression(folder: str, implementation: str, failure: Exception, versions: dict) -> tuple[dict, dict]:
    """A promoted case that failed again: the same inputs, recorded against this implementation."""
    case = template.load_case(str(folder))
    arrays = template.load_arrays(str(folder))
    case.update(
        implementation=implementation,
        mismatch={"kind": getattr(failure, "kind", type(failure).__name__), "message": str(failure)[:4000]},
        versions=versions,
    )
    return case, arrays


def write_folder(root: str, name: str, case: dict, arrays: dict) -> str:
    """Write case.json, arrays.npz and repro.py into root/name, replacing an older folder."""
    os.makedirs(root, exist_ok=True)
    final = os.path.join(root, name)
    staging = tempfile.mkdtemp(prefix=f".{name[:40]}-", dir=root)
    with open(os.path.join(staging, "case.json"), "w", encoding="utf-8") as fh:
        json.dump(case, fh, indent=2, default=str)
    np.savez(os.path.join(staging, "arrays.npz"), **arrays)
    shutil.copyfile(TEMPLATE_PATH, os.path.join(staging, "repro.py"))
    shutil.rmtree(final, ignore_errors=True)
    os.replace(staging, final)
    return final
