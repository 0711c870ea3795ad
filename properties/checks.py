"""Shared pieces of the property tests: skipping what an implementation lacks, and the
generic comparison of an op's outputs with an oracle."""

from __future__ import annotations

import numpy as np
import pytest

from convcheck.repro import Recorder

from .asserts import assert_array, assert_close
from .ops import OpSpec, Sample, T


def require(impl, functions) -> None:
    """Skip the test, naming what is missing, when the implementation lacks a function."""
    missing = impl.missing(functions)
    if missing:
        pytest.skip(f"{impl.name} lacks {', '.join(missing)}")


TORCH_MISSING = "torch not installed"
# for a whole test that needs the oracle; the torch-free tests beside it still run
needs_torch = pytest.mark.skipif(T is None, reason=TORCH_MISSING)


def require_torch() -> None:
    if T is None:
        pytest.skip(TORCH_MISSING)


def as_array(value):
    """conv_single_step returns a NumPy scalar: compare it as a 0-d array."""
    return np.asarray(value) if isinstance(value, (np.generic, float)) else value


def check_outputs(op: OpSpec, outputs: dict, expected: dict, sample: Sample, source: str) -> None:
    dtype = op.dtype(sample)
    for name, (want, tol) in expected.items():
        Recorder.record_tolerance(name, tol)
        got = assert_array(as_array(outputs[name]), want.shape, dtype, f"{op.function}: {name}")
        assert_close(got, want, tol, f"{op.function}: {name} vs {source}")
