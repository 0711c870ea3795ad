"""The text CNN in torch, float64 on the CPU: the oracle of convcheck.text_cnn.

`TorchTextCNN` is an nn.Module with the same architecture (nn.Embedding, one nn.Conv2d per
filter height over the whole embedding width, ReLU, max_pool2d over the whole remaining time
axis, concatenation, dropout by an explicit mask, nn.Linear), loaded from the NumPy parameters:

* conv weights (h, E, 1, n) NHWC-style -> (n, 1, h, E), biases (1, 1, 1, n) -> (n,);
* the embedded batch (m, L, E) is the NCHW image (m, 1, L, E): time is the height;
* dense_W (F, K) -> nn.Linear's weight (K, F).

Max pooling is F.max_pool2d, whose CPU backward sends a window's gradient to its first maximum
in row-major order: the rule every layer of the suite follows.

`reference` returns logits, loss and every gradient in the NumPy layout, plus what the
tolerance policy needs: the pre-activations and the magnitudes of the computation (the same
network on the absolute values of its parameters, see `reference`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from convcheck.text_cnn import branch_count, conv_keys

from . import torch_ops  # one thread, deterministic algorithms


class TorchTextCNN(nn.Module):
    def __init__(self, vocab_size: int, emb_width: int, heights, counts, n_classes: int):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, emb_width, dtype=torch.float64)
        self.convs = nn.ModuleList(nn.Conv2d(1, n, (h, emb_width), dtype=torch.float64) for h, n in zip(heights, counts))
        self.dense = nn.Linear(sum(counts), n_classes, dtype=torch.float64)

    @classmethod
    def from_numpy(cls, params: dict) -> "TorchTextCNN":
        J = branch_count(params)
        Ws = [params[conv_keys(j)[0]] for j in range(J)]
        V, E = params["embedding"].shape
        net = cls(V, E, [W.shape[0] for W in Ws], [W.shape[3] for W in Ws], params["dense_W"].shape[1])
        with torch.no_grad():
            net.embedding.weight.copy_(torch.from_numpy(np.array(params["embedding"], dtype=np.float64)))
            for j, conv in enumerate(net.convs):
                kW, kb = conv_keys(j)
                conv.get_parameter("weight").copy_(torch_ops.weight_to_torch(params[kW]))
                conv.get_parameter("bias").copy_(torch_ops.bias_to_torch(params[kb]))
            net.dense.weight.copy_(torch.from_numpy(np.array(params["dense_W"].T, dtype=np.float64)))
            net.dense.bias.copy_(torch.from_numpy(np.array(params["dense_b"], dtype=np.float64)))
        return net

    def _numpy_layout(self, of) -> dict:
        """{name: array} in the NumPy layout, of the parameters (of=lambda p: p) or their gradients."""
        out = {"embedding": of(self.embedding.weight).detach().numpy().copy()}
        for j, conv in enumerate(self.convs):
            kW, kb = conv_keys(j)
            out[kW] = torch_ops.weight_from_torch(of(conv.weight))
            out[kb] = of(conv.bias).detach().numpy().reshape(1, 1, 1, -1).copy()
        out["dense_W"] = of(self.dense.weight).detach().numpy().T.copy()
        out["dense_b"] = of(self.dense.bias).detach().numpy().copy()
        return out

    def to_numpy(self) -> dict:
        return self._numpy_layout(lambda p: p)

    def gradients_to_numpy(self) -> dict:
        return self._numpy_layout(lambda p: p.grad)

    def pre_activations(self, tokens: torch.Tensor) -> list[torch.Tensor]:
        """Each branch's conv output (m, n, time, 1)."""
        image = self.embedding(tokens).unsqueeze(1)  # (m, 1, L, E)
        return [conv(image) for conv in self.convs]

    def forward(self, tokens, dropout_mask=None, keep_prob=1.0, winners=None):
        """(logits, pre-activations, winners). winners: the time index max pooling picked for each
        (example, filter) of each branch; given, the features are read there instead of pooled."""
        Z = self.pre_activations(tokens)
        if winners is None:
            pooled, winners = zip(*(F.max_pool2d(F.relu(z), (z.shape[2], 1), return_indices=True) for z in Z))
        else:
            pooled = tuple(F.relu(z).gather(2, w) for z, w in zip(Z, winners))
        features = torch.cat([p.flatten(1) for p in pooled], dim=1)
        if dropout_mask is not None:
            features = features * torch.from_numpy(np.asarray(dropout_mask, dtype=np.float64)) / keep_prob
        return self.dense(features), Z, winners

    def loss(self, logits, labels, l2: float):
        return F.cross_entropy(logits, labels) + 0.5 * l2 * (self.dense.weight**2).sum()


def as_tokens(tokens: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.array(tokens, dtype=np.int64))


@dataclass
class Reference:
    loss: float
    logits: np.ndarray  # (m, K)
    grads: dict  # NumPy layout, L2 included
    probabilities: np.ndarray  # softmax(logits)
    pre_activations: list  # per branch, (m, time, n)
    pre_activation_magnitudes: list  # per branch, conv(|e|, |W|) + |b|, (m, time, n)
    logits_magnitude: np.ndarray  # (m, K)
    grad_magnitudes: dict  # NumPy layout


def reference(params: dict, tokens: np.ndarray, labels: np.ndarray, l2: float = 0.0, dropout_mask=None, keep_prob=1.0) -> Reference:
    """The oracle's results, and the magnitudes of the computation.

    The magnitudes come from the same network on |parameters| with the real network's
    selections kept (each pooled feature read at the real winner; the ReLU is the identity on
    nonnegative values, and keeping a feature the real ReLU zeroes only overestimates), run
    forward for the logits and backward from the upstream magnitude (p + onehot(y)) / m of the
    cross-entropy gradient p - onehot(y), plus l2 * |dense_W|. Every operation of that network is
    linear with nonnegative coefficients, so each result is exactly the sum of the absolute
    values of the terms the real computation adds up, selections included."""
    t, y = as_tokens(tokens), torch.from_numpy(np.array(labels, dtype=np.int64))
    net = TorchTextCNN.from_numpy(params)
    logits, Z, winners = net(t, dropout_mask, keep_prob)
    net.loss(logits, y, l2).backward()
    with torch.no_grad():
        loss = float(net.loss(logits, y, l2))
    p = torch.softmax(logits.detach(), dim=1)

    magnitude_net = TorchTextCNN.from_numpy({k: np.abs(v) for k, v in params.items()})
    logits_abs, Z_abs, _ = magnitude_net(t, dropout_mask, keep_prob, winners=[w.detach() for w in winners])
    upstream = (p + F.one_hot(y, logits.shape[1]).to(torch.float64)) / logits.shape[0]
    ((logits_abs * upstream).sum() + 0.5 * l2 * (magnitude_net.dense.weight**2).sum()).backward()

    def maps(zs):
        return [z.detach()[:, :, :, 0].permute(0, 2, 1).numpy().copy() for z in zs]

    return Reference(
        loss=loss,
        logits=logits.detach().numpy().copy(),
        grads=net.gradients_to_numpy(),
        probabilities=p.numpy().copy(),
        pre_activations=maps(Z),
        pre_activation_magnitudes=maps(Z_abs),
        logits_magnitude=logits_abs.detach().numpy().copy(),
        grad_magnitudes=magnitude_net.gradients_to_numpy(),
    )


def sgd_trainer(params: dict, lr: float) -> tuple[TorchTextCNN, torch.optim.Optimizer]:
    """The torch twin of a NumPy parameter set, with plain SGD (no momentum, no weight decay)."""
    net = TorchTextCNN.from_numpy(params)
    return net, torch.optim.SGD(net.parameters(), lr=lr)


def train_step(net: TorchTextCNN, optimizer: torch.optim.Optimizer, tokens, labels, l2: float, dropout_mask=None, keep_prob=1.0) -> float:
    """One SGD step on a batch (dropout by the given mask); returns the batch loss before the step."""
    optimizer.zero_grad()
    logits, _, _ = net(as_tokens(tokens), dropout_mask, keep_prob)
    loss = net.loss(logits, torch.from_numpy(np.array(labels, dtype=np.int64)), l2)
    loss.backward()
    optimizer.step()
    return float(loss.detach())


def evaluate(net: TorchTextCNN, tokens, labels, l2: float) -> tuple[float, float]:
    """(loss, accuracy) on a data set, without dropout."""
    with torch.no_grad():
        logits, _, _ = net(as_tokens(tokens))
        y = torch.from_numpy(np.array(labels, dtype=np.int64))
        return float(net.loss(logits, y, l2)), float((logits.argmax(dim=1) == y).to(torch.float64).mean())
