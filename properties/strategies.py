"""Hypothesis strategies: layer configurations, arrays, and invalid inputs.

Shapes and hyperparameters are drawn by Hypothesis (they shrink towards batch 1, one channel,
small sizes). Array values come in a few kinds, the simplest first so that shrinking ends
there: small integers (ties, exact arithmetic), Gaussian noise from a drawn seed (cheap in
bulk), and well-separated distinct values (max-pool finite differences). Layouts vary too:
contiguous, non-contiguous views, Fortran order and read-only arrays.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass, field

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from convcheck.capabilities import active, unsupported
from convcheck.repro_template import LAYOUTS, scribble, with_layout  # replays restore the same layouts

DTYPES = (np.dtype(np.float64), np.dtype(np.float32))
VALUE_KINDS = ("small_ints", "gaussian", "distinct")
# also NaN / +inf / -inf, scattered or filling one 2 x 2 spatial block (several NaN in one window:
# the "last NaN" rule needs two of them), for propagation checks
SPECIAL_KINDS = VALUE_KINDS + ("specials", "special_block", "special_block")
MAX_SHOWN = 64  # arrays up to this size are printed in full in a falsifying example


class ShownByRepr:
    """Hypothesis prints falsifying examples with its pretty-printer: make it use __repr__."""

    def _repr_pretty_(self, printer, cycle):
        printer.text(repr(self))


def show(x: np.ndarray) -> str:
    layout = "C" if x.flags.c_contiguous else ("F" if x.flags.f_contiguous else "view")
    ro = "" if x.flags.writeable else ", read-only"
    head = f"<{x.dtype} {x.shape} {layout}{ro}>"
    if x.size <= MAX_SHOWN:
        return head + " " + np.array2string(x, separator=", ", threshold=MAX_SHOWN, floatmode="unique").replace("\n", "")
    return head


@dataclass(repr=False)
class ConvCase(ShownByRepr):
    A_prev: np.ndarray
    W: np.ndarray
    b: np.ndarray
    hparameters: dict

    @property
    def stride(self) -> int:
        return self.hparameters["stride"]

    @property
    def pad(self) -> int:
        return self.hparameters["pad"]

    @property
    def dtype(self) -> np.dtype:
        return result_dtype(self.A_prev, self.W, self.b)

    def __repr__(self) -> str:
        b = "None" if self.b is None else show(self.b)
        return f"ConvCase(hparameters={self.hparameters}, A_prev={show(self.A_prev)}, W={show(self.W)}, b={b})"


@dataclass(repr=False)
class PoolCase(ShownByRepr):
    A_prev: np.ndarray
    hparameters: dict
    mode: str = field(default="max")

    @property
    def f(self) -> int:
        return self.hparameters["f"]

    @property
    def stride(self) -> int:
        return self.hparameters["stride"]

    def __repr__(self) -> str:
        return f"PoolCase(mode={self.mode!r}, hparameters={self.hparameters}, A_prev={show(self.A_prev)})"


def result_dtype(*arrays) -> np.dtype:
    """The dtype of a layer's results: NumPy's result type of its array arguments (None: no bias)."""
    return np.result_type(*(x for x in arrays if x is not None))


def distribute_dtype(dz) -> np.dtype:
    """distribute_value's result dtype: a float32 / float64 NumPy scalar's own, else float64."""
    return dz.dtype if isinstance(dz, np.floating) and dz.dtype in DTYPES else np.dtype(np.float64)


def _pair(value) -> tuple:
    return tuple(value) if isinstance(value, (tuple, list)) else (value, value)


def conv_pads(hparameters: dict, kernel: tuple) -> tuple:
    """((top, bottom), (left, right)) for any spelling of "pad"; "same" puts an odd extra at the end."""
    pad = hparameters["pad"]
    if pad == "valid":
        return ((0, 0), (0, 0))
    if pad == "same":
        totals = [d * (k - 1) for d, k in zip(_pair(hparameters.get("dilation", 1)), kernel)]
        return tuple((t // 2, t - t // 2) for t in totals)
    return tuple(_pair(p) for p in _pair(pad))


def _extent(n: int, k: int, s: int, lo: int, hi: int, d: int = 1, ceil: bool = False) -> int:
    """Output size along one axis (torch's rule; with ceil_mode the last window must start
    inside the input or its left padding)."""
    span = n + lo + hi - d * (k - 1) - 1
    out = -(-span // s) + 1 if ceil else span // s + 1
    if ceil and (out - 1) * s >= n + lo:
        out -= 1
    return int(out)  # a Python int also when the hyperparameters are NumPy integers


def _ceil_last_window(n: int, extent: int, s: int, pad: int) -> str:
    """What ceil_mode does to the last window along an axis of n elements padded by pad on both
    sides: "dropped" (it would start in the right padding), "clipped" (it reaches past the padded
    input) or "fits"."""
    span = n + 2 * pad - extent
    last_start = -(-span // s) * s
    if last_start >= n + pad:
        return "dropped"
    return "clipped" if last_start + extent > n + 2 * pad else "fits"


def conv_output_shape(case: ConvCase) -> tuple[int, int, int, int]:
    m, H, W, _ = case.A_prev.shape
    kh, kw, _, n_C = case.W.shape
    hp = case.hparameters
    (sh, sw), (dh, dw) = _pair(hp["stride"]), _pair(hp.get("dilation", 1))
    (top, bottom), (left, right) = conv_pads(hp, (kh, kw))
    return (m, _extent(H, kh, sh, top, bottom, dh), _extent(W, kw, sw, left, right, dw), n_C)


def pool_output_shape(case: PoolCase) -> tuple[int, int, int, int]:
    m, H, W, C = case.A_prev.shape
    hp = case.hparameters
    (fh, fw) = _pair(hp["f"])
    (sh, sw) = _pair(hp["stride"]) if hp["stride"] is not None else (fh, fw)
    (ph, pw), (dh, dw) = _pair(hp.get("pad", 0)), _pair(hp.get("dilation", 1))
    ceil = hp.get("ceil_mode", False)
    return (m, _extent(H, fh, sh, ph, ph, dh, ceil), _extent(W, fw, sw, pw, pw, dw, ceil), C)


# Strategies are built once per distinct argument tuple and reused: building one (and Hypothesis
# validating it) costs more than drawing from it, and shape-dependent ones recur constantly.
cached = functools.lru_cache(maxsize=None)
SEEDS = st.integers(0, 2**32 - 1)
SCALES = st.sampled_from([1.0, 1e-3, 1e3])
SPECIAL_VALUES = st.sampled_from([np.nan, np.inf, -np.inf])
BLOCK_VALUES = st.sampled_from([np.nan, np.nan, np.nan, np.inf, -np.inf])  # NaN-heavy: several NaN in one window
# Built once (Hypothesis validates a strategy object on its first draw, and sampled_from is not
# cached by its arguments); the simplest value of each first, as shrinking goes there.
CONV_DILATIONS = st.sampled_from([1, 1, 2, (1, 2), (2, 1), 3])
CONV_STRIDES = st.sampled_from([1, 2, 3, (1, 2), (2, 1), (3, 1)])
GROUPS = st.sampled_from([1, 1, 2, 3])
POOL_DILATIONS = st.sampled_from([1, 2, (1, 2), (2, 1)])
CEIL_MODES = st.sampled_from([None, False, True, True])  # None: the key absent
DIVISOR_OVERRIDES = st.sampled_from([1, 2, 3, 7, -2])
CEIL_EDGES = st.sampled_from(["any", "clipped", "dropped"])
AXES = st.sampled_from([0, 1])
INT_WINDOW_NEAR = st.sampled_from(["zero", "top", "bottom"])
# sampled_from over a tuple of strings or dtypes (kinds, layouts, modes, dtypes): one object per tuple
_sampled = cached(st.sampled_from)


@cached
def _small_int_arrays(shape):
    # drawn element-wise on a zero background: costlier than a seed, but it shrinks to zeros
    # and a few small integers -- the simplest values that still show a defect
    return hnp.arrays(np.float64, shape, elements=st.integers(-3, 3).map(float), fill=st.just(0.0))


@cached
def _indices(n):
    return st.integers(0, n - 1)


@st.composite
def _float_arrays(draw, shape, dtype, kinds, layouts):
    kind = draw(_sampled(kinds))
    size = int(np.prod(shape))
    if kind == "small_ints":
        x = draw(_small_int_arrays(shape))
    else:
        rng = np.random.default_rng(draw(SEEDS))
        if kind == "distinct":  # values at least 0.5 apart: no two elements anywhere are near a tie
            x = (rng.permutation(size) + rng.uniform(-0.25, 0.25, size)).reshape(shape) - size / 2
        else:
            x = rng.standard_normal(shape) * draw(SCALES)
        if kind == "special_block":  # every element of one 2 x 2 spatial block (clipped at the edges)
            base = tuple(draw(_indices(n)) for n in shape)
            spatial = (1, 2) if len(shape) == 4 else (0, 1)  # (m, H, W, C) arrays; windows, slices
            block = {tuple(min(b + (d if a == spatial[0] else e if a == spatial[1] else 0), n - 1)
                           for a, (b, n) in enumerate(zip(base, shape))) for d in (0, 1) for e in (0, 1)}
            for where in sorted(block):
                x[where] = draw(BLOCK_VALUES)
        if kind == "specials":
            for _ in range(draw(st.integers(1, 3))):
                x[tuple(draw(_indices(n)) for n in shape)] = draw(SPECIAL_VALUES)
    x = x.astype(dtype)
    return with_layout(x, draw(_sampled(layouts)))


@cached
def float_arrays(shape, dtype, kinds=VALUE_KINDS, layouts=LAYOUTS):
    """An array of the given shape and dtype; its value kind and layout are drawn too."""
    return _float_arrays(tuple(int(n) for n in shape), np.dtype(dtype), tuple(kinds), tuple(layouts))


@cached
def _extents(lowest, spread=6):
    """lowest .. lowest + spread, lowest (the kernel just fits) as often again."""
    return st.integers(lowest, lowest + spread) | st.just(lowest)


@cached
def _int_or(lo, hi, extra):
    return st.integers(lo, hi) | st.just(extra)


@cached
def _pool_strides(kernel_rows):
    return st.sampled_from([None, 1, 2, 3, (1, 2), (2, 1), kernel_rows + 1])


def _declared_dtype(space, op, drawn, dtypes):
    """The drawn dtype inside the declared space: replaced (counted) by another of the test's
    `dtypes`; a test none of whose dtypes the op computes is skipped as unsupported."""
    dtype = space.dtype(op, drawn, dtypes)
    if dtype is None:
        _skip_unsupported(f"{op} in {' or '.join(np.dtype(d).name for d in dtypes)}")
    return dtype


def _skip_unsupported(what):
    # pytest's skip passes through Hypothesis (it re-raises skip exceptions): the whole test is
    # outside the space; the draws already counted say by how much
    import pytest

    pytest.skip(f"unsupported: the implementation declares no {what}")


API_LEVELS = ("tutorial", "full")
PAD_FORMS = ("int", "pair", "per-side", "same", "valid")


@cached
@st.composite
def _full_conv_hparameters(draw, kernel):
    """Any spelling torch accepts: stride/dilation pairs, asymmetric pads, "same" / "valid"
    (inside the declared space: what it lacks is replaced, and counted, as drawn)."""
    space = active()
    dilation = draw(CONV_DILATIONS)
    dilation = space.even("conv", "uneven_dilation", dilation if space.feature("conv", "dilation", dilation != 1) else 1)
    form = space.pad_form(draw(_sampled(PAD_FORMS)))
    stride = 1 if form == "same" else space.even("conv", "uneven_stride", draw(CONV_STRIDES))  # "same" needs stride 1
    sides = st.integers(0, 2)
    pad = {
        "int": lambda: draw(sides),
        "pair": lambda: (draw(sides), draw(sides)),
        "per-side": lambda: ((draw(sides), draw(sides)), (draw(sides), draw(sides))),
        "same": lambda: "same",
        "valid": lambda: "valid",
    }[form]()
    hp = {"stride": stride, "pad": pad}
    spelled = draw(st.booleans(), label="dilation key given at 1")  # drawn always: shrinking dilation to 1 keeps later draws aligned
    if dilation != 1 or spelled:
        hp["dilation"] = dilation
    return hp


@cached
@st.composite
def conv_cases(draw, dtypes=DTYPES, kinds=VALUE_KINDS, layouts=LAYOUTS, max_batch=3, max_channels=3, api="tutorial", spread=6,
               bias_required=False):
    """Tutorial: square f, one int stride, one symmetric int pad. Full: rectangular kernels,
    groups (depthwise and channel multipliers), dilation, every pad spelling, no bias (unless
    bias_required). H and W are at most `spread` past the smallest the kernel fits. Inside the
    declared space (capabilities.active()): what it lacks is replaced, and counted, as drawn."""
    space = active()
    dtype = _declared_dtype(space, "conv", draw(_sampled(dtypes)), dtypes)
    m = draw(st.integers(1, max_batch))
    if api == "tutorial":
        groups = 1
        c_in, n_C = draw(st.integers(1, max_channels)), draw(st.integers(1, max_channels))
        kh = kw = draw(st.integers(1, 4))
        stride = draw(_int_or(1, 3, kh + 1))
        hp = {"stride": stride, "pad": draw(_int_or(0, 2, kh))}
    else:
        groups = draw(GROUPS)
        groups = groups if space.feature("conv", "groups", groups > 1) else 1
        c_in, n_C = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 2))
        kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
        hp = draw(_full_conv_hparameters((kh, kw)))
        spelled = draw(st.booleans(), label="groups key given at 1")  # drawn always, as above
        if groups > 1 or spelled:
            hp["groups"] = groups
    (dh, dw) = _pair(hp.get("dilation", 1))
    (top, bottom), (left, right) = conv_pads(hp, (kh, kw))
    H = draw(_extents(max(1, dh * (kh - 1) + 1 - top - bottom), spread))
    W_ = draw(_extents(max(1, dw * (kw - 1) + 1 - left - right), spread))
    A = draw(float_arrays((m, H, W_, c_in), dtype, kinds, layouts))
    W = draw(float_arrays((kh, kw, c_in // groups, n_C), dtype, kinds, layouts))
    no_bias = not bias_required and space.feature("conv", "no_bias", api == "full" and draw(st.integers(0, 4)) == 0)
    b = None if no_bias else draw(float_arrays((1, 1, 1, n_C), dtype, kinds, layouts))
    return ConvCase(A, W, b, draw(numpy_ints(hp)))


@cached
@st.composite
def _full_pool_hparameters(draw, mode, kernel):
    """Window pairs, stride None / pairs, padding up to half the window, dilation (max),
    ceil_mode, count_include_pad and divisor_override (average, negative too); inside the
    declared space (what it lacks is replaced, and counted, as drawn)."""
    space, op = active(), f"{mode}_pool"
    as_pair = draw(st.booleans(), label="square f as a pair")  # drawn always, as in the conv case
    hp = {"f": kernel if kernel[0] != kernel[1] or as_pair else kernel[0]}
    stride = draw(_pool_strides(kernel[0]))
    hp["stride"] = stride if stride is not None or space.feature(op, "stride_none", True) else kernel
    effective = kernel if hp["stride"] is None else hp["stride"]
    evened = space.even(op, "uneven_stride", effective)
    if evened is not effective:  # a window-sized stride of a rectangular window too
        hp["stride"] = evened
    pads = (draw(st.integers(0, kernel[0] // 2)), draw(st.integers(0, kernel[1] // 2)))
    pads = pads if space.feature(op, "pad", pads != (0, 0)) else (0, 0)
    pad_given = draw(st.booleans(), label="pad key given at 0")
    if pads != (0, 0) or pad_given:
        hp["pad"] = pads if pads[0] != pads[1] else pads[0]
    if mode == "max" and space.feature(op, "dilation", draw(st.booleans())):
        hp["dilation"] = draw(POOL_DILATIONS)
    ceil_mode = draw(CEIL_MODES, label="ceil_mode")  # None: key absent
    if ceil_mode is not None:
        hp["ceil_mode"] = space.feature(op, "ceil_mode", ceil_mode)
    if mode == "average":
        if draw(st.booleans()):
            count_include_pad = draw(st.booleans())
            hp["count_include_pad"] = not space.feature(op, "count_include_pad", not count_include_pad)
        if space.feature(op, "divisor_override", draw(st.integers(0, 3)) == 0):
            hp["divisor_override"] = draw(DIVISOR_OVERRIDES)
    return hp


@cached
@st.composite
def pool_cases(draw, modes=("max", "average"), dtypes=DTYPES, kinds=VALUE_KINDS, layouts=LAYOUTS, max_batch=3, max_channels=3,
               api="tutorial", spread=6):
    """Square windows and one stride (tutorial), or the full space (_full_pool_hparameters); H and
    W at most `spread` past the smallest the window fits."""
    space = active()
    mode = draw(_sampled(modes))
    if space.op_dtypes(f"{mode}_pool") is None:  # a mode it lacks: another of `modes`, if any
        unsupported(f"{mode}_pool")
        mode = next((m for m in modes if space.op_dtypes(f"{m}_pool") is not None), None)
        if mode is None:
            _skip_unsupported(f"{' or '.join(modes)} pooling")
    dtype = _declared_dtype(space, f"{mode}_pool", draw(_sampled(dtypes)), dtypes)
    m = draw(st.integers(1, max_batch))
    C = draw(st.integers(1, max_channels))
    if api == "tutorial":
        f = draw(st.integers(1, 4))
        hp = {"f": f, "stride": draw(_int_or(1, 3, f + 1))}
        lowest = (f, f)
    else:
        kernel = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
        hp = draw(_full_pool_hparameters(mode, kernel))
        (dh, dw), (ph, pw) = _pair(hp.get("dilation", 1)), _pair(hp.get("pad", 0))
        lowest = (max(1, dh * (kernel[0] - 1) + 1 - 2 * ph), max(1, dw * (kernel[1] - 1) + 1 - 2 * pw))
    H, W_ = draw(_extents(lowest[0], spread)), draw(_extents(lowest[1], spread))
    if api == "full" and hp.get("ceil_mode"):  # steer the last window to an edge of the ceil rule
        (sh, sw) = _pair(hp["stride"]) if hp["stride"] is not None else kernel
        edge = draw(CEIL_EDGES, label="ceil_mode last window")
        sizes = [
            [n for n in range(low, low + spread + 1) if edge == "any" or _ceil_last_window(n, d * (k - 1) + 1, s, p) == edge]
            for low, k, s, p, d in zip(lowest, kernel, (sh, sw), (ph, pw), (dh, dw))
        ]
        if edge != "any" and any(sizes):  # one axis at the edge is enough; the other stays as drawn
            axis = draw(st.sampled_from([a for a in (0, 1) if sizes[a]]), label="edge axis")
            n = draw(st.sampled_from(sizes[axis]), label="extent at the edge")
            H, W_ = (n, W_) if axis == 0 else (H, n)
    A = draw(float_arrays((m, H, W_, C), dtype, kinds, layouts))
    return PoolCase(A, draw(numpy_ints(hp)), mode)


def sees_only_padding(n: int, k: int, s: int, p: int, d: int, ceil: bool) -> list[int]:
    """Windows (output positions along one axis) whose taps o*s - p + j*d, j < k, all miss 0..n-1."""
    return [o for o in range(_extent(n, k, s, p, p, d, ceil)) if not any(0 <= o * s - p + j * d < n for j in range(k))]


# Every small axis geometry (kernel, dilation, pad <= kernel // 2, stride, extent) with a valid
# output, for ceil_mode off and on, simplest first; those with a window that sees only padding.
_AXES = sorted(
    ((k, d, p, s, n) for k in range(1, 4) for d in (1, 2, 3, 4) for p in range(k // 2 + 1) for s in (1, 2, 3) for n in range(1, 8)
     if n + 2 * p >= d * (k - 1) + 1),
    key=lambda g: (g[4] + g[0] + g[1], g),
)
AXIS_GEOMETRIES = {ceil: [g for g in _AXES if _extent(g[4], g[0], g[3], g[2], g[2], g[1], ceil) >= 1] for ceil in (False, True)}
PADDING_ONLY_AXES = {ceil: [g for g in AXIS_GEOMETRIES[ceil] if sees_only_padding(g[4], g[0], g[3], g[2], g[1], ceil)] for ceil in (False, True)}


@cached
@st.composite
def padding_only_pool_cases(draw, dtypes=DTYPES, kinds=VALUE_KINDS, layouts=LAYOUTS, max_batch=2, max_channels=2, **_):
    """Max pooling (full space) where some dilated window sees only padding along one axis or
    both: torch's forward gives -inf there, and the contract says no gradient flows from it."""
    ceil = active().feature("max_pool", "ceil_mode", draw(st.booleans(), label="ceil_mode"))
    axis = draw(AXES, label="axis with a padding-only window")
    geometries = [draw(st.sampled_from(AXIS_GEOMETRIES[ceil])) for _ in range(2)]
    geometries[axis] = draw(st.sampled_from(PADDING_ONLY_AXES[ceil]), label="padding-only axis geometry")
    (kh, dh, ph, sh, H), (kw, dw, pw, sw, W_) = geometries
    hp = {"f": (kh, kw), "stride": (sh, sw), "pad": (ph, pw), "dilation": (dh, dw), "ceil_mode": ceil}
    m, C = draw(st.integers(1, max_batch)), draw(st.integers(1, max_channels))
    A = draw(float_arrays((m, H, W_, C), _declared_dtype(active(), "max_pool", draw(_sampled(dtypes)), dtypes), kinds, layouts))
    return PoolCase(A, draw(numpy_ints(hp)), "max")


def padding_only_outputs(case: PoolCase) -> np.ndarray:
    """(n_H, n_W) bool: the output positions whose window sees only padding."""
    hp = case.hparameters
    (kh, kw), (ph, pw), (dh, dw) = _pair(hp["f"]), _pair(hp.get("pad", 0)), _pair(hp.get("dilation", 1))
    (sh, sw) = (kh, kw) if hp["stride"] is None else _pair(hp["stride"])
    ceil = bool(hp.get("ceil_mode", False))
    _, H, W_, _ = case.A_prev.shape
    _, n_H, n_W, _ = pool_output_shape(case)
    rows = np.zeros(n_H, dtype=bool)
    cols = np.zeros(n_W, dtype=bool)
    rows[sees_only_padding(H, kh, sh, ph, dh, ceil)] = True
    cols[sees_only_padding(W_, kw, sw, pw, dw, ceil)] = True
    return rows[:, None] | cols[None, :]


INT_WINDOW_DTYPES = tuple(np.dtype(t) for t in (np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64))
EXACT_IN_FLOAT64 = 2**53  # integer windows stay within this: torch (the mask's oracle) compares in float64


@st.composite
def _int_windows(draw, shape, dtype):
    """Integer values near zero (ties), or near either end of the dtype's range capped at
    +-2**53 -- there, distinct neighbours that float32 (or float64, past 2**53) would merge."""
    info = np.iinfo(dtype)
    lo, hi = max(int(info.min), -EXACT_IN_FLOAT64), min(int(info.max), EXACT_IN_FLOAT64)
    near = draw(INT_WINDOW_NEAR, label="integer window values near")
    offsets = st.integers(0, 3)
    elements = {
        "zero": st.integers(max(lo, -3), min(hi, 3)),
        "top": offsets.map(lambda k: hi - k),
        "bottom": offsets.map(lambda k: lo + k),
    }[near]
    return draw(hnp.arrays(dtype, shape, elements=elements))


@cached
@st.composite
def windows(draw, kinds=VALUE_KINDS):
    """A 2-D window for create_mask_from_window, float or integer; small integers make ties likely."""
    shape = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    if not draw(st.booleans(), label="integer window"):
        return draw(float_arrays(shape, draw(_sampled(DTYPES)), kinds))
    dtype = draw(_sampled(INT_WINDOW_DTYPES), label="integer dtype")
    return with_layout(draw(_int_windows(shape, dtype)), draw(_sampled(LAYOUTS)))


def gradients_for(shape, dtype, specials=False):
    """An upstream gradient (dZ or dA) of the given shape: Gaussian or small integers, and with
    specials also NaN / +-inf (their propagation through the backward is checked)."""
    kinds = ("small_ints", "gaussian") + (("specials", "special_block") if specials else ())
    return float_arrays(shape, dtype, kinds=kinds, layouts=LAYOUTS)


# ---- NumPy integers as hyperparameters -------------------------------------------------------

INT_TYPES = (np.int64, np.int32, np.intp)


@st.composite
def numpy_ints(draw, hparameters: dict) -> dict:
    """The same hyperparameters, sometimes with their integers (also inside pairs) as NumPy
    integers: valid by the contract, and what code computing sizes with NumPy passes on."""
    if not draw(st.booleans(), label="hyperparameters as NumPy integers"):
        return hparameters
    kind = draw(_sampled(INT_TYPES), label="NumPy integer type")

    def convert(v):
        if isinstance(v, tuple):
            return tuple(convert(x) for x in v)
        return kind(v) if isinstance(v, int) and not isinstance(v, bool) else v

    return {k: convert(v) for k, v in hparameters.items()}


# ---- identical copies of inputs --------------------------------------------------------------


def _array_replica(x: np.ndarray) -> np.ndarray:
    """A copy with the same dtype, shape, strides and writeable flag (a view stays a view)."""
    if any(s < 0 for s in x.strides) or x.size == 0:
        y = np.array(x, order="K", copy=True)
    else:
        span = sum((n - 1) * s for n, s in zip(x.shape, x.strides)) // x.itemsize + 1
        y = np.lib.stride_tricks.as_strided(np.zeros(span, dtype=x.dtype), x.shape, x.strides)
        y[...] = x
    if not x.flags.writeable:
        y.flags.writeable = False
    return y


def replica(value):
    """`value` (arrays, cases, samples, containers) with every array replaced by an identical copy."""
    if isinstance(value, np.ndarray):
        return _array_replica(value)
    if isinstance(value, (list, tuple)) and type(value) in (list, tuple):
        return type(value)(replica(v) for v in value)
    if isinstance(value, dict):
        return {k: replica(v) for k, v in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.replace(value, **{f.name: replica(getattr(value, f.name)) for f in dataclasses.fields(value) if f.init})
    return value


SCRIBBLE = 0xA5  # bytes 0xA5...: a finite float32 and float64 value, unlike what a first call left


def scribble_allocator(sizes, impl=None) -> None:
    """Fill the allocator's free memory of these byte sizes with a pattern (repro_template.scribble):
    in the isolated implementation's worker, whose allocator its next call uses, or here."""
    if impl is not None and impl.worker is not None:
        impl.worker.scribble(sizes, SCRIBBLE)
    else:
        scribble(sizes, SCRIBBLE)
