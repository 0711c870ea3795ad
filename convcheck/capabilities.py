"""What an implementation declares it supports: its hyperparameter space, as data.

A module may define ``CAPABILITIES`` (the adapters in adapters/ do): the dtypes each layer
computes, and which of torch's hyperparameters it has. The strategies then draw inside that
space -- a value drawn outside it is replaced by a supported one, never filtered out -- and each
replacement is counted per check, by feature, as ``unsupported`` in the summary: visible, never a
failure, never silently dropped. A configuration inside the declared space that raises is a
finding like any other, so an adapter cannot pass by raising. Without ``CAPABILITIES`` the space
is torch's whole space and the draws are exactly those of an undeclared implementation.

    CAPABILITIES = {
        "framework": ["jax", "0.4.30"],
        "dtypes": {"conv": ["float32", "float64"], "max_pool": [...], "average_pool": [...]},
        "conv": {"dilation": True, "groups": True, "pad_forms": ["int", "pair", "per-side", "same", "valid"], "no_bias": True},
        "max_pool": {"pad": True, "dilation": True, "ceil_mode": True, "stride_none": True},  # or None: no max pooling
        "average_pool": {"pad": True, "ceil_mode": True, "count_include_pad": True, "divisor_override": True},  # or None
    }

Every key but "framework" is optional (absent: supported); an unknown key or a value of the
wrong type is an error naming it, so that a typo cannot widen or narrow the space unnoticed.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

PAD_FORMS = ("int", "pair", "per-side", "same", "valid")
OPS = ("conv", "max_pool", "average_pool")
FLOATS = ("float64", "float32")
# uneven_*: a (rows, columns) pair of different values (False: one value for both axes)
FLAGS = {
    "conv": ("dilation", "groups", "no_bias", "uneven_stride", "uneven_dilation"),
    "max_pool": ("pad", "dilation", "ceil_mode", "stride_none", "uneven_stride"),
    "average_pool": ("pad", "ceil_mode", "count_include_pad", "divisor_override", "uneven_stride"),
}


class CapabilitiesError(ValueError):
    """A malformed CAPABILITIES declaration."""


@dataclass(frozen=True)
class Space:
    """The declared space: per op, its dtypes (None: the op is unsupported) and missing features."""

    framework: tuple = ()
    dtypes: tuple = tuple((op, FLOATS) for op in OPS)  # ((op, (dtype names...) or None), ...)
    lacks: frozenset = frozenset()  # {(op, feature)}
    pad_forms: tuple = PAD_FORMS

    def op_dtypes(self, op: str) -> tuple | None:
        return dict(self.dtypes)[op]

    def has(self, op: str, feature: str) -> bool:
        return (op, feature) not in self.lacks

    def dtype(self, op: str, drawn: np.dtype, allowed) -> np.dtype | None:
        """`drawn` if the op computes it, else (counted) the first of `allowed` it does; None if
        it computes none of them."""
        names = self.op_dtypes(op) or ()
        if drawn.name in names:
            return drawn
        unsupported(f"{op} {drawn.name}")
        return next((np.dtype(d) for d in allowed if np.dtype(d).name in names), None)

    def feature(self, op: str, feature: str, used: bool) -> bool:
        """Whether a drawn feature is kept: `used` if supported, else False (counted when used)."""
        if used and not self.has(op, feature):
            unsupported(f"{op} {feature.replace('_', ' ')}")
            return False
        return used

    def lacking(self, needs) -> list:
        """Of (op, feature) pairs -- feature None: the op itself; a dtype name; a flag of FLAGS;
        a conv pad form -- those the space lacks, by name."""
        def lacks(op, feature):
            dtypes = self.op_dtypes(op)
            if dtypes is None or feature is None:
                return dtypes is None
            if feature in PAD_FORMS:
                return feature not in self.pad_forms
            return feature not in dtypes if feature in FLOATS else not self.has(op, feature)

        def name(op, feature):
            if feature is None or self.op_dtypes(op) is None:
                return op
            return f"{op} pad {feature!r}" if feature in PAD_FORMS else f"{op} {feature.replace('_', ' ')}"

        names = [name(op, feature) for op, feature in needs if lacks(op, feature)]
        return list(dict.fromkeys(names))  # a missing op once, not once per feature

    def outside(self, function: str, dtypes, hparameters: dict, mode: str = "max") -> list:
        """What a concrete call of conv_forward / pool_forward (and their backwards) uses that the
        space lacks, by name: for configurations not drawn by the strategies (fuzzed numeric
        configurations, replayed cases)."""
        hp = hparameters
        if function.startswith("conv"):
            needs = [("conv", np.dtype(d).name) for d in dtypes]
            needs += [("conv", f) for f, used in (("dilation", not is_all(hp.get("dilation", 1), 1)),
                                                  ("groups", not is_all(hp.get("groups", 1), 1)),
                                                  ("uneven_stride", _uneven(hp.get("stride", 1))),
                                                  ("uneven_dilation", _uneven(hp.get("dilation", 1)))) if used]
            return self.lacking(needs + [("conv", pad_form(hp.get("pad", 0)))])
        if not function.startswith("pool"):
            return []
        op = f"{mode}_pool"
        used = {"pad": not is_all(hp.get("pad", 0), 0), "dilation": not is_all(hp.get("dilation", 1), 1),
                "ceil_mode": bool(hp.get("ceil_mode", False)), "stride_none": hp.get("stride", 1) is None,
                "count_include_pad": hp.get("count_include_pad", True) is False,
                "divisor_override": hp.get("divisor_override") is not None,
                "uneven_stride": _uneven(hp.get("f") if hp.get("stride", 1) is None else hp.get("stride", 1))}
        needs = [(op, None)] + [(op, np.dtype(d).name) for d in dtypes] + [(op, f) for f in FLAGS[op] if used[f]]
        return self.lacking(needs)

    def even(self, op: str, flag: str, value):
        """A stride or dilation pair of different values replaced (counted) by its first where
        the space lacks `flag`; anything else as it is."""
        if isinstance(value, (tuple, list)) and len(value) == 2 and value[0] != value[1] and not self.feature(op, flag, True):
            return value[0]
        return value

    def pad_form(self, drawn: str) -> str:
        if drawn in self.pad_forms:
            return drawn
        unsupported(f"conv pad {drawn!r}")
        return self.pad_forms[0]

    def describe(self) -> str:
        """What the declaration leaves out, for the summary's header."""
        lacking = [f"{op} {name.replace('_', ' ')}" for op, name in sorted(self.lacks)]
        lacking += [f"conv pad {form!r}" for form in PAD_FORMS if form not in self.pad_forms]
        for op, names in self.dtypes:
            lacking += [op] if names is None else [f"{op} {n}" for n in FLOATS if n not in names]
        return f"{' '.join(self.framework)}: declared unsupported: {', '.join(lacking) or 'nothing'}"


FULL = Space()


def is_all(value, n) -> bool:
    """Whether an int, a pair or an array of them (a replayed case's spelling) is n throughout."""
    try:
        return bool(np.all(np.asarray(value, dtype=object) == n))
    except (TypeError, ValueError):
        return False


def _uneven(value) -> bool:
    """Whether a stride, dilation or window is a pair of different values."""
    return isinstance(value, (tuple, list)) and len(value) == 2 and value[0] != value[1]


def pad_form(pad) -> str:
    """Which of PAD_FORMS a conv's "pad" value is spelled in."""
    if isinstance(pad, str):
        return pad
    if isinstance(pad, (tuple, list)):
        return "per-side" if any(isinstance(p, (tuple, list)) for p in pad) else "pair"
    return "int"


def parse(declared: Any) -> Space:
    """A Space from a module's CAPABILITIES (CapabilitiesError naming what is wrong)."""
    if not isinstance(declared, dict):
        raise CapabilitiesError(f"CAPABILITIES must be a dict, got {type(declared).__name__}")
    unknown = sorted(set(declared) - {"framework", "dtypes", *OPS})
    if unknown:
        raise CapabilitiesError(f"CAPABILITIES: unknown keys {unknown} (allowed: framework, dtypes, {', '.join(OPS)})")
    framework = declared.get("framework", ())
    if not (isinstance(framework, (list, tuple)) and len(framework) == 2 and all(isinstance(x, str) for x in framework)):
        raise CapabilitiesError(f"CAPABILITIES['framework'] must be [name, version] (strings), got {framework!r}")
    lacks, present = set(), {}
    for op in OPS:
        spec = declared.get(op, {})
        if spec is None:
            present[op] = False
            continue
        if not isinstance(spec, dict):
            raise CapabilitiesError(f"CAPABILITIES[{op!r}] must be a dict or None, got {spec!r}")
        allowed = FLAGS[op] + (("pad_forms",) if op == "conv" else ())
        unknown = sorted(set(spec) - set(allowed))
        if unknown:
            raise CapabilitiesError(f"CAPABILITIES[{op!r}]: unknown keys {unknown} (allowed: {', '.join(allowed)})")
        for name in FLAGS[op]:
            value = spec.get(name, True)
            if not isinstance(value, bool):
                raise CapabilitiesError(f"CAPABILITIES[{op!r}][{name!r}] must be a bool, got {value!r}")
            if not value:
                lacks.add((op, name))
        present[op] = True
    conv = declared.get("conv") or {}
    forms = conv.get("pad_forms", PAD_FORMS)
    if not (isinstance(forms, (list, tuple)) and forms and set(forms) <= set(PAD_FORMS) and len(set(forms)) == len(forms)):
        raise CapabilitiesError(f"CAPABILITIES['conv']['pad_forms'] must be distinct names of {PAD_FORMS}, got {forms!r}")
    dtypes = declared.get("dtypes", {})
    if not isinstance(dtypes, dict) or set(dtypes) - set(OPS):
        raise CapabilitiesError(f"CAPABILITIES['dtypes'] must map some of {OPS} to dtype names, got {dtypes!r}")
    table = []
    for op in OPS:
        names = dtypes.get(op, FLOATS)
        if not (isinstance(names, (list, tuple)) and names and set(names) <= set(FLOATS)):
            raise CapabilitiesError(f"CAPABILITIES['dtypes'][{op!r}] must be a non-empty list of {FLOATS}, got {names!r}")
        table.append((op, tuple(n for n in FLOATS if n in names) if present[op] else None))
    # "int" first when declared: the tutorial's form is the replacement for an unsupported one
    ordered = tuple(sorted(forms, key=PAD_FORMS.index))
    return Space(tuple(framework), tuple(table), frozenset(lacks), ordered)


# ---- the running test's space, and its count ----------------------------------------------------
# The plugin activates the space of the implementation a test checks, for the duration of its
# call: every strategy then draws inside it, with no call site able to forget it.


@dataclass
class _Counts:
    """The running test's space, and the draws it replaced (outside that space), by feature."""

    by_feature: Counter = field(default_factory=Counter)
    space: Space = FULL
    conventions: Counter = field(default_factory=Counter)  # results that followed a declared convention


COUNTS = _Counts()


def active() -> Space:
    return COUNTS.space


def unsupported(feature: str) -> None:
    COUNTS.by_feature[feature] += 1


def activate(space: Space) -> None:
    """A test of an implementation begins: its space, and a fresh count."""
    COUNTS.space, COUNTS.by_feature, COUNTS.conventions = space, Counter(), Counter()


def counted() -> dict:
    return dict(COUNTS.by_feature)


def convention_followed(name: str) -> None:
    COUNTS.conventions[name] += 1


def conventions_followed() -> dict:
    return dict(COUNTS.conventions)
