"""The text CNN of convcheck/text_cnn.py, built on the implementation under test, against its
torch twin (oracle/torch_text_cnn.py) and against finite differences: layers that are each
right must also compose right.

Precondition of every property here: the implementation is checked on the full hyperparameter
space (--api full, the default for the bundled references). The network needs rectangular
kernels (filter height x embedding width), "valid" padding and a (time x 1) pooling window with
stride None; under --api tutorial the properties skip, saying so.

An implementation module may define `TextCNN`, a subclass of convcheck.text_cnn.TextCNN (the bug
zoo's broken compositions do); the properties then check that class on that module's layers.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from convcheck import text_cnn as tc
from convcheck.implementations import Remote, RemoteModel
from convcheck.oracle.tolerances import fd_tolerance, tolerance, unit_roundoff
from convcheck.properties import strategies as S
from convcheck.properties.asserts import CheckFailure, Stats, assert_array, assert_close, call
from convcheck.properties.checks import require, require_torch
from convcheck.repro_template import with_layout

F64 = np.dtype(np.float64)
U = unit_roundoff(F64)
TUTORIAL_SKIP = ("the text CNN needs the full hyperparameter space (rectangular filter-height x embedding-width kernels, "
                 "'valid' padding, a (time x 1) max-pooling window with stride None): run with --api full")


# what its layers use (convcheck/text_cnn.py): float64 conv with "valid" padding, max pooling
# over time with stride None (a window-sized stride of a (time x 1) window)
TEXT_CNN_NEEDS = (("conv", "float64"), ("conv", "valid"), ("max_pool", "float64"), ("max_pool", "stride_none"),
                  ("max_pool", "uneven_stride"))


def _model_class(impl):
    """The model class to check: the implementation's own TextCNN subclass, else the bundled one."""
    if impl.api == "tutorial":
        pytest.skip(TUTORIAL_SKIP)
    require(impl, tc.LAYER_FUNCTIONS, TEXT_CNN_NEEDS)
    if impl.worker is not None:  # isolated: the model is built and run in the implementation's worker
        if impl.text_cnn:
            pytest.skip(f"{impl.name}: {impl.text_cnn}: it cannot be checked here")
        return None
    try:
        return tc.model_class(impl.module)
    except ValueError as exc:
        pytest.skip(f"{impl.name}: {exc}: it cannot be checked here")


def _oracle():
    require_torch()
    from convcheck.oracle import torch_text_cnn

    return torch_text_cnn


# ---- cases --------------------------------------------------------------------------------------


@dataclass(repr=False)
class TextCNNCase(S.ShownByRepr):
    params: dict
    tokens: np.ndarray  # (m, L) token ids
    labels: np.ndarray  # (m,) classes
    l2: float = 0.0
    dropout_mask: np.ndarray | None = None
    keep_prob: float = 1.0

    @property
    def heights(self) -> tuple:
        return tc.filter_heights(self.params)

    @property
    def counts(self) -> tuple:
        return tc.filter_counts(self.params)

    @property
    def emb_width(self) -> int:
        return self.params["embedding"].shape[1]

    @property
    def n_classes(self) -> int:
        return self.params["dense_W"].shape[1]

    def arguments(self, params=None) -> tuple:
        """The arguments of TextCNN.loss / loss_and_gradients (with other parameters if given)."""
        return (self.params if params is None else params), self.tokens, self.labels, self.dropout_mask, self.keep_prob

    def oracle(self, params=None):
        return _oracle().reference(*self.arguments(params)[:3], self.l2, self.dropout_mask, self.keep_prob)

    def __repr__(self) -> str:
        m, L = self.tokens.shape
        V = self.params["embedding"].shape[0]
        mask = "none" if self.dropout_mask is None else f"{self.dropout_mask.astype(int).tolist()} keep_prob={self.keep_prob}"
        arrays = ", ".join(f"{k}={S.show(v)}" for k, v in self.params.items())
        return (f"TextCNNCase(vocab={V}, emb_width={self.emb_width}, heights={self.heights}, filters={self.counts}, "
                f"classes={self.n_classes}, batch={m}, seq_len={L}, l2={self.l2}, dropout={mask}, "
                f"tokens={self.tokens.tolist()}, labels={self.labels.tolist()}, {arrays})")


def parameter_shapes(vocab: int, emb_width: int, heights, counts, n_classes: int) -> dict:
    shapes = {"embedding": (vocab, emb_width)}
    for j, (h, n) in enumerate(zip(heights, counts)):
        kW, kb = tc.conv_keys(j)
        shapes[kW], shapes[kb] = (h, emb_width, 1, n), (1, 1, 1, n)
    shapes["dense_W"], shapes["dense_b"] = (sum(counts), n_classes), (n_classes,)
    return shapes


VALUES = ("small_ints", "gaussian", "unit_normal")


@st.composite
def _parameters(draw, shapes, values):
    """small_ints / gaussian: the suite's array kinds (gaussian at scale 1e-3, 1 or 1e3), layouts
    drawn; unit_normal: standard normal values from one drawn seed, for finite differences."""
    if values == "unit_normal":
        rng = np.random.default_rng(draw(S.SEEDS))
        return {k: with_layout(rng.standard_normal(shape), draw(st.sampled_from(S.LAYOUTS))) for k, shape in shapes.items()}
    return {k: draw(S.float_arrays(shape, F64, (values,))) for k, shape in shapes.items()}


@st.composite
def text_cnn_cases(draw, values=("small_ints", "gaussian"), max_branches=3, max_height=4, max_filters=3, max_batch=3,
                   twin_tokens=False):
    """Vocabulary, sequence length, embedding width, filter heights and counts, classes, batch,
    L2 strength, dropout on or off, and the values. twin_tokens: tokens 0 and 1 share their
    embedding row and make up most of each sentence, so that distinct windows tie."""
    J = draw(st.integers(1, max_branches))
    heights = tuple(draw(st.integers(1, max_height)) for _ in range(J))
    counts = tuple(draw(st.integers(1, max_filters)) for _ in range(J))
    V = draw(st.integers(2 if twin_tokens else 1, 5))
    E, K, m = draw(st.integers(1, 3)), draw(st.integers(1, 4)), draw(st.integers(1, max_batch))
    L = draw(st.integers(max(heights), max(heights) + 3))
    words = (st.integers(0, 1) | st.integers(0, V - 1)) if twin_tokens else st.integers(0, V - 1)
    tokens = draw(hnp.arrays(np.int64, (m, L), elements=words))
    labels = draw(hnp.arrays(np.int64, (m,), elements=st.integers(0, K - 1)))
    params = draw(_parameters(parameter_shapes(V, E, heights, counts, K), draw(st.sampled_from(values))))
    if twin_tokens:
        embedding = np.array(params["embedding"])
        embedding[1] = embedding[0]
        params["embedding"] = embedding
    l2 = draw(st.sampled_from([0.0, 0.5]))
    if draw(st.booleans()):
        return TextCNNCase(params, tokens, labels, l2)
    mask = draw(hnp.arrays(np.bool_, (m, sum(counts))))
    return TextCNNCase(params, tokens, labels, l2, mask, draw(st.sampled_from([0.5, 0.8])))


# ---- the tolerance policy for the composed network ----------------------------------------------
#
# Magnitudes are those of oracle/tolerances.py -- the computation repeated on absolute values --
# computed by the oracle for the whole network (torch_text_cnn.reference): conv(|e|, |W|) + |b|
# for each pre-activation, read at the real winner of the max over time, through the dense layer
# with |dense_W| and |dense_b| for the logits; the backward of that absolute-valued network from
# the upstream (p + onehot(y)) / m (+ l2 * |dense_W|) for every gradient. The term count n of a
# composed result is the sum of the counts of the sums along its chain (gamma_a + gamma_b <=
# gamma_(a+b)), and a relative error r of a factor counts as ceil(r / u) terms (gamma_n >= n*u).


def _conv_terms(case) -> int:
    return max(h * case.emb_width for h in case.heights) + 1  # one pre-activation: h*E products and the bias


def _logit_terms(case) -> int:
    return _conv_terms(case) + 1 + sum(case.counts) + 1  # features, dropout's scaling, the dense sum and bias


def _loss_magnitude(case, logits_magnitude: np.ndarray, dense_W: np.ndarray) -> tuple[float, int]:
    """(M, n) of the loss given the logits. Each sample's log-softmax (max subtracted, exp, a sum
    of K exps, log, subtraction) rounds within K + 3 terms of magnitude 1 + 2 log K + 6 max|z|:
    the shifted logits reach 2 max|z|, log S at most log K, and exp turns an absolute error of
    its argument into a relative one. The mean adds m terms; the L2 penalty F*K + 1 more."""
    K, m = case.n_classes, case.tokens.shape[0]
    per_sample = 1 + 2 * math.log(K) + 6 * logits_magnitude.max(axis=1)
    magnitude = float(per_sample.mean()) + 0.5 * case.l2 * float(np.sum(dense_W * dense_W))
    return magnitude, max(K + m + 3, sum(case.counts) * K + 1) + 1


def _gradient_terms(case, logits_magnitude: np.ndarray, tol_logits: np.ndarray) -> int:
    """n of every gradient: the softmax-CE gradient (p - y) / m, then the longest backward chain.

    p = exp(log-softmax) carries a relative error of (K + 2 + 2 log K + 6 max|z|) u from its own
    rounding (see _loss_magnitude) plus 2 max|dz| from the logits' error dz (d log p_k / dz_j
    is bounded by 1 + p_j); the subtraction of y and the division by m add 2."""
    K, (m, L) = case.n_classes, case.tokens.shape
    softmax = K + 4 + math.ceil(2 * math.log(K) + 6 * float(logits_magnitude.max())) + math.ceil(2 * float(tol_logits.max()) / U)
    longest = max(
        _conv_terms(case) + 1 + m + 1,  # dense_W: features times dlogits summed over the batch, + l2 * W
        K + 1 + m * (L - min(case.heights) + 1),  # conv W and b: dfeatures (K terms), summed over examples and times
        K + 1 + sum(h * n for h, n in zip(case.heights, case.counts)) + len(case.heights) + m * L,  # embedding
    )
    return softmax + longest


def tolerances(case, ref) -> tuple[np.ndarray, float, dict]:
    """(tolerance of the logits, of the loss, {parameter: tolerance of its gradient})."""
    tol_logits = tolerance(ref.logits_magnitude, _logit_terms(case), F64)
    M_loss, n_loss = _loss_magnitude(case, ref.logits_magnitude, case.params["dense_W"])
    # the loss moves by at most 2 max_k |dz_ik| per sample when the logits move by dz
    tol_loss = float(tolerance(M_loss, n_loss, F64)) + 2 * float(tol_logits.max(axis=1).mean())
    n_grad = _gradient_terms(case, ref.logits_magnitude, tol_logits)
    return tol_logits, tol_loss, {k: tolerance(M, n_grad, F64) for k, M in ref.grad_magnitudes.items()}


# ---- preconditions: the same selections on both sides -------------------------------------------


def _exact(case) -> bool:
    """Integer embeddings, conv weights and biases of small size: every pre-activation is exact in
    any summation order, so both sides compare the same values and ties are real ties."""
    arrays = [case.params["embedding"]] + [case.params[k] for j in range(len(case.heights)) for k in tc.conv_keys(j)]
    return all(np.all(a == np.round(a)) and np.abs(a).max() < 2**20 for a in arrays)


def _selections_agree(case, ref) -> bool:
    """Whether rounding cannot make the two sides pick different windows or ReLU states: for every
    (example, filter), either every pre-activation is below 0 by more than its tolerance (no
    gradient flows, whichever window wins), or the oracle's winner is above 0 and above every
    window of other tokens by more than both tolerances (a window of the same tokens gives the
    same value and the same gradients, whichever of the two wins). Always true when the
    pre-activations are exact."""
    if _exact(case):
        return True
    for Z, M, h in zip(ref.pre_activations, ref.pre_activation_magnitudes, case.heights):
        tol = tolerance(M, h * case.emb_width + 1, F64)
        dead = (Z + tol < 0).all(axis=1)
        winner = Z.argmax(axis=1)[:, np.newaxis, :]  # (m, 1, n)
        low = np.take_along_axis(Z - tol, winner, axis=1)[:, 0]
        windows = np.lib.stride_tricks.sliding_window_view(case.tokens, h, axis=1)  # (m, time, h)
        winner_windows = np.take_along_axis(windows[:, :, np.newaxis, :], winner[..., np.newaxis], axis=1)  # (m, 1, n, h)
        same_tokens = (windows[:, :, np.newaxis, :] == winner_windows).all(axis=3)  # (m, time, n)
        others = np.where(same_tokens, -np.inf, Z + tol)
        alive = (low > 0) & (low > others.max(axis=1))
        if not (dead | alive).all():
            return False
    return True


# ---- running the model --------------------------------------------------------------------------


def _model(cls, impl, l2):
    if impl.worker is not None:
        return RemoteModel(impl, call(Remote(impl, "TextCNN"), "TextCNN", l2))
    return call(cls, "TextCNN", impl.module, l2)


def _check_loss_and_logits(loss, logits, ref, tol_logits, tol_loss, what: str) -> None:
    got = assert_array(logits, ref.logits.shape, F64, f"{what} logits")
    assert_close(got, ref.logits, tol_logits, f"{what} logits vs torch")
    if isinstance(loss, bool) or not isinstance(loss, (float, np.floating)):
        raise CheckFailure("dtype", f"{what} loss: expected a float, got {type(loss).__name__}")
    assert_close(np.float64(loss), np.float64(ref.loss), np.float64(tol_loss), f"{what} loss vs torch")


def _check_gradients(case, grads, ref, tol_grads, what: str) -> None:
    if not isinstance(grads, dict) or set(grads) != set(case.params):
        raise CheckFailure("shape", f"{what} gradients: expected a dict with keys {sorted(case.params)}, got "
                           f"{sorted(grads) if isinstance(grads, dict) else type(grads).__name__}")
    for key, expected in ref.grads.items():
        got = assert_array(grads[key], expected.shape, F64, f"{what} gradient of {key}")
        assert_close(got, expected, tol_grads[key], f"{what} gradient of {key} vs torch")


def _draw_checked_case(impl, data, **kw):
    cls = _model_class(impl)
    case = data.draw(text_cnn_cases(**kw), label="case")
    ref = case.oracle()
    assume(_selections_agree(case, ref))  # near-ties are where rounding, not a defect, picks the window
    return _model(cls, impl, case.l2), case, ref


# ---- properties ---------------------------------------------------------------------------------


@pytest.mark.family("forward")
@given(data=st.data())
def test_text_cnn_forward_matches_torch(impl, data):
    """Logits and loss (cross-entropy + L2, dropout on or off) equal the torch twin's."""
    model, case, ref = _draw_checked_case(impl, data)
    loss, logits, _ = call(model.loss, "TextCNN.loss", *case.arguments())
    tol_logits, tol_loss, _ = tolerances(case, ref)
    _check_loss_and_logits(loss, logits, ref, tol_logits, tol_loss, "text CNN")


@pytest.mark.family("backward")
@given(data=st.data())
def test_text_cnn_gradients_match_torch(impl, data):
    """The gradient of every parameter (embedding, each conv's W and b, dense W and b) equals
    torch autograd's through the twin network. For an implementation that declares max_ties_split,
    examples whose tie rule decides the gradient are not drawn here (torch sends it to the first
    maximum; the tie test below is the one that rule is checked by)."""
    model, case, ref = _draw_checked_case(impl, data)
    assume(not (_declares_ties_split(impl) and _tie_that_matters(case, ref)))
    loss, logits, grads = call(model.loss_and_gradients, "TextCNN.loss_and_gradients", *case.arguments())
    tol_logits, tol_loss, tol_grads = tolerances(case, ref)
    _check_loss_and_logits(loss, logits, ref, tol_logits, tol_loss, "text CNN")
    _check_gradients(case, grads, ref, tol_grads, "text CNN")


def _declares_ties_split(impl) -> bool:
    return any(name == "max_ties_split" for name, _, _ in impl.conventions)


def _windows_differ(tokens_row, h, t1, t2) -> bool:
    return not np.array_equal(tokens_row[t1 : t1 + h], tokens_row[t2 : t2 + h])


def _tie_that_matters(case, ref) -> bool:
    """Some filter's max over time is positive and reached by two windows of different tokens:
    the gradient then lands on different embedding rows depending on the tie rule."""
    for Z, h in zip(ref.pre_activations, case.heights):
        for i, f in np.ndindex(Z.shape[0], Z.shape[2]):
            column = Z[i, :, f]
            winners = np.flatnonzero(column == column.max())
            if column.max() > 0 and any(_windows_differ(case.tokens[i], h, winners[0], t) for t in winners[1:]):
                return True
    return False


@pytest.mark.family("backward")
@given(data=st.data())
def test_text_cnn_max_over_time_ties_go_to_the_first_max(impl, data):
    """Windows of different tokens whose pre-activations tie exactly (tokens 0 and 1 share their
    embedding; integer values make every sum exact): the max over time sends the gradient to the
    first maximum, as torch's max_pool2d and every pooling layer of the suite do. Not for an
    implementation that declares the convention max_ties_split (properties/conventions.py): its
    ties are split by declaration, and this rule is the one it declares it does not follow."""
    if _declares_ties_split(impl):
        pytest.skip("declares the convention max_ties_split: tied maxima share the gradient")
    model, case, ref = _draw_checked_case(impl, data, values=("small_ints",), twin_tokens=True)
    assume(_tie_that_matters(case, ref))
    _, _, grads = call(model.loss_and_gradients, "TextCNN.loss_and_gradients", *case.arguments())
    _check_gradients(case, grads, ref, tolerances(case, ref)[2], "text CNN with tied windows")


FD_STEP = 1e-5


def _selections(model, cache) -> list:
    """For every branch: each (example, filter)'s winning time (first maximum after the ReLU) and
    whether the ReLU lets the gradient through there."""
    out = []
    for Z in model.pre_activations(cache):
        winner = np.argmax(np.maximum(Z, 0.0), axis=1)
        out.append((winner, np.take_along_axis(Z, winner[:, np.newaxis], axis=1)[:, 0] > 0))
    return out


def _same_selections(a, b) -> bool:
    return all(np.array_equal(wa, wb) and np.array_equal(sa, sb) for (wa, sa), (wb, sb) in zip(a, b))


def _logit_bound(case, params) -> float:
    """A bound on |every logit| from maxima (no oracle): the policy's magnitude, bounded above."""
    E = case.emb_width
    features = max(h * E * np.abs(params["embedding"]).max() * np.abs(params[kW]).max() + np.abs(params[kb]).max()
                   for h, (kW, kb) in zip(case.heights, map(tc.conv_keys, range(len(case.heights)))))
    return sum(case.counts) * np.abs(params["dense_W"]).max() * features / case.keep_prob + np.abs(params["dense_b"]).max()


@pytest.mark.family("gradient")
@given(data=st.data())
def test_text_cnn_gradients_match_finite_differences(impl, data):
    """For each parameter in turn, (L(p + hv) - L(p - hv)) / 2h of the whole network's loss equals
    grad . v from its backward. No torch.

    Budget: rounding, by fd_tolerance (F bounds the loss's magnitude from maxima, see
    _loss_magnitude; the logits' own error enters as 2 * their bound), plus the Taylor remainder
    of the central difference, h^2 / 6 * max |L'''|. Along one parameter the logits are linear in
    h (every selection is checked to stay the same at p - hv, p and p + hv), the L2 term is
    quadratic, and the third derivative of log-sum-exp(z + hw) is the third central moment of w
    under softmax(z + hw), at most range(w)^3; w = dz/dh is read off the logits at p +- hv, its
    rounding bounded too."""
    cls = _model_class(impl)
    case = data.draw(text_cnn_cases(values=("unit_normal",)), label="case")
    model = _model(cls, impl, case.l2)
    rng = np.random.default_rng(data.draw(S.SEEDS, label="direction seed"))
    h = FD_STEP
    _, _, center = call(model.loss, "TextCNN.loss", *case.arguments())
    _, _, grads = call(model.loss_and_gradients, "TextCNN.loss_and_gradients", *case.arguments())
    selected = _selections(model, center)
    n_logits = _logit_terms(case)
    for key in case.params:
        v = rng.uniform(-1.0, 1.0, case.params[key].shape)
        shifted = [{**case.params, key: case.params[key] + sign * h * v} for sign in (1, -1)]
        results = [call(model.loss, "TextCNN.loss", *case.arguments(p)) for p in shifted]
        assume(all(_same_selections(selected, _selections(model, c)) for _, _, c in results))
        (loss_plus, logits_plus, _), (loss_minus, logits_minus, _) = results
        z_bound = max(_logit_bound(case, p) for p in shifted)
        z_error = float(tolerance(z_bound, n_logits, F64))
        w_range = np.ptp((logits_plus - logits_minus) / (2 * h), axis=1) + 2 * z_error / h
        remainder = h**2 / 6 * float(np.mean(w_range**3))
        loss_bound, n_loss = _loss_magnitude(case, np.full(case.tokens.shape[0:1] + (1,), z_bound),
                                             np.maximum(np.abs(shifted[0]["dense_W"]), np.abs(shifted[1]["dense_W"])))
        grad = np.asarray(grads[key], dtype=np.float64)
        if grad.shape != v.shape:
            raise CheckFailure("shape", f"text CNN gradient of {key}: shape {grad.shape}, expected {v.shape}")
        lhs = (float(loss_plus) - float(loss_minus)) / (2 * h)
        rhs = float(np.sum(grad * v))
        budget = fd_tolerance((loss_bound + 2 * z_bound) / h + float(np.sum(np.abs(grad * v))), n_logits + n_loss) + remainder
        ratio = abs(lhs - rhs) / budget
        Stats.record(ratio, f"text CNN d loss / d {key}")
        if not ratio <= 1:
            raise CheckFailure(
                "values",
                f"text CNN gradient of {key}: central differences of the loss give {lhs!r}, grad . v from the "
                f"backward {rhs!r}; |diff| {abs(lhs - rhs):.3g} > budget {budget:.3g} ({ratio:.3g}x)",
            )


TRAIN_STEPS = 4
TRAIN_LR = 0.05  # small enough that the kinks of ReLU and max over time do not undo the descent in K steps


@pytest.mark.family("backward")
@given(data=st.data())
def test_text_cnn_training_matches_torch_and_the_loss_falls(impl, data):
    """K steps of plain SGD on a synthetic sentiment task, the NumPy model and its torch twin
    (torch.optim.SGD) each following its own gradients. At every step the NumPy gradients equal
    the oracle's at the NumPy parameters (the policy's tolerance), and the two parameter
    trajectories stay within the accumulated bound

        B_(k+1) = B_k + lr * tol_k + lr * |g_torch(p_numpy_k) - g_torch(p_torch_k)| + rounding of the update,

    whose middle term is the oracle's own sensitivity, measured; and the training loss falls."""
    cls = _model_class(impl)
    oracle = _oracle()
    rng = np.random.default_rng(data.draw(S.SEEDS, label="data and initialization seed"))
    J = data.draw(st.integers(1, 3), label="branches")
    heights = tuple(data.draw(st.lists(st.integers(1, 3), min_size=J, max_size=J), label="filter heights"))
    counts = tuple(data.draw(st.lists(st.integers(1, 3), min_size=J, max_size=J), label="filter counts"))
    V, E = data.draw(st.integers(3, 9), label="vocabulary"), data.draw(st.integers(1, 4), label="embedding width")
    L = data.draw(st.integers(max(heights), max(heights) + 3), label="sequence length")
    m = data.draw(st.integers(2, 6), label="sentences")
    l2 = data.draw(st.sampled_from([0.0, 0.01]), label="l2")
    tokens, labels = tc.synthetic_sentiment(rng, m, L, V)
    params = tc.init_parameters(rng, V, E, heights, counts, n_classes=2)
    model = _model(cls, impl, l2)
    net, optimizer = oracle.sgd_trainer(params, TRAIN_LR)
    bound = {k: np.zeros(v.shape) for k, v in params.items()}
    losses = []
    for step in range(TRAIN_STEPS + 1):
        case = TextCNNCase(params, tokens, labels, l2)
        ref = case.oracle()
        assume(_selections_agree(case, ref))
        assume(step > 0 or any(np.any(g) for g in ref.grads.values()))  # every ReLU dead and balanced labels: a stationary point
        loss, logits, grads = call(model.loss_and_gradients, "TextCNN.loss_and_gradients", *case.arguments())
        tol_logits, tol_loss, tol_grads = tolerances(case, ref)
        what = f"text CNN training, step {step}:"
        _check_loss_and_logits(loss, logits, ref, tol_logits, tol_loss, what)
        losses.append(float(loss))
        if step == TRAIN_STEPS:
            break
        _check_gradients(case, grads, ref, tol_grads, what)
        oracle.train_step(net, optimizer, tokens, labels, l2)
        torch_grads = net.gradients_to_numpy()
        for k in bound:
            update_rounding = tolerance(np.abs(params[k]) + TRAIN_LR * np.abs(grads[k]), 2, F64)  # p - lr * g: two roundings
            bound[k] = bound[k] + TRAIN_LR * (tol_grads[k] + np.abs(ref.grads[k] - torch_grads[k])) + update_rounding
        params = tc.sgd_step(params, grads, TRAIN_LR)
        torch_params = net.to_numpy()
        for k in params:
            assert_close(params[k], torch_params[k], bound[k], f"text CNN training, parameters {k} after step {step + 1} vs torch")
    if not losses[-1] < losses[0]:
        raise CheckFailure("values", f"text CNN training: the loss did not fall in {TRAIN_STEPS} SGD steps: {losses}")


# ---- the model's own helpers --------------------------------------------------------------------


def _valid_arguments():
    rng = np.random.default_rng(0)
    params = tc.init_parameters(rng, vocab_size=5, emb_width=3, heights=(2, 3), n_filters=2, n_classes=3)
    return params, np.array([[0, 1, 2, 3], [4, 3, 2, 1]]), np.array([0, 2])


def _with(params, **changes):
    return {**params, **changes}


BAD_CALLS = {
    "token out of range": ("tokens", lambda p, t, y: tc.TextCNN().loss(p, np.array([[0, 1, 2, 5]]), y[:1])),
    "negative token": ("tokens", lambda p, t, y: tc.TextCNN().loss(p, -t, y)),
    "float tokens": ("tokens", lambda p, t, y: tc.TextCNN().loss(p, t.astype(float), y)),
    "sentence shorter than a filter": ("tokens", lambda p, t, y: tc.TextCNN().loss(p, t[:, :2], y)),
    "label out of range": ("labels", lambda p, t, y: tc.TextCNN().loss(p, t, np.array([0, 3]))),
    "labels of the wrong length": ("labels", lambda p, t, y: tc.TextCNN().loss(p, t, y[:1])),
    "float32 embedding": ("params['embedding']", lambda p, t, y: tc.TextCNN().loss(_with(p, embedding=p["embedding"].astype(np.float32)), t, y)),
    "conv width is not the embedding width": ("params['conv1_W']", lambda p, t, y: tc.TextCNN().loss(_with(p, conv1_W=p["conv1_W"][:, :2]), t, y)),
    "bias of the wrong count": ("params['conv0_b']", lambda p, t, y: tc.TextCNN().loss(_with(p, conv0_b=p["conv0_b"][..., :1]), t, y)),
    "dense rows not the filter count": ("params['dense_W']", lambda p, t, y: tc.TextCNN().loss(_with(p, dense_W=p["dense_W"][:3]), t, y)),
    "missing dense bias": ("params must have exactly the keys", lambda p, t, y: tc.TextCNN().loss({k: v for k, v in p.items() if k != "dense_b"}, t, y)),
    "mask of the wrong shape": ("dropout_mask", lambda p, t, y: tc.TextCNN().loss(p, t, y, np.ones((2, 3), dtype=bool), 0.5)),
    "integer mask": ("dropout_mask", lambda p, t, y: tc.TextCNN().loss(p, t, y, np.ones((2, 4), dtype=int), 0.5)),
    "keep_prob 0": ("keep_prob", lambda p, t, y: tc.TextCNN().loss(p, t, y, np.ones((2, 4), dtype=bool), 0.0)),
    "negative l2": ("l2", lambda p, t, y: tc.TextCNN(l2=-1.0)),
    "vocabulary too small for sentiment": ("vocab_size", lambda p, t, y: tc.synthetic_sentiment(np.random.default_rng(0), 4, 3, 2)),
}


@pytest.mark.parametrize("name", list(BAD_CALLS))
def test_text_cnn_rejects_invalid_arguments_naming_them(name):
    parameter, bad_call = BAD_CALLS[name]
    params, tokens, labels = _valid_arguments()
    with pytest.raises(ValueError, match=re.escape(parameter)):
        bad_call(params, tokens, labels)


def test_text_cnn_valid_arguments_are_accepted_and_left_unchanged():
    """The counterpart of the rejections above: the same arguments, unspoiled, work, and stay as they were."""
    params, tokens, labels = _valid_arguments()
    before = {k: v.copy() for k, v in params.items()}, tokens.copy(), labels.copy()
    mask = np.array([[True, False, True, True], [False, True, True, False]])
    loss, logits, grads = tc.TextCNN(l2=0.1).loss_and_gradients(params, tokens, labels, mask, 0.5)
    assert np.isfinite(loss) and logits.shape == (2, 3) and set(grads) == set(params)
    assert all(np.array_equal(before[0][k], params[k]) for k in params)
    assert np.array_equal(before[1], tokens) and np.array_equal(before[2], labels)


def test_text_cnn_synthetic_sentiment_labels_follow_the_word_counts():
    tokens, labels = tc.synthetic_sentiment(np.random.default_rng(3), 500, 7, 12)
    positive, negative = (tokens < 4).sum(axis=1), ((tokens >= 4) & (tokens < 8)).sum(axis=1)
    assert (positive != negative).all()
    assert np.array_equal(labels, (positive > negative).astype(np.int64))
    assert 0.3 < labels.mean() < 0.7  # both classes well represented
