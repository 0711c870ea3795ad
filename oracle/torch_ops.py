"""PyTorch as the oracle: the seed API's layers computed by torch, in float64, on the CPU.

Arrays cross the boundary in NHWC / (f, f, C_prev, C) layout and are converted to contiguous
NCHW / (C, C_prev, f, f) tensors here. Contiguous, not permuted views: torch's float64 conv
backward raises "grad_weight must be contiguous" on channels_last views when the conv has one
output channel.

Every function returns NumPy float64 arrays in the seed's layout, whatever the inputs' dtype:
float32 inputs are widened exactly, so the oracle's own rounding is that of float64.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)


def nchw(x: np.ndarray, requires_grad: bool = False) -> torch.Tensor:
    """(m, H, W, C) array -> contiguous (m, C, H, W) float64 tensor."""
    t = torch.from_numpy(np.array(x.transpose(0, 3, 1, 2), dtype=np.float64, order="C"))  # a copy: inputs may be read-only
    return t.requires_grad_(requires_grad)


def nhwc(t: torch.Tensor) -> np.ndarray:
    """(m, C, H, W) tensor -> (m, H, W, C) float64 array."""
    return np.ascontiguousarray(t.detach().permute(0, 2, 3, 1).numpy())


def weight_to_torch(W: np.ndarray, requires_grad: bool = False) -> torch.Tensor:
    """(kh, kw, C_prev, C) array -> contiguous (C, C_prev, kh, kw) float64 tensor."""
    t = torch.from_numpy(np.array(W.transpose(3, 2, 0, 1), dtype=np.float64, order="C"))
    return t.requires_grad_(requires_grad)


def weight_from_torch(t: torch.Tensor) -> np.ndarray:
    return np.ascontiguousarray(t.detach().permute(2, 3, 1, 0).numpy())


def bias_to_torch(b: np.ndarray, requires_grad: bool = False) -> torch.Tensor:
    return torch.from_numpy(np.array(b, dtype=np.float64).reshape(-1)).requires_grad_(requires_grad)


def zero_pad(X: np.ndarray, pad: int) -> np.ndarray:
    return nhwc(F.pad(nchw(X), (pad, pad, pad, pad)))


def single_step(a_slice: np.ndarray, W: np.ndarray, b: np.ndarray) -> float:
    t = lambda x: torch.from_numpy(np.array(x, dtype=np.float64))  # noqa: E731  (a copy: x may be read-only)
    return float(torch.sum(t(a_slice) * t(W)) + t(b).reshape(()))


def conv_forward(A_prev: np.ndarray, W: np.ndarray, b: np.ndarray, stride: int, pad: int) -> np.ndarray:
    with torch.no_grad():
        return nhwc(F.conv2d(nchw(A_prev), weight_to_torch(W), bias_to_torch(b), stride=stride, padding=pad))


def conv_backward(dZ: np.ndarray, A_prev: np.ndarray, W: np.ndarray, b: np.ndarray, stride: int, pad: int):
    """(dA_prev, dW, db) by autograd."""
    a, w, bias = nchw(A_prev, True), weight_to_torch(W, True), bias_to_torch(b, True)
    F.conv2d(a, w, bias, stride=stride, padding=pad).backward(nchw(dZ))
    return nhwc(a.grad), weight_from_torch(w.grad), bias.grad.numpy().reshape(b.shape)


def conv_backward_direct(dZ: np.ndarray, A_prev: np.ndarray, W: np.ndarray, stride: int, pad: int):
    """(dA_prev, dW) by torch.nn.grad's closed forms: a second route, independent of autograd."""
    g = nchw(dZ)
    dA = torch.nn.grad.conv2d_input(nchw(A_prev).shape, weight_to_torch(W), g, stride=stride, padding=pad)
    dW = torch.nn.grad.conv2d_weight(nchw(A_prev), weight_to_torch(W).shape, g, stride=stride, padding=pad)
    return nhwc(dA), weight_from_torch(dW)


def pool_forward(A_prev: np.ndarray, f: int, stride: int, mode: str) -> np.ndarray:
    with torch.no_grad():
        if mode == "max":
            return nhwc(F.max_pool2d(nchw(A_prev), f, stride))
        return nhwc(F.avg_pool2d(nchw(A_prev), f, stride))


def max_pool_indices(A_prev: np.ndarray, f: int, stride: int) -> np.ndarray:
    """Flat index (into each H*W plane) of the element torch selects for every window, NHWC."""
    with torch.no_grad():
        _, idx = F.max_pool2d(nchw(A_prev), f, stride, return_indices=True)
    return np.ascontiguousarray(idx.permute(0, 2, 3, 1).numpy())


def pool_backward(dA: np.ndarray, A_prev: np.ndarray, f: int, stride: int, mode: str) -> np.ndarray:
    a = nchw(A_prev, True)
    out = F.max_pool2d(a, f, stride) if mode == "max" else F.avg_pool2d(a, f, stride)
    out.backward(nchw(dA))
    return nhwc(a.grad)


def avg_pool_as_conv(A_prev: np.ndarray, f: int, stride: int) -> np.ndarray:
    """Average pooling as a depthwise conv with a uniform 1/f^2 kernel: a second route."""
    C = A_prev.shape[3]
    kernel = torch.full((C, 1, f, f), 1.0 / (f * f), dtype=torch.float64)
    with torch.no_grad():
        return nhwc(F.conv2d(nchw(A_prev), kernel, stride=stride, groups=C))
