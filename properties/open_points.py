"""Where the contract leaves a choice: each open point once, as data, with its allowed behaviours.

An implementation may take either allowed behaviour ("result": it computes one; "ValueError":
it rejects the input); whichever it shows is then checked -- a result against the oracle on the
same input, a rejection for being a ValueError. An open point that allows one behaviour only
(a negative zero_pad amount) is a deliberate difference from torch, kept here too so that the
README lists them all from one place. The references' own choice is stated per point.

`applies` decides, for the numeric configurations of test_contract's error equivalence with
torch, where the point overrides torch's verdict; `spoil` turns a valid sample of the op table
into the open point's input, for test_contract.test_open_point.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable

import numpy as np

from . import strategies as S
from .ops import OPS_BY_NAME, Sample

RESULT, VALUE_ERROR = "result", "ValueError"


@dataclass(frozen=True)
class OpenPoint:
    id: str
    question: str  # what the contract leaves open, in words
    allowed: tuple  # of RESULT, VALUE_ERROR
    references: str  # the bundled references' choice
    reason: str
    ops: tuple  # op-table entries whose samples are spoiled by `spoil`
    spoil: Callable  # (sample, draw) -> the sample turned into this point's input
    applies: Callable = lambda config: False  # numeric config of test_contract -> bool
    api: str = "tutorial"  # "full": the point exists only in torch's full hyperparameter space

    @property
    def functions(self) -> tuple:
        return tuple(dict.fromkeys(OPS_BY_NAME[o].function for o in self.ops))


def _empty_batch(sample: Sample, draw) -> Sample:
    """Every batch-shaped array of the sample with m = 0 (the cache's A_prev, dZ, dA included)."""
    def cut(x):
        return x[:0] if isinstance(x, np.ndarray) else x

    case = sample.case
    case = cut(case) if isinstance(case, np.ndarray) else replace(case, A_prev=cut(case.A_prev))
    return Sample(case, {k: cut(v) for k, v in sample.extra.items()})


def _other(dtype) -> np.dtype:
    return np.dtype(np.float32 if np.dtype(dtype) == np.float64 else np.float64)


def _mixed_dtypes(sample: Sample, draw) -> Sample:
    """One array of the call cast to the other float dtype."""
    from hypothesis import strategies as st

    case, extra = sample.case, dict(sample.extra)
    if isinstance(case, tuple):  # conv_single_step (a, W, b)
        i = draw(st.integers(0, len(case) - 1), label="array of the other dtype")
        return Sample(tuple(x.astype(_other(x.dtype)) if j == i else x for j, x in enumerate(case)), extra)
    upstream = [k for k in ("dZ", "dA") if k in extra]
    fields = [f for f in ("W", "b") if getattr(case, f, None) is not None]
    which = draw(st.sampled_from(upstream + fields), label="array of the other dtype")
    if which in extra:
        extra[which] = extra[which].astype(_other(extra[which].dtype))
        return Sample(case, extra)
    return Sample(replace(case, **{which: getattr(case, which).astype(_other(getattr(case, which).dtype))}), extra)


OTHER_MODE_DEFAULTS = {"max": {"divisor_override": None, "count_include_pad": True}, "average": {"dilation": 1}}


def _at_default(key: str, value) -> bool:
    if key == "dilation":
        return isinstance(value, (int, np.integer, tuple)) and not isinstance(value, bool) and S._pair(value) == (1, 1)
    return value is OTHER_MODE_DEFAULTS["max"].get(key, object())


def _other_mode_key_given(config: dict) -> bool:
    """A numeric pooling configuration holding a key of the other mode at its default value."""
    hp, mode = config.get("hp", {}), config.get("mode")
    return mode in OTHER_MODE_DEFAULTS and any(k in hp and _at_default(k, hp[k]) for k in OTHER_MODE_DEFAULTS[mode])


def _other_mode_key(sample: Sample, draw) -> Sample:
    """A key of the other pooling mode at its default value, added to the hyperparameters."""
    from hypothesis import strategies as st

    case = sample.case
    absent = {k: v for k, v in OTHER_MODE_DEFAULTS[case.mode].items() if k not in case.hparameters}
    if not absent:
        return sample
    key = draw(st.sampled_from(sorted(absent)), label="other mode's key")
    return Sample(replace(case, hparameters={**case.hparameters, key: absent[key]}), sample.extra)


def _negative_pad(sample: Sample, draw) -> Sample:
    return Sample(sample.case, {**sample.extra, "pad": -1 - sample.extra["pad"]})


OPEN_POINTS = [
    OpenPoint(
        id="empty-batch",
        question="an empty batch (m = 0)",
        allowed=(RESULT, VALUE_ERROR),
        references=VALUE_ERROR,
        reason="torch returns empty outputs (and, backward, dW and db of zeros); the references never return an empty result",
        ops=("zero_pad", "conv_forward", "conv_backward", "pool_forward[max]", "pool_forward[average]",
             "pool_backward[max]", "pool_backward[average]"),
        spoil=_empty_batch,
        applies=lambda c: c["m"] == 0,
    ),
    OpenPoint(
        id="mixed-dtypes",
        question="float32 and float64 arrays in one call",
        allowed=(RESULT, VALUE_ERROR),
        references=RESULT,
        reason="torch refuses to mix dtypes; NumPy computes in the result type (float64), which the references follow",
        ops=("conv_single_step", "conv_forward", "conv_backward", "pool_backward[max]", "pool_backward[average]"),
        spoil=_mixed_dtypes,
        applies=lambda c: c.get("W_dtype", c["dtype"]) != c["dtype"],
    ),
    OpenPoint(
        id="other-mode-key-at-default",
        question="a key of the other pooling mode at its default value (divisor_override=None or count_include_pad=True "
                 "with 'max', dilation=1 with 'average')",
        allowed=(RESULT, VALUE_ERROR),
        references=RESULT,
        reason="torch's max_pool2d has no divisor, avg_pool2d no dilation; a default value changes nothing, so the references "
               "accept it (a non-default value is a ValueError everywhere)",
        ops=("pool_forward[max]", "pool_forward[average]", "pool_backward[max]", "pool_backward[average]"),
        spoil=_other_mode_key,
        applies=_other_mode_key_given,
        api="full",
    ),
    OpenPoint(
        id="zero_pad-negative",
        question="a negative zero_pad amount",
        allowed=(VALUE_ERROR,),
        references=VALUE_ERROR,
        reason="torch's F.pad crops on a negative pad; the seed API's pad is an amount of zeros",
        ops=("zero_pad",),
        spoil=_negative_pad,
        applies=lambda c: c["pad"] < 0,
    ),
]


def verdict(function: str, config: dict, torch_accepts: bool):
    """The contract's verdict on a numeric configuration: True valid, False invalid, None either.
    torch's, except where an open point applies: then what it allows (a configuration torch
    rejects for another reason stays invalid)."""
    points = [p for p in OPEN_POINTS if function in p.functions and p.applies(config)]
    if not points:
        return torch_accepts
    if any(p.allowed == (VALUE_ERROR,) for p in points) or not torch_accepts:
        return False
    return None


def markdown() -> str:
    """The README's list of open points, from the table."""
    lines = ["| open point | functions | allowed | the references |", "|---|---|---|---|"]
    for p in OPEN_POINTS:
        allowed = " or ".join("a result (checked against torch)" if a == RESULT else "ValueError" for a in p.allowed)
        scope = " (full API)" if p.api == "full" else ""
        functions = ", ".join(f"`{f}`" for f in p.functions)
        lines.append(f"| {p.question}{scope} | {functions} | {allowed} | {'a result' if p.references == RESULT else 'ValueError'}: {p.reason} |")
    return "\n".join(lines)
