"""The op table: each checked seed function described once, as data.

An `OpSpec` says which functions a check needs, how to draw its inputs, how to call the
implementation, and which oracles (torch routes) give the expected outputs with their
tolerances. Generic tests in test_*.py loop over the table, so checking one more function is
one more entry here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, NamedTuple

import numpy as np
from hypothesis import event
from hypothesis import strategies as st

from . import results
from . import strategies as S
from .asserts import call

try:  # the oracle needs torch; without it, only torch-free checks run
    from convcheck.oracle import torch_ops as T
except ImportError:  # pragma: no cover - exercised by the torch-free tox envs
    T = None


Outputs = dict  # output name -> array


class Want(NamedTuple):
    """An oracle's answer for one output: the value, and what its tolerance is made of (the
    magnitude of the computation and the number of terms summed; 0 terms: exact)."""

    value: np.ndarray
    magnitude: Any
    terms: int


Expected = dict  # output name -> Want


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
    args: Callable[[Sample], tuple]  # the arguments of the call
    oracles: dict  # oracle name -> (sample -> Expected, or None where the route does not apply)
    specials: bool = False  # NaN/inf inputs are meaningful (propagation is checked)
    full_only: bool = False  # its samples exist only in torch's full hyperparameter space (--api full)
    needs: tuple = ()  # (op, feature or None) of capabilities.Space the whole check needs
    # (helper, compose(call, sample) -> the op's output built from the implementation's helper or
    # None, the helper's output name): a wrong result that is exactly this composition is the
    # helper's finding, not a second one
    composed_of: tuple | None = None

    def declared(self, sample: Sample):
        return results.expected(self.function, self.args(sample))

    def dtype(self, sample: Sample) -> np.dtype:
        """The dtype every output must have."""
        return results.result_dtype_of(self.declared(sample))

    def run(self, impl, sample: Sample) -> Outputs:
        """Call the implementation; its validated outputs by name (the cache left out)."""
        return self.named(sample, call(getattr(impl, self.function), self.function, *self.args(sample)))

    def named(self, sample: Sample, result) -> Outputs:
        return results.named(self.declared(sample), result)

    def __repr__(self) -> str:
        return f"<op {self.name}>"


# ---- samples -------------------------------------------------------------------------------


@S.cached
@st.composite
def _pad_samples(draw, **kw):
    dtype = draw(S._sampled(tuple(kw.get("dtypes", S.DTYPES))))
    shape = tuple(draw(st.integers(1, n)) for n in (2, 4, 4, 2))
    X = draw(S.float_arrays(shape, dtype, kw.get("kinds", S.VALUE_KINDS), kw.get("layouts", S.LAYOUTS)))
    return Sample(X, {"pad": draw(st.integers(0, 3))})


@S.cached
@st.composite
def _single_step_samples(draw, **kw):
    dtype = draw(S._sampled(tuple(kw.get("dtypes", S.DTYPES))))
    f, C = draw(st.integers(1, 4)), draw(st.integers(1, 3))
    kinds, layouts = kw.get("kinds", S.VALUE_KINDS), kw.get("layouts", S.LAYOUTS)
    a = draw(S.float_arrays((f, f, C), dtype, kinds, layouts))
    W = draw(S.float_arrays((f, f, C), dtype, kinds, layouts))
    b = draw(S.float_arrays((1, 1, 1), dtype, kinds, layouts))
    return Sample((a, W, b))


def _conv_samples(with_gradient):
    @S.cached
    @st.composite
    def samples(draw, **kw):
        case = draw(S.conv_cases(**kw))
        if not with_gradient:
            return Sample(case)
        return Sample(case, {"dZ": draw(S.gradients_for(S.conv_output_shape(case), case.dtype, "specials" in kw.get("kinds", ())))})

    return samples


# dilated max windows over padding: what a space must have for them to exist
PADDING_ONLY_NEEDS = (("max_pool", "pad"), ("max_pool", "dilation"))


def _pool_samples(mode, with_gradient, padding_only=False):
    @S.cached
    @st.composite
    def samples(draw, **kw):
        case = draw(S.padding_only_pool_cases(**kw) if padding_only else S.pool_cases(modes=(mode,), **kw))
        if not with_gradient:
            return Sample(case)
        return Sample(case, {"dA": draw(S.gradients_for(S.pool_output_shape(case), case.A_prev.dtype, "specials" in kw.get("kinds", ())))})

    return samples


@S.cached
@st.composite
def _window_samples(draw, **kw):
    return Sample(draw(S.windows(kw.get("kinds", S.VALUE_KINDS))))


@S.cached
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


def _conv_backward_terms(s: Sample) -> dict:
    """Terms summed per gradient element: dA_prev over taps and output channels, dW and db over
    output positions."""
    kh, kw, _, n_C = s.case.W.shape
    positions = int(np.prod(s.extra["dZ"].shape[:3]))
    return {"dA_prev": kh * kw * n_C, "dW": positions, "db": positions}


def _conv_forward_oracle(s: Sample) -> Expected:
    c = s.case
    Z = T.conv_forward(c.A_prev, c.W, c.b, **c.hparameters)
    M = T.conv_forward(np.abs(c.A_prev), np.abs(c.W), _abs(c.b), **c.hparameters)
    return {"Z": Want(Z, M, _conv_terms(c))}


def _conv_backward_expected(s: Sample, dA, dW, db) -> Expected:
    """Magnitudes from the same backward on |A|, |W|, |dZ|; db only where there is a bias."""
    c, dZ = s.case, s.extra["dZ"]
    M_dA, M_dW, M_db = T.conv_backward(np.abs(dZ), np.abs(c.A_prev), np.abs(c.W), _abs(c.b), **c.hparameters)
    terms = _conv_backward_terms(s)
    expected = {"dA_prev": Want(dA, M_dA, terms["dA_prev"]), "dW": Want(dW, M_dW, terms["dW"])}
    if c.b is not None:
        expected["db"] = Want(db, M_db, terms["db"])
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
    return {"A": Want(A, M, n)}


def _avg_pool_depthwise_conv(s: Sample) -> Expected | None:
    """Only where no padding element is left out of a divisor: no ceil_mode overhang, and padding
    counted (or none)."""
    c, hp = s.case, s.case.hparameters
    if hp.get("ceil_mode") or (not hp.get("count_include_pad", True) and any(S._pair(hp.get("pad", 0)))):
        return None
    route = {k: hp[k] for k in ("f", "stride", "pad", "divisor_override") if k in hp}
    A = T.avg_pool_as_conv(c.A_prev, **route)
    M = np.abs(T.avg_pool_as_conv(np.abs(c.A_prev), **route))
    return {"A": Want(A, M, _pool_terms(c))}


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


def first_oracle(op: "OpSpec", sample: Sample):
    """(route name, Expected) of the first of the op's torch routes that serves this sample (no
    known defect there, and the route applies), or None."""
    for name, route in op.oracles.items():
        if name not in SECOND_ENGINES and route_abstains(f"{op.name}-{name}", sample) is None:
            expected = route(sample)
            if expected is not None:
                return name, expected
    return None


def _tutorial_pool_backward(per_window):
    """pool_backward as the tutorial composes it: window by window (square f, one stride, no
    padding), the dA of each window spread by a helper of the implementation -- per_window(call,
    window of A_prev, its dA) gives the calls' arguments, and turns the answers into the window's
    share. None outside the tutorial's space."""

    def compose(call, sample):
        case, dA = sample.case, sample.extra["dA"]
        hp = case.hparameters
        if set(hp) - {"f", "stride"} or not all(isinstance(hp[k], (int, np.integer)) for k in hp):
            return None
        f, stride = int(hp["f"]), int(hp["stride"])
        spots = list(np.ndindex(dA.shape))
        windows = [np.ascontiguousarray(case.A_prev[i, h * stride:h * stride + f, w * stride:w * stride + f, c]) for i, h, w, c in spots]
        answers = call([per_window[0](window, dA[spot], f) for window, spot in zip(windows, spots)])
        out = np.zeros(case.A_prev.shape)
        for (i, h, w, c), answer in zip(spots, answers):
            out[i, h * stride:h * stride + f, w * stride:w * stride + f, c] += per_window[1](answer, dA[i, h, w, c])
        return out

    return compose


POOL_BACKWARD_HELPERS = {
    "max": ("create_mask_from_window", _tutorial_pool_backward((lambda window, dz, f: (window,), lambda mask, dz: mask * np.float64(dz))), "mask"),
    "average": ("distribute_value", _tutorial_pool_backward((lambda window, dz, f: (dz, (f, f)), lambda share, dz: share)), "a"),
}


def _pool_backward_oracle(s: Sample) -> Expected:
    c, dA = s.case, s.extra["dA"]
    grad = T.pool_backward(dA, c.A_prev, mode=c.mode, **c.hparameters)
    M = np.abs(T.pool_backward(np.abs(dA), c.A_prev, mode=c.mode, **c.hparameters))
    return {"dA_prev": Want(grad, M, _pool_terms(c))}


def _max_pool_backward_explicit_padding(s: Sample) -> Expected | None:
    """The route for the region torch's autograd route cannot serve (ORACLE_DEFECTS): the -inf
    padding made explicit, so every window holds an element and torch's indices are valid; a
    window that sees only padding picks a padding element, whose gradient is cropped away -- no
    gradient flows from it, as the contract says. Only where no window's real elements are all
    -inf beside padding (there torch would pick padding, the contract the first real element)."""
    c, dA = s.case, s.extra["dA"]
    if not T.max_pool_backward_unreliable(c.A_prev.shape, c.hparameters) or np.isneginf(c.A_prev).any():
        return None
    hp = {k: v for k, v in c.hparameters.items() if k in ("f", "stride", "pad", "dilation", "ceil_mode")}
    grad = T.max_pool_backward_padded_explicitly(dA, c.A_prev, **hp)
    M = np.abs(T.max_pool_backward_padded_explicitly(np.abs(dA), c.A_prev, **hp))
    return {"dA_prev": Want(grad, M, _pool_terms(c))}


def _pad_oracle(s: Sample) -> Expected:
    padded = T.zero_pad(s.case, s.extra["pad"])
    return {"X_pad": Want(padded, None, 0)}


def _single_step_oracle(s: Sample) -> Expected:
    a, W, b = s.case
    Z = np.array(T.single_step(a, W, b))
    M = np.array(T.single_step(np.abs(a), np.abs(W), np.abs(b)))
    return {"Z": Want(Z, M, a.size + 1)}


def _mask_oracle(s: Sample) -> Expected:
    """torch's pick over the window as float64 (exact for integers up to 2**53, which is all the
    strategies draw: torch has no integer max pooling)."""
    x = s.case
    index = int(T.max_pool_indices(x.astype(np.float64)[None, :, :, None], x.shape, 1).ravel()[0])
    mask = np.zeros(x.size, dtype=bool)
    mask[index] = True
    return {"mask": Want(mask.reshape(x.shape), None, 0)}


def _distribute_oracle(s: Sample) -> Expected:
    """The gradient of average pooling over one window of the given shape, for upstream dz."""
    shape = s.extra["shape"]
    dz = np.full((1, 1, 1, 1), float(s.case))
    a = T.pool_backward(dz, np.zeros((1, *shape, 1)), shape, 1, "average")[0, :, :, 0]
    return {"a": Want(a, np.abs(a), 1)}


# ---- second routes: JAX (in a worker), and the loops reference for the oracle campaign --------


def _arrays_as(value, f):
    """`value` (a call's arguments) with f applied to every array in it."""
    if isinstance(value, np.ndarray):
        return f(value)
    if type(value) in (tuple, list):
        return type(value)(_arrays_as(v, f) for v in value)
    return value


def _magnitude_args(function: str, args: tuple) -> tuple:
    """The arguments whose result is the magnitude of the computation (as the torch routes make
    it): every array absolute, but pool_backward keeps A_prev (|dA| through the same selection)."""
    if function == "pool_backward":
        return (np.abs(args[0]), *args[1:])
    return _arrays_as(args, np.abs)


def _terms(function: str, s: Sample) -> dict:
    if function == "conv_forward":
        return {"Z": _conv_terms(s.case)}
    if function == "conv_backward":
        return _conv_backward_terms(s)
    return {"A": 0 if s.case.mode == "max" else _pool_terms(s.case), "dA_prev": _pool_terms(s.case)}


class EngineFailed(Exception):
    """Another engine gave no usable answer (it raised, died, or returned a malformed result)."""


def _engine_outputs(function: str, args: tuple, result) -> dict:
    """name -> float64 array of an engine's result, checked against the declared shapes."""
    if function in ("conv_forward", "pool_forward"):
        result = result[0] if isinstance(result, tuple) and len(result) == 2 else None
    values = result if function == "conv_backward" and isinstance(result, tuple) else (result,)
    outputs = {}
    for (name, shape, _), value in zip(results.declared_outputs(results.expected(function, args)), values):
        if not (isinstance(value, np.ndarray) and value.shape == tuple(shape) and value.dtype.kind == "f"):
            raise EngineFailed(f"{function}: {name} is not a float array of shape {tuple(shape)}")
        outputs[name] = value.astype(np.float64)
    return outputs


def _second_route(engine: str, function: str, args: Callable):
    """A route that asks `engine` (SECOND_ENGINES) for the seed function's result on float64
    copies of the sample's inputs, and for the magnitude likewise; None (no answer) where the
    engine fails -- an oracle's failure is not the implementation's."""

    def route(s: Sample) -> Expected | None:
        call_args = _arrays_as(args(s), lambda a: np.array(a, dtype=np.float64))
        try:
            value = _engine_outputs(function, call_args, SECOND_ENGINES[engine](function, call_args))
            magnitude = _engine_outputs(function, call_args, SECOND_ENGINES[engine](function, _magnitude_args(function, call_args)))
        except EngineFailed as exc:
            event(f"{engine} gave no answer: {str(exc).splitlines()[0][:120]}")
            return None
        terms = _terms(function, s)
        return {name: Want(v, np.abs(magnitude[name]), terms[name]) for name, v in value.items()}

    return route


def _jax(function, args):
    from convcheck.oracle.isolated import JAX
    from convcheck.oracle.isolated import EngineFailed as Failed

    try:
        return JAX.call(function, list(args))
    except Failed as exc:
        raise EngineFailed(str(exc)) from None


def _loops(function, args):
    from convcheck.reference import loops

    try:
        return getattr(loops, function)(*args)
    except Exception as exc:  # noqa: BLE001 - a reference that fails gives no answer
        raise EngineFailed(f"loops reference {function} raised {type(exc).__name__}: {exc}") from None


SECOND_ENGINES = {"jax": _jax, "loops reference": _loops}
# the loops reference answers only in `convcheck oracles` (CAMPAIGN): against an implementation
# it would vote for itself wherever that implementation shares its params.py (fast does)
CAMPAIGN_ROUTES = ("loops reference",)


def engine_unavailable(route: str) -> str | None:
    """Why a route's engine cannot answer in this installation (JAX missing), or None."""
    if route != "jax":
        return None
    from convcheck.oracle.isolated import JAX

    return JAX.unavailable()


def _second_routes(function: str, args: Callable, engines=tuple(SECOND_ENGINES)) -> dict:
    return {engine: _second_route(engine, function, args) for engine in engines}


def _any_nonfinite(*arrays) -> bool:
    return any(a is not None and not np.isfinite(a).all() for a in arrays)


@dataclass(frozen=True)
class Abstention:
    """Where a route's semantics differ from the contract's (torch's): it gives no answer there."""

    route: str
    applies: Callable  # sample -> bool
    reason: str
    # the abstention is over NaN / inf inputs: the route's test draws finite values only, as
    # rejecting the special draws would leave Hypothesis too few examples (filter_too_much)
    finite_draws: bool = False


ABSTENTIONS = [
    *[Abstention(f"{op}-jax", lambda s: _any_nonfinite(s.case.A_prev, s.case.W, s.case.b, s.extra.get("dZ")),
                 "NaN routing: XLA's convolution forms no product with a padding element (0 x NaN is not NaN there) and "
                 "spreads NaN / inf across channels in float64 depthwise convolutions", finite_draws=True)
      for op in ("conv_forward", "conv_backward")],
    Abstention("pool_backward[max]-jax", lambda s: S._pair(s.case.hparameters.get("dilation", 1)) != (1, 1),
               "JAX implements no VJP of a dilated reduce_window max (jax/_src/lax/windowed_reductions.py)"),
    Abstention("pool_backward[max]-jax", lambda s: _any_nonfinite(s.case.A_prev),
               "NaN routing and ties against padding: reduce_window max's VJP never selects a NaN (torch's does), and "
               "a window whose real elements are -inf ties with its -inf padding", finite_draws=True),
]


def draws_specials(op: "OpSpec", route: str) -> bool:
    """Whether the test of an op's route draws NaN / inf inputs."""
    return op.specials and not any(a.finite_draws for a in ABSTENTIONS if a.route == f"{op.name}-{route}")


def route_abstains(route: str, sample: Sample) -> str | None:
    """Why a route gives no answer for this sample -- a known defect of it (ORACLE_DEFECTS) or a
    difference of semantics (ABSTENTIONS) -- or None."""
    for entry in (*ORACLE_DEFECTS, *ABSTENTIONS):
        if entry.route == route and entry.applies(sample):
            return entry.reason
    return None


# ---- the table -----------------------------------------------------------------------------


def _conv_cache(s: Sample) -> tuple:
    c = s.case
    return (c.A_prev, c.W, c.b, c.hparameters)


def _conv_backward_args(s: Sample) -> tuple:
    return (s.extra["dZ"], _conv_cache(s))


def _pool_args(s: Sample) -> tuple:
    return (s.case.A_prev, s.case.hparameters, s.case.mode)


def _pool_backward_args(s: Sample) -> tuple:
    return (s.extra["dA"], (s.case.A_prev, s.case.hparameters), s.case.mode)


OPS = [
    OpSpec(
        name="zero_pad",
        function="zero_pad",
        requires=("zero_pad",),
        samples=_pad_samples,
        args=lambda s: (s.case, s.extra["pad"]),
        oracles={"F.pad": _pad_oracle},
        specials=True,
    ),
    OpSpec(
        name="conv_single_step",
        function="conv_single_step",
        requires=("conv_single_step",),
        samples=_single_step_samples,
        args=lambda s: tuple(s.case),
        oracles={"torch.sum": _single_step_oracle},
        specials=True,
    ),
    OpSpec(
        name="conv_forward",
        function="conv_forward",
        requires=("conv_forward",),
        samples=_conv_samples(with_gradient=False),
        args=_conv_cache,
        oracles={"F.conv2d": _conv_forward_oracle, **_second_routes("conv_forward", _conv_cache)},
        specials=True,
    ),
    OpSpec(
        name="conv_backward",
        function="conv_backward",
        requires=("conv_backward",),
        samples=_conv_samples(with_gradient=True),
        args=_conv_backward_args,
        oracles={"autograd": _conv_backward_autograd, "torch.nn.grad": _conv_backward_closed_form,
                 **_second_routes("conv_backward", _conv_backward_args)},
        specials=True,
    ),
    *[
        OpSpec(
            name=f"pool_forward[{mode}]",
            function="pool_forward",
            requires=("pool_forward",),
            samples=_pool_samples(mode, with_gradient=False),
            args=_pool_args,
            oracles={**({"F.max_pool2d": _pool_forward_oracle} if mode == "max"
                        else {"F.avg_pool2d": _pool_forward_oracle, "depthwise conv": _avg_pool_depthwise_conv}),
                     **_second_routes("pool_forward", _pool_args)},
            specials=True,
            needs=((f"{mode}_pool", None),),
        )
        for mode in ("max", "average")
    ],
    *[
        OpSpec(
            name=f"pool_backward[{mode}]",
            function="pool_backward",
            requires=("pool_backward",),
            samples=_pool_samples(mode, with_gradient=True),
            args=_pool_backward_args,
            oracles={"autograd": _pool_backward_oracle, **_second_routes("pool_backward", _pool_backward_args)},
            specials=True,
            composed_of=POOL_BACKWARD_HELPERS[mode],
            needs=((f"{mode}_pool", None),),
        )
        for mode in ("max", "average")
    ],
    # dilated max-pool windows that see only padding: rare in the draws above, so drawn on purpose
    OpSpec(
        name="pool_forward[max, padding-only windows]",
        function="pool_forward",
        requires=("pool_forward",),
        samples=_pool_samples("max", with_gradient=False, padding_only=True),
        args=_pool_args,
        oracles={"F.max_pool2d": _pool_forward_oracle, **_second_routes("pool_forward", _pool_args)},
        specials=True,
        full_only=True,
        needs=PADDING_ONLY_NEEDS,
    ),
    OpSpec(
        name="pool_backward[max, padding-only windows]",
        function="pool_backward",
        requires=("pool_backward",),
        samples=_pool_samples("max", with_gradient=True, padding_only=True),
        args=_pool_backward_args,
        # no JAX route: every window here is dilated, and JAX has no VJP of a dilated max
        oracles={"explicit -inf padding": _max_pool_backward_explicit_padding,
                 **_second_routes("pool_backward", _pool_backward_args, engines=("loops reference",))},
        specials=True,
        full_only=True,
        needs=PADDING_ONLY_NEEDS,
    ),
    OpSpec(
        name="create_mask_from_window",
        function="create_mask_from_window",
        requires=("create_mask_from_window",),
        samples=_window_samples,
        args=lambda s: (s.case,),
        oracles={"max_pool2d indices": _mask_oracle},
        specials=True,
    ),
    OpSpec(
        name="distribute_value",
        function="distribute_value",
        requires=("distribute_value",),
        samples=_distribute_samples,
        args=lambda s: (s.case, s.extra["shape"]),
        oracles={"avg_pool2d gradient": _distribute_oracle},
    ),
]

OPS_BY_NAME = {op.name: op for op in OPS}
