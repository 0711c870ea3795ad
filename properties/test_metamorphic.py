"""Metamorphic laws: relations between several results of the implementation under test.

No oracle: every expected value comes from the implementation itself or from NumPy applied to
the inputs, so these run where torch is not installed. Every law draws from the implementation's
hyperparameter space (api=impl.api: the whole of torch's under --api full) and, where its
precondition needs it, rewrites the drawn configuration (its docstring says how); only the
disjoint-window law keeps to the tutorial's space. Tolerances follow oracle/tolerances.py:
gamma_n times a magnitude bounded from the inputs' maxima (never from the implementation's
output). Where both sides of a law are results of the implementation, each may be off by the
bound, so the magnitude is doubled. Values are finite throughout (S.VALUE_KINDS) unless a
docstring says otherwise.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numpy.lib.stride_tricks import sliding_window_view

from convcheck.oracle.tolerances import coarser, tolerance
from convcheck.properties import strategies as S
from convcheck.properties.asserts import assert_close, call, call_each
from convcheck.properties.checks import assert_close_or_convention, reject_outside_space, require
from convcheck.properties.ops import OPS_BY_NAME, PADDING_ONLY_NEEDS
from convcheck.repro import Recorder

F64 = (np.dtype(np.float64),)
F32 = (np.dtype(np.float32),)
REQUIRES = {"conv": ("conv_forward", "conv_backward"), "pool": ("pool_forward", "pool_backward")}
GRADIENTS = {"conv": ("dA_prev", "dW", "db"), "pool": ("dA_prev",)}
METAMORPHIC = pytest.mark.family("metamorphic")
LAYERS = pytest.mark.parametrize("layer", ["conv", "pool"])
# linear-combination coefficients: small integers, or floats not so tiny that products underflow
SCALARS = st.integers(-3, 3).map(float) | st.floats(-4, 4).filter(lambda x: abs(x) >= 1e-3)


# ---- calling the implementation (every result validated by call) ---------------------------


def _is_conv(case) -> bool:
    return isinstance(case, S.ConvCase)


def _dtype(case) -> np.dtype:
    return case.dtype if _is_conv(case) else case.A_prev.dtype


def _out_shape(case) -> tuple:
    return S.conv_output_shape(case) if _is_conv(case) else S.pool_output_shape(case)


def _forwards(impl, cases: list) -> list:
    """The forward output of each case (all of one layer), in one round trip to an isolated implementation."""
    if _is_conv(cases[0]):
        outs = call_each(impl.conv_forward, "conv_forward", [(c.A_prev, c.W, c.b, c.hparameters) for c in cases])
    else:
        outs = call_each(impl.pool_forward, "pool_forward", [(c.A_prev, c.hparameters, c.mode) for c in cases])
    return [out[0] for out in outs]


def _forward(impl, case) -> np.ndarray:
    return _forwards(impl, [case])[0]


def _backwards(impl, pairs: list) -> list:
    """For each (case, upstream gradient), all of one layer: (dA_prev, dW, db) for conv ((dA_prev,
    dW) without a bias), (dA_prev,) for pool; the cache is built directly. One round trip."""
    if not _is_conv(pairs[0][0]):
        calls = [(g, (c.A_prev, c.hparameters), c.mode) for c, g in pairs]
        return [(dA,) for dA in call_each(impl.pool_backward, "pool_backward", calls)]
    outs = call_each(impl.conv_backward, "conv_backward", [(g, (c.A_prev, c.W, c.b, c.hparameters)) for c, g in pairs])
    return [out[:2] if c.b is None else out for out, (c, _) in zip(outs, pairs)]


def _backward(impl, case, grad) -> tuple:
    return _backwards(impl, [(case, grad)])[0]


def _draw_case(data, layer, api="tutorial", **kw):
    """A case of the tutorial's space, or of the implementation's (api=impl.api) for laws that hold
    over the whole hyperparameter space."""
    cases = S.conv_cases if layer == "conv" else S.pool_cases
    return data.draw(cases(kinds=S.VALUE_KINDS, api=api, **kw), label="case")


def _bias(case):
    return 0.0 if case.b is None else case.b


def _window_size(case) -> int:
    fh, fw = S._pair(case.hparameters["f"])
    return fh * fw


def _draw_gradient(data, case):
    return data.draw(S.gradients_for(_out_shape(case), _dtype(case)), label="upstream gradient")


# ---- magnitudes and term counts, from the inputs ------------------------------------------


def _amax(x) -> float:
    return 0.0 if x is None else float(np.max(np.abs(x), initial=0.0))


def _conv_terms(case) -> int:
    kh, kw, c_in, _ = case.W.shape
    return kh * kw * c_in


def _conv_bound(case) -> float:
    """Bounds every |conv(|A|, |W|) + |b|| element: kh*kw*C_prev*max|A|*max|W| + max|b|."""
    return _conv_terms(case) * _amax(case.A_prev) * _amax(case.W) + _amax(case.b)


def _forward_tol(case):
    """Two forward results of the implementation over the same windows (or channel orders)."""
    if _is_conv(case):
        return tolerance(2 * _conv_bound(case), _conv_terms(case) + 1, _dtype(case))
    n = 0 if case.mode == "max" else _window_size(case) + 1  # max selects: exact
    # a divisor_override smaller than the window can make an average up to window-size times max|A|
    scale = _window_size(case) if "divisor_override" in case.hparameters else 1
    return tolerance(2 * scale * _amax(case.A_prev), n, _dtype(case))


def _grad_bounds(case, grad) -> list:
    """(magnitude, terms) bounding each gradient element, per output of _backward."""
    g = _amax(grad)
    if not _is_conv(case):
        overlap = _window_size(case)  # at most one window per kernel tap covers an input element
        return [(overlap * g, overlap + 1)]  # each window hands out at most its whole gradient
    kh, kw, _, n_C = case.W.shape
    positions = int(np.prod(grad.shape[:3]))
    return [(kh * kw * n_C * _amax(case.W) * g, kh * kw * n_C), (positions * _amax(case.A_prev) * g, positions), (positions * g, positions)]


# ---- conv: linearity and the adjoint identity ---------------------------------------------


def _check_linearity(impl, data, field):
    require(impl, ("conv_forward",))
    case = _draw_case(data, "conv", api=impl.api, dtypes=F64)
    x1 = getattr(case, field)
    x2 = data.draw(S.float_arrays(x1.shape, x1.dtype, S.VALUE_KINDS), label=f"second {field}")
    alpha, beta = data.draw(SCALARS, label="alpha"), data.draw(SCALARS, label="beta")
    cases = [replace(case, **{field: x}) for x in (alpha * x1 + beta * x2, x1, x2)]
    Z, Z1, Z2 = (out - _bias(case) for out in _forwards(impl, cases))
    bound = _conv_bound(cases[0]) + abs(alpha) * _conv_bound(cases[1]) + abs(beta) * _conv_bound(cases[2])
    tol = tolerance(bound, _conv_terms(case) + 5, np.float64)  # + combining inputs, subtracting b, combining outputs
    what = f"conv(alpha*{field}1 + beta*{field}2) - b vs alpha*(conv({field}1) - b) + beta*(conv({field}2) - b)"
    assert_close(Z, alpha * Z1 + beta * Z2, tol, what)


@METAMORPHIC
@given(data=st.data())
def test_conv_linear_in_A_prev(impl, data):
    """Precondition: float64, finite values; alpha, beta with |alpha|, |beta| >= 1e-3 or 0 (no underflow).
    conv(alpha*A1 + beta*A2) - b == alpha*(conv(A1) - b) + beta*(conv(A2) - b)."""
    _check_linearity(impl, data, "A_prev")


@METAMORPHIC
@given(data=st.data())
def test_conv_linear_in_W(impl, data):
    """Precondition: as test_conv_linear_in_A_prev. conv_W(alpha*W1 + beta*W2) - b == alpha*(conv_W(W1) - b) + beta*(conv_W(W2) - b)."""
    _check_linearity(impl, data, "W")


@METAMORPHIC
@given(data=st.data())
def test_conv_backward_is_adjoint(impl, data):
    """Precondition: float64, finite values; conv_backward gets the cache (A_prev, W, b, hp) as a tuple.
    <conv(x) - b, y> == <x, dA_prev(y)> == <W, dW(y)> (conv - b is linear in A_prev and in W, and
    conv_backward applies the transposes), and db == sum of y over m, h, w."""
    require(impl, REQUIRES["conv"])
    case = _draw_case(data, "conv", api=impl.api, dtypes=F64)
    y = _draw_gradient(data, case)
    Recorder.start("conv_backward", "adjoint", "metamorphic", dtype=np.float64)  # replayed by repro.py's run_adjoint
    bounds = _grad_bounds(case, y)
    lhs_bound, lhs_terms = _conv_bound(case) * np.abs(y).sum(), _conv_terms(case) + 2 + y.size
    tols = {f"d{name}": tolerance(lhs_bound + M * np.abs(x).sum(), lhs_terms + n + x.size, np.float64)
            for name, x, (M, n) in zip(("A_prev", "W"), (case.A_prev, case.W), bounds)}
    if case.b is not None:
        db, db_bound = (v.sum(axis=(0, 1, 2)).reshape(case.b.shape) for v in (y, np.abs(y)))
        tols["db"] = tolerance(db_bound, bounds[2][1], np.float64)
    for name, tol in tols.items():
        Recorder.record_tolerance(name, tol)
    Z = _forward(impl, case)
    grads = _backward(impl, case, y)
    lhs = np.sum((Z - _bias(case)) * y)
    for name, x, g in zip(("A_prev", "W"), (case.A_prev, case.W), grads):
        assert_close(np.sum(x * g), lhs, tols[f"d{name}"], f"<{name}, conv_backward's d{name}(y)> vs <conv(A_prev) - b, y>")
    if case.b is not None:
        assert_close(grads[2], db, tols["db"], "db vs sum of dZ over m, h, w")


# ---- conv and pool: batch, channels, translation, dtype ------------------------------------


@METAMORPHIC
@LAYERS
@given(data=st.data())
def test_batch_independence(impl, layer, data):
    """Precondition: finite values. Forward results and dA_prev of a batch are those of its examples
    stacked; conv's dW and db are the sums of the examples' dW and db (both pool modes drawn)."""
    require(impl, REQUIRES[layer])
    case = _draw_case(data, layer, api=impl.api)
    grad = _draw_gradient(data, case)
    parts = [(replace(case, A_prev=case.A_prev[i : i + 1]), grad[i : i + 1]) for i in range(grad.shape[0])]
    *pieces, whole = _forwards(impl, [c for c, _ in parts] + [case])
    assert_close(whole, np.concatenate(pieces), _forward_tol(case), f"{layer} forward of the batch vs its examples stacked")
    *per_example, whole_grads = _backwards(impl, parts + [(case, grad)])
    per_example = list(zip(*per_example))
    expected = [np.concatenate(per_example[0])] + [np.sum(g, axis=0, dtype=np.float64) for g in per_example[1:]]
    dtype, m = np.result_type(_dtype(case), grad), grad.shape[0]
    for name, got, want, (M, n) in zip(GRADIENTS[layer], whole_grads, expected, _grad_bounds(case, grad)):
        how = "stacked" if name == "dA_prev" else "summed"
        assert_close(got, want, tolerance(2 * M, n + m, dtype), f"{layer} backward: {name} of the batch vs its examples' {how}")


def _draw_orders(data, groups, size, what) -> list:
    """One permutation of range(size) per group."""
    return [np.array(data.draw(st.permutations(range(size)), label=f"{what} order within group {k}")) for k in range(groups)]


def _blocks(group_order, orders) -> np.ndarray:
    """Channel indices: group group_order[k]'s channels, in the order orders[k], for each k."""
    return np.concatenate([g * len(order) + order for g, order in zip(group_order, orders)])


@METAMORPHIC
@LAYERS
@given(data=st.data())
def test_channel_permutation(impl, layer, data):
    """Precondition: finite values; any hyperparameters (channels never meet the spatial rules).
    pool (either mode): pooling A_prev[..., q] gives pool(A_prev)[..., q] for any permutation q.
    conv with g groups (g = 1 without the key): a permutation p of the output channels that moves
    whole groups (in the order `group order`) and reorders channels within each, applied to W and
    b, with A_prev's input groups moved alike, gives Z[..., p]; reordering the input channels within
    each group, in A_prev and in the W of that group's outputs alike, leaves Z unchanged (up to
    summation order)."""
    require(impl, REQUIRES[layer][:1])
    case = _draw_case(data, layer, api=impl.api, max_channels=4)  # 4 channels: most permutations are not rotations
    tol = _forward_tol(case)
    if layer == "pool":
        q = np.array(data.draw(st.permutations(range(case.A_prev.shape[3])), label="channel permutation"))
        Z, permuted = _forwards(impl, [case, replace(case, A_prev=case.A_prev[..., q])])
        assert_close(permuted, Z[..., q], tol, "pool of channel-permuted A_prev vs permuted pool")
        return
    groups, (_, _, c_in, n_C) = case.hparameters.get("groups", 1), case.W.shape
    c_out = n_C // groups
    group_order = data.draw(st.permutations(range(groups)), label="group order")
    p = _blocks(group_order, _draw_orders(data, groups, c_out, "output channel"))
    q = _blocks(group_order, [np.arange(c_in)] * groups)
    b = None if case.b is None else case.b[..., p]
    outputs_permuted = replace(case, A_prev=case.A_prev[..., q], W=case.W[..., p], b=b)
    orders = _draw_orders(data, groups, c_in, "input channel")
    W = np.concatenate([case.W[:, :, order, k * c_out : (k + 1) * c_out] for k, order in enumerate(orders)], axis=3)
    inputs_permuted = replace(case, A_prev=case.A_prev[..., _blocks(range(groups), orders)], W=W)
    Z, Z_outputs_permuted, Z_inputs_permuted = _forwards(impl, [case, outputs_permuted, inputs_permuted])
    assert_close(Z_outputs_permuted, Z[..., p], tol, "conv with output channels (and their input groups) permuted vs Z[..., p]")
    assert_close(Z_inputs_permuted, Z, tol, "conv with input channels permuted within their groups (A_prev and W) vs Z")


def _strides(case) -> tuple:
    """(sh, sw); a pool's stride None means the window size."""
    stride = case.hparameters["stride"]
    if stride is None:
        return S._pair(case.hparameters["f"])
    return S._pair(stride)


def _pads(case) -> tuple:
    """((top, bottom), (left, right)) of the case's padding."""
    if _is_conv(case):
        return S.conv_pads(case.hparameters, case.W.shape[:2])
    return tuple((p, p) for p in S._pair(case.hparameters.get("pad", 0)))


@METAMORPHIC
@LAYERS
@given(data=st.data())
def test_translation_by_stride(impl, layer, data):
    """Precondition: no padding: the drawn padding (any spelling, "same" included) is folded into
    the input size and "pad" set to 0 -- a padded border is not translation invariant (max pads
    with -inf, average may count it); any other hyperparameter (ceil_mode included: the last
    window's clipping depends only on the right edge, which cropping leaves alone); finite values;
    the cropped input still at least one (dilated) window (A is drawn sh*k_h rows and sw*k_w columns
    larger than a valid input). Then layer(A[:, sh*k_h:, sw*k_w:]) == layer(A)[:, k_h:, k_w:]."""
    require(impl, REQUIRES[layer][:1])
    case = _draw_case(data, layer, api=impl.api)
    (sh, sw), ((top, bottom), (left, right)) = _strides(case), _pads(case)
    k_h, k_w = data.draw(st.tuples(st.integers(0, 2), st.integers(0, 2)).filter(any), label="shift in strides (k_h, k_w)")
    m, H, W, C = case.A_prev.shape
    shape = (m, H + top + bottom + sh * k_h, W + left + right + sw * k_w, C)
    A = data.draw(S.float_arrays(shape, case.A_prev.dtype, S.VALUE_KINDS), label="A_prev")
    hp = {**case.hparameters, "pad": 0} if _is_conv(case) or "pad" in case.hparameters else case.hparameters
    whole, cropped = (replace(case, A_prev=a, hparameters=hp) for a in (A, A[:, sh * k_h :, sw * k_w :]))
    what = f"{layer} of A_prev[:, {sh * k_h}:, {sw * k_w}:] vs {layer}(A_prev)[:, {k_h}:, {k_w}:]"
    Z_cropped, Z_whole = _forwards(impl, [cropped, whole])
    assert_close(Z_cropped, Z_whole[:, k_h:, k_w:], _forward_tol(whole), what)


@METAMORPHIC
@LAYERS
@given(data=st.data())
def test_float32_kept(impl, layer, data):
    """Precondition: every input array float32 (upstream gradient too). Every forward and backward
    result is float32, of the right shape (checked by _forward / _backward)."""
    require(impl, REQUIRES[layer], ((layer if layer == "conv" else "max_pool", "float32"),))
    case = _draw_case(data, layer, api=impl.api, dtypes=F32)
    _forward(impl, case)
    _backward(impl, case, _draw_gradient(data, case))


# ---- pooling ------------------------------------------------------------------------------


def _mean_of_real_elements(case) -> dict:
    """The case's hyperparameters for each mode, such that every window holds a real element and
    both modes reduce exactly the window's real elements: no dilation (a dilated window may see
    only padding), no divisor_override, and count_include_pad=False where there is padding (an
    average then divides by the real elements' count)."""
    hp = {k: v for k, v in case.hparameters.items() if k not in ("dilation", "count_include_pad", "divisor_override")}
    padded = any(S._pair(hp.get("pad", 0)))
    return {"max": hp, "average": {**hp, "count_include_pad": False} if padded else hp}


@METAMORPHIC
@given(data=st.data())
def test_pooling_laws(impl, data):
    """Precondition: the drawn configuration rewritten by _mean_of_real_elements (padding,
    ceil_mode, rectangular windows and strides stay); finite values; the constant c is a normal
    float32. max pool >= average pool elementwise (up to the rounding of the mean); pooling an
    array filled with c gives c in both modes (max exactly)."""
    require(impl, ("pool_forward",), (("max_pool", None), ("average_pool", None)))
    case = _draw_case(data, "pool", api=impl.api)
    hps = _mean_of_real_elements(case)
    dtype, n = _dtype(case), _window_size(case) + 1
    both = [replace(case, mode=mode, hparameters=hps[mode]) for mode in ("max", "average")]
    reject_outside_space(impl, "pool_forward", both)
    top, mean = _forwards(impl, both)
    assert_close(np.maximum(mean, top), top, tolerance(_amax(case.A_prev), n, dtype), "average pool <= max pool")
    c = dtype.type(data.draw(st.floats(-1e6, 1e6, width=32, allow_subnormal=False), label="c"))
    constants = [replace(case, A_prev=np.full(case.A_prev.shape, c, dtype), mode=mode, hparameters=hps[mode]) for mode in ("max", "average")]
    for constant, terms, got in zip(constants, (0, n), _forwards(impl, constants)):
        tol = tolerance(abs(c), terms, dtype)
        assert_close(got, np.full(_out_shape(constant), c), tol, f"{constant.mode} pool of constant {c!r}")


@METAMORPHIC
@given(data=st.data())
def test_pool_backward_conserves_gradient(impl, data):
    """Precondition: the drawn configuration rewritten by _mean_of_real_elements; finite values.
    sum(dA_prev) == sum(dA): each dA is handed out whole to the window's real elements (max: to
    one of them; average: n shares of dA/n for its n real elements); overlapping windows add up
    and elements no window covers get 0, so coverage does not matter for the total."""
    require(impl, ("pool_backward",))
    drawn = _draw_case(data, "pool", api=impl.api)
    case = replace(drawn, hparameters=_mean_of_real_elements(drawn)[drawn.mode])
    reject_outside_space(impl, "pool_backward", [case])
    dA = _draw_gradient(data, case)
    (got,) = _backward(impl, case, dA)
    n = _grad_bounds(case, dA)[0][1] + got.size + dA.size
    tol = tolerance(np.abs(dA).sum(dtype=np.float64), n, coarser(np.result_type(_dtype(case), dA), got.dtype))
    assert_close(got.sum(dtype=np.float64), dA.sum(dtype=np.float64), tol, f"{case.mode} pool: sum(dA_prev) vs sum(dA)")


@METAMORPHIC
@given(data=st.data())
def test_padding_only_windows_send_no_gradient(impl, data):
    """Precondition: torch's full space (--api full); max pooling in which some dilated window
    sees only padding (S.padding_only_pool_cases); finite values. Such a window's output is
    exactly -inf, and no gradient flows from it: pool_backward gives the same dA_prev whether
    those windows' dA is kept or zeroed (within twice the bound of either result: the other
    windows' gradients may be summed in another order)."""
    if impl.api != "full":
        pytest.skip("dilation: only in torch's full hyperparameter space (--api full)")
    require(impl, ("pool_forward", "pool_backward"), PADDING_ONLY_NEEDS)
    case = data.draw(S.padding_only_pool_cases(kinds=S.VALUE_KINDS), label="case")
    only_padding = S.padding_only_outputs(case)[None, :, :, None]
    out = _forward(impl, case)
    assert_close(np.where(only_padding, out, -np.inf), np.full(out.shape, -np.inf), 0.0, "max pool: windows that see only padding give -inf")
    dA = _draw_gradient(data, case)
    kept, zeroed = (grads[0] for grads in _backwards(impl, [(case, g) for g in (dA, np.where(only_padding, 0, dA).astype(dA.dtype))]))
    (bound, n), = _grad_bounds(case, dA)
    tol = tolerance(2 * bound, n, coarser(np.result_type(_dtype(case), dA), kept.dtype))
    assert_close(kept, zeroed, tol, "max pool_backward: dA_prev with vs without the dA of windows that see only padding")


def _windows(x, f, s, writeable=False):
    """(m, n_H, n_W, C, f, f) view of the pooling windows of x."""
    return sliding_window_view(x, (f, f), axis=(1, 2), writeable=writeable)[:, ::s, ::s]


@METAMORPHIC
@given(data=st.data())
def test_pool_backward_disjoint_windows(impl, data):
    """Precondition: the tutorial's space (square f, no padding: every window is f x f real
    elements) with stride >= f (disjoint windows); finite values. Each window of dA_prev holds its
    own dA alone: max -> dA exactly at the window's first maximum (np.argmax, row-major) and 0
    elsewhere in it; average -> dA/(f*f) at every element; elements outside every window are
    exactly 0."""
    require(impl, ("pool_backward",))
    case = _draw_case(data, "pool")
    f = int(case.f)
    stride = data.draw(st.integers(f, f + 2), label="stride >= f")
    case = replace(case, hparameters={"f": f, "stride": stride})
    dA = _draw_gradient(data, case)
    (got,) = _backward(impl, case, dA)
    expected = np.zeros(got.shape)
    if case.mode == "max":
        first_max = _windows(case.A_prev, f, stride).reshape(*dA.shape, f * f).argmax(axis=-1)
        mask = (np.arange(f * f) == first_max[..., None]).reshape(*dA.shape, f, f)
        _windows(expected, f, stride, writeable=True)[...] = np.where(mask, dA[..., None, None], 0.0)
        tol = 0.0
    else:
        _windows(expected, f, stride, writeable=True)[...] = dA[..., None, None] / f**2
        tol = tolerance(np.abs(expected), 1, coarser(np.result_type(_dtype(case), dA), got.dtype))
    # the first maximum is the contract's tie rule; a declared convention (ties split) passes, counted
    assert_close_or_convention(impl, "pool_backward", "dA_prev", (dA, (case.A_prev, case.hparameters), case.mode), got, expected, tol,
                               f"{case.mode} pool_backward with disjoint windows (stride {stride} >= f {f})")


# ---- zero_pad, distribute_value ------------------------------------------------------------


@METAMORPHIC
@given(data=st.data())
def test_zero_pad_crop_identity(impl, data):
    """Precondition: none (NaN/inf included: padding only copies). The padded array has shape
    (m, H+2p, W+2p, C) and X's dtype, its crop [:, p:p+H, p:p+W] is X, and its border is exactly 0."""
    require(impl, ("zero_pad",))
    sample = data.draw(OPS_BY_NAME["zero_pad"].samples(kinds=S.SPECIAL_KINDS), label="sample")
    X, p = sample.case, sample.extra["pad"]
    m, H, W, C = X.shape
    got = call(impl.zero_pad, "zero_pad", X, p)
    expected = np.zeros(got.shape)
    expected[:, p : p + H, p : p + W] = X
    assert_close(got, expected, 0.0, f"zero_pad(X, {p}): crop == X and border == 0")


@METAMORPHIC
@given(data=st.data())
def test_distribute_value_laws(impl, data):
    """Precondition: dz a finite real (int, float64 or float32), shape (n_H, n_W) positive. The result
    has that shape, dz's float dtype (float64 for ints), equal entries, and sums to dz within
    gamma_(n+1)*|dz| plus n times the smallest subnormal (dz/n may underflow)."""
    require(impl, ("distribute_value",))
    sample = data.draw(OPS_BY_NAME["distribute_value"].samples(), label="sample")
    dz, shape = sample.case, sample.extra["shape"]
    a = call(impl.distribute_value, "distribute_value", dz, shape)
    assert_close(a, np.full(shape, a.flat[0]), 0.0, "distribute_value: entries equal")
    dtype = coarser(S.distribute_dtype(dz), a.dtype)
    tol = tolerance(abs(float(dz)), a.size + 1, dtype) + a.size * float(np.finfo(dtype).smallest_subnormal)
    assert_close(a.sum(dtype=np.float64), float(dz), tol, f"distribute_value({dz!r}, {shape}): sum vs dz")
