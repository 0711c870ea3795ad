"""convcheck adapter: JAX's XLA operators (``jax.lax``) behind the seed API.

    pip install torch==2.13.0 -e '.[jax]'   # the optional extra "jax"
    convcheck verify adapters/jax_lax.py --api full

Operators used, on JAX's CPU backend:
  * conv_forward  -- ``jax.lax.conv_general_dilated`` with dimension_numbers ("NHWC", "HWIO",
    "NHWC") (the seed layout as is: W (kh, kw, C_in/groups, C_out) is HWIO), window_strides,
    explicit padding pairs, rhs_dilation and feature_group_count; the bias is added with ``+``;
  * conv_backward -- ``jax.vjp`` of that forward (dA_prev, dW, db; db is None without a bias);
  * pool_forward  -- ``jax.lax.reduce_window``: ``lax.max`` with init -inf (max pooling, with
    window_dilation), ``lax.add`` with init 0 for average pooling;
  * pool_backward -- ``jax.vjp`` of that forward;
  * zero_pad      -- ``jax.lax.pad`` with a zero padding value.
conv_single_step, create_mask_from_window and distribute_value have no JAX operator and are not
defined (the suite skips their checks).

float64 is enabled at import (``jax.config.update("jax_enable_x64", True)``): float32 inputs are
computed in float32, float64 in float64. Results are copied into writable NumPy arrays
(``np.array``) with the dtype JAX returned.

What the adapter translates (and nothing else):
  * validation: the seed contract's ValueErrors, from ``convcheck.reference.params``;
  * hyperparameters -> JAX arguments through the parsed window geometry: every conv pad spelling
    (int, pair, per-side, "same", "valid") becomes explicit (lo, hi) pairs; pool stride None is the
    window size; pool padding is (lo, hi) pairs per axis;
  * ceil_mode: ``reduce_window`` has none, so the end padding is extended by the geometry's
    overhang, which makes it produce exactly the geometry's ``out`` windows; the extension is -inf
    for max pooling and zeros (and outside the divisor) for average pooling, as torch clips the
    overhang away;
  * THE AVERAGE DIVISOR IS THE ADAPTER'S: JAX has no average pooling operator, so average pooling
    is a ``reduce_window`` add (JAX's) divided by a divisor the adapter computes once, from the
    geometry, with torch's rules: divisor_override if given, else the window clipped to the padded
    extent (count_include_pad=True), else the number of real elements in the window. The division
    is done inside the function ``jax.vjp`` differentiates, so the gradient is still JAX's.
  * mixed float32 / float64 arrays are cast to the contract's result dtype before JAX sees them.
After validation, any exception JAX raises is re-raised as RuntimeError("JAX <op> failed: ...") so
the suite reports it as a finding.

Declared unsupported: max-pooling dilation. JAX implements no VJP of ``reduce_window`` max with
window dilation (``_select_and_gather_add_transpose`` raises NotImplementedError, even for a
1 x 1 window), so ``pool_backward(mode="max")`` with dilation != 1 raises RuntimeError; the
dilated forward works, but a declaration covers forward and backward alike, so the suite draws
neither. Everything else of the seed API maps onto the operators above.
"""

from __future__ import annotations

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402 - after enabling float64
import numpy as np  # noqa: E402
from jax import lax  # noqa: E402

from convcheck.reference import params  # noqa: E402

CAPABILITIES = {
    "framework": ["jax", jax.__version__],
    "dtypes": {
        "conv": ["float32", "float64"],
        "max_pool": ["float32", "float64"],
        "average_pool": ["float32", "float64"],
    },
    "conv": {"dilation": True, "groups": True, "pad_forms": ["int", "pair", "per-side", "same", "valid"], "no_bias": True},
    # dilation: reduce_window's forward has it, its VJP does not ("VJP not implemented for
    # select_and_gather (MaxPool) with window dilation", jax/_src/lax/windowed_reductions.py:1068,
    # jax 0.10.2, even for a 1x1 window); a declaration covers forward and backward alike
    "max_pool": {"pad": True, "dilation": False, "ceil_mode": True, "stride_none": True},
    "average_pool": {"pad": True, "ceil_mode": True, "count_include_pad": True, "divisor_override": True},
}

CONVENTIONS: list = []  # JAX documents no difference from torch in what these operators compute

DIMENSION_NUMBERS = ("NHWC", "HWIO", "NHWC")


# ---- running JAX ------------------------------------------------------------------------------


def _call(op: str, fn, *args):
    """fn(*args); whatever JAX raises on a (validated) input is its failure: RuntimeError."""
    try:
        return fn(*args)
    except Exception as exc:  # noqa: BLE001
        raise RuntimeError(f"JAX {op} failed: {type(exc).__name__}: {exc}") from exc


def _jax(x: np.ndarray, dtype) -> jax.Array:
    return jnp.asarray(np.asarray(x, dtype=dtype))


def _numpy(y) -> np.ndarray:
    return np.array(np.asarray(y), copy=True)  # a writable copy, in the dtype JAX returned


# ---- conv -------------------------------------------------------------------------------------


def _conv_fn(call: params.ConvCall):
    g = call.geometry

    def conv(A, W, b=None):
        Z = lax.conv_general_dilated(
            A, W,
            window_strides=g.stride,
            padding=list(g.pads),
            rhs_dilation=g.dilation,
            dimension_numbers=DIMENSION_NUMBERS,
            feature_group_count=call.groups,
        )
        return Z if b is None else Z + b

    return conv


def conv_forward(A_prev, W, b, hparameters):
    """lax.conv_general_dilated (+ b); cache = (A_prev, W, b, hparameters)."""
    call = params.parse_conv(A_prev, W, b, hparameters)
    args = [_jax(A_prev, call.dtype), _jax(W, call.dtype)] + ([] if b is None else [_jax(b, call.dtype)])
    Z = _call("lax.conv_general_dilated", _conv_fn(call), *args)
    return _numpy(Z), (A_prev, W, b, hparameters)


def conv_backward(dZ, cache):
    """jax.vjp of conv_forward's function: (dA_prev, dW, db), db None without a bias."""
    A_prev, W, b, call = params.parse_conv_cache(dZ, cache)
    args = [_jax(A_prev, call.dtype), _jax(W, call.dtype)] + ([] if b is None else [_jax(b, call.dtype)])

    def backward():
        _, vjp = jax.vjp(_conv_fn(call), *args)
        return vjp(_jax(dZ, call.dtype))

    grads = _call("jax.vjp(lax.conv_general_dilated)", backward)
    dA_prev, dW = _numpy(grads[0]), _numpy(grads[1])
    return dA_prev, dW, (None if b is None else _numpy(grads[2]))


# ---- pool -------------------------------------------------------------------------------------


def _divisor(call: params.PoolCall) -> np.ndarray:
    """torch's average divisor per output position, (1, out_H, out_W, 1): the adapter's, as JAX
    has no average pooling op. divisor_override, else the window clipped to the padded extent
    (count_include_pad), else the number of real elements it covers."""
    g = call.geometry
    if call.divisor_override is not None:
        return np.full((1, *g.out, 1), call.divisor_override, dtype=call.dtype)
    taps = g.taps if call.count_include_pad else g.real_taps
    counts = [np.array([len(taps(a, o)) for o in range(g.out[a])]) for a in range(2)]
    return np.multiply.outer(counts[0], counts[1]).reshape(1, *g.out, 1).astype(call.dtype)


def _pool_fn(call: params.PoolCall):
    g = call.geometry
    # ceil_mode: the end padding grows by the overhang, so reduce_window yields g.out windows
    padding = g.pad_width(overhang=True)
    window = (1, *g.kernel, 1)
    strides = (1, *g.stride, 1)
    if call.mode == "max":
        init = np.array(-np.inf, dtype=call.dtype)

        def pool(A):
            return lax.reduce_window(A, init, lax.max, window, strides, padding, window_dilation=(1, *g.dilation, 1))

        return pool
    init = np.array(0, dtype=call.dtype)
    divisor = _divisor(call)

    def pool(A):
        return lax.reduce_window(A, init, lax.add, window, strides, padding) / divisor

    return pool


def pool_forward(A_prev, hparameters, mode="max"):
    """lax.reduce_window (max, or add / the adapter's divisor); cache = (A_prev, hparameters)."""
    call = params.parse_pool(A_prev, hparameters, mode)
    A = _call("lax.reduce_window", _pool_fn(call), _jax(A_prev, call.dtype))
    return _numpy(A), (A_prev, hparameters)


def pool_backward(dA, cache, mode="max"):
    """jax.vjp of pool_forward's function with respect to A_prev."""
    A_prev, call = params.parse_pool_cache(dA, cache, mode)

    def backward():
        _, vjp = jax.vjp(_pool_fn(call), _jax(A_prev, call.dtype))
        return vjp(_jax(dA, call.dtype))[0]

    return _numpy(_call("jax.vjp(lax.reduce_window)", backward))


# ---- zero_pad ---------------------------------------------------------------------------------


def zero_pad(X, pad):
    """lax.pad of height and width with zeros."""
    X = params.check_nonempty("X", params.check_float_array("X", X, 4))
    p = params.check_pad_amount(pad)
    config = ((0, 0, 0), (p, p, 0), (p, p, 0), (0, 0, 0))
    return _numpy(_call("lax.pad", lambda x: lax.pad(x, np.array(0, dtype=X.dtype), config), _jax(X, X.dtype)))
