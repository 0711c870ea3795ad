"""The one tolerance policy of the suite.

Every output element the layers compute is a sum of n rounded terms (products, or plain
values): y = sum_i t_i. Whatever the order or blocking of the summation, the classic bound
(Higham, Accuracy and Stability of Numerical Algorithms, §3.1) is

    |fl(y) - y| <= gamma_n * sum_i |t_i|,    gamma_n = n*u / (1 - n*u),    u = eps(dtype) / 2.

So the tolerance of each element is gamma_(n+1)(dtype) * M, where
  - M = sum_i |t_i| is the *magnitude of the computation*: the same layer applied to the
    absolute values of its inputs, computed by the float64 oracle (conv(|A|, |W|) + |b|, ...);
  - n counts the terms of the largest sum the check involves, and the +1 pays for rounding
    the result into the output dtype (a float32 result of a float64 computation);
  - dtype is the implementation's result dtype: float32 results are held to float32's u.
The oracle itself computes in float64, so gamma_(n+1)(float64) * M is added for its side.
Results in the subnormal range also carry an absolute error: each rounding may lose up to
half the smallest subnormal of the dtype (Higham §2.1), so (n+1) of those are added.

This is a worst-case bound, yet tight where it matters: a float64 result carrying float32
rounding anywhere (errors ~1e-8 relative to M) exceeds gamma_n(float64) * M (~1e-14 for
n ~ 100) by orders of magnitude. Selections (zero padding, max pooling, the mask) have n = 0:
they must be exact.

Finite differences have their own budget, `fd_tolerance`, with its reasoning beside it.
"""

from __future__ import annotations

import numpy as np


def unit_roundoff(dtype) -> float:
    return float(np.finfo(np.dtype(dtype)).eps) / 2


def gamma(n: int, dtype) -> float:
    """Higham's gamma_n: the relative error bound of a sum of n rounded terms."""
    nu = n * unit_roundoff(dtype)
    if nu >= 1:
        raise ValueError(f"n={n} terms is past the point where gamma_n bounds {np.dtype(dtype)} rounding")
    return nu / (1 - nu)


def coarser(expected, actual) -> np.dtype:
    """The dtype whose rounding a result is held to: the expected one, or the result's own where
    that is a coarser float. A wrong dtype is a finding of its own; its values are judged at the
    precision they have, so that a float16 result is one dtype finding, not also a values one."""
    expected, actual = np.dtype(expected), np.dtype(actual)
    if actual.kind == "f" and expected.kind == "f" and np.finfo(actual).eps > np.finfo(expected).eps:
        return actual
    return expected


def tolerance(magnitude: np.ndarray, n_terms: int, dtype) -> np.ndarray:
    """Per-element tolerance for comparing an implementation's `dtype` result with the float64
    oracle, for sums of at most `n_terms` terms whose absolute values sum to `magnitude`.
    A dtype too coarse for gamma to bound n_terms roundings (float16 past 2048 terms) has no
    bound: infinite tolerance (such a result is already a dtype finding)."""
    if n_terms == 0:
        return np.zeros_like(np.asarray(magnitude, dtype=np.float64))
    if (n_terms + 1) * unit_roundoff(dtype) >= 1:
        return np.full_like(np.asarray(magnitude, dtype=np.float64), np.inf)
    relative = (gamma(n_terms + 1, dtype) + gamma(n_terms + 1, np.float64)) * np.asarray(magnitude, dtype=np.float64)
    return relative + (n_terms + 1) * float(np.finfo(np.dtype(dtype)).smallest_subnormal)


def fd_tolerance(scale, n_terms: int):
    """Budget for comparing a central difference u.(f(x+hv) - f(x-hv)) / (2h) with (J^T u).v.

    All in float64. The layers are linear (conv, average pooling) or piecewise linear (max
    pooling, checked only where no window's top two values are within the step) in the
    perturbed argument, so the difference quotient has no truncation error: only rounding
    remains. Each element of f and of J^T u is a sum of at most n_terms terms, so it rounds
    within gamma_n times its magnitude, and the two inner products add n terms more. The caller
    passes `scale` = sum_j |u_j| * F / h  +  sum_i |(J^T u)_i| * |v_i|, where F bounds the
    magnitude of any element of f at the perturbed points (e.g. for conv: kh*kw*C_prev *
    max|A| * max|W| + max|b|) -- a bound from maxima, so no oracle is needed to compute it.
    An array of scales (one per Jacobian entry) gives an array of budgets.
    """
    factor = gamma(2 * max(int(n_terms), 1) + 2, np.float64)
    return factor * scale if isinstance(scale, np.ndarray) else factor * float(scale)
