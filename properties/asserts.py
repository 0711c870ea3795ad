"""Calling an implementation, and assertions whose failures say what differed, where, by how much.

Every call into the implementation under test goes through `call`, which turns whatever goes
wrong into a `CheckFailure` of a named kind, checks that no input was modified, and checks what
came back against the function's declared result (results.py) before any test computes with it.
"""

from __future__ import annotations

import signal
import sys
import threading
from contextlib import contextmanager
from typing import Any, Callable

import numpy as np

from convcheck.implementations import Remote
from convcheck.repro import Recorder
from convcheck.repro_template import describe_warning, own_warnings, same, snapshot

from .results import KINDS, CheckFailure, Deferred, declared_outputs, dtype_failure, expected, validate  # noqa: F401 - the suite imports them from here


class Stats:
    """The worst error seen by the current test, as a fraction of its tolerance."""

    worst_ratio = 0.0
    worst_what = ""

    @classmethod
    def reset(cls) -> None:
        cls.worst_ratio, cls.worst_what = 0.0, ""

    @classmethod
    def record(cls, ratio: float, what: str) -> None:
        if ratio > cls.worst_ratio:
            cls.worst_ratio, cls.worst_what = float(ratio), what


class CallTimeout(BaseException):
    """Raised by the alarm inside a call that ran past its time (BaseException: the call's own
    `except Exception` must not swallow it)."""


class CallHung(BaseException):
    """A call into the implementation did not return in time. A BaseException, not a
    CheckFailure, on purpose: Hypothesis lets it through at once instead of shrinking, which
    would replay the hang once per shrinking step. The plugin reports it as kind "timeout"."""

    kind = "timeout"


class CallLimit:
    seconds = 60.0  # per call into the implementation; the plugin sets it from --call-timeout


class StrictWarnings:
    """--strict-warnings: the implementations' own files or folders (repro_template.own_source);
    a warning raised from their code during a call is a finding. Empty: warnings pass as usual."""

    sources: tuple = ()


class Interrupts:
    """Whether the KeyboardInterrupt a call raised came from a real SIGINT (Ctrl-C on the
    terminal: it must still end the run) or from the implementation's own code (a finding)."""

    real = False


@contextmanager
def _guarded():
    """Interrupt the call after CallLimit.seconds, and tell a real SIGINT from a raised one,
    where POSIX signals are available (main thread).

    A per-call limit, not only a per-test one: Hypothesis replays a failing example while it
    shrinks, and a hang must end each replay, not just the first."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_sigint(signum, frame):
        Interrupts.real = True
        raise KeyboardInterrupt

    Interrupts.real = False
    previous_int = signal.signal(signal.SIGINT, on_sigint)
    timed = CallLimit.seconds > 0 and hasattr(signal, "setitimer")
    if timed:

        def on_alarm(signum, frame):
            raise CallTimeout

        previous_alarm = signal.signal(signal.SIGALRM, on_alarm)
        signal.setitimer(signal.ITIMER_REAL, CallLimit.seconds)
    try:
        yield
    finally:
        if timed:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous_alarm)
        signal.signal(signal.SIGINT, previous_int)


def _raised(name: str, exc: BaseException, valid: bool | None, type_name: str = "") -> CheckFailure:
    """An exception other than ValueError: on a valid input the finding "raised" (one rule per
    function and exception type); on an invalid input, no ValueError where one is due."""
    type_name = type_name or type(exc).__name__
    if valid is False:
        return _accepted_invalid(name, f"raised {type_name} instead of ValueError on an invalid input: {exc}")
    return CheckFailure("raised", f"{name} raised {type_name}: {exc}" if not isinstance(exc, RemoteError) else f"{name} raised {exc}",
                        rule=f"{name}: {type_name}", words=f"{name} raises {type_name} on a valid input")


INVALID_INPUT_RULE = "ValueError on invalid input"


def _accepted_invalid(name: str, what: str) -> CheckFailure:
    return CheckFailure("accepted invalid", f"{name} {what}", rule=INVALID_INPUT_RULE, words=f"{name} {what.split(':')[0]}")


REJECTED = object()  # what call(valid=None) returns when the implementation raised ValueError


class CallCrashed(BaseException):
    """The implementation's worker died on more examples of this test than CrashLimit allows: the
    test ends there (a BaseException, like CallHung), reported as kind "crashed"."""

    kind = "crashed"


class CrashLimit:
    per_test = 20  # worker restarts after crashes within one test (shrinking replays each crash)
    seen = 0  # in the current test; the plugin resets it


def _remote_each(fn: Remote, name: str, calls: list):
    """The calls made in the implementation's worker, sent in one message: for each, in order,
    (what it returned, the positions of the arguments it wrote into, its first own warning), or
    the exception it raised re-raised here as a RemoteError; a dead or hung worker becomes a
    finding."""
    from convcheck.worker import WorkerDied, WorkerHung

    answers = fn.impl.worker.request_each([fn.request(args) for args in calls], CallLimit.seconds, [list(args) for args in calls])
    try:
        for args in calls:
            try:
                reply = next(answers)
            except WorkerHung:
                raise CallTimeout from None
            except WorkerDied as exc:
                CrashLimit.seen += 1
                message = f"{name}: the implementation's process died during the call ({exc})"
                if CrashLimit.seen > CrashLimit.per_test:
                    raise CallCrashed(f"[crashed] {message}; {CrashLimit.per_test} restarts in this test, so it ends here and the "
                                      "example shown may not be minimal") from None
                raise CheckFailure("crashed", message, rule=name) from None
            if reply[0] == "raised":
                _, type_name, message, value_error, _ = reply
                raise (RemoteValueError if value_error else RemoteError)(f"{type_name}: {message}" if not value_error else message, type_name)
            _, result, modified, warning, _ = reply
            yield result, modified, warning
    finally:
        answers.close()


class RemoteError(Exception):
    """An exception the implementation raised in its worker (its type by name)."""

    def __init__(self, message: str, type_name: str):
        super().__init__(message)
        self.type_name = type_name


class RemoteValueError(RemoteError, ValueError):
    pass


def call(fn: Callable, name: str, *args: Any, valid: bool | None = True) -> Any:
    """Call the implementation's `name` on args that the contract calls valid (or not, or either).

    valid=True: any exception is a failure ("rejected valid" for ValueError, "raised" else --
    KeyboardInterrupt, SystemExit, GeneratorExit and pytest's skip / fail / exit included, unless
    the interrupt is a real Ctrl-C); the result is validated against the function's declared
    result and returned normalized (results.validate).
    valid=False: only ValueError passes; returns None then.
    valid=None (an open point of the contract): a ValueError returns REJECTED; a result is
    validated and returned as for valid=True.
    Either way, every argument must be unchanged afterwards, and under --strict-warnings the
    implementation's own code must not have raised a warning.
    """
    return call_each(fn, name, [args], valid=valid)[0]


def call_each(fn: Callable, name: str, calls: list, valid: bool | None = True) -> list:
    """[call(fn, name, *args, valid=valid) for args in calls], stopping at the first failure.
    Isolated, the calls go to the worker in one message and their answers stream back, each call
    under its own time limit: one round trip instead of one per call. The calls must not depend
    on each other's results."""
    replies = _remote_each(fn, name, calls) if isinstance(fn, Remote) else None
    batch = {} if len(calls) > 1 else None  # signature -> declared result, shared by the batch's calls
    try:
        return [_checked_call(fn, name, args, valid, replies, batch) for args in calls]
    finally:
        if replies is not None:
            replies.close()


def _signature(value: Any) -> Any:
    """What a declared result depends on: arrays by shape and dtype, anything else by identity
    (the calls of one batch share their hyperparameters, which are checked unmodified after
    each call)."""
    if isinstance(value, np.ndarray):
        return value.shape, value.dtype
    if type(value) is tuple or type(value) is list:
        return type(value), tuple(map(_signature, value))
    return type(value), id(value)


def _checked_call(fn: Callable, name: str, args: tuple, valid: bool | None, replies, batch: dict | None) -> Any:
    """One call of call_each: made here, or its answer taken from the worker's `replies`."""
    remote = isinstance(fn, Remote)
    # isolated, the arguments cross as bytes: only the worker's copies can be written, and it says which
    before = list(args) if remote else [snapshot(a) for a in args]
    Recorder.record_call(name, args, before, valid)
    modified: list = []
    own: list = []
    try:
        if remote:  # isolated: the worker makes the call, checks its arguments, collects its warnings; the
            # time limit is the worker's reply deadline, and any KeyboardInterrupt here is a real Ctrl-C
            result, modified, warning = next(replies)
            own = [warning] if warning else []
        else:
            with _guarded(), own_warnings(StrictWarnings.sources) as own:
                result = fn(*args)
            own = [describe_warning(name, w) for w in own]
    except CallTimeout:
        raise CallHung(f"[timeout] {name} did not return within {CallLimit.seconds:g} s") from None
    except ValueError as exc:
        if remote and not isinstance(exc, RemoteError):
            raise  # the suite's own error: an isolated implementation's ValueError arrives as a RemoteValueError
        if valid:
            raise CheckFailure("rejected valid", f"{name} raised ValueError on a valid input: {exc}", rule=name,
                               words=f"{name} raises ValueError on a valid input") from exc
        result = None if valid is False else REJECTED
    except CheckFailure:
        if remote:  # a crash of the worker, found by _remote_each
            raise
        raise _raised(name, sys.exc_info()[1], valid) from None
    except RemoteError as exc:
        raise _raised(name, exc, valid, exc.type_name) from None
    except Exception as exc:  # noqa: BLE001 - any other exception is the finding itself
        if remote:  # the suite's own error: what an isolated implementation raised is a RemoteError
            raise
        raise _raised(name, exc, valid) from exc
    except BaseException as exc:  # noqa: BLE001 - SystemExit, pytest.skip(), ... from the implementation's code
        if remote or isinstance(exc, CallCrashed) or (isinstance(exc, KeyboardInterrupt) and Interrupts.real):
            raise
        raise _raised(name, exc, valid) from None
    else:
        if valid is False:
            raise _accepted_invalid(name, "returned instead of raising ValueError on an invalid input")
    if own:
        raise CheckFailure("warning", own[0], rule=name)
    for position, (old, new) in enumerate(zip(before, args)):
        if position in modified or (not remote and not same(old, new)):
            failure = CheckFailure("input modified", f"{name} modified its argument #{position + 1} in place",
                                   rule=f"{name}: argument #{position + 1}")
            # its own verdict: the results are still checked, on the caller's values put back
            if not (remote or _restore(new, old)):
                raise failure
            Deferred.record(failure)
    if result is REJECTED or valid is False:
        return result
    if batch is None:
        declared = expected(name, args)
    else:
        key = _signature(args)
        declared = batch[key] if key in batch else batch.setdefault(key, expected(name, args))
    Recorder.record_declared(name, lambda: declared_outputs(declared))
    return validate(name, declared, result)


def _restore(value: Any, old: Any) -> bool:
    """Put the caller's values back into an argument the implementation wrote into; False where
    it cannot be done (an array made read-only or reshaped in place)."""
    if isinstance(old, np.ndarray):
        if not (isinstance(value, np.ndarray) and value.shape == old.shape and value.dtype == old.dtype and value.flags.writeable):
            return False
        np.copyto(value, old)
        return True
    if isinstance(old, (list, tuple)):
        if type(value) is not type(old) or len(value) != len(old):
            return False
        if isinstance(value, list):
            value[:] = old
            return True
        return all(_restore(v, o) for v, o in zip(value, old))
    if isinstance(old, dict):
        if not isinstance(value, dict):
            return False
        value.clear()
        value.update(old)
        return True
    return same(old, value)


# Non-finite values routed wrongly are findings of their own, one per way of getting them wrong
# (a MaxPool that drops NaN and one that gives -DBL_MAX for -inf are two defects, each shrunk on
# its own): the rule is the output's rule, NON_FINITE and the way.
NON_FINITE = ": NaN / inf propagation"
NON_FINITE_WAYS = (
    ("NaN lost", lambda a, e: np.isnan(e) & ~np.isnan(a)),
    ("NaN where none is due", lambda a, e: np.isnan(a) & ~np.isnan(e)),
    ("infinity differs", lambda a, e: (np.isinf(e) | np.isinf(a)) & (a != e) & ~np.isnan(e) & ~np.isnan(a)),
)


def non_finite_base(rule: str) -> str | None:
    """The output's rule a non-finite finding's rule extends, or None for any other rule."""
    base, found, _ = rule.partition(NON_FINITE)
    return base if found else None


def assert_array(actual: Any, expected_shape: tuple, expected_dtype, what: str) -> np.ndarray:
    if not isinstance(actual, np.ndarray):
        raise CheckFailure("structure", f"{what}: expected an ndarray of shape {expected_shape}, got {type(actual).__name__}", rule=what)
    if actual.shape != tuple(expected_shape):
        raise CheckFailure("shape", f"{what}: expected shape {tuple(expected_shape)}, got {actual.shape}", rule=what)
    if actual.dtype != np.dtype(expected_dtype):  # its own verdict: the values are still compared
        Deferred.record(dtype_failure(what, expected_dtype, actual.dtype))
    return actual


def assert_close(actual: np.ndarray, expected: np.ndarray, tol: np.ndarray, what: str, rule: str = "", says: tuple = ()) -> None:
    """|actual - expected| <= tol elementwise; NaN exactly where expected is NaN, infinities equal.

    The failure names the worst element: its index, both values, the tolerance and the ratio.
    `rule` is what the finding is about, without anything example-specific (default: the law
    under test); `says` = (what the implementation computed, what gave the expected value), for
    the one line of the findings summary. Non-finite values routed wrongly are a finding of
    their own (deferred), and the finite values are compared all the same.
    """
    a = np.asarray(actual, dtype=np.float64)
    e = np.asarray(expected, dtype=np.float64)
    t = np.broadcast_to(np.asarray(tol, dtype=np.float64), e.shape)
    rule = rule or Recorder.law
    for way, where in NON_FINITE_WAYS:
        wrong = where(a, e)
        if wrong.any():
            index = tuple(int(i) for i in np.argwhere(wrong)[0])
            Deferred.record(CheckFailure("values", f"{what}: at index {index} expected {e[index]!r}, got {a[index]!r} "
                                         f"(non-finite values differ: {way})",
                                         rule=f"{rule}{NON_FINITE} ({way})", words=_says(says, what, a[index], e[index], index)))
    finite = np.isfinite(e) & np.isfinite(a)
    diff = np.where(finite, np.abs(a - e), 0.0)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        ratio = np.where(diff == 0, 0.0, diff / t)
    if ratio.size == 0:
        return
    index = np.unravel_index(int(np.argmax(ratio)), ratio.shape)
    worst = float(ratio[index])
    Stats.record(worst, what)
    if worst > 1:
        index = tuple(int(i) for i in index)
        raise CheckFailure(
            "values",
            f"{what}: worst at index {index}: expected {e[index]!r}, got {a[index]!r}, "
            f"|diff| {diff[index]:.3g} > tolerance {t[index]:.3g} ({worst:.3g}x the tolerance); "
            f"{int((ratio > 1).sum())} of {ratio.size} elements out of tolerance",
            rule=rule,
            words=_says(says, what, a[index], e[index], index),
        )


def _says(says: tuple, what: str, got: float, want: float, index: tuple) -> str:
    where = f" at index {index}" if index else ""
    if says:
        return f"{says[0]} returns {got:.4g} where {says[1]} gives {want:.4g}{where}"
    return f"{what}: {got:.4g} where {want:.4g} is expected{where}"
