"""`convcheck text-cnn-train`: the NumPy text CNN and its torch twin trained side by side.

Both start from the same parameters and take the same mini-batches with the same dropout masks,
each following its own gradients (NumPy: the model on the chosen layers and sgd_step; torch:
autograd and torch.optim.SGD). After every step both are evaluated on the whole training set
(no dropout). The PNG shows the two loss curves and, on a log scale, how far apart the two runs
are: the loss difference and the largest parameter difference.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from . import text_cnn as tc

EXIT_OK, EXIT_USAGE = 0, 2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--steps", type=int, default=300, help="SGD steps (default 300)")
    parser.add_argument("--out", default="text_cnn_loss.png", metavar="PNG", help="where to write the plot (default text_cnn_loss.png)")
    parser.add_argument("--impl", help="layers of the NumPy model: dotted module or .py path (default: the bundled fast reference)")
    parser.add_argument("--lr", type=float, default=0.1, help="learning rate (default 0.1)")
    parser.add_argument("--batch", type=int, default=32, help="mini-batch size (default 32)")
    parser.add_argument("--keep-prob", type=float, default=0.5, help="dropout keep probability while training (default 0.5, as Kim)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the data, the initialization, the batches and the masks")


# the synthetic task and the network (Kim's heights 3, 4, 5; fewer filters than his 100 so it runs in seconds)
SENTENCES, HELD_OUT, SEQ_LEN, VOCAB, EMB_WIDTH, FILTERS, L2 = 512, 256, 12, 30, 16, 8, 1e-3


def _fail(message: str) -> int:
    print(f"convcheck text-cnn-train: {message}", file=sys.stderr)
    return EXIT_USAGE


def train(layers, steps: int, lr: float, batch: int, keep_prob: float, seed: int) -> dict:
    """Train both; returns the per-step history and the final accuracies."""
    from convcheck.oracle import torch_text_cnn as oracle

    rng = np.random.default_rng(seed)
    tokens, labels = tc.synthetic_sentiment(rng, SENTENCES + HELD_OUT, SEQ_LEN, VOCAB)
    (train_x, test_x), (train_y, test_y) = np.split(tokens, [SENTENCES]), np.split(labels, [SENTENCES])
    params = tc.init_parameters(rng, VOCAB, EMB_WIDTH, tc.DEFAULT_FILTER_HEIGHTS, FILTERS, n_classes=2)
    model = tc.model_class(layers)(layers, L2)
    net, optimizer = oracle.sgd_trainer(params, lr)
    n_features = FILTERS * len(tc.DEFAULT_FILTER_HEIGHTS)
    history = {"numpy": [], "torch": [], "parameter_gap": []}

    def record():
        history["numpy"].append(model.loss(params, train_x, train_y)[0])
        history["torch"].append(oracle.evaluate(net, train_x, train_y, L2)[0])
        torch_params = net.to_numpy()
        history["parameter_gap"].append(max(float(np.abs(params[k] - torch_params[k]).max()) for k in params))

    record()
    order = np.arange(0)
    for _ in range(steps):
        if order.size < batch:  # a new epoch: a fresh shuffle
            order = rng.permutation(SENTENCES)
        rows, order = order[:batch], order[batch:]
        mask = rng.random((rows.size, n_features)) < keep_prob
        _, _, grads = model.loss_and_gradients(params, train_x[rows], train_y[rows], mask, keep_prob)
        params = tc.sgd_step(params, grads, lr)
        oracle.train_step(net, optimizer, train_x[rows], train_y[rows], L2, mask, keep_prob)
        record()
    logits, _ = model.forward(params, test_x)
    history["numpy_accuracy"] = float((logits.argmax(axis=1) == test_y).mean())
    history["torch_accuracy"] = oracle.evaluate(net, test_x, test_y, L2)[1]
    return history


def plot(history: dict, path: str, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = np.arange(len(history["numpy"]))
    fig, (curves, gaps) = plt.subplots(1, 2, figsize=(12, 4.5))
    curves.plot(steps, history["numpy"], color="tab:blue", linewidth=3.5, alpha=0.6, label="NumPy (convcheck.text_cnn)")
    curves.plot(steps, history["torch"], color="tab:red", linewidth=1.2, linestyle="--", label="torch twin")
    curves.set(xlabel="SGD step", ylabel="training loss (cross-entropy + L2, no dropout)", title="loss curves")
    curves.legend()
    loss_gap = np.abs(np.subtract(history["numpy"], history["torch"]))
    differ = loss_gap > 0  # a log scale cannot show the steps where the two losses are equal
    gaps.semilogy(steps[differ], loss_gap[differ], ".", color="tab:purple",
                  label=f"|loss NumPy - loss torch| (equal at {int((~differ).sum())} of {steps.size} evaluations)")
    parameter_gap = np.asarray(history["parameter_gap"])
    gaps.semilogy(steps[parameter_gap > 0], parameter_gap[parameter_gap > 0], color="tab:green", label="max |parameter NumPy - torch|")
    gaps.set(xlabel="SGD step", title="how far apart the two runs are")
    gaps.legend(loc="upper left", fontsize="small")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(args: argparse.Namespace) -> int:
    if args.steps < 1 or args.batch < 1 or not args.lr > 0 or not 0 < args.keep_prob <= 1:
        return _fail(f"--steps and --batch must be >= 1, --lr > 0 and --keep-prob in (0, 1]; got --steps {args.steps}, "
                     f"--batch {args.batch}, --lr {args.lr}, --keep-prob {args.keep_prob}")
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return _fail("drawing the PNG needs matplotlib: pip install 'convcheck[plot]'")
    try:
        import torch  # noqa: F401
    except ImportError:
        return _fail("the torch twin needs torch: pip install 'convcheck[torch]'")
    from .implementations import ImplementationError, load

    try:
        impl = load(args.impl or "convcheck.reference.fast")
    except ImplementationError as exc:
        return _fail(str(exc))
    if impl.missing(tc.LAYER_FUNCTIONS):
        return _fail(f"--impl {args.impl}: the text CNN needs {', '.join(impl.missing(tc.LAYER_FUNCTIONS))}, which it lacks")
    layers = impl.module
    try:
        history = train(layers, args.steps, args.lr, args.batch, args.keep_prob, args.seed)
    except ValueError as exc:
        return _fail(str(exc))
    name = args.impl or "convcheck.reference.fast"
    gap = float(np.abs(np.subtract(history["numpy"], history["torch"])).max())
    title = (f"text CNN on {name}: {args.steps} SGD steps, lr {args.lr}, batch {args.batch}, dropout keep {args.keep_prob}, "
             f"seed {args.seed}")
    plot(history, args.out, title)
    print(f"training loss   NumPy {history['numpy'][0]:.6f} -> {history['numpy'][-1]:.6f}   "
          f"torch {history['torch'][0]:.6f} -> {history['torch'][-1]:.6f}")
    print(f"largest |loss difference| {gap:.3g}, largest |parameter difference| {max(history['parameter_gap']):.3g}")
    print(f"held-out accuracy   NumPy {history['numpy_accuracy']:.3f}   torch {history['torch_accuracy']:.3f}")
    print(f"wrote {args.out}")
    return EXIT_OK
