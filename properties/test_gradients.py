"""Backward passes against central finite differences of the implementation's own forward.

No torch here: these checks run wherever NumPy does. All in float64.

Why the difference quotient is exact up to rounding: conv is linear in A_prev, in W and in b
separately; average pooling is linear; max pooling is linear near any input whose windows'
top two values are further apart than the perturbation (checked below as a precondition).
So the step can be large (1 for linear maps), which keeps rounding small.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from convcheck.oracle.tolerances import fd_tolerance
from convcheck.properties import strategies as S
from convcheck.properties.asserts import CheckFailure, Stats, call_each
from convcheck.properties.checks import require
from convcheck.repro import Recorder

F64 = (np.dtype(np.float64),)
MAX_JACOBIAN = 64  # full Jacobian mode only for inputs and outputs up to this many elements
# ... and its cases drawn small, so that few are drawn only to be rejected by that limit
JACOBIAN_BOUNDS = {"max_batch": 2, "max_channels": 2, "spread": 2}


@dataclass(frozen=True, repr=False)
class GradSpec(S.ShownByRepr):
    """One gradient of one backward function, as data."""

    name: str
    function: str  # the backward function checked
    requires: tuple
    samples: Callable  # (api, **bounds) -> strategy of ConvCase / PoolCase (bounds: max_batch, max_channels, spread)
    wrt: str  # the argument differentiated: "A_prev", "W" or "b"
    forward: Callable  # (impl, case, [args, ...]) -> [output array, ...]: one round trip to an isolated implementation
    output_shape: Callable  # case -> the forward output's shape, as the contract declares it
    backward: Callable  # (impl, case, [upstream, ...]) -> [dict argument name -> gradient, ...]
    step: float
    bound: Callable  # (case, args) -> bound on |any element of the forward output|
    n_terms: Callable  # case -> terms summed in any element of forward or backward
    needs: tuple = ()  # (op, feature or None) of capabilities.Space the whole check needs

    def __repr__(self) -> str:
        return f"<gradient {self.name}>"


def _conv_args(case):
    return {"A_prev": case.A_prev, "W": case.W, "b": case.b}


def _conv_forward(impl, case, each):
    calls = [(args["A_prev"], args["W"], args["b"], case.hparameters) for args in each]
    return [out[0] for out in call_each(impl.conv_forward, "conv_forward", calls)]


def _conv_backward(impl, case, upstreams):
    calls = [(dZ, (case.A_prev, case.W, case.b, case.hparameters)) for dZ in upstreams]
    return [dict(zip(("A_prev", "W", "b"), grads)) for grads in call_each(impl.conv_backward, "conv_backward", calls)]


def _conv_bound(case, args):
    kh, kw, c_in, _ = case.W.shape
    bias = 0.0 if args["b"] is None else np.abs(args["b"]).max()
    return kh * kw * c_in * np.abs(args["A_prev"]).max() * np.abs(args["W"]).max() + bias


def _conv_terms(case):
    m, n_H, n_W, n_C = S.conv_output_shape(case)
    kh, kw, c_in, _ = case.W.shape
    return max(kh * kw * c_in + 1, kh * kw * n_C, m * n_H * n_W)


def _pool_forward(impl, case, each):
    calls = [(args["A_prev"], case.hparameters, case.mode) for args in each]
    return [out[0] for out in call_each(impl.pool_forward, "pool_forward", calls)]


def _pool_backward(impl, case, upstreams):
    calls = [(dA, (case.A_prev, case.hparameters), case.mode) for dA in upstreams]
    return [{"A_prev": grad} for grad in call_each(impl.pool_backward, "pool_backward", calls)]


def _pool_terms(case):
    fh, fw = S._pair(case.hparameters["f"])
    return 2 * fh * fw + 1  # a window's sum, and the gradients of the windows sharing an element


GRADS = [
    *[
        GradSpec(
            name=f"conv_backward-d{wrt}",
            function="conv_backward",
            requires=("conv_forward", "conv_backward"),
            # the bias gradient needs a bias: no case without one is drawn for it
            samples=S.cached(lambda api, wrt=wrt, **bounds: S.conv_cases(dtypes=F64, kinds=S.VALUE_KINDS, api=api,
                                                                         bias_required=wrt == "b", **bounds)),
            wrt=wrt,
            forward=_conv_forward,
            output_shape=S.conv_output_shape,
            backward=_conv_backward,
            step=1.0,
            bound=_conv_bound,
            n_terms=_conv_terms,
        )
        for wrt in ("A_prev", "W", "b")
    ],
    GradSpec(
        name="pool_backward[max]-dA_prev",
        function="pool_backward",
        requires=("pool_forward", "pool_backward"),
        # precondition: every window holds a real element (padding-only windows: test_metamorphic)
        samples=S.cached(lambda api, **bounds: S.pool_cases(modes=("max",), dtypes=F64, kinds=("distinct",), api=api, **bounds).filter(
            lambda c: not S.padding_only_outputs(c).any()
        )),
        wrt="A_prev",
        forward=_pool_forward,
        output_shape=S.pool_output_shape,
        backward=_pool_backward,
        step=0.1,
        bound=lambda case, args: np.abs(args["A_prev"]).max(),
        n_terms=_pool_terms,
        needs=(("max_pool", None),),
    ),
    GradSpec(
        name="pool_backward[average]-dA_prev",
        function="pool_backward",
        requires=("pool_forward", "pool_backward"),
        samples=S.cached(lambda api, **bounds: S.pool_cases(modes=("average",), dtypes=F64, kinds=S.VALUE_KINDS, api=api, **bounds)),
        wrt="A_prev",
        forward=_pool_forward,
        output_shape=S.pool_output_shape,
        backward=_pool_backward,
        step=1.0,
        bound=lambda case, args: np.abs(args["A_prev"]).max(),
        n_terms=_pool_terms,
        needs=(("average_pool", None),),
    ),
]


def _args(case):
    return _conv_args(case) if hasattr(case, "W") else {"A_prev": case.A_prev}


def _smallest_gap(case) -> float:
    """Smallest distance between any two input values: a bound below every window's top-two gap."""
    values = np.sort(case.A_prev.ravel())
    return float(np.diff(values).min()) if values.size > 1 else np.inf


def _perturbed(spec, case, direction, sign):
    args = _args(case)
    args[spec.wrt] = args[spec.wrt] + sign * spec.step * direction
    return args


def _precondition(spec, case, directions_max):
    if spec.name.startswith("pool_backward[max]"):
        # the perturbation must not change any window's winner
        assume(_smallest_gap(case) > 2 * spec.step * directions_max)


GRADIENT_OF = {"A_prev": ("dA_prev", 0), "W": ("dW", 1), "b": ("db", 2)}  # backward output, forward position


def _record(spec, case, u, v, tol):
    """Make the failing example replayable: the check as one directional derivative."""
    output, position = GRADIENT_OF[spec.wrt]
    forward = "conv_forward" if isinstance(case, S.ConvCase) else "pool_forward"
    Recorder.context["gradient"] = {"forward": forward, "wrt": output, "position": position, "step": spec.step, "tolerance": tol}
    Recorder.arrays.update(u=np.asarray(u, dtype=np.float64), v=np.asarray(v, dtype=np.float64))


def _rule(spec) -> str:
    """Both gradient checks of one backward output break one rule: it is the forward's gradient."""
    return f"{spec.name}: the gradient of the implementation's forward"


def _ids(specs):
    return [pytest.param(g, id=g.name) for g in specs]


@pytest.mark.family("gradient")
@pytest.mark.parametrize("spec", _ids(GRADS))
@given(data=st.data())
def test_gradient_directional(impl, spec, data):
    """u.(f(x+hv) - f(x-hv))/(2h) == (J^T u).v: two forward evaluations and one backward."""
    require(impl, spec.requires, spec.needs)
    case = data.draw(spec.samples(impl.api), label="case")
    Recorder.start(spec.function, "gradient", "gradient")
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="direction seed"))
    x = _args(case)[spec.wrt]
    v = rng.uniform(-1, 1, x.shape)
    _precondition(spec, case, np.abs(v).max())
    plus, minus = (_perturbed(spec, case, v, sign) for sign in (1, -1))
    f_plus, f_minus = spec.forward(impl, case, [plus, minus])
    u = rng.standard_normal(np.shape(f_plus))
    grad = spec.backward(impl, case, [u])[0][spec.wrt]
    lhs = float(np.sum(u * (f_plus - f_minus))) / (2 * spec.step)
    rhs = float(np.sum(grad * v))
    bound = max(spec.bound(case, plus), spec.bound(case, minus))
    tol = fd_tolerance(np.abs(u).sum() * bound / spec.step + float(np.sum(np.abs(grad) * np.abs(v))), spec.n_terms(case))
    diff = abs(lhs - rhs)
    ratio = diff / tol if tol > 0 else (0.0 if diff == 0 else np.inf)
    Stats.record(ratio, spec.name)
    if not ratio <= 1:  # NaN too: a non-finite derivative on finite inputs is never within budget
        _record(spec, case, u, v, tol)
        raise CheckFailure(
            "values",
            f"{spec.name}: directional derivative u.(Jv) by central differences = {lhs!r}, "
            f"but (J^T u).v from the backward = {rhs!r}; |diff| {abs(lhs - rhs):.3g} > tolerance {tol:.3g} ({ratio:.3g}x)",
            rule=_rule(spec), words=f"{spec.name}: the backward's (J^T u).v is {rhs:.4g} where finite differences give {lhs:.4g}",
        )


@pytest.mark.family("gradient")
@pytest.mark.parametrize("spec", _ids(GRADS))
@given(data=st.data())
def test_gradient_full_jacobian(impl, spec, data):
    """For tiny inputs, every entry of J by central differences equals the backward's J."""
    require(impl, spec.requires, spec.needs)
    case = data.draw(spec.samples(impl.api, **JACOBIAN_BOUNDS), label="case")
    Recorder.start(spec.function, "gradient", "gradient")
    x = _args(case)[spec.wrt]
    _precondition(spec, case, 1.0)
    out_shape = spec.output_shape(case)  # the forward's results are checked to have it
    assume(x.size <= MAX_JACOBIAN and np.prod(out_shape) <= MAX_JACOBIAN)
    units = np.eye(x.size).reshape((x.size, *x.shape))
    perturbed = [_perturbed(spec, case, e, sign) for e in units for sign in (1, -1)]
    outputs = spec.forward(impl, case, perturbed)
    J_fd = np.stack([(plus - minus).ravel() for plus, minus in zip(outputs[::2], outputs[1::2])], axis=1) / (2 * spec.step)
    bound = max(spec.bound(case, args) for args in perturbed)
    upstreams = np.eye(int(np.prod(out_shape))).reshape((-1, *out_shape))
    J_bw = np.stack([grads[spec.wrt].ravel() for grads in spec.backward(impl, case, list(upstreams))])
    tol = fd_tolerance(bound / spec.step + np.abs(J_bw), spec.n_terms(case))  # per entry
    diff = np.abs(J_fd - J_bw)
    with np.errstate(divide="ignore", invalid="ignore"):  # 0 / 0 where both sides are exactly 0
        ratio = np.where(diff == 0, 0.0, diff / tol)
    worst = np.unravel_index(int(np.argmax(ratio)), ratio.shape)  # argmax finds a NaN first
    Stats.record(float(ratio[worst]), spec.name)
    if not ratio[worst] <= 1:  # NaN too, as above
        out_index = np.unravel_index(worst[0], out_shape)
        in_index = np.unravel_index(worst[1], x.shape)
        u, v = np.zeros(out_shape), np.zeros(x.shape)
        u[out_index], v[in_index] = 1.0, 1.0
        spec.backward(impl, case, [u])  # the replayable call: backward of this unit upstream gradient
        _record(spec, case, u, v, float(tol[worst]))
        raise CheckFailure(
            "values",
            f"{spec.name}: d out{tuple(map(int, out_index))} / d {spec.wrt}{tuple(map(int, in_index))}: "
            f"central differences {J_fd[worst]!r}, backward {J_bw[worst]!r} (tolerance {tol[worst]:.3g}, {ratio[worst]:.3g}x)",
            rule=_rule(spec), words=f"{spec.name}: the backward gives {J_bw[worst]:.4g} where finite differences give {J_fd[worst]:.4g}",
        )
