"""dtype rules the contract tests leave out: conv without a bias, and the loops reference's
float64 arithmetic.

* conv_forward(A_prev, W, None, ...) takes the result type of A_prev and W (as with a bias it
  takes that of all three); conv_backward's gradients take it together with dZ's.
* loops is the specification: it computes every value in float64 and rounds once, to the
  result dtype. So its float32 result on float32 inputs is, bit for bit, its float64 result
  on the same values rounded to float32 (fast computes in the result dtype: not so).
"""

from __future__ import annotations

import numpy as np
import pytest

from convcheck.reference import fast, loops

IMPLS = [pytest.param(loops, id="loops"), pytest.param(fast, id="fast")]
F32, F64 = np.float32, np.float64


def rand(shape, seed, dtype=F64):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


HP = {"stride": 1, "pad": 1}


@pytest.mark.parametrize("ref", IMPLS)
@pytest.mark.parametrize("A_dtype, W_dtype", [(F32, F32), (F32, F64), (F64, F32), (F64, F64)], ids=lambda t: np.dtype(t).name)
def test_conv_without_bias_takes_the_result_type_of_A_prev_and_W(ref, A_dtype, W_dtype):
    expected = F64 if F64 in (A_dtype, W_dtype) else F32
    A, W = rand((2, 4, 4, 3), 1, A_dtype), rand((3, 3, 3, 2), 2, W_dtype)
    Z, cache = ref.conv_forward(A, W, None, HP)
    assert Z.dtype == expected
    dA, dW, db = ref.conv_backward(rand(Z.shape, 3, F32), cache)
    assert (dA.dtype, dW.dtype, db) == (expected, expected, None)


@pytest.mark.parametrize("ref", IMPLS)
@pytest.mark.parametrize("groups", [1, 3], ids=["groups1", "depthwise"])
@pytest.mark.parametrize("layer_dtype, dZ_dtype", [(F64, F32), (F32, F64)], ids=["float64-layer", "float64-dZ"])
def test_conv_gradients_take_the_result_type_with_dZ(ref, groups, layer_dtype, dZ_dtype):
    A, W, b = rand((2, 4, 4, 3), 1, layer_dtype), rand((3, 3, 3 // groups, 6), 2, layer_dtype), rand((1, 1, 1, 6), 3, layer_dtype)
    Z, cache = ref.conv_forward(A, W, b, {**HP, "groups": groups})
    grads = ref.conv_backward(rand(Z.shape, 4, dZ_dtype), cache)
    assert [g.dtype for g in grads] == [np.dtype(F64)] * 3


def _float32_and_float64_runs(layer, seed):
    """The layer's outputs on float32 inputs, and on the same values as float64."""
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((2, 6, 6, 4)).astype(F32)
    if layer.startswith("conv"):
        W, b = rng.standard_normal((3, 3, 4, 5)).astype(F32), rng.standard_normal((1, 1, 1, 5)).astype(F32)
        dZ = rng.standard_normal((2, 6, 6, 5)).astype(F32)

        def run(dtype):
            Z, cache = loops.conv_forward(A.astype(dtype), W.astype(dtype), b.astype(dtype), HP)
            return [Z] if layer == "conv_forward" else list(loops.conv_backward(dZ.astype(dtype), cache))
    else:
        hp = {"f": 3, "stride": 1, "pad": 1}  # overlapping windows: an element collects several shares
        dA = rng.standard_normal((2, 6, 6, 4)).astype(F32)

        def run(dtype):
            out, cache = loops.pool_forward(A.astype(dtype), hp, "average")
            return [out] if layer == "pool_forward" else [loops.pool_backward(dA.astype(dtype), cache, "average")]
    return run(F32), run(F64)


@pytest.mark.parametrize("layer", ["conv_forward", "conv_backward", "pool_forward", "pool_backward"])
@pytest.mark.parametrize("seed", range(3))
def test_loops_float32_result_is_its_float64_result_rounded_once(layer, seed):
    for single, double in zip(*_float32_and_float64_runs(layer, seed)):
        assert single.dtype == F32 and double.dtype == F64
        rounded = double.astype(F32)
        differ = np.flatnonzero(single != rounded)
        assert differ.size == 0, f"{layer}: {differ.size} of {single.size} elements differ from the float64 result rounded to float32"
