"""Kim's CNN for sentence classification (Kim 2014), in NumPy, built on the seed layer functions.

    tokens (m, L) --embedding lookup--> (m, L, E) --as an NHWC image--> (m, L, E, 1)
    for each branch j (filter height h_j, n_j filters):
        conv_forward, W_j (h_j, E, 1, n_j), "valid"    -> (m, L - h_j + 1, 1, n_j)
        ReLU
        pool_forward "max", f = (L - h_j + 1, 1)     -> (m, 1, 1, n_j): the max over time
    concatenation of the branches                    -> (m, F), F = sum_j n_j
    dropout (an explicit mask; none at evaluation)
    dense, W (F, K), b (K,)                          -> logits (m, K)
    softmax cross-entropy, mean over the batch, + l2 / 2 * ||dense W||^2

The conv and pool layers come from an implementation module (``layers``: the bundled ``fast``
by default, or whichever implementation is under test), so the composition is checked on top of
it. Every step of the composition is a small method of `TextCNN`, so a broken composition is a
small override in a subclass. The helpers below it (embedding, ReLU, dense, softmax
cross-entropy, L2, dropout) are plain NumPy.

Parameters are a dict of float64 arrays: ``embedding`` (V, E), ``conv{j}_W`` (h_j, E, 1, n_j) and
``conv{j}_b`` (1, 1, 1, n_j) for j = 0, 1, ..., ``dense_W`` (F, K) and ``dense_b`` (K,). The
architecture (filter heights and counts, classes) is read off their shapes. Invalid arguments
raise ValueError naming the parameter and the value; no argument is ever modified.
"""

from __future__ import annotations

import numbers
from types import ModuleType

import numpy as np

DEFAULT_FILTER_HEIGHTS = (3, 4, 5)
LAYER_FUNCTIONS = ("conv_forward", "conv_backward", "pool_forward", "pool_backward")  # what the model needs of `layers`
CONV_HPARAMETERS = {"stride": 1, "pad": "valid"}


# ---- parameter names and checks ----------------------------------------------------------------


def conv_keys(j: int) -> tuple[str, str]:
    return f"conv{j}_W", f"conv{j}_b"


def branch_count(params: dict) -> int:
    j = 0
    while conv_keys(j)[0] in params:
        j += 1
    return j


def _describe(value) -> str:
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    return f"{value!r} ({type(value).__name__})"


def _check_float64(name: str, value, ndim: int) -> np.ndarray:
    if not isinstance(value, np.ndarray) or value.dtype != np.float64 or value.ndim != ndim:
        raise ValueError(f"{name} must be a float64 array with {ndim} dimensions, got {_describe(value)}")
    if min(value.shape, default=1) < 1:
        raise ValueError(f"{name} must have no empty dimension, got shape {value.shape}")
    return value


def _check_integers(name: str, value, ndim: int, upper: int) -> np.ndarray:
    """An integer array of rank ndim whose values lie in [0, upper)."""
    if not isinstance(value, np.ndarray) or value.ndim != ndim or not np.issubdtype(value.dtype, np.integer):
        raise ValueError(f"{name} must be an integer array with {ndim} dimensions, got {_describe(value)}")
    if min(value.shape, default=1) < 1:
        raise ValueError(f"{name} must have no empty dimension, got shape {value.shape}")
    if value.min() < 0 or value.max() >= upper:
        raise ValueError(f"{name} must hold values in [0, {upper}), got values from {value.min()} to {value.max()}")
    return value


def check_parameters(params) -> dict:
    """The parameter dict, with every shape consistent with one architecture; else ValueError."""
    if not isinstance(params, dict):
        raise ValueError(f"params must be a dict of arrays, got {_describe(params)}")
    expected = {"embedding", "dense_W", "dense_b"} | {k for j in range(branch_count(params)) for k in conv_keys(j)}
    if set(params) != expected:
        raise ValueError(f"params must have exactly the keys {sorted(expected)}, got {sorted(map(str, params))}")
    if branch_count(params) == 0:
        raise ValueError("params must hold at least one branch (conv0_W, conv0_b)")
    E = _check_float64("params['embedding']", params["embedding"], 2).shape[1]
    n_features = 0
    for j in range(branch_count(params)):
        kW, kb = conv_keys(j)
        W, b = _check_float64(f"params[{kW!r}]", params[kW], 4), _check_float64(f"params[{kb!r}]", params[kb], 4)
        if W.shape[1:3] != (E, 1):
            raise ValueError(f"params[{kW!r}] must have shape (height, {E}, 1, n_filters) for embedding width {E}, got {W.shape}")
        if b.shape != (1, 1, 1, W.shape[3]):
            raise ValueError(f"params[{kb!r}] must have shape (1, 1, 1, {W.shape[3]}), got {b.shape}")
        n_features += W.shape[3]
    dense_W = _check_float64("params['dense_W']", params["dense_W"], 2)
    if dense_W.shape[0] != n_features:
        raise ValueError(f"params['dense_W'] must have {n_features} rows (the concatenated filters), got shape {dense_W.shape}")
    dense_b = _check_float64("params['dense_b']", params["dense_b"], 1)
    if dense_b.shape != (dense_W.shape[1],):
        raise ValueError(f"params['dense_b'] must have shape ({dense_W.shape[1]},), got {dense_b.shape}")
    return params


def filter_heights(params: dict) -> tuple[int, ...]:
    return tuple(params[conv_keys(j)[0]].shape[0] for j in range(branch_count(params)))


def filter_counts(params: dict) -> tuple[int, ...]:
    return tuple(params[conv_keys(j)[0]].shape[3] for j in range(branch_count(params)))


def init_parameters(rng: np.random.Generator, vocab_size: int, emb_width: int, heights=DEFAULT_FILTER_HEIGHTS, n_filters=100,
                    n_classes: int = 2) -> dict:
    """Initial parameters in the manner of cnn-text-classification-tf: uniform(-1, 1) embeddings,
    normal(0, 0.1) conv weights, conv biases 0.1 (most ReLUs start alive), Glorot-uniform dense
    weights and dense biases 0.1. n_filters is one count for every height, or one per height."""
    counts = tuple(n_filters) if isinstance(n_filters, (tuple, list)) else (n_filters,) * len(heights)
    if len(counts) != len(heights):
        raise ValueError(f"n_filters must be one count or one per filter height {tuple(heights)}, got {n_filters!r}")
    params = {"embedding": rng.uniform(-1.0, 1.0, (vocab_size, emb_width))}
    for j, (h, n) in enumerate(zip(heights, counts)):
        kW, kb = conv_keys(j)
        params[kW] = rng.normal(0.0, 0.1, (h, emb_width, 1, n))
        params[kb] = np.full((1, 1, 1, n), 0.1)
    limit = np.sqrt(6.0 / (sum(counts) + n_classes))
    params["dense_W"] = rng.uniform(-limit, limit, (sum(counts), n_classes))
    params["dense_b"] = np.full(n_classes, 0.1)
    return check_parameters(params)


# ---- helpers ------------------------------------------------------------------------------------


def embedding_lookup(embedding: np.ndarray, tokens: np.ndarray) -> np.ndarray:
    """(m, L, E): row tokens[i, t] of the embedding matrix for every token."""
    _check_float64("embedding", embedding, 2)
    _check_integers("tokens", tokens, 2, embedding.shape[0])
    return embedding[tokens]  # fancy indexing: a new array


def embedding_backward(d_embedded: np.ndarray, tokens: np.ndarray, vocab_size: int) -> np.ndarray:
    """(V, E) gradient of the embedding matrix: every occurrence of a token adds its gradient."""
    _check_integers("tokens", tokens, 2, vocab_size)
    if not isinstance(d_embedded, np.ndarray) or d_embedded.shape[:2] != tokens.shape or d_embedded.ndim != 3:
        raise ValueError(f"d_embedded must have shape {tokens.shape} + (E,), got {_describe(d_embedded)}")
    grad = np.zeros((vocab_size, d_embedded.shape[2]))
    np.add.at(grad, tokens, d_embedded)  # unbuffered: repeated tokens accumulate
    return grad


def relu(Z: np.ndarray) -> np.ndarray:
    return np.maximum(Z, 0.0)


def relu_backward(dA: np.ndarray, Z: np.ndarray) -> np.ndarray:
    """Gradient where Z > 0, none at Z <= 0 (torch's rule at 0 too)."""
    if np.shape(dA) != np.shape(Z):
        raise ValueError(f"dA must have the shape of Z {np.shape(Z)}, got shape {np.shape(dA)}")
    return np.where(Z > 0, dA, 0.0)  # where(), not dA * mask: a non-finite dA must stay where it belongs


def check_dropout(mask, keep_prob, shape: tuple) -> None:
    if mask is None:
        return
    if not isinstance(mask, np.ndarray) or mask.dtype != np.bool_ or mask.shape != tuple(shape):
        raise ValueError(f"dropout_mask must be a bool array of shape {tuple(shape)} or None, got {_describe(mask)}")
    if isinstance(keep_prob, bool) or not isinstance(keep_prob, numbers.Real) or not 0 < keep_prob <= 1:
        raise ValueError(f"keep_prob must be a real number in (0, 1], got {keep_prob!r}")


def dropout(features: np.ndarray, mask: np.ndarray | None, keep_prob: float) -> np.ndarray:
    """Inverted dropout with a given mask: kept features scaled by 1 / keep_prob. mask None: identity."""
    check_dropout(mask, keep_prob, features.shape)
    return features if mask is None else np.where(mask, features / keep_prob, 0.0)


def dropout_backward(d_out: np.ndarray, mask: np.ndarray | None, keep_prob: float) -> np.ndarray:
    check_dropout(mask, keep_prob, d_out.shape)
    return d_out if mask is None else np.where(mask, d_out / keep_prob, 0.0)


def dense(X: np.ndarray, W: np.ndarray, b: np.ndarray) -> np.ndarray:
    if X.ndim != 2 or X.shape[1] != W.shape[0]:
        raise ValueError(f"X must have shape (m, {W.shape[0]}) for W of shape {W.shape}, got shape {X.shape}")
    return X @ W + b


def dense_backward(dY: np.ndarray, X: np.ndarray, W: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(dX, dW, db) of Y = X @ W + b."""
    if dY.shape != (X.shape[0], W.shape[1]):
        raise ValueError(f"dY must have shape {(X.shape[0], W.shape[1])}, got shape {dY.shape}")
    return dY @ W.T, X.T @ dY, dY.sum(axis=0)


def softmax_cross_entropy(logits: np.ndarray, labels: np.ndarray) -> tuple[float, np.ndarray]:
    """(mean cross-entropy of softmax(logits) against the labels, its gradient wrt the logits).

    Computed from the log-softmax with the row maximum subtracted first: exp never overflows
    and a confident wrong prediction costs its large loss instead of log(0) = -inf."""
    _check_float64("logits", logits, 2)
    _check_integers("labels", labels, 1, logits.shape[1])
    if labels.shape[0] != logits.shape[0]:
        raise ValueError(f"labels must have shape ({logits.shape[0]},) for logits of shape {logits.shape}, got {labels.shape}")
    m = logits.shape[0]
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    rows = np.arange(m)
    loss = float(-log_p[rows, labels].mean())
    dlogits = np.exp(log_p)
    dlogits[rows, labels] -= 1.0
    return loss, dlogits / m


def l2_penalty(W: np.ndarray, strength: float) -> tuple[float, np.ndarray]:
    """(strength / 2 * sum(W**2), its gradient strength * W): tf.nn.l2_loss scaled by strength."""
    return 0.5 * strength * float(np.sum(W * W)), strength * W


def check_strength(l2) -> float:
    if isinstance(l2, bool) or not isinstance(l2, numbers.Real) or not 0 <= l2 < np.inf:
        raise ValueError(f"l2 must be a finite real number >= 0, got {l2!r}")
    return float(l2)


# ---- the model ----------------------------------------------------------------------------------


def _default_layers() -> ModuleType:
    from convcheck.reference import fast

    return fast


class TextCNN:
    """The network on top of `layers` (a module with conv_forward, conv_backward, pool_forward,
    pool_backward); `l2` is the strength of the L2 penalty on the dense weights."""

    def __init__(self, layers: ModuleType | None = None, l2: float = 0.0):
        self.layers = _default_layers() if layers is None else layers
        self.l2 = check_strength(l2)

    # -- composition steps (each small: a broken composition is a small override) --

    def embed(self, embedding, tokens):
        """The embedded sentences as an NHWC image: time is the height, the embedding the width."""
        return embedding_lookup(embedding, tokens)[..., np.newaxis]

    def embed_backward(self, d_image, tokens, vocab_size):
        return embedding_backward(d_image[..., 0], tokens, vocab_size)

    def pool_over_time(self, A):
        """Max over the whole remaining time axis (the height) of every filter."""
        return self.layers.pool_forward(A, {"f": (A.shape[1], 1), "stride": None}, "max")

    def pool_over_time_backward(self, dP, pool_cache):
        return self.layers.pool_backward(dP, pool_cache, "max")

    def branch(self, image, W, b):
        """conv -> ReLU -> max over time: (m, n_filters) features and the cache of the branch."""
        Z, conv_cache = self.layers.conv_forward(image, W, b, dict(CONV_HPARAMETERS))
        P, pool_cache = self.pool_over_time(relu(Z))
        return P.reshape(P.shape[0], P.shape[3]), (Z, conv_cache, pool_cache)

    def branch_backward(self, d_features, cache):
        """(d_image, dW, db) of one branch from the gradient of its (m, n_filters) features."""
        Z, conv_cache, pool_cache = cache
        dP = d_features.reshape(d_features.shape[0], 1, 1, d_features.shape[1])
        dA = self.pool_over_time_backward(dP, pool_cache)
        return self.layers.conv_backward(relu_backward(dA, Z), conv_cache)

    def concatenate(self, branch_features):
        """(m, F): the branches' features side by side, branch 0 first."""
        return np.concatenate(branch_features, axis=1)

    def split(self, d_features, widths):
        """Backward of `concatenate`: the gradient of each branch's features, branch 0 first."""
        return np.split(d_features, np.cumsum(widths)[:-1], axis=1)

    # -- the whole network --

    def forward(self, params, tokens, dropout_mask=None, keep_prob=1.0):
        """(logits (m, K), cache)."""
        check_parameters(params)
        _check_integers("tokens", tokens, 2, params["embedding"].shape[0])
        if tokens.shape[1] < max(filter_heights(params)):
            raise ValueError(f"tokens must have at least {max(filter_heights(params))} columns (the tallest filter), got shape {tokens.shape}")
        check_dropout(dropout_mask, keep_prob, (tokens.shape[0], sum(filter_counts(params))))
        image = self.embed(params["embedding"], tokens)
        branches = [self.branch(image, params[kW], params[kb]) for kW, kb in map(conv_keys, range(branch_count(params)))]
        features = self.concatenate([f for f, _ in branches])
        dropped = dropout(features, dropout_mask, keep_prob)
        logits = dense(dropped, params["dense_W"], params["dense_b"])
        cache = {"tokens": tokens, "branches": [c for _, c in branches], "dropped": dropped,
                 "dropout": (dropout_mask, keep_prob), "params": params}
        return logits, cache

    def backward(self, dlogits, cache):
        """Gradient of every parameter (keys as in params) from the gradient of the logits.
        The L2 penalty is not included (see loss_and_gradients)."""
        params = cache["params"]
        d_dropped, d_dense_W, d_dense_b = dense_backward(dlogits, cache["dropped"], params["dense_W"])
        d_features = dropout_backward(d_dropped, *cache["dropout"])
        grads = {"dense_W": d_dense_W, "dense_b": d_dense_b}
        d_image = 0.0
        for j, (d_branch, branch_cache) in enumerate(zip(self.split(d_features, filter_counts(params)), cache["branches"])):
            d_image_j, grads[conv_keys(j)[0]], grads[conv_keys(j)[1]] = self.branch_backward(d_branch, branch_cache)
            d_image = d_image + d_image_j
        grads["embedding"] = self.embed_backward(d_image, cache["tokens"], params["embedding"].shape[0])
        return grads

    def loss(self, params, tokens, labels, dropout_mask=None, keep_prob=1.0):
        """(loss, logits, cache), forward only: softmax cross-entropy + L2 on dense_W."""
        logits, cache = self.forward(params, tokens, dropout_mask, keep_prob)
        cross_entropy, cache["dlogits"] = softmax_cross_entropy(logits, labels)
        return cross_entropy + l2_penalty(params["dense_W"], self.l2)[0], logits, cache

    def loss_and_gradients(self, params, tokens, labels, dropout_mask=None, keep_prob=1.0):
        """(loss, logits, gradients of every parameter)."""
        loss, logits, cache = self.loss(params, tokens, labels, dropout_mask, keep_prob)
        grads = self.backward(cache["dlogits"], cache)
        grads["dense_W"] = grads["dense_W"] + l2_penalty(params["dense_W"], self.l2)[1]
        return loss, logits, grads

    @staticmethod
    def pre_activations(cache) -> list[np.ndarray]:
        """Each branch's conv output (before the ReLU) as (m, time, n_filters)."""
        return [Z[:, :, 0, :] for Z, _, _ in cache["branches"]]


def model_class(layers: ModuleType) -> type:
    """The model to build on an implementation module: its own TextCNN (a subclass of the
    bundled one, e.g. a broken composition of the bug zoo) if it defines one, else TextCNN."""
    cls = getattr(layers, "TextCNN", TextCNN)
    if not (isinstance(cls, type) and issubclass(cls, TextCNN)):
        raise ValueError(f"{getattr(layers, '__name__', layers)}.TextCNN must be a subclass of convcheck.text_cnn.TextCNN, got {cls!r}")
    return cls


def sgd_step(params: dict, grads: dict, lr: float) -> dict:
    """Plain SGD: a new parameter dict p - lr * g (the old one is left as it was)."""
    return {k: params[k] - lr * grads[k] for k in params}


def synthetic_sentiment(rng: np.random.Generator, n_sentences: int, seq_len: int, vocab_size: int) -> tuple[np.ndarray, np.ndarray]:
    """(tokens (n, seq_len), labels (n,)): a sentiment-like task generated in code.

    The first third of the vocabulary are "positive" words, the second third "negative", the
    rest neutral. Label 1 when a sentence holds more positive than negative words, else 0; in a
    sentence holding as many of each, the first word is replaced to break the tie, so no label is
    a coin flip."""
    if vocab_size < 3:
        raise ValueError(f"vocab_size must be >= 3 (positive, negative and neutral words), got {vocab_size!r}")
    if seq_len < 1 or n_sentences < 1:
        raise ValueError(f"seq_len and n_sentences must be >= 1, got seq_len={seq_len!r}, n_sentences={n_sentences!r}")
    third = vocab_size // 3

    def polarity(t):
        return np.where(t < third, 1, np.where(t < 2 * third, -1, 0))

    tokens = rng.integers(0, vocab_size, (n_sentences, seq_len))
    for i in np.flatnonzero(polarity(tokens).sum(axis=1) == 0):
        old = int(polarity(tokens[i, 0]))
        new = -old if old else int(rng.choice([1, -1]))  # a neutral word moves the balance by one, a flipped one by two
        tokens[i, 0] = rng.integers(0, third) + (0 if new == 1 else third)
    labels = (polarity(tokens).sum(axis=1) > 0).astype(np.int64)
    return tokens.astype(np.int64), labels
