"""convcheck adapter: torch's own operators behind the seed API -- the subject of `convcheck oracles`.

    convcheck oracles            # torch (this module, in a worker) against JAX and the loops reference
    convcheck verify adapters/torch_functional.py --api full

The oracle (oracle/torch_ops.py) computes in float64 and refuses torch's max-pool backward where
it is known to be wrong; this module is torch as a user meets it: every call in the inputs'
result dtype, and ``torch.nn.functional``'s max-pool backward called everywhere, the region of
``ORACLE_DEFECTS`` included (an abort there ends this module's worker and is a finding).

Operators: ``F.conv2d`` (stride, padding -- unequal sides by ``F.pad`` first --, dilation,
groups, bias), ``F.max_pool2d`` / ``F.avg_pool2d`` (all their options), gradients by autograd
(``Tensor.backward``), ``F.pad`` for zero_pad. conv_single_step, create_mask_from_window and
distribute_value have no torch operator and are not defined.

Translation only: validation is the seed contract's (``convcheck.reference.params``), the layout
NHWC <-> NCHW and HWIO <-> OIHW; hyperparameters go to torch as the caller spelled them.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from convcheck.oracle import torch_ops as T
from convcheck.reference import params

CAPABILITIES = {"framework": ["torch", torch.__version__]}
CONVENTIONS: list = []


def _tensor(x: np.ndarray, dtype, requires_grad: bool = False, layout=(0, 3, 1, 2)) -> torch.Tensor:
    """A contiguous copy in `dtype`, NHWC -> NCHW (or the layout given)."""
    t = torch.from_numpy(np.array(np.asarray(x, dtype=dtype).transpose(layout), order="C"))
    return t.requires_grad_(requires_grad)


def _array(t: torch.Tensor, layout=(0, 2, 3, 1)) -> np.ndarray:
    return np.array(t.detach().permute(*layout).numpy(), order="C")


def _conv(call: params.ConvCall, hp: dict, a, w, bias):
    x, padding = T._conv_input(a, hp.get("pad", 0))
    return F.conv2d(x, w, bias, stride=T._plain(hp.get("stride", 1)), padding=padding,
                    dilation=T._plain(hp.get("dilation", 1)), groups=call.groups)


def _conv_tensors(A_prev, W, b, dtype, requires_grad=False):
    bias = None if b is None else torch.from_numpy(np.array(np.asarray(b, dtype=dtype).reshape(-1))).requires_grad_(requires_grad)
    return _tensor(A_prev, dtype, requires_grad), _tensor(W, dtype, requires_grad, (3, 2, 0, 1)), bias


def conv_forward(A_prev, W, b, hparameters):
    call = params.parse_conv(A_prev, W, b, hparameters)
    with torch.no_grad():
        Z = _conv(call, hparameters, *_conv_tensors(A_prev, W, b, call.dtype))
    return _array(Z), (A_prev, W, b, hparameters)


def conv_backward(dZ, cache):
    A_prev, W, b, call = params.parse_conv_cache(dZ, cache)
    a, w, bias = _conv_tensors(A_prev, W, b, call.dtype, requires_grad=True)
    _conv(call, cache[3], a, w, bias).backward(_tensor(dZ, call.dtype))
    db = None if bias is None else bias.grad.numpy().reshape(np.shape(b)).copy()
    return _array(a.grad), _array(w.grad, (2, 3, 1, 0)), db


def _pool(hp: dict, mode: str, x):
    return T._pool(x, hp["f"], hp.get("stride"), mode, hp.get("pad", 0), hp.get("dilation", 1), hp.get("ceil_mode", False),
                   hp.get("count_include_pad", True), hp.get("divisor_override"))


def pool_forward(A_prev, hparameters, mode="max"):
    call = params.parse_pool(A_prev, hparameters, mode)
    with torch.no_grad():
        A = _pool(hparameters, call.mode, _tensor(A_prev, call.dtype))
    return _array(A), (A_prev, hparameters)


def pool_backward(dA, cache, mode="max"):
    A_prev, call = params.parse_pool_cache(dA, cache, mode)
    a = _tensor(A_prev, call.dtype, requires_grad=True)
    _pool(cache[1], call.mode, a).backward(_tensor(dA, call.dtype))
    return _array(a.grad)


def zero_pad(X, pad):
    X = params.check_nonempty("X", params.check_float_array("X", X, 4))
    p = params.check_pad_amount(pad)
    return _array(F.pad(_tensor(X, X.dtype), (p, p, p, p)))
