"""Independent NumPy implementation of the convcheck full API (NHWC, torch CPU semantics).
Conv: one grouped GEMM per kernel offset on the zero-padded input; pooling: torch's row-major scan.
Choices: empty batch -> torch's empty result; mixed float32/float64 and other-mode pool keys -> ValueError.
"""
import functools
import numbers

import numpy as np

_CONV_REQUIRED = ("stride", "pad")
_CONV_OPTIONAL = ("dilation", "groups")
_POOL_REQUIRED = ("f", "stride")
_POOL_COMMON = ("pad", "ceil_mode")
_POOL_MAX_ONLY = ("dilation",)
_POOL_AVG_ONLY = ("count_include_pad", "divisor_override")


# ----------------------------------------------------------------------------- validation helpers

def _quiet(fn):
    """NaN/inf arithmetic is expected here (it propagates as in torch): no RuntimeWarnings."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with np.errstate(all="ignore"):
            return fn(*args, **kwargs)
    return wrapper


def _is_int(v):
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))


def _float_array(x, name, ndim, allow_empty_batch=False):
    if not isinstance(x, np.ndarray):
        raise ValueError(f"{name} must be a numpy.ndarray of float32/float64, got {type(x).__name__}: {x!r:.80}")
    if x.dtype.kind != "f" or x.dtype.itemsize not in (4, 8):
        raise ValueError(f"{name} must have dtype float32 or float64, got dtype {x.dtype}")
    if x.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got shape {x.shape}")
    dims = x.shape[1:] if allow_empty_batch else x.shape
    if any(d == 0 for d in dims):
        raise ValueError(f"{name} must not be empty, got shape {x.shape}")
    return x


def _common_dtype(**arrays):
    sizes = {name: a.dtype.itemsize for name, a in arrays.items() if a is not None}
    if len(set(sizes.values())) > 1:
        desc = ", ".join(f"{n}={arrays[n].dtype}" for n in sizes)
        raise ValueError(f"mixed float32/float64 inputs are not supported: {desc}")
    return np.dtype(np.float32) if next(iter(sizes.values())) == 4 else np.dtype(np.float64)


def _int_value(v, name, minimum):
    if not _is_int(v):
        raise ValueError(f"{name} must be an integer, got {v!r} ({type(v).__name__})")
    v = int(v)
    if v < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {v}")
    return v


def _pair(v, name, minimum):
    if _is_int(v):
        v = (v, v)
    elif not (isinstance(v, tuple) and len(v) == 2 and all(_is_int(e) for e in v)):
        raise ValueError(f"{name} must be an integer or a tuple of two integers, got {v!r}")
    return tuple(_int_value(e, name, minimum) for e in v)


def _check_dict(hparameters, required, allowed, what):
    if not isinstance(hparameters, dict):
        raise ValueError(f"hparameters must be a dict, got {type(hparameters).__name__}: {hparameters!r:.80}")
    missing = [k for k in required if k not in hparameters]
    if missing:
        raise ValueError(f"hparameters is missing key(s) {missing} ({what}); got keys {sorted(map(repr, hparameters))}")
    unknown = [k for k in hparameters if k not in allowed]
    if unknown:
        raise ValueError(f"hparameters has unknown key(s) {unknown!r} for {what}; allowed keys are {list(allowed)}")


def _check_mode(mode):
    if not isinstance(mode, str) or mode not in ("max", "average"):
        raise ValueError(f"mode must be 'max' or 'average', got {mode!r}")
    return str(mode)


def _check_cache(cache, length, what):
    if not isinstance(cache, tuple) or len(cache) != length:
        raise ValueError(f"cache must be a tuple {what} of length {length}, got {type(cache).__name__}"
                         + (f" of length {len(cache)}" if isinstance(cache, (tuple, list)) else ""))
    return cache


def _tap_range(n, out, s, d, lo, i):
    """Output positions o in [o0, o1) whose tap i (input index o*s + i*d - lo) lies in [0, n)."""
    off = i * d - lo
    o0 = max(0, -(off // s))
    o1 = min(out, (n - 1 - off) // s + 1)
    if o1 <= o0:
        return None
    start = o0 * s + off
    return o0, o1, slice(start, start + (o1 - o0 - 1) * s + 1, s)


# ----------------------------------------------------------------------------- zero_pad / single step

@_quiet
def zero_pad(X, pad):
    X = _float_array(X, "X", 4, allow_empty_batch=True)
    pad = _int_value(pad, "pad", 0)
    return np.pad(X, ((0, 0), (pad, pad), (pad, pad), (0, 0)), mode="constant", constant_values=0)


@_quiet
def conv_single_step(a_slice_prev, W, b):
    a = _float_array(a_slice_prev, "a_slice_prev", 3)
    W = _float_array(W, "W", 3)
    b = _float_array(b, "b", 3)
    if a.shape != W.shape:
        raise ValueError(f"a_slice_prev shape {a.shape} does not match W shape {W.shape}")
    if b.shape != (1, 1, 1):
        raise ValueError(f"b must have shape (1, 1, 1), got {b.shape}")
    dt = _common_dtype(a_slice_prev=a, W=W, b=b)
    s = np.sum(a.astype(np.float64) * W.astype(np.float64)) + np.float64(b[0, 0, 0])
    return dt.type(s)


# ----------------------------------------------------------------------------- convolution

def _conv_geometry(A_prev, W, b, hparameters):
    A_prev = _float_array(A_prev, "A_prev", 4, allow_empty_batch=True)
    W = _float_array(W, "W", 4)
    if b is not None:
        b = _float_array(b, "b", 4)
    dt = _common_dtype(A_prev=A_prev, W=W, b=b)
    _check_dict(hparameters, _CONV_REQUIRED, _CONV_REQUIRED + _CONV_OPTIONAL, "conv_forward")
    m, H, Wd, C = A_prev.shape
    kh, kw, cg, nC = W.shape
    if b is not None and b.shape != (1, 1, 1, nC):
        raise ValueError(f"b must have shape (1, 1, 1, {nC}), got {b.shape}")
    sh, sw = _pair(hparameters["stride"], "stride", 1)
    dh, dw = _pair(hparameters.get("dilation", 1), "dilation", 1)
    groups = _int_value(hparameters.get("groups", 1), "groups", 1)
    if C % groups or nC % groups:
        raise ValueError(f"groups={groups} must divide both n_C_prev={C} and n_C={nC}")
    if cg * groups != C:
        raise ValueError(f"channel mismatch: W has {cg} input channels per group (groups={groups}), "
                         f"A_prev has n_C_prev={C}")
    pad = hparameters["pad"]
    if isinstance(pad, str):
        if pad == "valid":
            (pt, pb), (pl, pr) = (0, 0), (0, 0)
        elif pad == "same":
            if (sh, sw) != (1, 1):
                raise ValueError(f"pad='same' requires stride 1, got stride={hparameters['stride']!r}")
            th, tw = dh * (kh - 1), dw * (kw - 1)
            (pt, pb), (pl, pr) = (th // 2, th - th // 2), (tw // 2, tw - tw // 2)
        else:
            raise ValueError(f"pad must be an int, a pair, a pair of pairs, 'same' or 'valid', got {pad!r}")
    elif _is_int(pad) or (isinstance(pad, tuple) and len(pad) == 2 and all(_is_int(e) for e in pad)):
        ph, pw = _pair(pad, "pad", 0)
        (pt, pb), (pl, pr) = (ph, ph), (pw, pw)
    elif (isinstance(pad, tuple) and len(pad) == 2
          and all(isinstance(e, tuple) and len(e) == 2 and all(_is_int(x) for x in e) for e in pad)):
        pt, pb = (_int_value(e, "pad", 0) for e in pad[0])
        pl, pr = (_int_value(e, "pad", 0) for e in pad[1])
    else:
        raise ValueError(f"pad must be an int, a pair, a pair of pairs, 'same' or 'valid', got {pad!r}")
    eh, ew = dh * (kh - 1) + 1, dw * (kw - 1) + 1
    if H + pt + pb < eh or Wd + pl + pr < ew:
        raise ValueError(f"kernel (dilated size {eh}x{ew}) is larger than the padded input "
                         f"{H + pt + pb}x{Wd + pl + pr} (pad={pad!r}, W shape {W.shape})")
    oh = (H + pt + pb - eh) // sh + 1
    ow = (Wd + pl + pr - ew) // sw + 1
    return dict(A=A_prev, W=W, b=b, dt=dt, m=m, H=H, Wd=Wd, C=C, kh=kh, kw=kw, nC=nC, g=groups,
                cg=cg, ng=nC // groups, sh=sh, sw=sw, dh=dh, dw=dw, pt=pt, pb=pb, pl=pl, pr=pr, oh=oh, ow=ow)


def _conv_taps(G):
    """Per kernel offset: the strided row/column slices of the zero-padded input it reads."""
    oh, ow, sh, sw = G["oh"], G["ow"], G["sh"], G["sw"]
    for i in range(G["kh"]):
        hs = slice(i * G["dh"], i * G["dh"] + (oh - 1) * sh + 1, sh)
        for j in range(G["kw"]):
            yield i, j, hs, slice(j * G["dw"], j * G["dw"] + (ow - 1) * sw + 1, sw)


def _padded64(G):
    A = G["A"]
    Ap = np.zeros((G["m"], G["H"] + G["pt"] + G["pb"], G["Wd"] + G["pl"] + G["pr"], G["C"]), dtype=np.float64)
    Ap[:, G["pt"]:G["pt"] + G["H"], G["pl"]:G["pl"] + G["Wd"], :] = A
    return Ap


@_quiet
def conv_forward(A_prev, W, b, hparameters):
    G = _conv_geometry(A_prev, W, b, hparameters)
    m, g, cg, ng, nC, oh, ow = G["m"], G["g"], G["cg"], G["ng"], G["nC"], G["oh"], G["ow"]
    Ap = _padded64(G)
    W64 = G["W"].astype(np.float64)
    Z = np.zeros((m, oh, ow, nC), dtype=np.float64)
    for i, j, hs, ws in _conv_taps(G):
        a = Ap[:, hs, ws, :].reshape(m * oh * ow, g, cg).transpose(1, 0, 2)   # (g, M, cg)
        w = W64[i, j].reshape(cg, g, ng).transpose(1, 0, 2)                   # (g, cg, ng)
        Z += np.matmul(a, w).transpose(1, 0, 2).reshape(m, oh, ow, nC)
    if G["b"] is not None:
        Z += G["b"].astype(np.float64).reshape(nC)
    return Z.astype(G["dt"]), (A_prev, W, b, hparameters)


@_quiet
def conv_backward(dZ, cache):
    A_prev, W, b, hparameters = _check_cache(cache, 4, "(A_prev, W, b, hparameters)")
    G = _conv_geometry(A_prev, W, b, hparameters)
    dZ = _float_array(dZ, "dZ", 4, allow_empty_batch=True)
    m, g, cg, ng, nC, C, oh, ow = G["m"], G["g"], G["cg"], G["ng"], G["nC"], G["C"], G["oh"], G["ow"]
    if dZ.shape != (m, oh, ow, nC):
        raise ValueError(f"dZ shape {dZ.shape} does not match the output shape {(m, oh, ow, nC)} "
                         f"implied by the cache")
    dt = _common_dtype(dZ=dZ, A_prev=G["A"], W=G["W"], b=G["b"])
    Ap = _padded64(G)
    W64 = G["W"].astype(np.float64)
    M = m * oh * ow
    dz = dZ.astype(np.float64).reshape(M, g, ng).transpose(1, 0, 2)            # (g, M, ng)
    dAp = np.zeros(Ap.shape, dtype=np.float64)
    dW = np.zeros(W64.shape, dtype=np.float64)
    for i, j, hs, ws in _conv_taps(G):
        a = Ap[:, hs, ws, :].reshape(M, g, cg).transpose(1, 0, 2)             # (g, M, cg)
        w = W64[i, j].reshape(cg, g, ng).transpose(1, 0, 2)                   # (g, cg, ng)
        dW[i, j] = np.matmul(a.transpose(0, 2, 1), dz).transpose(1, 0, 2).reshape(cg, nC)
        dAp[:, hs, ws, :] += np.matmul(dz, w.transpose(0, 2, 1)).transpose(1, 0, 2).reshape(m, oh, ow, C)
    dA = dAp[:, G["pt"]:G["pt"] + G["H"], G["pl"]:G["pl"] + G["Wd"], :]
    db = None if G["b"] is None else dz.sum(axis=1).reshape(1, 1, 1, nC).astype(dt)
    return dA.astype(dt), dW.astype(dt), db


# ----------------------------------------------------------------------------- pooling

def _pool_out(n, k, s, p, d, ceil_mode):
    num = n + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil_mode else 0)
    out = num // s + 1
    if ceil_mode and (out - 1) * s >= n + p:
        out -= 1
    return out


def _pool_geometry(A_prev, hparameters, mode):
    mode = _check_mode(mode)
    A_prev = _float_array(A_prev, "A_prev", 4, allow_empty_batch=True)
    only = _POOL_MAX_ONLY if mode == "max" else _POOL_AVG_ONLY
    other = _POOL_AVG_ONLY if mode == "max" else _POOL_MAX_ONLY
    if isinstance(hparameters, dict):
        bad = [k for k in other if k in hparameters]
        if bad:
            raise ValueError(f"hparameters key(s) {bad} (value {hparameters[bad[0]]!r}) are not valid with "
                             f"mode={mode!r}")
    _check_dict(hparameters, _POOL_REQUIRED, _POOL_REQUIRED + _POOL_COMMON + only, f"pool mode {mode!r}")
    m, H, Wd, C = A_prev.shape
    kh, kw = _pair(hparameters["f"], "f", 1)
    stride = hparameters["stride"]
    sh, sw = (kh, kw) if stride is None else _pair(stride, "stride", 1)
    ph, pw = _pair(hparameters.get("pad", 0), "pad", 0)
    if ph > kh // 2 or pw > kw // 2:
        raise ValueError(f"pad={hparameters.get('pad')!r} must be at most half the kernel size f={hparameters['f']!r}")
    dh, dw = _pair(hparameters.get("dilation", 1), "dilation", 1)
    ceil_mode = hparameters.get("ceil_mode", False)
    if not isinstance(ceil_mode, bool):
        raise ValueError(f"ceil_mode must be a bool, got {ceil_mode!r}")
    cip = hparameters.get("count_include_pad", True)
    if not isinstance(cip, bool):
        raise ValueError(f"count_include_pad must be a bool, got {cip!r}")
    div = hparameters.get("divisor_override", None)
    if div is not None:
        if not _is_int(div) or int(div) == 0:
            raise ValueError(f"divisor_override must be None or a nonzero integer, got {div!r}")
        div = int(div)
    oh = _pool_out(H, kh, sh, ph, dh, ceil_mode)
    ow = _pool_out(Wd, kw, sw, pw, dw, ceil_mode)
    if oh < 1 or ow < 1:
        raise ValueError(f"pooling output size {oh}x{ow} < 1 for input {H}x{Wd} with f={hparameters['f']!r}, "
                         f"stride={stride!r}, pad={hparameters.get('pad', 0)!r}, "
                         f"dilation={hparameters.get('dilation', 1)!r}, ceil_mode={ceil_mode}")
    return dict(A=A_prev, dt=A_prev.dtype, mode=mode, m=m, H=H, Wd=Wd, C=C, kh=kh, kw=kw, sh=sh, sw=sw,
                ph=ph, pw=pw, dh=dh, dw=dw, cip=cip, div=div, oh=oh, ow=ow)


def _pool_taps(G):
    for i in range(G["kh"]):
        rh = _tap_range(G["H"], G["oh"], G["sh"], G["dh"], G["ph"], i)
        if rh is None:
            continue
        for j in range(G["kw"]):
            rw = _tap_range(G["Wd"], G["ow"], G["sw"], G["dw"], G["pw"], j)
            if rw is not None:
                yield i * G["kw"] + j, rh, rw


def _max_scan(G):
    """Torch's scan: best value and winning tap (-1 where the window has no real element)."""
    A = G["A"]
    shape = (G["m"], G["oh"], G["ow"], G["C"])
    best = np.full(shape, -np.inf, dtype=A.dtype)
    win = np.full(shape, -1, dtype=np.intp)
    for t, (h0, h1, hs), (w0, w1, ws) in _pool_taps(G):
        v = A[:, hs, ws, :]
        bv = best[:, h0:h1, w0:w1, :]
        wv = win[:, h0:h1, w0:w1, :]
        upd = (v > bv) | np.isnan(v) | (wv < 0)
        np.copyto(bv, v, where=upd)
        np.copyto(wv, t, where=upd)
    return best, win


def _avg_divisor(G):
    if G["div"] is not None:
        return np.full((G["oh"], G["ow"]), float(G["div"]))
    sizes = []
    for n, k, s, p, out in ((G["H"], G["kh"], G["sh"], G["ph"], G["oh"]),
                            (G["Wd"], G["kw"], G["sw"], G["pw"], G["ow"])):
        start = np.arange(out) * s - p
        end = np.minimum(start + k, n + p)
        if not G["cip"]:
            start, end = np.maximum(start, 0), np.minimum(end, n)
        sizes.append((end - start).astype(np.float64))
    return np.outer(sizes[0], sizes[1])


@_quiet
def pool_forward(A_prev, hparameters, mode="max"):
    G = _pool_geometry(A_prev, hparameters, mode)
    if G["mode"] == "max":
        A, _ = _max_scan(G)
    else:
        A64 = G["A"].astype(np.float64)
        S = np.zeros((G["m"], G["oh"], G["ow"], G["C"]), dtype=np.float64)
        for _, (h0, h1, hs), (w0, w1, ws) in _pool_taps(G):
            S[:, h0:h1, w0:w1, :] += A64[:, hs, ws, :]
        A = (S / _avg_divisor(G)[None, :, :, None]).astype(G["dt"])
    return A, (A_prev, hparameters)


@_quiet
def pool_backward(dA, cache, mode="max"):
    A_prev, hparameters = _check_cache(cache, 2, "(A_prev, hparameters)")
    G = _pool_geometry(A_prev, hparameters, mode)
    dA = _float_array(dA, "dA", 4, allow_empty_batch=True)
    expected = (G["m"], G["oh"], G["ow"], G["C"])
    if dA.shape != expected:
        raise ValueError(f"dA shape {dA.shape} does not match the output shape {expected} implied by the cache")
    dt = _common_dtype(dA=dA, A_prev=G["A"])
    dA64 = dA.astype(np.float64)
    dA_prev = np.zeros(G["A"].shape, dtype=np.float64)
    if G["mode"] == "max":
        _, win = _max_scan(G)
        for t, (h0, h1, hs), (w0, w1, ws) in _pool_taps(G):
            sel = win[:, h0:h1, w0:w1, :] == t
            if sel.any():
                dA_prev[:, hs, ws, :] += np.where(sel, dA64[:, h0:h1, w0:w1, :], 0.0)
    else:
        grad = dA64 / _avg_divisor(G)[None, :, :, None]
        for _, (h0, h1, hs), (w0, w1, ws) in _pool_taps(G):
            dA_prev[:, hs, ws, :] += grad[:, h0:h1, w0:w1, :]
    return dA_prev.astype(dt)


# ----------------------------------------------------------------------------- mask / distribute

@_quiet
def create_mask_from_window(x):
    if not isinstance(x, np.ndarray):
        raise ValueError(f"x must be a numpy.ndarray, got {type(x).__name__}: {x!r:.80}")
    k = x.dtype.kind
    if not (k in "iu" or (k == "f" and x.dtype.itemsize in (4, 8))):
        raise ValueError(f"x must have an integer or float32/float64 dtype, got dtype {x.dtype}")
    if x.ndim != 2:
        raise ValueError(f"x must be 2-D, got shape {x.shape}")
    if x.size == 0:
        raise ValueError(f"x must not be empty, got shape {x.shape}")
    flat = x.ravel(order="C")
    idx = None
    if k == "f":
        nans = np.flatnonzero(np.isnan(flat))
        if nans.size:
            idx = int(nans[-1])
    if idx is None:
        idx = int(np.argmax(flat))
    mask = np.zeros(flat.size, dtype=bool)
    mask[idx] = True
    return mask.reshape(x.shape)


@_quiet
def distribute_value(dz, shape):
    if isinstance(dz, (bool, np.bool_)) or not isinstance(dz, numbers.Real):
        raise ValueError(f"dz must be a real number, got {dz!r} ({type(dz).__name__})")
    if not (isinstance(shape, (tuple, list)) and len(shape) == 2 and all(_is_int(e) and e > 0 for e in shape)):
        raise ValueError(f"shape must be two positive integers, got {shape!r}")
    n_H, n_W = int(shape[0]), int(shape[1])
    dt = dz.dtype if isinstance(dz, (np.float32, np.float64)) else np.dtype(np.float64)
    try:
        value = dt.type(dz) / dt.type(n_H * n_W)
    except OverflowError as exc:
        raise ValueError(f"dz={dz!r} is out of range for {dt}") from exc
    return np.full((n_H, n_W), value, dtype=dt)
