"""The input contract: ValueError exactly where it is due, and never on a valid input.

Two sources decide what is invalid:
- torch, for numeric hyperparameters (stride, pad, f, sizes, channel counts): over fuzzed
  configurations the implementation must raise ValueError exactly where torch raises;
- the contract itself, for what torch has no notion of (dict keys, the seed API's ranks and
  dtypes, bools where integers are due): the table CONTRACT_ERRORS, one entry per class.
Where the contract leaves a choice or differs from torch on purpose, open_points.OPEN_POINTS
says so, with the behaviours it allows; test_open_point checks whichever one is taken.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import pytest
from hypothesis import assume, event, given
from hypothesis import strategies as st

from convcheck.capabilities import unsupported
from convcheck.properties.asserts import REJECTED, call
from convcheck.properties.checks import check_outputs, record_expected, require, require_torch, skip_outside_space
from convcheck.properties.open_points import OPEN_POINTS, VALUE_ERROR, verdict
from convcheck.properties.ops import OPS_BY_NAME, T, first_oracle
from convcheck.repro import Recorder


def _torch_accepts(fn: Callable) -> bool:
    try:
        fn()
    except (RuntimeError, ValueError, TypeError, IndexError):
        return False
    return True


@st.composite
def _numeric_configs(draw, function, api):
    """Sizes and hyperparameters over ranges that straddle every validity boundary: zero and
    negative strides, pads and dilations, kernels past the input, channel and group mismatches;
    with api "full", every spelling of the full space too. Half the draws keep each value in
    its valid range, so that valid configurations are common as well."""
    crossing = draw(st.booleans())  # values may go below their valid minimum

    def ints(valid_min, invalid_min, hi):
        return st.integers(invalid_min if crossing else valid_min, hi)

    sides, positive = ints(0, -1, 3), ints(1, 0, 3)
    pair_or_int = st.one_of(sides, st.tuples(sides, sides))
    c = {
        "m": draw(st.sampled_from([1, 2, 1, 0])),
        "H": draw(st.integers(1, 5)),
        "W": draw(st.integers(1, 5)),
        "C": draw(st.integers(1, 4)),
        "n_C": draw(st.integers(1, 4)),
        "dtype": draw(st.sampled_from([np.float64, np.float32])),
        "W_dtype": draw(st.sampled_from([np.float64, np.float32])),
        "mismatch": draw(st.sampled_from([0, 0, 0, int(crossing)])),  # sometimes a channel mismatch
    }
    full = api == "full"
    if function == "zero_pad":
        c["pad"] = draw(ints(0, -2, 3))
    elif function == "conv_forward":
        kernel = st.integers(1, 7)
        c["kernel"] = (draw(kernel), draw(kernel)) if full else (draw(kernel),) * 2
        pad = st.one_of(pair_or_int, st.tuples(st.tuples(sides, sides), st.tuples(sides, sides)), st.sampled_from(["same", "valid"]))
        c["hp"] = {"stride": draw(st.one_of(positive, st.tuples(positive, positive)) if full else positive),
                   "pad": draw(pad if full else ints(0, -2, 3))}
        if full and draw(st.booleans()):
            c["hp"]["dilation"] = draw(st.one_of(positive, st.tuples(positive, positive)))
        if full and draw(st.booleans()):
            c["hp"]["groups"] = draw(positive)
    else:
        c["mode"] = draw(st.sampled_from(["max", "average"]))
        kernel = ints(1, 0, 6)
        c["hp"] = {"f": draw(st.one_of(kernel, st.tuples(kernel, kernel)) if full else kernel),
                   "stride": draw(st.one_of(st.none(), positive, st.tuples(positive, positive)) if full else positive)}
        optional = (("pad", pair_or_int), ("dilation", st.one_of(positive, st.tuples(positive, positive))),
                    ("ceil_mode", st.booleans()), ("count_include_pad", st.booleans()),
                    ("divisor_override", st.sampled_from([None, -2, 3, 0] if crossing else [None, -2, 3])))
        for key, values in optional:
            if full and draw(st.integers(0, 2)) == 0:
                c["hp"][key] = draw(values)
    return c


def _numeric_call(function, c, impl):
    """(torch's call, the implementation's call) for one numeric configuration."""
    rng = np.random.default_rng(0)
    A = rng.standard_normal((c["m"], c["H"], c["W"], c["C"])).astype(c["dtype"])
    if function == "zero_pad":
        return (lambda: T.zero_pad(A, c["pad"])), (lambda valid: call(impl.zero_pad, function, A, c["pad"], valid=valid))
    hp = c["hp"]
    if function == "conv_forward":
        groups = hp.get("groups", 1)
        c_in = (c["C"] // groups if groups > 0 and c["C"] % groups == 0 else c["C"]) + c["mismatch"]
        W = rng.standard_normal((*c["kernel"], c_in, c["n_C"])).astype(c["W_dtype"])
        b = rng.standard_normal((1, 1, 1, c["n_C"])).astype(c["dtype"])
        return (lambda: T.conv_forward(A, W, b, **hp)), (lambda valid: call(impl.conv_forward, function, A, W, b, hp, valid=valid))
    mode = c["mode"]
    return (lambda: T.pool_forward(A, mode=mode, **hp)), (lambda valid: call(impl.pool_forward, function, A, hp, mode, valid=valid))


@pytest.mark.family("contract")
@pytest.mark.parametrize("function", ["conv_forward", "pool_forward", "zero_pad"])
@given(data=st.data())
def test_error_equivalence_with_torch(impl, function, data):
    """Over fuzzed numeric configurations: ValueError here <=> torch raises, except at the
    contract's open points (either behaviour; the result is checked by test_open_point). A
    ValueError on a configuration torch accepts is a failure."""
    require(impl, (function,))
    require_torch()
    config = data.draw(_numeric_configs(function, impl.api), label="config")
    Recorder.start(function, "contract", "contract")
    torch_call, impl_call = _numeric_call(function, config, impl)
    valid = verdict(function, config, _torch_accepts(torch_call))
    event({True: "valid configuration", False: "invalid configuration", None: "open point"}[valid])  # all well covered
    dtypes = (config["dtype"], config["W_dtype"]) if function == "conv_forward" else (config["dtype"],)
    lacking = impl.space.outside(function, dtypes, config.get("hp", {}), config.get("mode", "max")) if valid is not False else []
    for feature in lacking:  # a call torch accepts, outside the declared space: counted, not made
        unsupported(feature)
    if not lacking:
        impl_call(valid)


# ---- contract-defined invalid inputs ---------------------------------------------------------


@dataclass(frozen=True)
class ContractError:
    function: str
    what: str
    op: str  # the op-table entry whose samples are spoiled
    spoil: Callable  # sample -> arguments of an invalid call
    # the spoiler reads a value in the tutorial's spelling (an int stride, f or pad, a bias, a
    # window that no padding can make fit), so it spoils samples of the tutorial's space only
    tutorial_only: bool = False

    @property
    def id(self) -> str:
        return f"{self.function}-{self.what}"


def _conv(s, **hp_changes):
    c = s.case
    hp = {**c.hparameters, **hp_changes}
    return (c.A_prev, c.W, c.b, {k: v for k, v in hp.items() if v is not _DROP})


def _pool(s, mode=None, **hp_changes):
    c = s.case
    hp = {**c.hparameters, **hp_changes}
    return (c.A_prev, {k: v for k, v in hp.items() if v is not _DROP}, mode or c.mode)


_DROP = object()


def _cache_conv(s):
    c = s.case
    return (c.A_prev, c.W, c.b, c.hparameters)


def _broadcastable(grad):
    """A gradient that broadcasts against the right shape but is not it: one position per example."""
    m, n_H, n_W, C = grad.shape
    return np.ones((m, 1, 1, C) if n_H * n_W > 1 else (m, 1, 2, C), dtype=grad.dtype)


CONTRACT_ERRORS = [
    ContractError("conv_forward", "stride-bool", "conv_forward", lambda s: _conv(s, stride=True)),
    ContractError("conv_forward", "stride-float", "conv_forward", lambda s: _conv(s, stride=float(s.case.stride)), tutorial_only=True),
    ContractError("conv_forward", "pad-str", "conv_forward", lambda s: _conv(s, pad=str(s.case.pad)), tutorial_only=True),
    ContractError("conv_forward", "pad-numpy-bool", "conv_forward", lambda s: _conv(s, pad=np.bool_(False))),
    ContractError("conv_forward", "missing-key", "conv_forward", lambda s: _conv(s, pad=_DROP)),
    ContractError("conv_forward", "unknown-key", "conv_forward", lambda s: _conv(s, strides=s.case.stride)),
    ContractError("conv_forward", "hparameters-not-dict", "conv_forward", lambda s: (*_conv(s)[:3], list(s.case.hparameters.items()))),
    ContractError("conv_forward", "A_prev-rank-3", "conv_forward", lambda s: (s.case.A_prev[0], *_conv(s)[1:])),
    ContractError("conv_forward", "W-int-dtype", "conv_forward", lambda s: (s.case.A_prev, s.case.W.astype(np.int64), *_conv(s)[2:])),
    ContractError("conv_forward", "b-flat", "conv_forward", lambda s: (*_conv(s)[:2], s.case.b.reshape(-1), s.case.hparameters), tutorial_only=True),
    ContractError("conv_forward", "A_prev-list", "conv_forward", lambda s: (s.case.A_prev.tolist(), *_conv(s)[1:])),
    ContractError("pool_forward", "f-bool", "pool_forward[max]", lambda s: _pool(s, f=True)),
    ContractError("pool_forward", "f-float", "pool_forward[max]", lambda s: _pool(s, f=float(s.case.f)), tutorial_only=True),
    ContractError("pool_forward", "stride-zero", "pool_forward[average]", lambda s: _pool(s, stride=0)),
    ContractError("pool_forward", "unknown-mode", "pool_forward[max]", lambda s: _pool(s, mode="maximum")),
    ContractError("pool_forward", "missing-key", "pool_forward[max]", lambda s: _pool(s, f=_DROP)),
    ContractError("pool_forward", "unknown-key", "pool_forward[average]", lambda s: _pool(s, padding=0)),
    # keys of the full space, spelled wrongly: invalid at either API level (unknown keys to a tutorial-only implementation)
    ContractError("pool_forward", "ceil_mode-int", "pool_forward[max]", lambda s: _pool(s, ceil_mode=1)),
    ContractError("pool_forward", "count_include_pad-str", "pool_forward[average]", lambda s: _pool(s, count_include_pad="yes")),
    ContractError("pool_forward", "divisor_override-zero", "pool_forward[average]", lambda s: _pool(s, divisor_override=0)),
    ContractError("pool_forward", "divisor_override-float", "pool_forward[average]", lambda s: _pool(s, divisor_override=2.0)),
    ContractError("pool_forward", "dilation-with-average", "pool_forward[average]", lambda s: _pool(s, dilation=2)),
    ContractError("conv_forward", "groups-bool", "conv_forward", lambda s: _conv(s, groups=True)),
    ContractError("conv_forward", "dilation-zero", "conv_forward", lambda s: _conv(s, dilation=0)),
    ContractError("conv_forward", "pad-negative-side", "conv_forward", lambda s: _conv(s, pad=((0, -1), (0, 0)))),
    ContractError("conv_forward", "same-with-stride-2", "conv_forward", lambda s: _conv(s, pad="same", stride=2)),
    ContractError("pool_forward", "window-larger-than-input", "pool_forward[max]", lambda s: _pool(s, f=max(s.case.A_prev.shape[1:3]) + 1), tutorial_only=True),
    ContractError("conv_backward", "dZ-wrong-shape", "conv_backward", lambda s: (np.concatenate([s.extra["dZ"]] * 2, axis=1), _cache_conv(s))),
    ContractError("conv_backward", "dZ-broadcastable", "conv_backward", lambda s: (_broadcastable(s.extra["dZ"]), _cache_conv(s))),
    ContractError("conv_backward", "dZ-int-dtype", "conv_backward", lambda s: (s.extra["dZ"].astype(np.int32), _cache_conv(s))),
    ContractError("conv_backward", "cache-short", "conv_backward", lambda s: (s.extra["dZ"], _cache_conv(s)[:3])),
    ContractError("pool_backward", "dA-wrong-shape", "pool_backward[max]", lambda s: (s.extra["dA"][:, :, :, :0], (s.case.A_prev, s.case.hparameters), "max")),
    ContractError("pool_backward", "dA-broadcastable", "pool_backward[average]", lambda s: (_broadcastable(s.extra["dA"]), (s.case.A_prev, s.case.hparameters), "average")),
    ContractError("pool_backward", "unknown-mode", "pool_backward[average]", lambda s: (s.extra["dA"], (s.case.A_prev, s.case.hparameters), "avg")),
    ContractError("zero_pad", "pad-float", "zero_pad", lambda s: (s.case, 1.5)),
    ContractError("zero_pad", "pad-bool", "zero_pad", lambda s: (s.case, True)),
    ContractError("zero_pad", "X-rank-3", "zero_pad", lambda s: (s.case[0], s.extra["pad"])),
    ContractError("conv_single_step", "W-shape-mismatch", "conv_single_step", lambda s: (s.case[0], s.case[1][:, :, :0], s.case[2])),
    ContractError("conv_single_step", "b-rank-2", "conv_single_step", lambda s: (s.case[0], s.case[1], s.case[2][0])),
    ContractError("create_mask_from_window", "rank-1", "create_mask_from_window", lambda s: (s.case.ravel(),)),
    ContractError("create_mask_from_window", "empty", "create_mask_from_window", lambda s: (s.case[:0],)),
    ContractError("create_mask_from_window", "bool-dtype", "create_mask_from_window", lambda s: (s.case.astype(bool),)),
    ContractError("create_mask_from_window", "complex-dtype", "create_mask_from_window", lambda s: (s.case.astype(np.complex128),)),
    ContractError("distribute_value", "shape-zero", "distribute_value", lambda s: (s.case, (0, s.extra["shape"][1]))),
    ContractError("distribute_value", "shape-one-size", "distribute_value", lambda s: (s.case, s.extra["shape"][:1])),
    ContractError("distribute_value", "dz-complex", "distribute_value", lambda s: (complex(s.case, 1), s.extra["shape"])),
    ContractError("distribute_value", "dz-bool", "distribute_value", lambda s: (True, s.extra["shape"])),
]


@pytest.mark.family("contract")
@pytest.mark.parametrize("entry", [pytest.param(e, id=e.id) for e in CONTRACT_ERRORS])
@given(data=st.data())
def test_contract_rejects(impl, entry, data):
    """Each class of invalid input the contract names raises ValueError; inputs stay unchanged.
    Precondition: a valid sample of the implementation's space (the tutorial's, for entries
    marked tutorial_only) that the entry's spoiler makes invalid."""
    op = OPS_BY_NAME[entry.op]
    require(impl, (entry.function,), op.needs)
    api = "tutorial" if entry.tutorial_only else impl.api
    args = entry.spoil(data.draw(op.samples(api=api), label="valid sample spoiled"))
    Recorder.start(entry.function, "contract", "contract")
    call(getattr(impl, entry.function), entry.function, *args, valid=False)


# ---- open points ----------------------------------------------------------------------------


@pytest.mark.family("contract")
@pytest.mark.parametrize("point, op", [pytest.param(p, OPS_BY_NAME[o], id=f"{p.id}-{o}") for p in OPEN_POINTS for o in p.ops])
@given(data=st.data())
def test_open_point(impl, point, op, data):
    """A valid sample turned into the open point's input: a ValueError where the point allows it;
    a result where it allows one -- then equal to the oracle's on the same input (values within
    the tolerance policy, NumPy's result dtype). Without torch only the result's structure,
    shapes and dtype are checked."""
    require(impl, op.requires, op.needs)
    if point.api == "full" and impl.api != "full":
        pytest.skip(f"{point.id}: only in torch's full hyperparameter space (--api full)")
    sample = point.spoil(data.draw(op.samples(api=impl.api), label="valid sample"), data.draw)
    if point.allowed != (VALUE_ERROR,):  # a result is allowed: only where the implementation declares it computes one
        skip_outside_space(impl, op.function, op.args(sample))
    Recorder.start(op.function, "oracle", "contract", oracle=next(iter(op.oracles)), dtype=op.dtype(sample), example=sample)
    if point.allowed == (VALUE_ERROR,):
        call(getattr(impl, op.function), op.function, *op.args(sample), valid=False)
        return
    answer = first_oracle(op, sample) if T is not None else None  # before the call: a failed validation replays too
    if answer is not None:
        record_expected(op, answer[1], sample, answer[0])
    result = call(getattr(impl, op.function), op.function, *op.args(sample), valid=None)
    event("rejected" if result is REJECTED else "result")
    if result is REJECTED or T is None:  # without torch: the result's structure, shapes and dtype only (call checks them)
        return
    assume(answer is not None)  # no oracle route serves this sample (a known oracle defect)
    check_outputs(op, op.named(sample, result), answer[1], sample, answer[0], impl)
