"""The tutorial's eight functions with four defects at once, as public solutions have them:

1. every output is allocated with np.zeros (float64), so float32 inputs give float64 results;
2. nothing is validated;
3. create_mask_from_window marks every tied maximum (x == max), and pool_backward uses it;
4. pool_forward tests mode == "avg", so average pooling leaves its output at zero.

Everything else is right, so the findings summary must name exactly these four, worst first.
"""

import numpy as np


def zero_pad(X, pad):
    m, n_H, n_W, n_C = X.shape
    out = np.zeros((m, n_H + 2 * pad, n_W + 2 * pad, n_C))
    out[:, pad:pad + n_H, pad:pad + n_W, :] = X
    return out


def conv_single_step(a_slice_prev, W, b):
    return np.sum(np.multiply(a_slice_prev, W, dtype=np.float64)) + np.float64(b[0, 0, 0])


def conv_forward(A_prev, W, b, hparameters):
    m, n_H_prev, n_W_prev, _ = A_prev.shape
    f, _, _, n_C = W.shape
    stride, pad = hparameters["stride"], hparameters["pad"]
    n_H = (n_H_prev + 2 * pad - f) // stride + 1
    n_W = (n_W_prev + 2 * pad - f) // stride + 1
    Z = np.zeros((m, n_H, n_W, n_C))
    A_pad = zero_pad(A_prev, pad)
    for i in range(m):
        for h in range(n_H):
            for w in range(n_W):
                top, left = h * stride, w * stride
                window = A_pad[i, top:top + f, left:left + f, :]
                for c in range(n_C):
                    Z[i, h, w, c] = conv_single_step(window, W[..., c], b[..., c])
    return Z, (A_prev, W, b, hparameters)


def conv_backward(dZ, cache):
    A_prev, W, b, hparameters = cache
    W, dZ = W.astype(np.float64), dZ.astype(np.float64)  # computes in float64, like its outputs
    stride, pad = hparameters["stride"], hparameters["pad"]
    f = W.shape[0]
    m, n_H, n_W, n_C = dZ.shape
    A_pad = zero_pad(A_prev, pad)
    dA_pad = np.zeros(A_pad.shape)
    dW = np.zeros(W.shape)
    db = np.zeros(b.shape)
    for i in range(m):
        for h in range(n_H):
            for w in range(n_W):
                top, left = h * stride, w * stride
                for c in range(n_C):
                    dA_pad[i, top:top + f, left:left + f, :] += W[..., c] * dZ[i, h, w, c]
                    dW[..., c] += A_pad[i, top:top + f, left:left + f, :] * dZ[i, h, w, c]
                    db[..., c] += dZ[i, h, w, c]
    n_H_prev, n_W_prev = A_prev.shape[1:3]
    dA_prev = dA_pad[:, pad:pad + n_H_prev, pad:pad + n_W_prev, :]
    return dA_prev, dW, db


def pool_forward(A_prev, hparameters, mode="max"):
    m, n_H_prev, n_W_prev, n_C = A_prev.shape
    f, stride = hparameters["f"], hparameters["stride"]
    n_H = (n_H_prev - f) // stride + 1
    n_W = (n_W_prev - f) // stride + 1
    A = np.zeros((m, n_H, n_W, n_C))
    for i in range(m):
        for h in range(n_H):
            for w in range(n_W):
                top, left = h * stride, w * stride
                for c in range(n_C):
                    window = A_prev[i, top:top + f, left:left + f, c]
                    if mode == "max":
                        A[i, h, w, c] = np.max(window)
                    elif mode == "avg":
                        A[i, h, w, c] = np.mean(window)
    return A, (A_prev, hparameters)


def create_mask_from_window(x):
    return x == np.max(x)


def distribute_value(dz, shape):
    n_H, n_W = shape
    return np.ones(shape) * dz / (n_H * n_W)


def pool_backward(dA, cache, mode="max"):
    A_prev, hparameters = cache
    f, stride = hparameters["f"], hparameters["stride"]
    m, n_H, n_W, n_C = dA.shape
    dA_prev = np.zeros(A_prev.shape)
    for i in range(m):
        for h in range(n_H):
            for w in range(n_W):
                top, left = h * stride, w * stride
                for c in range(n_C):
                    if mode == "max":
                        window = A_prev[i, top:top + f, left:left + f, c]
                        dA_prev[i, top:top + f, left:left + f, c] += create_mask_from_window(window) * dA[i, h, w, c]
                    else:
                        dA_prev[i, top:top + f, left:left + f, c] += distribute_value(dA[i, h, w, c], (f, f))
    return dA_prev
