"""Hypothesis strategies: layer configurations, arrays, and invalid inputs.

Shapes and hyperparameters are drawn by Hypothesis (they shrink towards batch 1, one channel,
small sizes). Array values come in a few kinds, the simplest first so that shrinking ends
there: small integers (ties, exact arithmetic), Gaussian noise from a drawn seed (cheap in
bulk), and well-separated distinct values (max-pool finite differences). Layouts vary too:
contiguous, non-contiguous views, Fortran order and read-only arrays.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from convcheck.repro_template import LAYOUTS, with_layout  # replays restore the same layouts

DTYPES = (np.dtype(np.float64), np.dtype(np.float32))
VALUE_KINDS = ("small_ints", "gaussian", "distinct")
SPECIAL_KINDS = VALUE_KINDS + ("specials",)  # also NaN / +inf / -inf, for propagation checks
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
        return np.result_type(self.A_prev, self.W, self.b)

    def __repr__(self) -> str:
        return f"ConvCase(hparameters={self.hparameters}, A_prev={show(self.A_prev)}, W={show(self.W)}, b={show(self.b)})"


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


def conv_output_shape(case: ConvCase) -> tuple[int, int, int, int]:
    m, H, W, _ = case.A_prev.shape
    kh, kw, _, n_C = case.W.shape
    s, p = case.stride, case.pad
    return (m, (H + 2 * p - kh) // s + 1, (W + 2 * p - kw) // s + 1, n_C)


def pool_output_shape(case: PoolCase) -> tuple[int, int, int, int]:
    m, H, W, C = case.A_prev.shape
    return (m, (H - case.f) // case.stride + 1, (W - case.f) // case.stride + 1, C)


# Strategies are built once per distinct argument tuple and reused: building one (and Hypothesis
# validating it) costs more than drawing from it, and shape-dependent ones recur constantly.
cached = functools.lru_cache(maxsize=None)
SEEDS = st.integers(0, 2**32 - 1)
SCALES = st.sampled_from([1.0, 1e-3, 1e3])
SPECIAL_VALUES = st.sampled_from([np.nan, np.inf, -np.inf])


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
    kind = draw(st.sampled_from(kinds))
    size = int(np.prod(shape))
    if kind == "small_ints":
        x = draw(_small_int_arrays(shape))
    else:
        rng = np.random.default_rng(draw(SEEDS))
        if kind == "distinct":  # values at least 0.5 apart: no two elements anywhere are near a tie
            x = (rng.permutation(size) + rng.uniform(-0.25, 0.25, size)).reshape(shape) - size / 2
        else:
            x = rng.standard_normal(shape) * draw(SCALES)
        if kind == "specials":
            for _ in range(draw(st.integers(1, 3))):
                x[tuple(draw(_indices(n)) for n in shape)] = draw(SPECIAL_VALUES)
    x = x.astype(dtype)
    return with_layout(x, draw(st.sampled_from(layouts)))


@cached
def float_arrays(shape, dtype, kinds=VALUE_KINDS, layouts=LAYOUTS):
    """An array of the given shape and dtype; its value kind and layout are drawn too."""
    return _float_arrays(tuple(shape), np.dtype(dtype), tuple(kinds), tuple(layouts))


@cached
def _extents(lowest):
    return st.integers(lowest, lowest + 6) | st.just(lowest)


def _spatial(draw, kernel_min_extent: int, pad: int) -> int:
    """An input extent n with n + 2*pad >= kernel; n = kernel - 2*pad (the window fills the padded input) is an edge."""
    return draw(_extents(max(1, kernel_min_extent - 2 * pad)))


@st.composite
def conv_cases(draw, dtypes=DTYPES, kinds=VALUE_KINDS, layouts=LAYOUTS, max_batch=3, max_channels=3):
    dtype = draw(st.sampled_from(dtypes))
    m = draw(st.integers(1, max_batch))
    c_in = draw(st.integers(1, max_channels))
    n_C = draw(st.integers(1, max_channels))
    f = draw(st.integers(1, 4))
    stride = draw(st.integers(1, 3) | st.just(f + 1))
    pad = draw(st.integers(0, 2) | st.just(f))
    H = _spatial(draw, f, pad)
    W_ = _spatial(draw, f, pad)
    A = draw(float_arrays((m, H, W_, c_in), dtype, kinds, layouts))
    W = draw(float_arrays((f, f, c_in, n_C), dtype, kinds, layouts))
    b = draw(float_arrays((1, 1, 1, n_C), dtype, kinds, layouts))
    return ConvCase(A, W, b, {"stride": stride, "pad": pad})


@st.composite
def pool_cases(draw, modes=("max", "average"), dtypes=DTYPES, kinds=VALUE_KINDS, layouts=LAYOUTS, max_batch=3, max_channels=3):
    mode = draw(st.sampled_from(modes))
    dtype = draw(st.sampled_from(dtypes))
    m = draw(st.integers(1, max_batch))
    C = draw(st.integers(1, max_channels))
    f = draw(st.integers(1, 4))
    stride = draw(st.integers(1, 3) | st.just(f + 1))
    H = _spatial(draw, f, 0)
    W_ = _spatial(draw, f, 0)
    A = draw(float_arrays((m, H, W_, C), dtype, kinds, layouts))
    return PoolCase(A, {"f": f, "stride": stride}, mode)


@st.composite
def windows(draw, kinds=VALUE_KINDS):
    """A 2-D window for create_mask_from_window; small integers make ties likely."""
    shape = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    return draw(float_arrays(shape, draw(st.sampled_from(DTYPES)), kinds))


def gradients_for(shape, dtype):
    """An upstream gradient (dZ or dA) of the given shape: Gaussian or small integers."""
    return float_arrays(shape, dtype, kinds=("small_ints", "gaussian"), layouts=LAYOUTS)
