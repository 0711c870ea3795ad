"""What each function of the implementation must return, and the one check of every result.

`asserts.call` validates whatever a valid call returns against `expected(function, args)`
before any test computes with it: the Python type, the tuple arity and every array's shape
fail hard (kinds "structure" and "shape"), as does a dtype no comparison can use (complex,
object); a wrong real dtype is recorded as its own verdict (`Deferred`) so that the values are
still compared. The result comes back normalized: arrays as plain ndarrays, scalars as NumPy
scalars, tuples rebuilt, the cache passed through untouched (the suite builds its own caches).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from . import strategies as S


class CheckFailure(AssertionError):
    """A check of the implementation failed. `kind` is one of KINDS; `rule` names the broken rule
    without anything example-specific (a finding is one kind and one rule); `words` says in one
    line what is wrong.

    Hypothesis tells failures apart by exception type and the line that raised them, and all
    findings are raised from a few lines of this suite: so each (kind, rule) gets a class of its
    own (a subclass named CheckFailure, made once), and every distinct finding of a test is found
    and shrunk on its own (settings.report_multiple_bugs)."""

    _classes: dict = {}

    def __new__(cls, kind: str, message: str, rule: str = "", words: str = ""):
        if cls is CheckFailure:
            key = (kind, rule)
            cls = CheckFailure._classes.get(key)
            if cls is None:
                cls = CheckFailure._classes[key] = type("CheckFailure", (CheckFailure,), {"__module__": __name__})
        return super().__new__(cls, kind, message)

    def __init__(self, kind: str, message: str, rule: str = "", words: str = ""):
        assert kind in KINDS, kind
        super().__init__(f"[{kind}] {message}")
        self.kind, self.rule, self.message = kind, rule, message
        self.words = words or message.splitlines()[0][:200]
        self.also: list = []  # the other findings of the same example (Deferred.settle)

    def __reduce__(self):
        return CheckFailure, (self.kind, self.message, self.rule, self.words)


KINDS = (
    "raised",  # the implementation raised on a valid input (other than ValueError), BaseExceptions included
    "rejected valid",  # ValueError on a valid input
    "accepted invalid",  # no ValueError on an input the contract rejects
    "structure",  # not the declared Python type or tuple arity (a list, None, a 2-tuple for 3)
    "shape",
    "dtype",
    "values",
    "nondeterministic",  # the same call on identical copies of its inputs gave different results
    "input modified",
    "timeout",  # a call did not return in time
    "crashed",  # the implementation's process died during a call (a signal, an abort, os._exit)
    "warning",  # the implementation's own code raised a warning (--strict-warnings)
)


class Deferred:
    """Findings of the current example that must not stop its other checks (a wrong dtype, a
    modified input, NaN routed wrongly: the values are compared all the same). The plugin resets
    them before each example and raises them after it with whatever else it found."""

    findings: list = []

    @classmethod
    def reset(cls) -> None:
        cls.findings = []

    @classmethod
    def record(cls, failure: CheckFailure) -> None:
        cls.findings.append(failure)

    @classmethod
    def settle(cls, found: BaseException | None = None) -> None:
        """Raise what the example found: `found` (the failure that ended it, if any) and the
        deferred findings, one per (kind, rule). The most severe is raised -- Hypothesis tells the
        example's failure apart and shrinks it by that one -- and carries the others (`also`),
        which the plugin reports beside it: an example with wrong values and a wrong dtype is
        shrunk as a values failure, not as a third kind of failure besides the values-only and
        the dtype-only ones."""
        findings, cls.findings = cls.findings, []
        if found is not None:
            findings.insert(0, found)
        distinct: dict = {}
        for failure in findings:
            distinct.setdefault((failure.kind, failure.rule), failure)
        if not distinct:
            return
        worst, *also = sorted(distinct.values(), key=lambda f: SEVERITY.index(f.kind))
        worst.also = also
        raise worst


# the order of the findings summary: wrong results on valid input; exception, crash or hang on
# valid input; nondeterminism; input modified; dtype not kept; warnings; invalid input accepted
SEVERITY = ("values", "shape", "structure", "raised", "rejected valid", "crashed", "timeout",
            "nondeterministic", "input modified", "dtype", "warning", "accepted invalid")


# ---- declared results ---------------------------------------------------------------------


@dataclass(frozen=True)
class Array:
    name: str
    shape: tuple
    dtype: np.dtype


@dataclass(frozen=True)
class Scalar:
    name: str
    dtype: np.dtype


@dataclass(frozen=True)
class Seq:
    """A tuple of exactly these items; an item None is anything (a cache), NONE must be None."""

    what: str
    items: tuple


NONE = "None"
REAL_KINDS = "biuf"  # bool, signed and unsigned integers, floating: values can be compared


def _conv_case(A, W, b, hp):
    return S.ConvCase(A, W, b, hp)


def _expected_conv_forward(A, W, b, hp):
    dtype = S.result_dtype(A, W, b)
    return Seq("conv_forward must return (Z, cache)", (Array("Z", S.conv_output_shape(_conv_case(A, W, b, hp)), dtype), None))


def _expected_conv_backward(dZ, cache):
    A, W, b, _ = cache
    dtype = S.result_dtype(A, W, b, dZ)
    db = NONE if b is None else Array("db", b.shape, dtype)
    return Seq("conv_backward must return (dA_prev, dW, db)", (Array("dA_prev", A.shape, dtype), Array("dW", W.shape, dtype), db))


def _expected_pool_forward(A, hp, mode="max"):
    return Seq("pool_forward must return (A, cache)", (Array("A", S.pool_output_shape(S.PoolCase(A, hp, mode)), A.dtype), None))


def _expected_zero_pad(X, pad):
    m, H, W, C = X.shape
    return Array("X_pad", (m, H + 2 * int(pad), W + 2 * int(pad), C), X.dtype)


_TEXT_CNN = Seq("TextCNN.loss and loss_and_gradients must return a 3-tuple", (None, None, None))

EXPECTED = {
    "zero_pad": _expected_zero_pad,
    "conv_single_step": lambda a, W, b: Scalar("Z", S.result_dtype(a, W, b)),
    "conv_forward": _expected_conv_forward,
    "conv_backward": _expected_conv_backward,
    "pool_forward": _expected_pool_forward,
    "create_mask_from_window": lambda x: Array("mask", x.shape, np.dtype(bool)),
    "distribute_value": lambda dz, shape: Array("a", tuple(int(n) for n in shape), S.distribute_dtype(dz)),
    "pool_backward": lambda dA, cache, mode="max": Array("dA_prev", cache[0].shape, S.result_dtype(cache[0], dA)),
    "TextCNN.loss": lambda *args: _TEXT_CNN,
    "TextCNN.loss_and_gradients": lambda *args: _TEXT_CNN,
}


def expected(function: str, args: tuple):
    """The declared result of a valid call of `function` on `args`, or None (not declared)."""
    make = EXPECTED.get(function)
    return None if make is None else make(*args)


def output_names(declared) -> list[str]:
    """The names of the arrays a declared result holds (the cache and required Nones aside)."""
    if isinstance(declared, (Array, Scalar)):
        return [declared.name]
    if isinstance(declared, Seq):
        return [n for item in declared.items for n in output_names(item)]
    return []


def declared_outputs(declared) -> list:
    """[name, shape (None for a scalar), dtype name] of each array a declared result holds."""
    if isinstance(declared, Array):
        return [[declared.name, [int(n) for n in declared.shape], declared.dtype.name]]
    if isinstance(declared, Scalar):
        return [[declared.name, None, declared.dtype.name]]
    if isinstance(declared, Seq):
        return [entry for item in declared.items for entry in declared_outputs(item)]
    return []


def named(declared, result) -> dict:
    """name -> array of a validated result."""
    if isinstance(declared, (Array, Scalar)):
        return {declared.name: result}
    if isinstance(declared, Seq):
        return {k: v for item, value in zip(declared.items, result) for k, v in named(item, value).items()}
    return {}


def result_dtype_of(declared) -> np.dtype | None:
    """The dtype every array of a declared result must have (the layers give all theirs one)."""
    if isinstance(declared, (Array, Scalar)):
        return declared.dtype
    if isinstance(declared, Seq):
        return next((d for d in map(result_dtype_of, declared.items) if d is not None), None)
    return None


# ---- the check ------------------------------------------------------------------------------


def _what(function: str, name: str) -> str:
    return f"{function}: {name}"


def dtype_failure(what: str, want, got, comparable: bool = True) -> CheckFailure:
    """A result of the wrong dtype: one rule per (expected, returned) pair, whatever the function."""
    want, got = np.dtype(want), np.dtype(got)
    return CheckFailure("dtype", f"{what}: expected dtype {want}, got {got}" + ("" if comparable else ", whose values cannot be compared"),
                        rule=f"{want} -> {got}", words=f"{what} is {got} for {want} inputs")


def _check_dtype(function: str, name: str, value: np.ndarray, want: np.dtype) -> None:
    if value.dtype.kind not in REAL_KINDS:
        raise dtype_failure(_what(function, name), want, value.dtype, comparable=False)
    if value.dtype != want:
        Deferred.record(dtype_failure(_what(function, name), want, value.dtype))


def validate(function: str, declared, result: Any) -> Any:
    """`result` checked against `declared` and normalized; CheckFailure where it cannot be used."""
    if declared is None:
        return result
    if declared == NONE:
        if result is not None:
            raise CheckFailure("structure", f"{function}: expected None here (no bias, no bias gradient), got {type(result).__name__}", rule=function)
        return None
    if isinstance(declared, Seq):
        if not isinstance(result, tuple):
            raise CheckFailure("structure", f"{declared.what}, a tuple of {len(declared.items)}; got {type(result).__name__}", rule=function)
        if len(result) != len(declared.items):
            raise CheckFailure("structure", f"{declared.what}, a tuple of {len(declared.items)}; got a tuple of {len(result)}", rule=function)
        return tuple(validate(function, item, value) for item, value in zip(declared.items, result))
    if isinstance(declared, Scalar):
        if isinstance(result, (bool, np.bool_)) or not isinstance(result, (float, int, np.number, np.ndarray)):
            raise CheckFailure("structure", f"{_what(function, declared.name)}: expected a NumPy floating scalar, got {type(result).__name__}",
                               rule=function)
        if np.shape(result) != ():
            raise CheckFailure("shape", f"{_what(function, declared.name)}: expected a scalar, got an array of shape {np.shape(result)}",
                               rule=_what(function, declared.name))
        value = np.asarray(result)[()]  # a NumPy scalar, whatever form of scalar came back
        _check_dtype(function, declared.name, value, declared.dtype)
        return value
    if not isinstance(result, np.ndarray):
        raise CheckFailure("structure", f"{_what(function, declared.name)}: expected an ndarray of shape {declared.shape}, got {type(result).__name__}",
                           rule=function)
    value = np.asarray(result)  # an ndarray subclass (matrix, masked) as the plain array it holds
    if value.shape != tuple(declared.shape):
        raise CheckFailure("shape", f"{_what(function, declared.name)}: expected shape {tuple(declared.shape)}, got {value.shape}",
                           rule=_what(function, declared.name))
    _check_dtype(function, declared.name, value, declared.dtype)
    return value
