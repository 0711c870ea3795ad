"""Documented differences from torch, as data: conventions an implementation may declare.

A module's ``CONVENTIONS`` lists the known conventions it follows -- each by name, with the
function, what the framework's documentation says and where (doc URL or file:line):

    CONVENTIONS = [{"function": "pool_backward", "convention": "max_ties_split",
                    "says": "...", "source": "tinygrad/tensor.py:1234"}]

Where such a function's result differs from torch's, the check computes the convention's own
answer on the same input: a result that follows the declared convention (within the same
tolerance) is counted as that convention, not a failure; any other difference is a failure as
before, and so is the same difference undeclared. A convention is the rule it names and nothing
more: it cannot excuse a result that follows neither torch nor it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from convcheck.oracle.tolerances import tolerance
from convcheck.reference import params
from convcheck.repro_template import conv_skipping_padding


def _max_windows(A: np.ndarray, hparameters: dict, fill: float):
    """(geometry, A padded with `fill` in float64): max pooling's windows, as torch clips them."""
    geometry = params.parse_pool(A, hparameters, "max").geometry
    return geometry, np.pad(np.asarray(A, np.float64), geometry.pad_width(), constant_values=fill)


def _ties_split_backward(args, absolute=False) -> np.ndarray | None:
    """pool_backward(mode="max") with each window's gradient split equally among its tied
    maxima; a window holding NaN sends it to its last NaN, as torch (row-major)."""
    dA, (A, hparameters), mode = args
    if mode != "max":
        return None
    dA = np.abs(dA) if absolute else dA
    geometry, padded = _max_windows(A, hparameters, -np.inf)
    grad = np.zeros_like(padded)
    m, n_H, n_W, C = dA.shape
    for i in range(m):
        for h in range(n_H):
            for w in range(n_W):
                rows, cols = geometry.window(h, w)
                for c in range(C):
                    window = padded[i, rows, cols, c]
                    nan = np.argwhere(np.isnan(window))
                    target = grad[i, rows, cols, c]  # a view: the window's cells of grad
                    if len(nan):
                        target[tuple(nan[-1])] += dA[i, h, w, c]
                    else:
                        ties = window == window.max()
                        target[ties] += dA[i, h, w, c] / ties.sum()  # not dA * mask: nan * 0 is nan
    return geometry.unpad(grad)


def _zero_padded_max_forward(args, absolute=False) -> np.ndarray | None:
    """pool_forward(mode="max") with the padding filled with zeros instead of -inf."""
    A, hparameters, mode = args
    if mode != "max":
        return None
    geometry, padded = _max_windows(A, hparameters, 0.0)
    m, (n_H, n_W), C = A.shape[0], geometry.out, A.shape[3]
    out = np.empty((m, n_H, n_W, C))
    for h in range(n_H):
        for w in range(n_W):
            rows, cols = geometry.window(h, w)
            out[:, h, w, :] = padded[:, rows, cols, :].max(axis=(1, 2))
    return np.abs(out) if absolute else out


def _conv_skipping_padding(args, absolute=False) -> np.ndarray:
    """conv_forward's Z with no product formed with a padding element: a NaN or inf of W that
    meets only padding adds nothing (torch's float32 F.conv2d with its padding argument; XLA).
    One computation, the replay's (repro.py checks the same open point)."""
    return conv_skipping_padding("conv_forward", args, absolute)


def _weight_gradient_skipping_padding(args, absolute=False) -> np.ndarray:
    """conv_backward's dW with no product formed with a padding element: a NaN or inf of dZ at a
    window over padding adds nothing to the weights it meets there."""
    return conv_skipping_padding("conv_backward", args, absolute)


@dataclass(frozen=True)
class Convention:
    function: str
    output: str  # the output it changes
    meaning: str
    # (the call's arguments, absolute) -> that output by the convention, or None where it says
    # nothing; absolute=True: the same sums of absolute values, the magnitude of its computation
    answer: Callable
    n_terms: Callable  # the call's arguments -> terms summed into an element (the tolerance policy)


KNOWN = {
    "max_ties_split": Convention("pool_backward", "dA_prev", "max pooling's gradient is split equally among a window's tied maxima",
                                 _ties_split_backward, lambda args: 2 * int(np.prod(params.check_int_pair("f", args[1][1]["f"], 1))) + 1),
    "max_pool_pads_with_zero": Convention("pool_forward", "A", "max pooling pads with zeros, not -inf", _zero_padded_max_forward,
                                          lambda args: 1),
    "conv_skips_padding": Convention("conv_forward", "Z", "no product with a padding element is formed", _conv_skipping_padding,
                                     lambda args: int(np.prod(np.shape(args[1])[:3])) + 1),
    "conv_weight_gradient_skips_padding": Convention(
        "conv_backward", "dW", "no product with a padding element is formed in dW", _weight_gradient_skipping_padding,
        lambda args: int(np.prod(np.shape(args[0])[:3]))),
}


# Where the contract leaves the choice, both answers pass without any declaration (the results
# that follow the other one are counted): a product of a NaN or inf with a padding element.
# zero_pad-then-multiply (the tutorial, torch on explicitly padded input) forms it: NaN; torch's
# own F.conv2d with its padding argument does not (found by `convcheck oracles`), nor does XLA.
OPEN = (
    ("conv_skips_padding", "a product of W with a padding element is not formed (NaN x 0 adds nothing)",
     "torch.nn.functional.conv2d(padding=...) on CPU, torch 2.13"),
    ("conv_weight_gradient_skips_padding", "a product of dZ with a padding element is not formed in dW",
     "torch.nn.functional.conv2d(padding=...) autograd on CPU, torch 2.13"),
)


class ConventionsError(ValueError):
    """A malformed CONVENTIONS declaration."""


def parse(declared) -> tuple:
    """((name, says, source), ...) from a module's CONVENTIONS (ConventionsError naming what is wrong)."""
    if declared is None:
        return ()
    if not isinstance(declared, (list, tuple)):
        raise ConventionsError(f"CONVENTIONS must be a list, got {type(declared).__name__}")
    out = []
    for n, entry in enumerate(declared):
        if not isinstance(entry, dict) or set(entry) != {"function", "convention", "says", "source"}:
            raise ConventionsError(f"CONVENTIONS[{n}] must be a dict of function, convention, says, source, got {entry!r}")
        if entry["convention"] not in KNOWN:
            raise ConventionsError(f"CONVENTIONS[{n}]['convention']: unknown {entry['convention']!r} (known: {sorted(KNOWN)})")
        if KNOWN[entry["convention"]].function != entry["function"]:
            raise ConventionsError(f"CONVENTIONS[{n}]: {entry['convention']!r} is a convention of "
                                   f"{KNOWN[entry['convention']].function}, not {entry['function']!r}")
        if not all(isinstance(entry[k], str) and entry[k].strip() for k in ("says", "source")):
            raise ConventionsError(f"CONVENTIONS[{n}]: 'says' and 'source' must be non-empty strings")
        out.append((entry["convention"], entry["says"], entry["source"]))
    return tuple(out)


def followed(declared: tuple, function: str, output: str, args, got: np.ndarray) -> str | None:
    """The name of a declared convention of `function` whose answer `got` is, or None: within
    the tolerance policy (oracle/tolerances.py: the dtype's epsilon times the magnitude of the
    convention's own computation, over its terms), NaN where NaN."""
    for name, _, _ in declared:
        convention = KNOWN[name]
        if convention.function != function or convention.output != output:
            continue
        answer = convention.answer(args)
        if answer is None or answer.shape != got.shape:
            continue
        tol = tolerance(convention.answer(args, absolute=True), convention.n_terms(args), got.dtype)
        with np.errstate(invalid="ignore"):
            close = (np.abs(got.astype(np.float64) - answer) <= tol) | (got == answer) | (np.isnan(got) & np.isnan(answer))
        if bool(np.all(close)):
            return name
    return None
