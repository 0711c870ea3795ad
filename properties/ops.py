"""The op table: each checked seed function described once, as data.

An `OpSpec` says which functions a check needs, how to draw its inputs, how to call the
implementation, and which oracles (torch routes) give the expected outputs with their
tolerances. Generic tests in test_*.py loop over the table, so checking one more function is
one more entry here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
from hypothesis import strategies as st

from . import strategies as S
from .asserts import CheckFailure, call

try:  # the oracle needs torch; without it, only torch-free checks run
    from convcheck.oracle import torch_ops as T
except ImportError:  # pragma: no cover - exercised by the torch-free tox envs
    T = None

from convcheck.oracle.tolerances import tolerance

Outputs = dict  # output name -> array
Expected = dict  # output name -> (expected array, tolerance array)


@dataclass(frozen=True, repr=False)
class Sample(S.ShownByRepr):
    """One drawn input of an op: the case plus any extra arrays (upstream gradients)."""

    case: Any
    extra: dict = field(default_factory=dict)

    def __repr__(self) -> str:
        extras = ", ".join(f"{k}={S.show(v) if isinstance(v, np.ndarray) else v!r}" for k, v in self.extra.items())
        return f"{self.case!r}" + (f" with {extras}" if extras else "")


@dataclass(frozen=True, repr=False)
class OpSpec(S.ShownByRepr):
    name: str  # test id
    function: str  # the seed function whose results are checked
    requires: tuple  # every implementation function the check calls
    samples: Callable[..., st.SearchStrategy]  # **strategy kwargs -> strategy of Sample
    run: Callable[[Any, Sample], Outputs]  # implementation, sample -> named outputs
    oracles: dict  # oracle name -> (sample -> Expected)
    dtype: Callable[[Sample], Any]  # expected dtype of every output
    specials: bool = False  # NaN/inf inputs are meaningful (propagation is checked)

    def __repr__(self) -> str:
        return f"<op {self.name}>"


# ---- samples -------------------------------------------------------------------------------


@st.composite
def _pad_samples(draw, **kw):
    dtype = draw(st.sampled_from(kw.get("dtypes", S.DTYPES)))
    shape = tuple(draw(st.integers(1, n)) for n in (2, 4, 4, 2))
    X = draw(S.float_arrays(shape, dtype, kw.get("kinds", S.VALUE_KINDS), kw.get("layouts", S.LAYOUTS)))
    return Sample(X, {"pad": draw(st.integers(0, 3))})


@st.composite
def _single_step_samples(draw, **kw):
    dtype = draw(st.sampled_from(kw.get("dtypes", S.DTYPES)))
    f, C = draw(st.integers(1, 4)), draw(st.integers(1, 3))
    kinds, layouts = kw.get("kinds", S.VALUE_KINDS), kw.get("layouts", S.LAYOUTS)
    a = draw(S.float_arrays((f, f, C), dtype, kinds, layouts))
    W = draw(S.float_arrays((f, f, C), dtype, kinds, layouts))
    b = draw(S.float_arrays((1, 1, 1), dtype, kinds, layouts))
    return Sample((a, W, b))


def _conv_samples(with_gradient):
    @st.composite
    def samples(draw, **kw):
        case = draw(S.conv_cases(**kw))
        if not with_gradient:
            return Sample(case)
        return Sample(case, {"dZ": draw(S.gradients_for(S.conv_output_shape(case), case.dtype))})

    return samples


def _pool_samples(mode, with_gradient):
    @st.composite
    def samples(draw, **kw):
        case = draw(S.pool_cases(modes=(mode,), **kw))
        if not with_gradient:
            return Sample(case)
        return Sample(case, {"dA": draw(S.gradients_for(S.pool_output_shape(case), case.A_prev.dtype))})

    return samples


@st.composite
def _window_samples(draw, **kw):
    return Sample(draw(S.windows(kw.get("kinds", S.VALUE_KINDS))))


@st.composite
def _distribute_samples(draw, **kw):
    dz = draw(st.one_of(st.integers(-5, 5), st.floats(-1e6, 1e6, allow_nan=False), st.floats(-1e6, 1e6).map(np.float32)))
    return Sample(dz, {"shape": (draw(st.integers(1, 5)), draw(st.integers(1, 5)))})


# ---- oracles (torch, float64) --------------------------------------------------------------


def _abs(x):
    return None if x is None else np.abs(x)


def _conv_terms(c) -> int:
    kh, kw, c_in_per_group, _ = c.W.shape
    return kh * kw * c_in_per_group + 1


def _conv_forward_oracle(s: Sample) -> Expected:
    c = s.case
    Z = T.conv_forward(c.A_prev, c.W, c.b, **c.hparameters)
    M = T.conv_forward(np.abs(c.A_prev), np.abs(c.W), _abs(c.b), **c.hparameters)
    return {"Z": (Z, tolerance(M, _conv_terms(c), c.dtype))}


def _conv_backward_expected(s: Sample, dA, dW, db) -> Expected:
    """Tolerances from the same backward on |A|, |W|, |dZ|; db only where there is a bias."""
    c, dZ = s.case, s.extra["dZ"]
    M_dA, M_dW, M_db = T.conv_backward(np.abs(dZ), np.abs(c.A_prev), np.abs(c.W), _abs(c.b), **c.hparameters)
    kh, kw, _, n_C = c.W.shape
    dtype = np.result_type(c.dtype, dZ)
    positions = int(np.prod(dZ.shape[:3]))
    expected = {"dA_prev": (dA, tolerance(M_dA, kh * kw * n_C, dtype)), "dW": (dW, tolerance(M_dW, positions, dtype))}
    if c.b is not None:
        expected["db"] = (db, tolerance(M_db, positions, dtype))
    return expected


def _conv_backward_autograd(s: Sample) -> Expected:
    c = s.case
    return _conv_backward_expected(s, *T.conv_backward(s.extra["dZ"], c.A_prev, c.W, c.b, **c.hparameters))


def _conv_backward_closed_form(s: Sample) -> Expected:
    """torch.nn.grad.conv2d_input / conv2d_weight, and db as the plain sum of dZ."""
    c, dZ = s.case, s.extra["dZ"]
    dA, dW = T.conv_backward_direct(dZ, c.A_prev, c.W, **c.hparameters)
    return _conv_backward_expected(s, dA, dW, dZ.astype(np.float64).sum(axis=(0, 1, 2)).reshape(1, 1, 1, -1))


def _pool_terms(c) -> int:
    """Sums in a pooling result or gradient: at most one term per kernel tap (+1 for the division)."""
    fh, fw = S._pair(c.hparameters["f"])
    return fh * fw + (c.mode == "average")


def _pool_forward_oracle(s: Sample) -> Expected:
    c = s.case
    A = T.pool_forward(c.A_prev, mode=c.mode, **c.hparameters)
    n = 0 if c.mode == "max" else _pool_terms(c)  # max selects: exact
    M = np.abs(T.pool_forward(np.abs(c.A_prev), mode=c.mode, **c.hparameters))
    return {"A": (A, tolerance(M, n, c.A_prev.dtype))}


def _avg_pool_depthwise_conv(s: Sample) -> Expected | None:
    """Only where no padding element is left out of a divisor: no ceil_mode overhang, and padding
    counted (or none)."""
    c, hp = s.case, s.case.hparameters
    if hp.get("ceil_mode") or (not hp.get("count_include_pad", True) and hp.get("pad", 0) not in (0, (0, 0))):
        return None
    route = {k: hp[k] for k in ("f", "stride", "pad", "divisor_override") if k in hp}
    A = T.avg_pool_as_conv(c.A_prev, **route)
    M = np.abs(T.avg_pool_as_conv(np.abs(c.A_prev), **route))
    return {"A": (A, tolerance(M, _pool_terms(c), c.A_prev.dtype))}


@dataclass(frozen=True)
class OracleDefect:
    """A known defect of an oracle route, as data: where its answer must not be used."""

    route: str
    applies: Callable  # sample -> bool, decided from the sample alone
    reason: str
    minimal_case: str


ORACLE_DEFECTS = [
    OracleDefect(
        route="pool_backward[max]-autograd",
        applies=lambda s: T.max_pool_backward_unreliable(s.case.A_prev.shape, s.case.hparameters),
        reason="torch 2.13's CPU max_pool2d backward follows bogus indices where a dilated window sees "
        "only padding: out of range it corrupts the heap, in range it puts gradient on real elements",
        minimal_case="A_prev (1, 1, 8, 1), f 2, stride 1, pad 1, dilation 2 (columns -1 and +1 only)",
    ),
]


def oracle_unusable(route: str, sample: Sample) -> bool:
    return any(d.route == route and d.applies(sample) for d in ORACLE_DEFECTS)


def _pool_backward_oracle(s: Sample) -> Expected:
    c, dA = s.case, s.extra["dA"]
    grad = T.pool_backward(dA, c.A_prev, mode=c.mode, **c.hparameters)
    M = np.abs(T.pool_backward(np.abs(dA), c.A_prev, mode=c.mode, **c.hparameters))
    return {"dA_prev": (grad, tolerance(M, _pool_terms(c), np.result_type(c.A_prev, dA)))}


def _pad_oracle(s: Sample) -> Expected:
    X = s.case
    padded = T.zero_pad(X, s.extra["pad"])
    return {"X_pad": (padded, np.zeros(padded.shape))}


def _single_step_oracle(s: Sample) -> Expected:
    a, W, b = s.case
    n = a.size + 1
    Z = np.array(T.single_step(a, W, b))
    M = np.array(T.single_step(np.abs(a), np.abs(W), np.abs(b)))
    return {"Z": (Z, tolerance(M, n, np.result_type(a, W, b)))}


def _mask_oracle(s: Sample) -> Expected:
    x = s.case
    index = int(T.max_pool_indices(x[None, :, :, None], x.shape, 1).ravel()[0])
    mask = np.zeros(x.size, dtype=bool)
    mask[index] = True
    return {"mask": (mask.reshape(x.shape), np.zeros(x.shape))}


def _distribute_oracle(s: Sample) -> Expected:
    """The gradient of average pooling over one window of the given shape, for upstream dz."""
    shape = s.extra["shape"]
    dz = np.full((1, 1, 1, 1), float(s.case))
    a = T.pool_backward(dz, np.zeros((1, *shape, 1)), shape, 1, "average")[0, :, :, 0]
    return {"a": (a, tolerance(np.abs(a), 1, distribute_dtype(s.case)))}


def distribute_dtype(dz) -> np.dtype:
    return dz.dtype if isinstance(dz, np.floating) and dz.dtype in S.DTYPES else np.dtype(np.float64)


# ---- the table -----------------------------------------------------------------------------


def _run_conv_backward(impl, s: Sample) -> Outputs:
    c = s.case
    out = call(impl.conv_backward, "conv_backward", s.extra["dZ"], (c.A_prev, c.W, c.b, c.hparameters))
    if not (isinstance(out, tuple) and len(out) == 3):
        raise CheckFailure("shape", f"conv_backward must return (dA_prev, dW, db), got {type(out).__name__}")
    if c.b is None and out[2] is not None:
        raise CheckFailure("shape", f"conv_backward must return db=None when b is None, got {type(out[2]).__name__}")
    return dict(zip(("dA_prev", "dW", "db"), out))


OPS = [
    OpSpec(
        name="zero_pad",
        function="zero_pad",
        requires=("zero_pad",),
        samples=_pad_samples,
        run=lambda impl, s: {"X_pad": call(impl.zero_pad, "zero_pad", s.case, s.extra["pad"])},
        oracles={"F.pad": _pad_oracle},
        dtype=lambda s: s.case.dtype,
        specials=True,
    ),
    OpSpec(
        name="conv_single_step",
        function="conv_single_step",
        requires=("conv_single_step",),
        samples=_single_step_samples,
        run=lambda impl, s: {"Z": call(impl.conv_single_step, "conv_single_step", *s.case)},
        oracles={"torch.sum": _single_step_oracle},
        dtype=lambda s: np.result_type(*s.case),
        specials=True,
    ),
    OpSpec(
        name="conv_forward",
        function="conv_forward",
        requires=("conv_forward",),
        samples=_conv_samples(with_gradient=False),
        run=lambda impl, s: {
            "Z": call(impl.conv_forward, "conv_forward", s.case.A_prev, s.case.W, s.case.b, s.case.hparameters)[0]
        },
        oracles={"F.conv2d": _conv_forward_oracle},
        dtype=lambda s: s.case.dtype,
        specials=True,
    ),
    OpSpec(
        name="conv_backward",
        function="conv_backward",
        requires=("conv_backward",),
        samples=_conv_samples(with_gradient=True),
        run=_run_conv_backward,
        oracles={"autograd": _conv_backward_autograd, "torch.nn.grad": _conv_backward_closed_form},
        dtype=lambda s: np.result_type(s.case.dtype, s.extra["dZ"]),
    ),
    *[
        OpSpec(
            name=f"pool_forward[{mode}]",
            function="pool_forward",
            requires=("pool_forward",),
            samples=_pool_samples(mode, with_gradient=False),
            run=lambda impl, s: {"A": call(impl.pool_forward, "pool_forward", s.case.A_prev, s.case.hparameters, s.case.mode)[0]},
            oracles={"F.max_pool2d": _pool_forward_oracle}
            if mode == "max"
            else {"F.avg_pool2d": _pool_forward_oracle, "depthwise conv": _avg_pool_depthwise_conv},
            dtype=lambda s: s.case.A_prev.dtype,
            specials=True,
        )
        for mode in ("max", "average")
    ],
    *[
        OpSpec(
            name=f"pool_backward[{mode}]",
            function="pool_backward",
            requires=("pool_backward",),
            samples=_pool_samples(mode, with_gradient=True),
            run=lambda impl, s: {
                "dA_prev": call(impl.pool_backward, "pool_backward", s.extra["dA"], (s.case.A_prev, s.case.hparameters), s.case.mode)
            },
            oracles={"autograd": _pool_backward_oracle},
            dtype=lambda s: np.result_type(s.case.A_prev, s.extra["dA"]),
            specials=True,
        )
        for mode in ("max", "average")
    ],
    OpSpec(
        name="create_mask_from_window",
        function="create_mask_from_window",
        requires=("create_mask_from_window",),
        samples=_window_samples,
        run=lambda impl, s: {"mask": call(impl.create_mask_from_window, "create_mask_from_window", s.case)},
        oracles={"max_pool2d indices": _mask_oracle},
        dtype=lambda s: np.dtype(bool),
        specials=True,
    ),
    OpSpec(
        name="distribute_value",
        function="distribute_value",
        requires=("distribute_value",),
        samples=_distribute_samples,
        run=lambda impl, s: {"a": call(impl.distribute_value, "distribute_value", s.case, s.extra["shape"])},
        oracles={"avg_pool2d gradient": _distribute_oracle},
        dtype=lambda s: distribute_dtype(s.case),
    ),
]

OPS_BY_NAME = {op.name: op for op in OPS}
