"""The input contract of the eight functions, for both references.

* Every class of bad input raises ValueError, and the message names the parameter and shows
  the offending value (for arrays: the offending shape or dtype; for a malformed container:
  its type; for a missing or unknown key: the key).
* Inputs are never modified, by any call, valid or not (checked against deep copies).
* Read-only arrays and non-contiguous / Fortran-ordered arrays are accepted and give results
  identical (bit for bit) to those of contiguous, writeable copies.
* dtype rules: float32 -> float32, float64 -> float64, float32 mixed with float64 -> float64.
* A NaN in a max-pooling window gives NaN.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import pytest

from convcheck.reference import fast, loops

IMPLS = [pytest.param(loops, id="loops"), pytest.param(fast, id="fast")]


# ---- deep-copy snapshots ---------------------------------------------------------------------


def same(before: Any, after: Any) -> bool:
    """`after` equals the deep copy `before`: same types, shapes, dtypes, values (NaN == NaN)."""
    if isinstance(before, np.ndarray):
        return (
            isinstance(after, np.ndarray)
            and before.shape == after.shape
            and before.dtype == after.dtype
            and np.array_equal(before, after, equal_nan=before.dtype.kind in "fc")
        )
    if isinstance(before, (tuple, list)):
        return type(before) is type(after) and len(before) == len(after) and all(map(same, before, after))
    if isinstance(before, dict):
        return type(before) is type(after) and list(before) == list(after) and all(same(before[k], after[k]) for k in before)
    if isinstance(before, float) and before != before:
        return isinstance(after, float) and after != after
    return type(before) is type(after) and before == after


def run_unchanged(fn: Callable, *args: Any) -> Any:
    """fn(*args), asserting that no argument (nor anything inside it) was modified."""
    before = copy.deepcopy(args)
    try:
        return fn(*args)
    finally:
        for position, (old, new) in enumerate(zip(before, args)):
            assert same(old, new), f"{fn.__module__}.{fn.__name__} modified its argument #{position + 1}"


# ---- valid inputs ----------------------------------------------------------------------------


def rand(shape, dtype=np.float64, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def conv_inputs(dtype=np.float64):
    """A_prev (2, 5, 5, 3), W (3, 3, 3, 2), b (1, 1, 1, 2), stride 1, pad 1: Z is (2, 5, 5, 2)."""
    return rand((2, 5, 5, 3), dtype, 1), rand((3, 3, 3, 2), dtype, 2), rand((1, 1, 1, 2), dtype, 3), {"stride": 1, "pad": 1}


def conv_cache(dtype=np.float64):
    return conv_inputs(dtype)


def dZ_for(dtype=np.float64):
    return rand((2, 5, 5, 2), dtype, 4)


def pool_inputs(dtype=np.float64):
    """A_prev (2, 5, 5, 3), f 2, stride 2: A is (2, 2, 2, 3)."""
    return rand((2, 5, 5, 3), dtype, 5), {"f": 2, "stride": 2}


def dA_for(dtype=np.float64):
    return rand((2, 2, 2, 3), dtype, 6)


def single_inputs(dtype=np.float64):
    return rand((3, 3, 2), dtype, 7), rand((3, 3, 2), dtype, 8), rand((1, 1, 1), dtype, 9)


def with_hp(hp, **changes):
    hp = dict(hp)
    hp.update(changes)
    return hp


# ---- the bad-input table ---------------------------------------------------------------------


@dataclass(frozen=True)
class Bad:
    id: str
    function: str
    args: Callable[[], tuple]  # builds the call's arguments afresh
    names: tuple  # every one must appear in the message: the parameter
    shows: str  # must appear in the message: the offending value


def _shape(shape) -> str:
    return str(tuple(shape))


BAD: list[Bad] = []


def bad(id, function, args, names, shows):
    BAD.append(Bad(id, function, args, tuple(names) if isinstance(names, (tuple, list)) else (names,), shows))


NON_INTEGERS = [("float", 2.0), ("str", "2"), ("None", None), ("True", True), ("np_bool", np.bool_(True)), ("float_frac", 1.5)]

# wrong rank
bad("rank-X", "zero_pad", lambda: (rand((4, 4, 3)), 1), "X", _shape((4, 4, 3)))
bad("rank-X5", "zero_pad", lambda: (rand((1, 2, 4, 4, 3)), 1), "X", _shape((1, 2, 4, 4, 3)))
bad("rank-a_slice_prev", "conv_single_step", lambda: (rand((3, 3, 2, 1)), rand((3, 3, 2)), rand((1, 1, 1))), "a_slice_prev", _shape((3, 3, 2, 1)))
bad("rank-W", "conv_single_step", lambda: (rand((3, 3, 2)), rand((3, 6)), rand((1, 1, 1))), "W", _shape((3, 6)))
bad("rank-b", "conv_single_step", lambda: (rand((3, 3, 2)), rand((3, 3, 2)), rand((1, 1, 1, 1))), "b", _shape((1, 1, 1, 1)))
bad("rank-b0", "conv_single_step", lambda: (rand((3, 3, 2)), rand((3, 3, 2)), np.array(0.5)), "b", _shape(()))
for _name, _position, _shp in (("A_prev", 0, (5, 5, 3)), ("W", 1, (3, 3, 3)), ("b", 2, (2,))):

    def _args(position=_position, shp=_shp):
        args = list(conv_inputs())
        args[position] = rand(shp)
        return tuple(args)

    bad(f"rank-{_name}", "conv_forward", _args, _name, _shape(_shp))

    def _cache_args(position=_position, shp=_shp):
        cache = list(conv_cache())
        cache[position] = rand(shp)
        return dZ_for(), tuple(cache)

    bad(f"rank-cache-{_name}", "conv_backward", _cache_args, _name, _shape(_shp))
bad("rank-dZ", "conv_backward", lambda: (rand((2, 5, 5)), conv_cache()), "dZ", _shape((2, 5, 5)))
bad("rank-A_prev3", "pool_forward", lambda: (rand((5, 5, 3)), {"f": 2, "stride": 2}), "A_prev", _shape((5, 5, 3)))
bad("rank-A_prev5", "pool_forward", lambda: (rand((1, 2, 5, 5, 3)), {"f": 2, "stride": 2}), "A_prev", _shape((1, 2, 5, 5, 3)))
bad("rank-dA", "pool_backward", lambda: (rand((2, 2, 3)), pool_inputs()), "dA", _shape((2, 2, 3)))
bad("rank-cache-A_prev", "pool_backward", lambda: (dA_for(), (rand((5, 5)), {"f": 2, "stride": 2})), "A_prev", _shape((5, 5)))
bad("rank-x3", "create_mask_from_window", lambda: (rand((2, 2, 1)),), "x", _shape((2, 2, 1)))
bad("rank-x1", "create_mask_from_window", lambda: (rand((4,)),), "x", _shape((4,)))

# empty window
for _shp in ((0, 0), (0, 3), (2, 0)):
    bad(f"empty-x{_shp}", "create_mask_from_window", lambda shp=_shp: (np.zeros(shp),), "x", _shape(_shp))

# channel mismatch, b's shape
bad("channels-W", "conv_forward", lambda: (rand((2, 5, 5, 3)), rand((3, 3, 4, 2)), rand((1, 1, 1, 2)), {"stride": 1, "pad": 1}), "W", _shape((3, 3, 4, 2)))
bad("channels-cache-W", "conv_backward", lambda: (dZ_for(), (rand((2, 5, 5, 3)), rand((3, 3, 2, 2)), rand((1, 1, 1, 2)), {"stride": 1, "pad": 1})), "W", _shape((3, 3, 2, 2)))
bad("channels-single-W", "conv_single_step", lambda: (rand((3, 3, 2)), rand((3, 3, 3)), rand((1, 1, 1))), "W", _shape((3, 3, 3)))
bad("window-single-W", "conv_single_step", lambda: (rand((3, 3, 2)), rand((2, 2, 2)), rand((1, 1, 1))), "W", _shape((2, 2, 2)))
for _shp in ((1, 1, 1, 3), (1, 1, 2, 1), (2, 1, 1, 2), (1, 1, 1, 1)):
    bad(f"b-shape{_shp}", "conv_forward", lambda shp=_shp: (*conv_inputs()[:2], rand(shp), {"stride": 1, "pad": 1}), "b", _shape(_shp))
bad("b-shape-cache", "conv_backward", lambda: (dZ_for(), (*conv_inputs()[:2], rand((1, 1, 1, 3)), {"stride": 1, "pad": 1})), "b", _shape((1, 1, 1, 3)))
for _shp in ((1, 1, 2), (2, 1, 1)):
    bad(f"b-shape-single{_shp}", "conv_single_step", lambda shp=_shp: (*single_inputs()[:2], rand(shp)), "b", _shape(_shp))

# stride < 1, pad < 0, f < 1
for _v in (0, -2):
    bad(f"stride{_v}", "conv_forward", lambda v=_v: (*conv_inputs()[:3], {"stride": v, "pad": 1}), "stride", f"got {_v}")
    bad(f"stride{_v}-cache", "conv_backward", lambda v=_v: (dZ_for(), (*conv_inputs()[:3], {"stride": v, "pad": 1})), "stride", f"got {_v}")
    bad(f"stride{_v}", "pool_forward", lambda v=_v: (pool_inputs()[0], {"f": 2, "stride": v}), "stride", f"got {_v}")
    bad(f"stride{_v}-cache", "pool_backward", lambda v=_v: (dA_for(), (pool_inputs()[0], {"f": 2, "stride": v})), "stride", f"got {_v}")
    bad(f"f{_v}", "pool_forward", lambda v=_v: (pool_inputs()[0], {"f": v, "stride": 2}), "['f']", f"got {_v}")
    bad(f"f{_v}-cache", "pool_backward", lambda v=_v: (dA_for(), (pool_inputs()[0], {"f": v, "stride": 2})), "['f']", f"got {_v}")
for _v in (-1, -3):
    bad(f"pad{_v}", "zero_pad", lambda v=_v: (rand((2, 3, 3, 1)), v), "pad", f"got {_v}")
    bad(f"pad{_v}", "conv_forward", lambda v=_v: (*conv_inputs()[:3], {"stride": 1, "pad": v}), "pad", f"got {_v}")
    bad(f"pad{_v}-cache", "conv_backward", lambda v=_v: (dZ_for(), (*conv_inputs()[:3], {"stride": 1, "pad": v})), "pad", f"got {_v}")
bad("pad-np.int64(-1)", "zero_pad", lambda: (rand((2, 3, 3, 1)), np.int64(-1)), "pad", f"got {np.int64(-1)!r}")  # repr per NumPy version

# stride / pad / f not integers
for _label, _v in NON_INTEGERS:
    _shows = f"got {_v!r}"
    bad(f"pad-{_label}", "zero_pad", lambda v=_v: (rand((2, 3, 3, 1)), v), "pad", _shows)
    for _key in ("stride", "pad"):
        bad(f"{_key}-{_label}", "conv_forward", lambda v=_v, k=_key: (*conv_inputs()[:3], with_hp(conv_inputs()[3], **{k: v})), _key, _shows)
        bad(f"{_key}-{_label}-cache", "conv_backward", lambda v=_v, k=_key: (dZ_for(), (*conv_inputs()[:3], with_hp(conv_inputs()[3], **{k: v}))), _key, _shows)
    for _key in ("f", "stride") if _v is not None else ("f",):  # a None pool stride means "the window size"
        bad(f"{_key}-{_label}", "pool_forward", lambda v=_v, k=_key: (pool_inputs()[0], with_hp(pool_inputs()[1], **{k: v})), f"['{_key}']", _shows)
        bad(f"{_key}-{_label}-cache", "pool_backward", lambda v=_v, k=_key: (dA_for(), (pool_inputs()[0], with_hp(pool_inputs()[1], **{k: v}))), f"['{_key}']", _shows)

# kernel / window larger than the (padded) input
bad("kernel-too-tall", "conv_forward", lambda: (rand((2, 5, 5, 3)), rand((6, 6, 3, 2)), rand((1, 1, 1, 2)), {"stride": 1, "pad": 0}), "W", "W.shape[0]=6")
bad("kernel-too-wide", "conv_forward", lambda: (rand((2, 5, 3, 3)), rand((4, 6, 3, 2)), rand((1, 1, 1, 2)), {"stride": 1, "pad": 1}), "W", "W.shape[1]=6")
bad("kernel-too-big-cache", "conv_backward", lambda: (rand((2, 1, 1, 2)), (rand((2, 2, 2, 3)), rand((5, 5, 3, 2)), rand((1, 1, 1, 2)), {"stride": 1, "pad": 1})), "W", "W.shape[0]=5")
bad("window-too-big", "pool_forward", lambda: (rand((2, 5, 5, 3)), {"f": 6, "stride": 1}), "['f']", "=6")
bad("window-too-wide", "pool_forward", lambda: (rand((2, 5, 3, 3)), {"f": 4, "stride": 1}), "['f']", "=4")
bad("window-too-big-cache", "pool_backward", lambda: (rand((2, 1, 1, 3)), (rand((2, 2, 2, 3)), {"f": 3, "stride": 1})), "['f']", "=3")

# mode
for _mode in ("min", "MAX", "avg", None, 1):
    bad(f"mode-{_mode!r}", "pool_forward", lambda m=_mode: (*pool_inputs(), m), "mode", f"got {_mode!r}")
    bad(f"mode-{_mode!r}", "pool_backward", lambda m=_mode: (dA_for(), pool_inputs(), m), "mode", f"got {_mode!r}")

# hparameters: missing keys, unknown keys, not a dict
for _hp, _missing in (({"stride": 1}, "'pad'"), ({"pad": 1}, "'stride'"), ({}, "'stride'"), ({"strides": 1, "pad": 1}, "'stride'")):
    bad(f"missing-{sorted(_hp)}", "conv_forward", lambda hp=_hp: (*conv_inputs()[:3], dict(hp)), "hparameters", _missing)
    bad(f"missing-{sorted(_hp)}-cache", "conv_backward", lambda hp=_hp: (dZ_for(), (*conv_inputs()[:3], dict(hp))), "hparameters", _missing)
for _hp, _missing in (({"f": 2}, "'stride'"), ({"stride": 2}, "'f'"), ({}, "'f'")):
    bad(f"missing-{sorted(_hp)}", "pool_forward", lambda hp=_hp: (pool_inputs()[0], dict(hp)), "hparameters", _missing)
    bad(f"missing-{sorted(_hp)}-cache", "pool_backward", lambda hp=_hp: (dA_for(), (pool_inputs()[0], dict(hp))), "hparameters", _missing)
for _extra in ("strides", "f", "padding"):
    bad(f"unknown-{_extra}", "conv_forward", lambda e=_extra: (*conv_inputs()[:3], {"stride": 1, "pad": 1, e: 1}), "hparameters", f"'{_extra}'")
    bad(f"unknown-{_extra}-cache", "conv_backward", lambda e=_extra: (dZ_for(), (*conv_inputs()[:3], {"stride": 1, "pad": 1, e: 1})), "hparameters", f"'{_extra}'")
for _extra in ("strides", "padding", "mode"):
    bad(f"unknown-{_extra}", "pool_forward", lambda e=_extra: (pool_inputs()[0], {"f": 2, "stride": 2, e: 0}), "hparameters", f"'{_extra}'")
    bad(f"unknown-{_extra}-cache", "pool_backward", lambda e=_extra: (dA_for(), (pool_inputs()[0], {"f": 2, "stride": 2, e: 0})), "hparameters", f"'{_extra}'")
for _label, _hp in (("list", [("stride", 1), ("pad", 1)]), ("None", None), ("str", "stride=1,pad=1"), ("tuple", (1, 1))):
    bad(f"hparameters-{_label}", "conv_forward", lambda hp=_hp: (*conv_inputs()[:3], hp), "hparameters", repr(_hp))
    bad(f"hparameters-{_label}-cache", "conv_backward", lambda hp=_hp: (dZ_for(), (*conv_inputs()[:3], hp)), "hparameters", repr(_hp))
    bad(f"hparameters-{_label}", "pool_forward", lambda hp=_hp: (pool_inputs()[0], hp), "hparameters", repr(_hp))
    bad(f"hparameters-{_label}-cache", "pool_backward", lambda hp=_hp: (dA_for(), (pool_inputs()[0], hp)), "hparameters", repr(_hp))

# dZ / dA shape not matching the cache
for _shp in ((2, 5, 5, 3), (2, 4, 5, 2), (1, 5, 5, 2), (2, 5, 5, 1)):
    bad(f"dZ-shape{_shp}", "conv_backward", lambda shp=_shp: (rand(shp), conv_cache()), "dZ", _shape(_shp))
for _shp in ((2, 2, 2, 2), (2, 3, 2, 3), (1, 2, 2, 3), (2, 2, 3, 3)):
    bad(f"dA-shape{_shp}", "pool_backward", lambda shp=_shp: (rand(shp), pool_inputs()), "dA", _shape(_shp))

# malformed cache: shows its type
for _label, _make, _shows in (
    ("None", lambda: None, "None"),
    ("list", lambda: list(conv_cache()), "(list)"),
    ("3-tuple", lambda: conv_cache()[:3], "(tuple)"),
    ("5-tuple", lambda: (*conv_cache(), "extra"), "(tuple)"),
    ("dict", lambda: dict(zip("AWbh", conv_cache())), "(dict)"),
    ("array", lambda: conv_cache()[0], "array of shape (2, 5, 5, 3)"),
):
    bad(f"cache-{_label}", "conv_backward", lambda make=_make: (dZ_for(), make()), "cache", _shows)
for _label, _make, _shows in (
    ("None", lambda: None, "None"),
    ("list", lambda: list(pool_inputs()), "(list)"),
    ("1-tuple", lambda: pool_inputs()[:1], "(tuple)"),
    ("3-tuple", lambda: (*pool_inputs(), "max"), "(tuple)"),
    ("conv-cache", lambda: conv_cache(), "(tuple)"),
):
    bad(f"cache-{_label}", "pool_backward", lambda make=_make: (dA_for(), make()), "cache", _shows)

# dtypes other than float32 / float64
for _dt in (np.int64, np.int32, np.complex128, np.float16, np.bool_, np.longdouble):
    _dn = str(np.dtype(_dt))
    if np.dtype(_dt) == np.dtype(np.float64):  # longdouble is float64 on some platforms
        continue

    def _cast(x, dt=_dt):
        return x.astype(dt)

    bad(f"dtype-X-{_dn}", "zero_pad", lambda c=_cast: (c(rand((2, 3, 3, 1))), 1), "X", _dn)
    for _position, _name in enumerate(("a_slice_prev", "W", "b")):
        bad(f"dtype-{_name}-{_dn}", "conv_single_step", lambda p=_position, c=_cast: tuple(c(x) if i == p else x for i, x in enumerate(single_inputs())), _name, _dn)
    for _position, _name in enumerate(("A_prev", "W", "b")):
        bad(f"dtype-{_name}-{_dn}", "conv_forward", lambda p=_position, c=_cast: tuple(c(x) if i == p else x for i, x in enumerate(conv_inputs())), _name, _dn)
        bad(f"dtype-cache-{_name}-{_dn}", "conv_backward", lambda p=_position, c=_cast: (dZ_for(), tuple(c(x) if i == p else x for i, x in enumerate(conv_cache()))), _name, _dn)
    bad(f"dtype-dZ-{_dn}", "conv_backward", lambda c=_cast: (c(dZ_for()), conv_cache()), "dZ", _dn)
    bad(f"dtype-A_prev-{_dn}", "pool_forward", lambda c=_cast: (c(pool_inputs()[0]), pool_inputs()[1]), "A_prev", _dn)
    bad(f"dtype-dA-{_dn}", "pool_backward", lambda c=_cast: (c(dA_for()), pool_inputs()), "dA", _dn)
    bad(f"dtype-cache-A_prev-{_dn}", "pool_backward", lambda c=_cast: (dA_for(), (c(pool_inputs()[0]), pool_inputs()[1])), "A_prev", _dn)
    if np.dtype(_dt).kind not in "iu":  # integer windows are valid (the assignment's public tests use int64)
        bad(f"dtype-x-{_dn}", "create_mask_from_window", lambda c=_cast: (c(rand((2, 3))),), "x", _dn)

# not ndarrays (nested lists, scalars)
bad("list-X", "zero_pad", lambda: (rand((1, 2, 2, 1)).tolist(), 1), "X", "(list)")
bad("list-a_slice_prev", "conv_single_step", lambda: (single_inputs()[0].tolist(), *single_inputs()[1:]), "a_slice_prev", "(list)")
bad("float-b", "conv_single_step", lambda: (*single_inputs()[:2], 0.5), "b", "0.5 (float)")
bad("list-A_prev", "conv_forward", lambda: (conv_inputs()[0].tolist(), *conv_inputs()[1:]), "A_prev", "(list)")
bad("list-W", "conv_forward", lambda: (conv_inputs()[0], conv_inputs()[1].tolist(), *conv_inputs()[2:]), "W", "(list)")
bad("list-b", "conv_forward", lambda: (*conv_inputs()[:2], [0.1, 0.2], conv_inputs()[3]), "b", "[0.1, 0.2] (list)")
bad("list-dZ", "conv_backward", lambda: (dZ_for().tolist(), conv_cache()), "dZ", "(list)")
bad("list-cache-A_prev", "conv_backward", lambda: (dZ_for(), (conv_inputs()[0].tolist(), *conv_inputs()[1:])), "A_prev", "(list)")
bad("list-A_prev", "pool_forward", lambda: (pool_inputs()[0].tolist(), pool_inputs()[1]), "A_prev", "(list)")
bad("list-dA", "pool_backward", lambda: (dA_for().tolist(), pool_inputs()), "dA", "(list)")
bad("list-cache-A_prev", "pool_backward", lambda: (dA_for(), (pool_inputs()[0].tolist(), pool_inputs()[1])), "A_prev", "(list)")
bad("list-x", "create_mask_from_window", lambda: ([[1.0, 2.0], [3.0, 4.0]],), "x", "[[1.0, 2.0], [3.0, 4.0]] (list)")
bad("float-x", "create_mask_from_window", lambda: (3.0,), "x", "3.0 (float)")

# distribute_value: shape not two positive integers, dz not real
for _shape_value in (0, -1, (2,), (2, 2, 2), 2.0, True, None, "22", (), {2: 2}):
    bad(f"shape-{_shape_value!r}", "distribute_value", lambda s=_shape_value: (2.0, s), "shape", repr(_shape_value))
for _shape_value, _shows in (((0, 2), "got 0"), ((2, -1), "got -1"), ((2.0, 2), "got 2.0"), ((2, 2.5), "got 2.5"), ((True, 2), "got True"),
                             ((2, np.bool_(True)), f"got {np.bool_(True)!r}"), ((None, 2), "got None"), (("2", 2), "got '2'"), ([0, 0], "got 0")):
    bad(f"shape-{_shape_value!r}", "distribute_value", lambda s=_shape_value: (2.0, s), "shape", _shows)
for _dz in (1j, np.complex128(1 + 2j), "x", None, True, np.bool_(False), [2.0], np.array([2.0])):
    bad(f"dz-{_dz!r}", "distribute_value", lambda d=_dz: (d, (2, 2)), "dz", repr(_dz) if not isinstance(_dz, np.ndarray) else "array of shape (1,)")


def _bad_id(case: Bad) -> str:
    return f"{case.function}:{case.id}"


@pytest.mark.parametrize("ref", IMPLS)
@pytest.mark.parametrize("case", BAD, ids=_bad_id)
def test_bad_input_raises_value_error(case, ref):
    fn = getattr(ref, case.function)
    args = case.args()
    with pytest.raises(ValueError) as excinfo:
        run_unchanged(fn, *args)
    message = str(excinfo.value)
    for name in case.names:
        assert name in message, f"the message does not name the parameter {name!r}: {message!r}"
    assert case.shows in message, f"the message does not show the offending value {case.shows!r}: {message!r}"


def test_bad_input_table_covers_every_function():
    functions = {case.function for case in BAD}
    assert functions == {
        "zero_pad", "conv_single_step", "conv_forward", "conv_backward",
        "pool_forward", "create_mask_from_window", "distribute_value", "pool_backward",
    }
    assert len({_bad_id(case) for case in BAD}) == len(BAD), "duplicate case ids"


# ---- accepted: numpy integers, real dz -------------------------------------------------------


@pytest.mark.parametrize("ref", IMPLS)
@pytest.mark.parametrize("integer", [np.int64, np.int32, np.int8, np.uint16], ids=lambda t: np.dtype(t).name)
def test_numpy_integers_accepted(ref, integer):
    X = rand((2, 3, 3, 1))
    assert np.array_equal(run_unchanged(ref.zero_pad, X, integer(2)), ref.zero_pad(X, 2))
    A, W, b, hp = conv_inputs()
    np_hp = {"stride": integer(1), "pad": integer(1)}
    Z, cache = run_unchanged(ref.conv_forward, A, W, b, np_hp)
    assert np.array_equal(Z, ref.conv_forward(A, W, b, hp)[0])
    for got, want in zip(run_unchanged(ref.conv_backward, dZ_for(), cache), ref.conv_backward(dZ_for(), (A, W, b, hp))):
        assert np.array_equal(got, want)
    P, php = pool_inputs()
    np_php = {"f": integer(2), "stride": integer(2)}
    for mode in ("max", "average"):
        assert np.array_equal(run_unchanged(ref.pool_forward, P, np_php, mode)[0], ref.pool_forward(P, php, mode)[0])
        assert np.array_equal(run_unchanged(ref.pool_backward, dA_for(), (P, np_php), mode), ref.pool_backward(dA_for(), (P, php), mode))
    assert np.array_equal(run_unchanged(ref.distribute_value, 2.0, (integer(2), integer(4))), np.full((2, 4), 0.25))


@pytest.mark.parametrize("ref", IMPLS)
@pytest.mark.parametrize(
    "dz, dtype",
    [(2, np.float64), (-3, np.float64), (2.5, np.float64), (np.float32(2.5), np.float32), (np.float64(2.5), np.float64),
     (np.int64(3), np.float64), (np.float16(2.5), np.float64), (float("inf"), np.float64)],
    ids=repr,
)
def test_real_dz_accepted(ref, dz, dtype):
    a = run_unchanged(ref.distribute_value, dz, (2, 3))
    assert isinstance(a, np.ndarray) and a.shape == (2, 3) and a.dtype == dtype, f"{type(a).__name__} {getattr(a, 'dtype', '')}"
    assert np.all(a == a.flat[0]), a
    assert a.flat[0] == np.asarray(np.float64(dz) / 6, dtype=dtype)


@pytest.mark.parametrize("ref", IMPLS)
def test_distribute_value_list_shape_accepted(ref):
    assert np.array_equal(run_unchanged(ref.distribute_value, 6, [2, 3]), np.ones((2, 3)))


# ---- every valid call leaves its inputs unchanged --------------------------------------------


def _valid_calls(dtype=np.float64):
    """(label, function name, argument tuple): one call of every function, backward included."""
    A, W, b, hp = conv_inputs(dtype)
    P, php = pool_inputs(dtype)
    x = rand((3, 3), dtype, 10)
    x[1, 1] = x[0, 0]  # a tie
    return [
        ("zero_pad", "zero_pad", (rand((2, 3, 3, 1), dtype), 2)),
        ("conv_single_step", "conv_single_step", single_inputs(dtype)),
        ("conv_forward", "conv_forward", (A, W, b, hp)),
        ("conv_forward-pad0-stride2", "conv_forward", (A, W, b, {"stride": 2, "pad": 0})),
        ("conv_backward", "conv_backward", (dZ_for(dtype), (A, W, b, hp))),
        ("conv_backward-pad0", "conv_backward", (rand((2, 3, 3, 2), dtype), (A, W, b, {"stride": 1, "pad": 0}))),
        ("pool_forward-max", "pool_forward", (P, php, "max")),
        ("pool_forward-average", "pool_forward", (P, php, "average")),
        ("pool_forward-default", "pool_forward", (P, php)),
        ("pool_backward-max", "pool_backward", (dA_for(dtype), (P, php), "max")),
        ("pool_backward-average", "pool_backward", (dA_for(dtype), (P, php), "average")),
        ("pool_backward-overlap", "pool_backward", (rand((2, 3, 3, 3), dtype), (P, {"f": 3, "stride": 1}), "max")),
        ("create_mask_from_window", "create_mask_from_window", (x,)),
        ("distribute_value", "distribute_value", (np.float64(3.0), (2, 2))),
    ]


VALID_LABELS = [label for label, _, _ in _valid_calls()]


@pytest.mark.parametrize("ref", IMPLS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("label", VALID_LABELS)
def test_inputs_unchanged(ref, dtype, label):
    _, function, args = next(c for c in _valid_calls(dtype) if c[0] == label)
    run_unchanged(getattr(ref, function), *args)


# ---- layouts: read-only, non-contiguous, Fortran order ---------------------------------------


def _read_only(x):
    x = x.copy()
    x.setflags(write=False)
    return x


def _strided_last(x):
    """Every other element of an array twice as wide along the last axis."""
    wide = np.full(x.shape[:-1] + (2 * x.shape[-1],), np.nan, dtype=x.dtype)
    wide[..., ::2] = x
    return wide[..., ::2]


def _strided_first(x):
    """Every third element of an array three times as long along the first axis, read-only."""
    tall = np.full((3 * x.shape[0],) + x.shape[1:], np.nan, dtype=x.dtype)
    tall[::3] = x
    view = tall[::3]
    view.setflags(write=False)
    return view


def _reversed_twice(x):
    """Negative strides: the reversed view of a reversed copy holds the same values."""
    return x[::-1].copy()[::-1]


LAYOUTS = {
    "read_only": _read_only,
    "strided_last_axis": _strided_last,
    "strided_first_axis_read_only": _strided_first,
    "fortran": np.asfortranarray,
    "negative_strides": _reversed_twice,
}


def _relayout(value, layout):
    if isinstance(value, np.ndarray):
        out = layout(value)
        assert np.array_equal(out, value) and out.dtype == value.dtype
        return out
    if isinstance(value, tuple):
        return tuple(_relayout(v, layout) for v in value)
    return value


def _assert_identical(got, want, what):
    if isinstance(want, tuple):
        assert isinstance(got, tuple) and len(got) == len(want), what
        for i, (g, w) in enumerate(zip(got, want)):
            _assert_identical(g, w, f"{what}[{i}]")
        return
    if isinstance(want, dict):
        assert got == want, what
        return
    got_a, want_a = np.asarray(got), np.asarray(want)
    assert type(got) is type(want) and got_a.dtype == want_a.dtype and got_a.shape == want_a.shape, (
        f"{what}: {type(got).__name__} {got_a.dtype} {got_a.shape} vs {type(want).__name__} {want_a.dtype} {want_a.shape}"
    )
    if not np.array_equal(got_a, want_a, equal_nan=True):
        diff = np.abs(got_a.astype(np.float64) - want_a.astype(np.float64))
        raise AssertionError(f"{what}: not identical to the contiguous result; max |diff| {np.nanmax(diff):.3g} at {np.unravel_index(np.nanargmax(diff), diff.shape)}")


@pytest.mark.parametrize("ref", IMPLS)
@pytest.mark.parametrize("layout", list(LAYOUTS))
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("label", VALID_LABELS)
def test_layouts_give_identical_results(ref, layout, dtype, label):
    _, function, args = next(c for c in _valid_calls(dtype) if c[0] == label)
    fn = getattr(ref, function)
    want = fn(*args)
    relaid = tuple(_relayout(a, LAYOUTS[layout]) for a in args)
    got = run_unchanged(fn, *relaid)
    if function in ("conv_forward", "pool_forward"):  # the cache holds the inputs as given
        got, want = got[0], want[0]
    _assert_identical(got, want, f"{function} with {layout} inputs")


# ---- dtype rules -----------------------------------------------------------------------------

F32, F64 = np.float32, np.float64


@pytest.mark.parametrize("ref", IMPLS)
@pytest.mark.parametrize("dtype", [F64, F32], ids=["float64", "float32"])
@pytest.mark.parametrize("label", VALID_LABELS)
def test_dtype_preserved(ref, dtype, label):
    _, function, args = next(c for c in _valid_calls(dtype) if c[0] == label)
    out = getattr(ref, function)(*args)
    outputs = {
        "conv_forward": lambda: [out[0]],
        "pool_forward": lambda: [out[0]],
        "conv_backward": lambda: list(out),
    }.get(function, lambda: [out])()
    expected = np.bool_ if function == "create_mask_from_window" else (F64 if function == "distribute_value" else dtype)
    for i, o in enumerate(outputs):
        assert isinstance(o, (np.ndarray, np.floating)), f"{function} output #{i} is {type(o).__name__}"
        assert o.dtype == expected, f"{function} output #{i}: dtype {o.dtype}, expected {np.dtype(expected)}"
    if function == "conv_single_step":
        assert isinstance(out, np.floating) and np.ndim(out) == 0, f"conv_single_step returned {type(out).__name__}"


MIXED_CONV = [(a, w, b_) for a in (F32, F64) for w in (F32, F64) for b_ in (F32, F64) if len({a, w, b_}) == 2]


@pytest.mark.parametrize("ref", IMPLS)
@pytest.mark.parametrize("dtypes", MIXED_CONV, ids=lambda d: "-".join(np.dtype(t).name for t in d))
def test_mixed_dtypes_conv(ref, dtypes):
    A, W, b, hp = conv_inputs()
    A, W, b = (x.astype(t) for x, t in zip((A, W, b), dtypes))
    Z, cache = ref.conv_forward(A, W, b, hp)
    assert Z.dtype == F64, f"conv_forward on {dtypes}: {Z.dtype}"
    for dZ_dtype in (F32, F64):
        for i, g in enumerate(ref.conv_backward(dZ_for(dZ_dtype), cache)):
            assert g.dtype == F64, f"conv_backward gradient #{i} on {dtypes} with dZ {np.dtype(dZ_dtype)}: {g.dtype}"
    s = ref.conv_single_step(*(x.astype(t) for x, t in zip(single_inputs(), dtypes)))
    assert isinstance(s, np.floating) and s.dtype == F64, f"conv_single_step on {dtypes}: {type(s).__name__}"


@pytest.mark.parametrize("ref", IMPLS)
def test_mixed_dtypes_conv_backward_dZ(ref):
    """float32 cache, float64 dZ -> float64 gradients; float64 cache, float32 dZ -> float64."""
    for cache_dtype, dZ_dtype in ((F32, F64), (F64, F32)):
        for i, g in enumerate(ref.conv_backward(dZ_for(dZ_dtype), conv_cache(cache_dtype))):
            assert g.dtype == F64, f"gradient #{i}, cache {np.dtype(cache_dtype)}, dZ {np.dtype(dZ_dtype)}: {g.dtype}"


@pytest.mark.parametrize("ref", IMPLS)
@pytest.mark.parametrize("mode", ["max", "average"])
def test_mixed_dtypes_pool_backward(ref, mode):
    for A_dtype, dA_dtype in ((F32, F64), (F64, F32)):
        P, php = pool_inputs(A_dtype)
        out = ref.pool_backward(dA_for(dA_dtype), (P, php), mode)
        assert out.dtype == F64, f"pool_backward({mode}), A_prev {np.dtype(A_dtype)}, dA {np.dtype(dA_dtype)}: {out.dtype}"


@pytest.mark.parametrize("ref", IMPLS)
@pytest.mark.parametrize("dz, dtype", [(np.float32(1.0), F32), (np.float64(1.0), F64), (1.0, F64), (1, F64)], ids=repr)
def test_distribute_value_dtype(ref, dz, dtype):
    assert ref.distribute_value(dz, (2, 2)).dtype == dtype


# ---- NaN in a max window ---------------------------------------------------------------------


@pytest.mark.parametrize("ref", IMPLS)
@pytest.mark.parametrize("dtype", [F64, F32], ids=["float64", "float32"])
@pytest.mark.parametrize("where", [(0, 0), (1, 1), (2, 3), (3, 3)], ids=str)
def test_nan_in_max_window_gives_nan(ref, dtype, where):
    A = np.arange(16, dtype=dtype).reshape(1, 4, 4, 1) * np.array([1, -1], dtype=dtype)  # (1, 4, 4, 2)
    A[0, where[0], where[1], 0] = np.nan
    out, _ = ref.pool_forward(A, {"f": 2, "stride": 2}, "max")
    nan_at = np.zeros(out.shape, dtype=bool)
    nan_at[0, where[0] // 2, where[1] // 2, 0] = True
    assert np.array_equal(np.isnan(out), nan_at), f"NaN expected only at {np.argwhere(nan_at).tolist()}, got\n{out[..., 0]}"
    assert out.dtype == dtype
    # a NaN is "the maximum" of its window even when it is not the last element
    A2 = np.full((1, 2, 2, 1), 7.0, dtype=dtype)
    A2[0, 0, 0, 0] = np.nan
    assert np.isnan(ref.pool_forward(A2, {"f": 2, "stride": 1}, "max")[0]).all()
    assert np.array_equal(ref.create_mask_from_window(np.array([[np.nan, 1.0]], dtype=dtype)), [[True, False]])
