"""Independent full-API implementation of the eight NHWC layer functions, computed with torch.

Validation in NumPy/Python first (ValueError naming parameter and value); then torch.nn.functional
conv2d / max_pool2d (explicit -inf padding) / avg_pool2d in the input's dtype, autograd backward."""
import math

import numpy as np
import torch
import torch.nn.functional as F

torch.set_num_threads(1)

_CONV_KEYS = ("stride", "pad", "dilation", "groups")
_POOL_KEYS = ("f", "stride", "pad", "dilation", "ceil_mode", "count_include_pad", "divisor_override")


# ----------------------------------------------------------------------------- validation helpers
def _is_int(v):
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))


def _float_dtype(name, x):
    if not isinstance(x, np.ndarray):
        raise ValueError(f"{name} must be a numpy.ndarray of float32 or float64, got {type(x).__name__}")
    if x.dtype.kind != "f" or x.dtype.itemsize not in (4, 8):
        raise ValueError(f"{name} must have dtype float32 or float64, got dtype {x.dtype}")
    return np.dtype(np.float32) if x.dtype.itemsize == 4 else np.dtype(np.float64)


def _array(name, x, ndim):
    _float_dtype(name, x)
    if x.ndim != ndim:
        raise ValueError(f"{name} must be a {ndim}-D array, got shape {x.shape}")
    if x.size == 0:
        raise ValueError(f"{name} must not be empty (no axis of size 0), got shape {x.shape}")
    return x


def _common_dtype(*arrays):
    big = any(a.dtype.itemsize == 8 for a in arrays if a is not None)
    return np.dtype(np.float64) if big else np.dtype(np.float32)


def _int(name, v, lo):
    if not _is_int(v):
        raise ValueError(f"{name} must be an integer, got {v!r} of type {type(v).__name__}")
    v = int(v)
    if v < lo:
        raise ValueError(f"{name} must be >= {lo}, got {v}")
    return v


def _pair(name, v, lo):
    """An int or a tuple of two ints, each >= lo -> (a, b)."""
    if isinstance(v, tuple):
        if len(v) != 2:
            raise ValueError(f"{name} must be an integer or a tuple of two integers, got {v!r}")
        return (_int(name, v[0], lo), _int(name, v[1], lo))
    if not _is_int(v):
        raise ValueError(f"{name} must be an integer or a tuple of two integers, got {v!r} "
                         f"of type {type(v).__name__}")
    v = _int(name, v, lo)
    return (v, v)


def _hparams(hp, allowed, required):
    if not isinstance(hp, dict):
        raise ValueError(f"hparameters must be a dict, got {type(hp).__name__}: {hp!r}")
    unknown = [k for k in hp if k not in allowed]
    if unknown:
        raise ValueError(f"hparameters has unknown key(s) {unknown!r}; allowed keys are {list(allowed)!r}")
    missing = [k for k in required if k not in hp]
    if missing:
        raise ValueError(f"hparameters is missing key(s) {missing!r}, got {hp!r}")


def _mode(mode):
    if not isinstance(mode, str) or mode not in ("max", "average"):
        raise ValueError(f'mode must be "max" or "average", got {mode!r}')
    return str(mode)


def _cache(cache, n):
    if not isinstance(cache, tuple) or len(cache) != n:
        raise ValueError(f"cache must be a tuple of {n} elements, got "
                         f"{type(cache).__name__} of length {len(cache) if hasattr(cache, '__len__') else '?'}")
    return cache


# ----------------------------------------------------------------------------- conv geometry
def _conv_pad(v, k, d, s):
    """pad spelling -> ((top, bottom), (left, right))."""
    if isinstance(v, str):
        if v == "valid":
            return ((0, 0), (0, 0))
        if v == "same":
            if s != (1, 1):
                raise ValueError(f'pad "same" needs stride 1, got stride {s}')
            out = []
            for kk, dd in zip(k, d):
                tot = dd * (kk - 1)
                out.append((tot // 2, tot - tot // 2))
            return tuple(out)
        raise ValueError(f'pad must be an integer, a pair, a pair of pairs, "same" or "valid", got {v!r}')
    if isinstance(v, tuple) and len(v) == 2 and isinstance(v[0], tuple) and isinstance(v[1], tuple):
        res = []
        for e in v:
            if len(e) != 2:
                raise ValueError(f"pad must be ((top, bottom), (left, right)), got {v!r}")
            res.append((_int("pad", e[0], 0), _int("pad", e[1], 0)))
        return tuple(res)
    if isinstance(v, tuple) and any(isinstance(e, tuple) for e in v):
        raise ValueError(f"pad must be ((top, bottom), (left, right)), got {v!r}")
    ph, pw = _pair("pad", v, 0)
    return ((ph, ph), (pw, pw))


def _conv_geometry(A_prev, W, b, hparameters):
    """Validate a conv call; return (dtype, stride, pads, dilation, groups, (n_H, n_W))."""
    _array("A_prev", A_prev, 4)
    _array("W", W, 4)
    if b is not None:
        _float_dtype("b", b)
    _hparams(hparameters, _CONV_KEYS, ("stride", "pad"))
    m, H, Wd, C = A_prev.shape
    kh, kw, cg, n_C = W.shape
    if b is not None and b.shape != (1, 1, 1, n_C):
        raise ValueError(f"b must have shape (1, 1, 1, {n_C}) or be None, got shape {b.shape}")
    s = _pair("stride", hparameters["stride"], 1)
    d = _pair("dilation", hparameters.get("dilation", 1), 1)
    g = _int("groups", hparameters.get("groups", 1), 1)
    pads = _conv_pad(hparameters["pad"], (kh, kw), d, s)
    if C % g:
        raise ValueError(f"groups={g} must divide the input channels n_C_prev={C}")
    if n_C % g:
        raise ValueError(f"groups={g} must divide the output channels n_C={n_C}")
    if cg * g != C:
        raise ValueError(f"channel mismatch: W has {cg} input channels per group (W shape {W.shape}), "
                         f"A_prev has n_C_prev={C} with groups={g} (expected {C // g})")
    out = []
    for n, k, (lo, hi), ss, dd, ax in zip((H, Wd), (kh, kw), pads, s, d, ("height", "width")):
        eff = dd * (k - 1) + 1
        if n + lo + hi < eff:
            raise ValueError(f"kernel {ax} {k} (dilated {eff}) is larger than the padded input {ax} "
                             f"{n + lo + hi} (W shape {W.shape}, pad {hparameters['pad']!r})")
        out.append((n + lo + hi - eff) // ss + 1)
    return _common_dtype(A_prev, W, b), s, pads, d, g, tuple(out)


# ----------------------------------------------------------------------------- pool geometry
def _pool_geometry(A_prev, hparameters, mode):
    """Validate a pooling call; return a dict of the normalised hyperparameters and output size."""
    mode = _mode(mode)
    _array("A_prev", A_prev, 4)
    _hparams(hparameters, _POOL_KEYS, ("f", "stride"))
    k = _pair("f", hparameters["f"], 1)
    st = hparameters["stride"]
    s = k if st is None else _pair("stride", st, 1)
    p = _pair("pad", hparameters.get("pad", 0), 0)
    d = _pair("dilation", hparameters.get("dilation", 1), 1)
    ceil = hparameters.get("ceil_mode", False)
    if not isinstance(ceil, bool):
        raise ValueError(f"ceil_mode must be a bool, got {ceil!r} of type {type(ceil).__name__}")
    cip = hparameters.get("count_include_pad", True)
    if not isinstance(cip, bool):
        raise ValueError(f"count_include_pad must be a bool, got {cip!r} of type {type(cip).__name__}")
    dov = hparameters.get("divisor_override", None)
    if dov is not None:
        if not _is_int(dov):
            raise ValueError(f"divisor_override must be None or a nonzero integer, got {dov!r}")
        dov = int(dov)
        if dov == 0:
            raise ValueError("divisor_override must be nonzero, got 0")
    if mode == "max":
        if not cip:
            raise ValueError("count_include_pad=False applies to average pooling only (mode 'max')")
        if dov is not None:
            raise ValueError(f"divisor_override={dov} applies to average pooling only (mode 'max')")
    elif d != (1, 1):
        raise ValueError(f"dilation {hparameters.get('dilation')!r} is only supported with mode 'max'")
    out = []
    for n, kk, ss, pp, dd, ax in zip(A_prev.shape[1:3], k, s, p, d, ("height", "width")):
        if pp > kk // 2:
            raise ValueError(f"pad {ax} {pp} must be at most half the window size f={kk} (<= {kk // 2})")
        o = (n + 2 * pp - dd * (kk - 1) - 1 + (ss - 1 if ceil else 0)) // ss + 1
        if ceil and (o - 1) * ss >= n + pp:
            o -= 1
        if o < 1:
            raise ValueError(f"window {ax} f={kk} (dilation {dd}, pad {pp}, stride {ss}) gives output size "
                             f"{o} < 1 for input {ax} {n}")
        out.append(o)
    return dict(mode=mode, k=k, s=s, p=p, d=d, ceil=ceil, cip=cip, dov=dov, out=tuple(out))


# ----------------------------------------------------------------------------- numpy <-> torch
def _nchw(a, dt):
    """NHWC ndarray -> fresh contiguous NCHW tensor of dtype dt (never shares the caller's memory)."""
    return torch.from_numpy(np.array(a.transpose(0, 3, 1, 2), dtype=dt, order="C", copy=True))


def _weight(W, dt):
    return torch.from_numpy(np.array(W.transpose(3, 2, 0, 1), dtype=dt, order="C", copy=True))


def _nhwc(t):
    return np.ascontiguousarray(t.detach().permute(0, 2, 3, 1).numpy())


def _conv(x, w, bt, s, pads, d, g):
    # Zero padding is always explicit (F.pad): every padded tap then multiplies a real 0, as torch's
    # float64 conv (and its usual float32 paths) do; a few float32 kernels (depthwise, one input
    # channel in channels_last strides) skip padded taps, so 0 * inf gives no NaN there.
    (top, bottom), (left, right) = pads
    if top or bottom or left or right:
        x = F.pad(x, (left, right, top, bottom))
    return F.conv2d(x, w, bt, stride=s, padding=0, dilation=d, groups=g)


def _max_pool(x, geo):
    """Max pooling of an NCHW tensor through explicit -inf padding (every window fits, none is
    clipped by torch), so torch's kernel only ever sees windows with elements."""
    (kh, kw), (sh, sw), (ph, pw), (dh, dw), (oh, ow) = geo["k"], geo["s"], geo["p"], geo["d"], geo["out"]
    H, Wd = x.shape[2], x.shape[3]
    eh = max(0, (oh - 1) * sh + dh * (kh - 1) + 1 - (H + 2 * ph))
    ew = max(0, (ow - 1) * sw + dw * (kw - 1) + 1 - (Wd + 2 * pw))
    xp = F.pad(x, (pw, pw + ew, ph, ph + eh), value=-math.inf)
    y, _ = F.max_pool2d(xp, (kh, kw), (sh, sw), 0, (dh, dw), ceil_mode=False, return_indices=True)
    return y[:, :, :oh, :ow]


def _first_real(n, o, k, s, p, d):
    """Per output index along one axis: the first real tap (-1 if none) and whether the window's
    first tap lies in the padding."""
    r0 = np.arange(o) * s - p
    first = np.full(o, -1, dtype=np.int64)
    for j in range(k - 1, -1, -1):
        r = r0 + j * d
        first = np.where((r >= 0) & (r < n), r, first)
    return first, (r0 < 0) | (r0 >= n)


def _avg_pool(x, geo):
    return F.avg_pool2d(x, geo["k"], geo["s"], geo["p"], ceil_mode=geo["ceil"],
                        count_include_pad=geo["cip"], divisor_override=geo["dov"])


# ----------------------------------------------------------------------------- the API
def zero_pad(X, pad):
    _array("X", X, 4)
    pad = _int("pad", pad, 0)
    dt = _float_dtype("X", X)
    x = torch.from_numpy(np.array(X, dtype=dt, copy=True))
    return np.ascontiguousarray(F.pad(x, (0, 0, pad, pad, pad, pad)).numpy())


def conv_single_step(a_slice_prev, W, b):
    _array("a_slice_prev", a_slice_prev, 3)
    _array("W", W, 3)
    _float_dtype("b", b)
    if W.shape != a_slice_prev.shape:
        raise ValueError(f"W must have the shape of a_slice_prev {a_slice_prev.shape}, got shape {W.shape}")
    if b.shape != (1, 1, 1):
        raise ValueError(f"b must have shape (1, 1, 1), got shape {b.shape}")
    dt = _common_dtype(a_slice_prev, W, b)
    ta = torch.from_numpy(np.array(a_slice_prev, dtype=dt, copy=True))
    tw = torch.from_numpy(np.array(W, dtype=dt, copy=True))
    tb = torch.from_numpy(np.array(b, dtype=dt, copy=True)).reshape(())
    return ((ta * tw).sum() + tb).numpy()[()]


def conv_forward(A_prev, W, b, hparameters):
    dt, s, pads, d, g, _ = _conv_geometry(A_prev, W, b, hparameters)
    bt = None if b is None else torch.from_numpy(np.array(b.reshape(-1), dtype=dt, copy=True))
    with torch.no_grad():
        y = _conv(_nchw(A_prev, dt), _weight(W, dt), bt, s, pads, d, g)
    return _nhwc(y), (A_prev, W, b, hparameters)


def conv_backward(dZ, cache):
    A_prev, W, b, hparameters = _cache(cache, 4)
    dt, s, pads, d, g, (oh, ow) = _conv_geometry(A_prev, W, b, hparameters)
    _array("dZ", dZ, 4)
    expected = (A_prev.shape[0], oh, ow, W.shape[3])
    if dZ.shape != expected:
        raise ValueError(f"dZ must have shape {expected} (implied by the cache), got shape {dZ.shape}")
    dt = _common_dtype(A_prev, W, b, dZ)
    # The backward runs in float64 and is cast back: torch 2.13's float32 CPU conv backward puts
    # NaN into input elements that no window covers when W holds NaN (stride 2 skipping a
    # column); its float64 path leaves them 0, as the arithmetic says.
    x = _nchw(A_prev, np.float64).requires_grad_(True)
    w = _weight(W, np.float64).requires_grad_(True)
    bt = None if b is None else torch.from_numpy(np.array(b.reshape(-1), dtype=np.float64, copy=True)).requires_grad_(True)
    y = _conv(x, w, bt, s, pads, d, g)
    y.backward(_nchw(dZ, np.float64))
    dA_prev = _nhwc(x.grad).astype(dt)
    dW = np.ascontiguousarray(w.grad.permute(2, 3, 1, 0).numpy(), dtype=dt)
    db = None if b is None else np.ascontiguousarray(bt.grad.numpy().reshape(1, 1, 1, -1), dtype=dt)
    return dA_prev, dW, db


def pool_forward(A_prev, hparameters, mode="max"):
    geo = _pool_geometry(A_prev, hparameters, mode)
    dt = _float_dtype("A_prev", A_prev)
    with torch.no_grad():
        x = _nchw(A_prev, dt)
        y = _max_pool(x, geo) if geo["mode"] == "max" else _avg_pool(x, geo)
    return _nhwc(y), (A_prev, hparameters)


def create_mask_from_window(x):
    if not isinstance(x, np.ndarray):
        raise ValueError(f"x must be a numpy.ndarray, got {type(x).__name__}")
    kind = x.dtype.kind
    if not (kind in "iu" or (kind == "f" and x.dtype.itemsize in (4, 8))):
        raise ValueError(f"x must have an integer, float32 or float64 dtype, got dtype {x.dtype}")
    if x.ndim != 2:
        raise ValueError(f"x must be a 2-D array, got shape {x.shape}")
    if x.size == 0:
        raise ValueError(f"x must not be empty, got shape {x.shape}")
    mask = np.zeros(x.shape, dtype=bool)
    if kind in "iu":
        idx = int(np.argmax(x))  # first maximum, compared exactly in x's own integer dtype
    else:
        dt = np.dtype(np.float32) if x.dtype.itemsize == 4 else np.dtype(np.float64)
        t = torch.from_numpy(np.array(x, dtype=dt, copy=True))[None, None]
        _, ind = F.max_pool2d(t, x.shape, return_indices=True)
        idx = int(ind.reshape(()).item())
    mask.flat[idx] = True
    return mask


def distribute_value(dz, shape):
    if isinstance(dz, (bool, np.bool_)) or not isinstance(dz, (int, float, np.integer, np.floating)):
        raise ValueError(f"dz must be a real number, got {dz!r} of type {type(dz).__name__}")
    if (not isinstance(shape, (tuple, list)) or len(shape) != 2
            or not all(_is_int(v) and v > 0 for v in shape)):
        raise ValueError(f"shape must be two positive integers (n_H, n_W), got {shape!r}")
    n_H, n_W = int(shape[0]), int(shape[1])
    if isinstance(dz, np.float32):
        tdt = torch.float32
    else:
        tdt = torch.float64
    try:
        val = float(dz)
    except OverflowError:
        raise ValueError(f"dz is too large to be a float64, got {dz!r}") from None
    return (torch.full((n_H, n_W), val, dtype=tdt) / (n_H * n_W)).numpy()


def pool_backward(dA, cache, mode="max"):
    A_prev, hparameters = _cache(cache, 2)
    geo = _pool_geometry(A_prev, hparameters, mode)
    _array("dA", dA, 4)
    m, H, Wd, C = A_prev.shape
    expected = (m, geo["out"][0], geo["out"][1], C)
    if dA.shape != expected:
        raise ValueError(f"dA must have shape {expected} (implied by the cache), got shape {dA.shape}")
    dt = _common_dtype(A_prev, dA)
    x = _nchw(A_prev, dt).requires_grad_(True)
    g = _nchw(dA, dt)
    if geo["mode"] == "average":
        _avg_pool(x, geo).backward(g)
        return _nhwc(x.grad)
    y = _max_pool(x, geo)
    y.backward(g)
    dx = x.grad
    # Windows whose every real element is -inf: torch's padded kernel sent the gradient to the
    # window's first (padding) element; it belongs to the window's first REAL element. Windows
    # without any real element give no gradient at all.
    (kh, kw), (sh, sw), (ph, pw), (dh, dw), (oh, ow) = geo["k"], geo["s"], geo["p"], geo["d"], geo["out"]
    fh, pad_h = _first_real(H, oh, kh, sh, ph, dh)
    fw, pad_w = _first_real(Wd, ow, kw, sw, pw, dw)
    geom = (pad_h[:, None] | pad_w[None, :]) & (fh[:, None] >= 0) & (fw[None, :] >= 0)
    if geom.any():
        with torch.no_grad():
            sel = (y == -math.inf) & torch.from_numpy(geom)[None, None]
            if bool(sel.any()):
                n_i, c_i, i_i, j_i = sel.nonzero(as_tuple=True)
                rows = torch.from_numpy(fh)[i_i]
                cols = torch.from_numpy(fw)[j_i]
                dx.index_put_((n_i, c_i, rows, cols), g[n_i, c_i, i_i, j_i], accumulate=True)
    return _nhwc(dx)
