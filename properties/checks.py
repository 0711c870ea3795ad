"""Shared pieces of the property tests: skipping what an implementation lacks, and the
generic comparison of an op's outputs with an oracle."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume

from convcheck.capabilities import convention_followed, unsupported
from convcheck.oracle.tolerances import coarser, tolerance
from convcheck.repro import Recorder
from convcheck.repro_template import recomputed

from . import conventions
from . import strategies as S
from .asserts import CheckFailure, Deferred, Stats, assert_close, call_each
from .ops import SECOND_ENGINES, OpSpec, Sample, T, engine_unavailable, route_abstains


def require(impl, functions, needs=()) -> None:
    """Skip the test, naming what is missing, when the implementation lacks a function -- or
    declares (CAPABILITIES) that it lacks an op or feature the whole test needs: (op, feature or
    None) pairs. That skip is counted as unsupported, like a draw replaced inside the space."""
    missing = impl.missing(functions)
    if missing:
        pytest.skip(f"{impl.name} lacks {', '.join(missing)}")
    lacking = impl.space.lacking(needs)
    if lacking:
        for feature in lacking:
            unsupported(feature)
        pytest.skip(f"unsupported: {impl.name} declares no {', '.join(lacking)}")


def skip_outside_space(impl, function: str, args) -> None:
    """Skip (counted as unsupported) a concrete call of a conv or pool function that uses what
    the implementation declares it lacks: for calls not drawn inside its space (replayed cases,
    open points' spoiled samples)."""
    if function in ("conv_backward", "pool_backward") and len(args) > 1 and isinstance(args[1], (tuple, list)):
        args = [*args[1], *args[2:]]  # (upstream, cache, ...): the forward's arguments
    if function.startswith("conv") and len(args) == 4:
        arrays, hp, mode = args[:2], args[3], "max"
    elif function.startswith("pool") and len(args) in (2, 3):
        arrays, hp, mode = args[:1], args[1], args[2] if len(args) == 3 else "max"
    else:
        return
    if not isinstance(hp, dict) or mode not in ("max", "average"):
        return  # invalid: the call's own check rejects it
    lacking = impl.space.outside(function, [x.dtype for x in arrays if isinstance(x, np.ndarray)], hp, mode)
    if lacking:
        for feature in lacking:
            unsupported(feature)
        pytest.skip(f"unsupported: {impl.name} declares no {', '.join(lacking)}")


def reject_outside_space(impl, function: str, cases) -> None:
    """A law's configurations derived from a drawn one (the other pooling mode, a feature
    rewritten) may lie outside the declared space though the drawn one lies inside: what they
    lack is counted as unsupported and the example is rejected, never called."""
    lacking = [f for c in cases for f in impl.space.outside(function, [c.A_prev.dtype], c.hparameters, c.mode)]
    for feature in dict.fromkeys(lacking):
        unsupported(feature)
    assume(not lacking)


TORCH_MISSING = "torch not installed"
# for a whole test that needs the oracle; the torch-free tests beside it still run
needs_torch = pytest.mark.skipif(T is None, reason=TORCH_MISSING)


def require_torch() -> None:
    if T is None:
        pytest.skip(TORCH_MISSING)


def record_expected(op: OpSpec, expected: dict, sample: Sample, route: str) -> None:
    """Before the call: which route answers and which outputs the check compares, with their
    tolerances at the expected dtype, so that a failure found while validating the result still
    replays all of them; the answer itself where a replay cannot recompute it with torch."""
    Recorder.record_route(route)
    for name, want in expected.items():
        Recorder.record_tolerance(name, _tolerance(want, op.dtype(sample)))
        if not recomputed(route):
            Recorder.record_answer(name, want.value)


def _tolerance(want, dtype) -> np.ndarray:
    return tolerance(want.magnitude, want.terms, dtype) if want.terms else np.zeros(np.shape(want.value))


def subject(op: OpSpec) -> str:
    """The op as a reader calls it: pool_forward[average] -> pool_forward(mode='average')."""
    function, _, rest = op.name.partition("[")
    if not rest:
        return function
    mode, *more = rest.rstrip("]").split(", ")
    return f"{function}(mode={mode!r})" + (f" on {', '.join(more)}" if more else "")


def declared_convention(impl, function: str, output: str, args, got) -> str | None:
    """The convention `got` follows: one `impl` declares, or the other answer of an open point
    (conventions.OPEN); None when it follows none."""
    allowed = conventions.OPEN + (impl.conventions if impl is not None else ())
    return conventions.followed(allowed, function, output, args, got)


def assert_close_or_convention(impl, function: str, output: str, args, got, expected, tol, what: str) -> None:
    """assert_close, for a law: a result that differs but follows a convention (declared_convention)
    of `function`'s `output` on these `args` passes, counted."""
    deferred, raised, worst = len(Deferred.findings), None, (Stats.worst_ratio, Stats.worst_what)
    try:
        assert_close(got, expected, tol, what)
    except CheckFailure as exc:
        raised = exc
    if raised is None and len(Deferred.findings) == deferred:
        return
    followed = declared_convention(impl, function, output, args, got)
    if followed is None:
        if raised is not None:
            raise raised
        return  # non-finite values routed wrongly: deferred
    _passed_by_convention(followed, deferred, worst)


def _passed_by_convention(name: str, deferred: int, worst: tuple) -> None:
    """A comparison that failed passes as convention `name`: its deferred findings dropped, the
    test's worst ratio as it was before it (the convention's own comparison is within tolerance)."""
    del Deferred.findings[deferred:]
    Stats.worst_ratio, Stats.worst_what = worst
    convention_followed(name)


def check_outputs(op: OpSpec, outputs: dict, expected: dict, sample: Sample, source: str, impl=None) -> None:
    """Each oracle output against the implementation's (already validated by `call`): values
    within the tolerance policy at the coarser of the expected and the returned dtype (a wrong
    dtype is its own, deferred, finding). A finding per op and output, whichever oracle route
    shows it -- or the finding of the implementation's own helper, where the op is composed of
    one (op.composed_of) and the wrong result is exactly that composition."""
    dtype = op.dtype(sample)
    for name, want in expected.items():
        got = outputs[name]
        tol = _tolerance(want, coarser(dtype, got.dtype))
        Recorder.record_tolerance(name, tol)
        deferred, raised, worst = len(Deferred.findings), None, (Stats.worst_ratio, Stats.worst_what)
        try:
            assert_close(got, want.value, tol, f"{op.function}: {name} vs {source}", rule=f"{subject(op)}: {name}",
                         says=(f"{subject(op)} {name}" if len(expected) > 1 else subject(op), source))
        except CheckFailure as exc:
            raised = exc
        if raised is None and len(Deferred.findings) == deferred:  # within tolerance, NaN where NaN
            continue
        helper = _helper_explains(op, impl, sample, got, tol)
        followed = declared_convention(impl, op.function, name, op.args(sample), got)
        if helper is None and followed is not None:  # a declared, documented difference: counted, not a failure
            _passed_by_convention(followed, deferred, worst)
            continue
        if helper is None:
            _annotate([raised] if raised is not None else Deferred.findings[deferred:], op, sample, source, name, got, want.value, tol)
            if raised is not None:
                raise raised
            continue  # non-finite values routed wrongly: deferred, the other outputs are compared
        failure = raised or Deferred.findings[deferred]
        del Deferred.findings[deferred:]
        raise CheckFailure("values", f"{failure.message}; {op.function} gives exactly what the tutorial composes from the "
                           f"implementation's own {helper[0]}, the function at fault", rule=helper[1],
                           words=f"{failure.words} (through its {helper[0]})") from None


def _helper_explains(op: OpSpec, impl, sample: Sample, got: np.ndarray, tol: np.ndarray):
    """(helper, its finding's rule) if `got` equals op's result composed from the implementation's
    own helper (within tol, NaN where NaN), else None. A helper that fails to answer explains
    nothing."""
    if op.composed_of is None or impl is None or impl.missing((op.composed_of[0],)):
        return None
    helper, compose, output = op.composed_of
    try:
        composed = compose(lambda calls: call_each(getattr(impl, helper), helper, calls), sample)
    except CheckFailure:
        return None
    if composed is None or composed.shape != got.shape:
        return None
    return (helper, f"{helper}: {output}") if _within(got, composed, tol) else None


def _within(a: np.ndarray, b: np.ndarray, tol: np.ndarray) -> bool:
    """a equals b within tol everywhere, NaN where NaN (infinities equal)."""
    with np.errstate(invalid="ignore"):
        close = (np.abs(a.astype(np.float64) - b) <= tol) | (np.isnan(a) & np.isnan(b)) | (a == b)
    return bool(np.all(close))


def second_opinion(op: OpSpec, sample: Sample, name: str, got: np.ndarray, torch_value: np.ndarray, tol: np.ndarray) -> str:
    """What JAX says where the implementation and a torch route disagree on output `name`; ''
    where the op has no JAX route or JAX is not installed. It annotates a failure, never decides one."""
    if "jax" not in op.oracles or engine_unavailable("jax"):
        return ""
    reason = route_abstains(f"{op.name}-jax", sample)
    if reason is not None:
        return f"JAX abstains here ({reason})"
    answer = op.oracles["jax"](sample)
    if answer is None or name not in answer:
        return "JAX gave no answer here"
    jax_value = answer[name].value
    with_torch, with_impl = _within(torch_value, jax_value, tol), _within(got, jax_value, tol)
    if with_torch and not with_impl:
        return "JAX agrees with torch"
    if with_impl and not with_torch:
        return "JAX agrees with the implementation: suspected oracle defect"
    return "JAX agrees with both (within the tolerance)" if with_impl else "JAX agrees with neither"


def _annotate(failures: list, op: OpSpec, sample: Sample, source: str, name: str, got, torch_value, tol) -> None:
    """Add JAX's opinion to the failures a torch route found (in place: the same finding, raised
    from the same line, whatever JAX says)."""
    if source in SECOND_ENGINES or not failures:
        return
    note = second_opinion(op, sample, name, got, torch_value, tol)
    for failure in failures:
        if note:
            failure.message += f"; {note}"
            failure.args = (f"[{failure.kind}] {failure.message}",)


def same_results(first: dict, second: dict) -> str | None:
    """None if two calls' outputs are identical -- NaN equal to NaN whatever its payload, -0.0
    equal to 0.0 -- else where they first differ."""
    for name, a in first.items():
        b = second[name]
        if a.dtype != b.dtype or a.shape != b.shape:
            return f"{name}: {a.dtype} {a.shape} the first time, {b.dtype} {b.shape} the second"
        if not np.array_equal(a, b, equal_nan=a.dtype.kind == "f"):
            differ = (a != b) & ~(np.isnan(a) & np.isnan(b)) if a.dtype.kind == "f" else a != b
            index = tuple(int(i) for i in np.argwhere(np.atleast_1d(differ))[0]) if a.ndim else ()
            return f"{name} at index {index}: {a[index]!r} the first time, {b[index]!r} the second"
    return None


def check_deterministic(op: OpSpec, impl, sample: Sample, outputs: dict) -> None:
    """The same call again, on identical copies of its inputs (same values, dtypes, layouts and
    flags), must give identical outputs. Memory of the first outputs' sizes is filled with a
    pattern and freed first, so that results read from uninitialized memory (np.empty) tend to
    differ rather than repeat what the allocator handed out the first time."""
    S.scribble_allocator([a.nbytes for a in outputs.values()], impl)
    again = op.run(impl, S.replica(sample))
    where = same_results(outputs, again)
    if where is not None:
        raise CheckFailure("nondeterministic", f"{op.function} called twice on identical inputs gave different results: {where}",
                           rule=subject(op), words=f"{subject(op)} gives different results on identical inputs")
