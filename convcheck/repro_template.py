#!/usr/bin/env python3
"""Standalone replay of one convcheck failure.

    python repro.py                      # rerun on the recorded implementation
    python repro.py --impl mymodule      # ... or on another (dotted module or path to a .py file)
    python repro.py --plot out.png       # also draw implementation / oracle / difference
    python repro.py --no-poison          # without first poisoning the implementation's allocator

Exit status: 0 the mismatch is gone, 1 it is still there, 125 the case cannot be run at all
(malformed files, a missing dependency, an implementation that fails to import) -- so
`git bisect run python repro.py --impl mymodule` works.

Needs only NumPy and torch (matplotlib for --plot). Reads case.json and arrays.npz beside this
file (or from --case DIR). Nothing in them is executed or evaluated: case.json is checked field by
field against a fixed schema and arrays are loaded with allow_pickle=False.

Before the recorded call the implementation's own functions run on inputs filled with a sentinel
(poison()), so that a result it never wrote, taken from its allocator's freed memory, shows the
sentinel rather than the zeros of a fresh process.

This file is generated from convcheck/repro_template.py; the suite replays promoted cases with
the same code.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import importlib.util
import io
import json
import os
import signal
import sys
import threading
import time
import warnings
import zipfile
from contextlib import contextmanager, redirect_stderr, redirect_stdout

# 2 adds "repeats" (calls a nondeterminism replay makes) and "valid": null (an open point of the
# contract: a ValueError passes, a result is checked); case/1 is read too. "declared" (optional):
# the shape and dtype the contract declares for each output of this call, checked on every replay
SCHEMA = "convcheck.case/2"
SCHEMAS = ("convcheck.case/1", SCHEMA)
REPEATS = 5
EXIT_GONE, EXIT_PRESENT, EXIT_CANNOT_RUN = 0, 1, 125
MAX_JSON_BYTES = 1 << 20
MAX_NPZ_BYTES = 64 << 20
MAX_ARRAY_ELEMENTS = 1 << 20
MAX_ARRAYS = 64
ARRAY_DTYPES = ("float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool", "complex64", "complex128")
FUNCTIONS = (
    "zero_pad", "conv_single_step", "conv_forward", "conv_backward",
    "pool_forward", "create_mask_from_window", "distribute_value", "pool_backward",
)
# "adjoint": a law with no oracle, conv_backward against the implementation's own forward (run_adjoint)
CHECKS = ("oracle", "contract", "gradient", "adjoint")
LAYOUTS = ("contiguous", "strided_view", "fortran", "read_only")
CASE_KEYS = {
    "schema": str, "function": str, "check": str, "family": str, "oracle": (str, type(None)),
    "test": str, "api": str, "implementation": str, "dtype": (str, type(None)), "args": list,
    "valid": (bool, type(None)), "outputs": list, "gradient": (dict, type(None)), "mismatch": dict, "versions": dict,
    "seed": (str, int, type(None)),
    "repeats": int, "declared": (list, type(None)),
}
OPTIONAL_KEYS = {"repeats": 1, "declared": None}  # absent from case/1 files (and from older case/2 files)
# NumPy's floating-point warnings on the NaN / inf inputs the suite draws on purpose: never findings
NON_FINITE_WARNINGS = ("invalid value encountered", "overflow encountered", "divide by zero encountered")
# The oracle routes this script recomputes with torch (torch_outputs): torch's operators, the
# -inf padding made explicit included. A case checked against any other route (a second engine:
# JAX, the loops reference) carries that route's answer, recorded with the case: want__NAME in
# arrays.npz, and is compared with it (torch may answer otherwise there, or not at all).
TORCH_ROUTES = ("F.pad", "torch.sum", "F.conv2d", "autograd", "torch.nn.grad", "F.max_pool2d", "F.avg_pool2d",
                "depthwise conv", "max_pool2d indices", "avg_pool2d gradient", "explicit -inf padding")
OUTPUT_NAMES = {
    "zero_pad": ["X_pad"], "conv_single_step": ["Z"], "conv_forward": ["Z"], "conv_backward": ["dA_prev", "dW", "db"],
    "pool_forward": ["A"], "create_mask_from_window": ["mask"], "distribute_value": ["a"], "pool_backward": ["dA_prev"],
}


class CaseError(Exception):
    """The case files are malformed, unsafe or need something missing: exit 125."""


class OracleMissing(CaseError):
    """torch, which computes the expected values, is not installed: exit 125."""


class Mismatch(Exception):
    """The check still fails: exit 1."""


# ---- loading, with validation -------------------------------------------------------------


def _require(condition, message):
    if not condition:
        raise CaseError(message)


def load_case(folder):
    path = os.path.join(folder, "case.json")
    _require(os.path.isfile(path), f"no case.json in {folder}")
    _require(os.path.getsize(path) <= MAX_JSON_BYTES, f"case.json is larger than {MAX_JSON_BYTES} bytes")
    try:
        with open(path, encoding="utf-8") as fh:
            case = json.load(fh, parse_constant=lambda c: float(c))
    except (OSError, ValueError, RecursionError) as exc:
        raise CaseError(f"case.json is not valid JSON: {exc}") from None
    _require(isinstance(case, dict), "case.json must hold an object")
    unknown = sorted(set(case) - set(CASE_KEYS))
    _require(not unknown, f"case.json has unknown keys {unknown}")
    _require(case.get("schema") in SCHEMAS, f"case.json schema {case.get('schema')!r} is not one of {SCHEMAS}")
    case = {**OPTIONAL_KEYS, **case}
    for key, types in CASE_KEYS.items():
        _require(key in case, f"case.json lacks {key!r}")
        value = case[key]
        if types in (bool, (bool, type(None))):  # valid: true, false, or null for an open point of the contract
            typed = isinstance(value, types)
        else:
            typed = isinstance(value, types) and not isinstance(value, bool)
        _require(typed, f"case.json: {key!r} has the wrong type ({type(value).__name__})")
    _require(1 <= case["repeats"] <= 100, "case.json: repeats must be 1..100")
    _require(case["function"] in FUNCTIONS, f"unknown function {case['function']!r}")
    _require(case["check"] in CHECKS, f"unknown check {case['check']!r}")
    _require(all(isinstance(o, str) and o in OUTPUT_NAMES[case["function"]] for o in case["outputs"]), "case.json: bad outputs")
    _require(len(case["args"]) <= 8, "case.json: too many args")
    _require(case["declared"] is None or all(_declared_entry(case["function"], d) for d in case["declared"]), "case.json: bad declared")
    return case


def _declared_entry(function, entry):
    """[output name, shape (a list of ints; null for a scalar), dtype name]."""
    if not (isinstance(entry, list) and len(entry) == 3):
        return False
    name, shape, dtype = entry
    return (name in OUTPUT_NAMES[function] and dtype in ARRAY_DTYPES and
            (shape is None or (isinstance(shape, list) and len(shape) <= 6 and
                               all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape))))


def load_arrays(folder):
    import numpy as np

    path = os.path.join(folder, "arrays.npz")
    _require(os.path.isfile(path), f"no arrays.npz in {folder}")
    _require(os.path.getsize(path) <= MAX_NPZ_BYTES, f"arrays.npz is larger than {MAX_NPZ_BYTES} bytes")
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            _require(len(infos) <= MAX_ARRAYS, "arrays.npz holds too many arrays")
            _require(sum(i.file_size for i in infos) <= 4 * MAX_NPZ_BYTES, "arrays.npz unpacks too large")
        arrays = {}
        with np.load(path, allow_pickle=False) as npz:
            for name in npz.files:
                a = npz[name]
                _require(a.dtype.name in ARRAY_DTYPES, f"arrays.npz: {name} has dtype {a.dtype}")
                _require(a.size <= MAX_ARRAY_ELEMENTS and a.ndim <= 6, f"arrays.npz: {name} is too large")
                arrays[name] = a
    except CaseError:
        raise
    except Exception as exc:  # noqa: BLE001 - corrupt, truncated or hostile: all mean "cannot run"
        raise CaseError(f"arrays.npz cannot be read safely: {type(exc).__name__}: {exc}") from None
    return arrays


def decode(value, arrays, depth=0):
    """Tagged JSON -> the exact Python/NumPy argument recorded (see encode in convcheck.repro)."""
    import numpy as np

    _require(depth < 8, "case.json: arguments nested too deeply")
    _require(isinstance(value, dict) and len(value) == 1, f"case.json: argument {value!r} is not a tagged value")
    (tag, payload), = value.items()
    if tag == "array":
        name, layout = payload
        _require(name in arrays, f"arrays.npz lacks {name!r}")
        _require(layout in LAYOUTS, f"unknown layout {layout!r}")
        return with_layout(arrays[name], layout)
    if tag in ("list", "tuple"):
        _require(isinstance(payload, list) and len(payload) <= 64, "case.json: bad sequence")
        items = [decode(v, arrays, depth + 1) for v in payload]
        return items if tag == "list" else tuple(items)
    if tag == "dict":
        _require(isinstance(payload, list) and len(payload) <= 16, "case.json: bad dict")
        _require(all(isinstance(kv, list) and len(kv) == 2 and isinstance(kv[0], str) for kv in payload), "case.json: bad dict item")
        return {k: decode(v, arrays, depth + 1) for k, v in payload}
    scalars = {
        "int": (int, int), "float": ((int, float), float), "bool": (bool, bool), "str": (str, str),
        "np.int64": (int, np.int64), "np.float32": ((int, float), np.float32), "np.float64": ((int, float), np.float64),
        "np.bool_": (bool, np.bool_),
    }
    if tag in scalars:
        types, make = scalars[tag]
        _require(isinstance(payload, types) and (tag in ("bool", "np.bool_") or not isinstance(payload, bool)), f"case.json: bad {tag}")
        _require(tag != "str" or len(payload) <= 64, "case.json: string too long")
        return make(payload)
    if tag == "complex":
        _require(isinstance(payload, list) and len(payload) == 2 and all(isinstance(p, (int, float)) for p in payload), "bad complex")
        return complex(*payload)
    if tag == "none":
        return None
    raise CaseError(f"case.json: unknown argument tag {tag!r}")


def with_layout(x, layout):
    """x (copied) in one of LAYOUTS: the suite draws these, and a replay restores them."""
    import numpy as np

    x = np.array(x)
    if layout == "strided_view" and x.ndim:
        wide = np.zeros(x.shape[:-1] + (2 * x.shape[-1],), dtype=x.dtype)
        wide[..., ::2] = x
        return wide[..., ::2]
    if layout == "fortran":
        return np.asfortranarray(x)
    if layout == "read_only":
        x.setflags(write=False)
    return x


def load_implementation(spec):
    try:
        if spec.endswith(".py") or os.sep in spec:
            path = os.path.abspath(spec)
            if not os.path.isfile(path):
                raise CaseError(f"implementation file {path} does not exist")
            name = "_repro_impl_" + hashlib.sha1(path.encode()).hexdigest()[:10]
            module_spec = importlib.util.spec_from_file_location(name, path)
            module = importlib.util.module_from_spec(module_spec)
            module_spec.loader.exec_module(module)
            return module
        return importlib.import_module(spec)
    except CaseError:
        raise
    except BaseException as exc:  # noqa: BLE001 - an import that fails in any way means "cannot run"
        raise CaseError(f"cannot import implementation {spec!r}: {type(exc).__name__}: {exc}") from None


# ---- the oracle: torch, float64, NCHW ------------------------------------------------------


def recomputed(oracle):
    """Whether a case checked against this oracle route is replayed against torch, live."""
    return oracle is None or oracle in TORCH_ROUTES


def expected_outputs(case, args, arrays):
    """(the expected outputs, the oracle's name): torch's, recomputed, or the recorded answer of
    the case's route."""
    if recomputed(case["oracle"]):
        return torch_outputs(case["function"], args, case["oracle"]), "torch"
    recorded = {name: arrays.get(f"want__{name}") for name in case["outputs"]}
    missing = [name for name, value in recorded.items() if value is None]
    _require(not missing, f"arrays.npz lacks the answer of route {case['oracle']!r} for {', '.join(missing)}")
    return recorded, f"{case['oracle']} (its answer as recorded)"


def torch_outputs(function, args, route=None):
    """The expected outputs of `function` on `args`, by torch in float64, NHWC like the seed API.
    route "explicit -inf padding": max-pool backward with the padding made explicit (F.pad, -inf)
    and torch's pool run without any, so that every window holds an element and torch's indices
    are valid (where a dilated window sees only padding torch's own backward is not)."""
    try:
        import numpy as np
        import torch
        import torch.nn.functional as F
    except ImportError as exc:
        raise OracleMissing(f"the oracle needs torch: {exc}") from None
    torch.set_num_threads(1)

    def nchw(x, grad=False):
        return torch.tensor(np.asarray(x, dtype=np.float64).transpose(0, 3, 1, 2).copy(), requires_grad=grad)

    def nhwc(t):
        return t.detach().numpy().transpose(0, 2, 3, 1).copy()

    def weight(W, grad=False):
        return torch.tensor(np.asarray(W, dtype=np.float64).transpose(3, 2, 0, 1).copy(), requires_grad=grad)

    def plain(v):
        """NumPy integers (valid hyperparameters) as the Python ints torch takes."""
        if isinstance(v, dict):
            return {k: plain(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return tuple(plain(x) for x in v)
        return int(v) if isinstance(v, np.integer) else v

    def pair(v):
        v = plain(v)
        return tuple(v) if isinstance(v, (list, tuple)) else (v, v)

    def conv(a, w, bias, hp):
        """torch's conv2d for every spelling of the hyperparameters; uneven pads go through F.pad."""
        pad, dilation = hp["pad"], pair(hp.get("dilation", 1))
        if pad == "same":
            totals = [d * (k - 1) for d, k in zip(dilation, w.shape[2:])]
            pad = tuple((t // 2, t - t // 2) for t in totals)
        elif pad == "valid":
            pad = 0
        (top, bottom), (left, right) = (pair(p) for p in pair(pad))
        a = F.pad(a, (left, right, top, bottom))
        return F.conv2d(a, w, bias, stride=pair(hp["stride"]), dilation=dilation, groups=plain(hp.get("groups", 1)))

    def bias_of(b, grad=False):
        return None if b is None else torch.tensor(np.asarray(b, np.float64).reshape(-1), requires_grad=grad)

    def pool(a, hp, mode):
        f = pair(hp["f"])
        common = dict(kernel_size=f, stride=f if hp["stride"] is None else pair(hp["stride"]), padding=pair(hp.get("pad", 0)),
                      ceil_mode=bool(hp.get("ceil_mode", False)))
        if mode == "max":
            return F.max_pool2d(a, dilation=pair(hp.get("dilation", 1)), **common)
        return F.avg_pool2d(a, count_include_pad=bool(hp.get("count_include_pad", True)),
                            divisor_override=plain(hp.get("divisor_override")), **common)

    if function == "zero_pad":
        X, pad = args
        return {"X_pad": nhwc(F.pad(nchw(X), (plain(pad),) * 4))}
    if function == "conv_single_step":
        a, W, b = (np.asarray(x, dtype=np.float64) for x in args)
        return {"Z": np.array(float(torch.sum(torch.tensor(a) * torch.tensor(W)).item() + b.reshape(-1)[0]))}
    if function == "conv_forward":
        A, W, b, hp = args
        with torch.no_grad():
            return {"Z": nhwc(conv(nchw(A), weight(W), bias_of(b), hp))}
    if function == "conv_backward":
        dZ, (A, W, b, hp) = args
        a, w, bias = nchw(A, True), weight(W, True), bias_of(b, True)
        conv(a, w, bias, hp).backward(nchw(dZ))
        db = None if b is None else bias.grad.numpy().reshape(np.shape(b))
        return {"dA_prev": nhwc(a.grad), "dW": w.grad.numpy().transpose(2, 3, 1, 0).copy(), "db": db}
    if function == "pool_forward":
        A, hp, mode = args
        with torch.no_grad():
            return {"A": nhwc(pool(nchw(A), hp, mode))}
    if function == "pool_backward":
        dA, (A, hp), mode = args
        a = nchw(A, True)
        if route == "explicit -inf padding":
            ph, pw = pair(hp.get("pad", 0))
            out = pool(F.pad(a, (pw, pw, ph, ph), value=-float("inf")), {**hp, "pad": 0}, mode)
            # with ceil_mode the padded input may keep one more window per axis: the first ones are the call's
            out[:, :, : np.shape(dA)[1], : np.shape(dA)[2]].backward(nchw(dA))
        else:
            pool(a, hp, mode).backward(nchw(dA))
        return {"dA_prev": nhwc(a.grad)}
    if function == "create_mask_from_window":
        (x,) = args
        x = np.asarray(x, dtype=np.float64)
        _, index = F.max_pool2d(torch.tensor(x)[None, None], x.shape, 1, return_indices=True)
        mask = np.zeros(x.size, dtype=bool)
        mask[int(index.reshape(-1)[0])] = True
        return {"mask": mask.reshape(x.shape)}
    dz, shape = args
    a = torch.zeros((1, 1, *shape), dtype=torch.float64, requires_grad=True)
    F.avg_pool2d(a, tuple(shape), 1).backward(torch.full((1, 1, 1, 1), float(dz), dtype=torch.float64))
    return {"a": a.grad.numpy()[0, 0]}


def conv_skipping_padding(function, args, absolute=False):
    """The other answer at the contract's open point of NaN / inf meeting padding: conv_forward's
    Z (or conv_backward's dW) with no product formed with a padding element, as torch's float32
    F.conv2d with its padding argument computes it; NumPy, float64. absolute: the same sums of
    absolute values (the magnitude of the computation)."""
    import numpy as np

    def pair(v):
        return (int(v[0]), int(v[1])) if isinstance(v, (list, tuple)) else (int(v), int(v))

    dZ, (A, W, b, hp) = (None, args) if function == "conv_forward" else args
    A, W, dZ = (None if x is None else np.abs(np.asarray(x, np.float64)) if absolute else np.asarray(x, np.float64) for x in (A, W, dZ))
    (kh, kw, cg, n_C), groups = W.shape, int(hp.get("groups", 1))
    ng, stride, dilation = n_C // groups, pair(hp["stride"]), pair(hp.get("dilation", 1))
    if hp["pad"] == "same":
        totals = (dilation[0] * (kh - 1), dilation[1] * (kw - 1))
        pads = tuple((t // 2, t - t // 2) for t in totals)
    else:
        pad = 0 if hp["pad"] == "valid" else hp["pad"]
        pads = tuple(pair(p) for p in (pad if isinstance(pad, (list, tuple)) else (pad, pad)))  # (ph, pw) or per side
    m, H, W_in, _ = A.shape
    out = [(n + sum(p) - d * (k - 1) - 1) // s + 1 for n, p, d, k, s in zip((H, W_in), pads, dilation, (kh, kw), stride)]
    result = np.zeros((m, *out, n_C)) if dZ is None else np.zeros(W.shape)
    for h in range(out[0]):
        for w in range(out[1]):
            for ki in range(kh):
                r = h * stride[0] - pads[0][0] + ki * dilation[0]
                for kj in range(kw):
                    c = w * stride[1] - pads[1][0] + kj * dilation[1]
                    if not (0 <= r < H and 0 <= c < W_in):
                        continue  # a padding element: no product
                    for g in range(groups):  # products summed explicitly: a BLAS may skip a zero times NaN
                        a, cols = A[:, r, c, g * cg:(g + 1) * cg, None], slice(g * ng, (g + 1) * ng)
                        if dZ is None:
                            result[:, h, w, cols] += (a * W[ki, kj, :, cols]).sum(axis=1)
                        else:
                            result[ki, kj, :, cols] += (a * dZ[:, h, w, None, cols]).sum(axis=0)
    if dZ is None and b is not None:
        result += np.abs(np.asarray(b, np.float64)).reshape(-1) if absolute else np.asarray(b, np.float64).reshape(-1)
    return result


OPEN_POINT_OUTPUTS = {("conv_forward", "Z"), ("conv_backward", "dW")}  # where conv_skipping_padding is the other answer


# ---- running the check ---------------------------------------------------------------------


def snapshot(value):
    import numpy as np

    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, (list, tuple)):
        return type(value)(snapshot(v) for v in value)
    if isinstance(value, dict):
        return {k: snapshot(v) for k, v in value.items()}
    return value


def same(a, b):
    import numpy as np

    if isinstance(a, np.ndarray):
        if not (isinstance(b, np.ndarray) and a.dtype == b.dtype and a.shape == b.shape):
            return False
        # the same bytes are the same values; else NaN == NaN (any payload) and -0.0 == 0.0
        return a.tobytes() == b.tobytes() or bool(np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(map(same, a, b))
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return bool(a == b)


def own_source(module):
    """Where an implementation's own code lives: its file, or the folder of the package that a
    dotted module belongs to (a module loaded from a path has no dot in its name)."""
    path = os.path.realpath(module.__file__)
    return os.path.dirname(path) if hasattr(module, "__path__") or "." in module.__name__ else path


@contextmanager
def own_warnings(sources):
    """Collect, into the yielded list, the warnings raised during the block from the code in
    `sources` (files or folders: the implementation's own); every other warning is passed on as
    if never caught. With no sources nothing is caught."""
    own = []
    if not sources:
        yield own
        return
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")  # a warning shown once before must count again
        for message in NON_FINITE_WARNINGS:
            warnings.filterwarnings("ignore", message, RuntimeWarning)
        yield own
    for w in caught:
        path = os.path.realpath(w.filename)
        if any(path == s or path.startswith(s + os.sep) for s in sources):
            own.append(w)
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno, source=w.source)


def describe_warning(function, w):
    return f"{function} raised {w.category.__name__} at {w.filename}:{w.lineno}: {w.message}"


REJECTED = object()  # what call_implementation(valid=None) returns for a ValueError


def call_implementation(module, function, args, valid, seconds=60, strict=False):
    """Call once; a Mismatch says what went wrong the way the suite would. valid None: an open
    point, where a ValueError is allowed (returns REJECTED). strict: a warning raised from the
    implementation's own code is a mismatch too (the suite's --strict-warnings)."""
    fn = getattr(module, function, None)
    if not callable(fn):
        raise CaseError(f"the implementation has no function {function}")
    before = snapshot(args)

    def on_alarm(signum, frame):
        raise TimeoutError(f"{function} did not return within {seconds} s")

    interrupted = []  # a real Ctrl-C, told apart from a KeyboardInterrupt the implementation raises

    def on_sigint(signum, frame):
        interrupted.append(signum)
        raise KeyboardInterrupt

    main = threading.current_thread() is threading.main_thread()
    alarm = hasattr(signal, "SIGALRM") and main
    previous_int = signal.signal(signal.SIGINT, on_sigint) if main else None
    if alarm:
        signal.signal(signal.SIGALRM, on_alarm)
        signal.alarm(seconds)
    try:
        with own_warnings([own_source(module)] if strict else []) as own:
            result = fn(*args)
    except ValueError as exc:
        if valid:
            raise Mismatch(f"[rejected valid] {function} raised ValueError on a valid input: {exc}") from None
        result = None if valid is False else REJECTED
    except BaseException as exc:  # noqa: BLE001 - the implementation's failure (SystemExit, pytest.skip() too) is the finding
        if isinstance(exc, KeyboardInterrupt) and (interrupted or not main):
            raise
        raise Mismatch(f"[raised] {function} raised {type(exc).__name__}: {exc}") from None
    else:
        if valid is False:
            raise Mismatch(f"[accepted invalid] {function} returned instead of raising ValueError")
    finally:
        if alarm:
            signal.alarm(0)
        if main:
            signal.signal(signal.SIGINT, previous_int)
    if own:
        raise Mismatch(f"[warning] {describe_warning(function, own[0])}")
    for position, (old, new) in enumerate(zip(before, args)):
        if not same(old, new):
            raise Mismatch(f"[input modified] {function} modified its argument #{position + 1} in place")
    return result


def named_outputs(function, result):
    if function in ("conv_forward", "pool_forward"):
        if not (isinstance(result, tuple) and len(result) == 2):
            raise Mismatch(f"[structure] {function} must return a tuple (output, cache), got {type(result).__name__}")
        result = result[0]
    if function == "conv_backward":
        if not (isinstance(result, tuple) and len(result) == 3):
            raise Mismatch(f"[structure] conv_backward must return (dA_prev, dW, db), got {type(result).__name__}")
        return dict(zip(OUTPUT_NAMES[function], result))
    return {OUTPUT_NAMES[function][0]: result}


def compare(name, actual, expected, tol, dtype):
    """The suite's comparison: shape, dtype, non-finite values equal, else |diff| <= tol."""
    import numpy as np

    if isinstance(actual, (np.generic, float)):
        actual = np.asarray(actual)
    if not isinstance(actual, np.ndarray) or actual.shape != expected.shape:
        raise Mismatch(f"[shape] {name}: expected shape {expected.shape}, got {getattr(actual, 'shape', type(actual).__name__)}")
    if actual.dtype.kind not in "biuf":
        raise Mismatch(f"[dtype] {name}: expected dtype {dtype}, got {actual.dtype}, whose values cannot be compared")
    a, e = actual.astype(np.float64), expected.astype(np.float64)
    bad = (np.isnan(a) != np.isnan(e)) | ((np.isinf(a) | np.isinf(e)) & (a != e) & ~np.isnan(a) & ~np.isnan(e))
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        diff = np.where(np.isfinite(e), np.abs(a - e), 0.0)
        ratio = np.where(diff == 0, 0.0, diff / np.broadcast_to(tol, e.shape))
    if bad.any():
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        raise Mismatch(f"[values] {name}: at index {index} expected {e[index]!r}, got {a[index]!r} (non-finite values differ)")
    if ratio.size and ratio.max() > 1:
        index = np.unravel_index(int(np.argmax(ratio)), ratio.shape)
        raise Mismatch(
            f"[values] {name}: worst at index {tuple(int(i) for i in index)}: expected {e[index]!r}, got {a[index]!r}, "
            f"|diff| {diff[index]:.3g} > tolerance {np.broadcast_to(tol, e.shape)[index]:.3g} ({ratio[index]:.3g}x)"
        )
    if dtype is not None and actual.dtype != np.dtype(dtype):  # after the values, as the suite judges them
        raise Mismatch(f"[dtype] {name}: expected dtype {dtype}, got {actual.dtype}")


def identical(a, b):
    """Two results equal exactly: NaN equal to NaN whatever its payload, -0.0 equal to 0.0."""
    import numpy as np

    if a is None or b is None:
        return a is None and b is None
    try:
        a, b = np.asarray(a), np.asarray(b)
        return a.dtype == b.dtype and a.shape == b.shape and bool(np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))
    except (TypeError, ValueError):  # not numbers at all: not comparable, so not the same result
        return False


def scribble(sizes, pattern):
    """Allocate blocks of these byte sizes filled with `pattern` and free them: NumPy's allocator
    cache (a few blocks per small size) and malloc then hand that memory to the next allocations
    of the same size, so a result read from uninitialized memory shows the pattern."""
    import numpy as np

    blocks = [np.full(max(int(n), 1), pattern, dtype=np.uint8) for n in sizes for _ in range(8)]
    del blocks


# Poisoning: a framework's own caching allocator (tinygrad's LRUAllocator, a CUDA cache, ...) hands
# a freed buffer of the same byte size to the next allocation, out of reach of scribble(). In a
# fresh process each buffer is new and zeroed, so a result read from memory the implementation
# never wrote is often right: only the implementation's own calls can leave a sentinel there.
POISON = -1237.0  # a sentinel no small computation makes, exact in float16/32/64; attempt k uses POISON - k
POISON_SECONDS = 5  # the whole prelude at most; tinygrad's, compiling each new shape, takes about 0.6 s
POISON_MAX_BYTES = 64 << 10  # larger arrays are not poisoned: the prelude stays short
POISON_HUNG = 3  # exit status of a replay process whose prelude outlived its alarms: replay_in_child replays it unpoisoned


def poison_sizes(case, args):
    """(byte size, dtype) of each array the recorded call takes or declares it returns, floating
    dtypes only (a sentinel is recognisable there), the declared output's dtype last: the last
    buffers a last-in-first-out cache receives are the first it hands out."""
    import numpy as np

    def arrays_in(value):
        if isinstance(value, np.ndarray):
            yield value.nbytes, value.dtype
        elif isinstance(value, (list, tuple)):
            for v in value:
                yield from arrays_in(v)
        elif isinstance(value, dict):
            for v in value.values():
                yield from arrays_in(v)

    declared = [(int(np.prod(shape or [], dtype=np.int64)) * np.dtype(dtype).itemsize, np.dtype(dtype))
                for _, shape, dtype in case["declared"] or []]
    sizes = {}
    for nbytes, dtype in [*arrays_in(args), *declared]:
        if dtype.kind == "f" and 0 < nbytes <= POISON_MAX_BYTES:
            sizes.pop((nbytes, dtype), None)  # re-inserted: later (the outputs) come last
            sizes[(nbytes, dtype)] = None
    return list(sizes)


def poison_calls(n, dtype, value):
    """Seed-API calls valid in the tutorial and the full API whose arrays of n elements all hold
    `value` (windows of 1, a dZ of ones: each gradient copies a sentinel input), several alive at
    once; ordered so that the last calls leave no other values behind."""
    import numpy as np

    def full(*shape):
        return np.full(shape, value, dtype)

    conv = (full(1, 1, 1, n), full(1, 1, n, 1), np.zeros((1, 1, 1, 1), dtype), {"stride": 1, "pad": 0})
    window = {"f": 1, "stride": 1}
    return [
        ("conv_single_step", (full(1, 1, n), full(1, 1, n), np.zeros((1, 1, 1), dtype))),
        ("conv_forward", conv),
        ("conv_backward", (np.ones((1, 1, 1, 1), dtype), conv)),
        ("create_mask_from_window", (full(1, n),)),
        ("distribute_value", (value * n, (1, n))),
        ("zero_pad", (full(1, 1, 1, n), 0)),
        *[("pool_forward", (full(1, 1, 1, n), window, mode)) for mode in ("max", "average")],
        *[("pool_backward", (full(1, 1, 1, n), (full(1, 1, 1, n), window), mode)) for mode in ("max", "average")],
    ]


def poison(case, args, module, value):
    """Leave freed memory of the implementation's own allocator holding `value`, in the byte sizes
    of the recorded call (poison_sizes), by calling the seed functions `module` defines. Nothing
    of it is the finding: whatever a call raises is ignored, warnings and output are dropped, and
    it stops after POISON_SECONDS. A crash cannot be caught here, nor a call that swallows the
    alarm (in a process of the replay's own, not the suite's, a watchdog then ends it with
    POISON_HUNG): replay_in_child replays again without poisoning. Isolated in the suite, the
    implementation's worker runs this (convcheck/worker.py, "poison"); a worker that dies or
    hangs here is replaced, and the replay goes on unpoisoned."""
    deadline = time.monotonic() + POISON_SECONDS
    results = []  # kept until the end, so that each result's memory is a buffer of its own
    watchdog = threading.Timer(POISON_SECONDS + 2, os._exit, (POISON_HUNG,)) if __name__ == "__main__" else None
    if watchdog:
        watchdog.daemon = True
        watchdog.start()
    try:
        with warnings.catch_warnings(), redirect_stdout(io.StringIO()), redirect_stderr(io.StringIO()):
            warnings.simplefilter("ignore")
            for nbytes, dtype in poison_sizes(case, args):
                for function, call_args in poison_calls(nbytes // dtype.itemsize, dtype, value):
                    remaining = deadline - time.monotonic()
                    if remaining > 0 and callable(getattr(module, function, None)):
                        try:
                            results.append(call_implementation(module, function, list(call_args), None, seconds=int(remaining) + 1))
                        except Exception:  # noqa: BLE001 - raised, hung, modified its input: not the finding (a real Ctrl-C still stops)
                            pass
    finally:
        if watchdog:
            watchdog.cancel()


def poison_note(actual, reference, value):
    """What to add to a mismatch when a wrong element of `actual` (one that differs from
    `reference`) equals the poison value: the implementation returned memory it never wrote."""
    import numpy as np

    try:
        actual, reference = np.asarray(actual), np.asarray(reference)
    except (TypeError, ValueError):  # not an array at all: no element to point at
        return ""
    if actual.dtype.kind != "f" or actual.shape != reference.shape or not ((actual == value) & (actual != reference)).any():
        return ""
    return f" -- it equals the poison value {value!r} left in freed memory before the call: uninitialized memory"


def run_repeated(case, arrays, module, strict, caller, poisoner):
    """The recorded call made case["repeats"] times, each on fresh copies of its inputs, before
    each the implementation's allocator poisoned with another value and memory of the results'
    sizes scribbled on after it (a result read from uninitialized memory then differs): a
    Mismatch when two results differ."""
    import numpy as np

    function = case["function"]
    outputs = []
    for attempt in range(case["repeats"]):
        args = [decode(a, arrays) for a in case["args"]]
        if poisoner:
            poisoner(case, args, POISON - attempt)
        result = named_outputs(function, caller(module, function, args, True, strict=strict))
        outputs.append(result)
        scribble([np.asarray(v).nbytes for v in result.values() if v is not None], 0xA5 ^ (attempt * 0x3B & 0xFF))
        for name in result:
            if not identical(outputs[0][name], result[name]):
                note = poison_note(result[name], outputs[0][name], POISON - attempt) if poisoner else ""
                raise Mismatch(f"[nondeterministic] {function}: {name} differs between call 1 and call {attempt + 1} on identical inputs{note}")


def run_case(case, arrays, module, plot=None, caller=None, poisoned=True, poisoner=None):
    """Rerun the recorded check on `module`; raises Mismatch while the failure is there. caller:
    what makes each call (default call_implementation; the suite passes its own, which runs an
    isolated implementation in its worker and raises the suite's findings). poisoned: first
    poison the allocator the call draws from -- poisoner(case, args, value) (the suite's, in the
    worker), by default poison() on `module`."""
    caller = caller or call_implementation
    if not poisoned:
        poisoner = None
    elif poisoner is None:
        def poisoner(case, args, value):
            poison(case, args, module, value)
    args = [decode(a, arrays) for a in case["args"]]
    function = case["function"]
    strict = case["mismatch"].get("kind") == "warning"  # recorded under --strict-warnings
    if case["mismatch"].get("kind") == "nondeterministic":
        return run_repeated(case, arrays, module, strict, caller, poisoner)
    if poisoner:
        poisoner(case, args, POISON)
    if case["check"] == "gradient" and case["gradient"] is not None:
        return run_gradient(case, arrays, module, args, strict, caller)
    if case["check"] == "gradient":  # the call failed (raised, say) before any derivative was compared: the call is the case
        return check_declared(function, named_outputs(function, caller(module, function, args, True, strict=strict)), case["declared"] or [], True)
    if case["check"] == "adjoint":
        return run_adjoint(case, arrays, module, args, strict, caller)
    result = caller(module, function, args, case["valid"], strict=strict)
    if case["valid"] is False or result is REJECTED:
        return
    outputs = named_outputs(function, result)
    declared = case["declared"] or []
    check_declared(function, outputs, declared, dtypes=False)
    if case["check"] != "contract":
        expected, oracle = expected_outputs(case, args, arrays)
        try:
            for name in case["outputs"]:
                tol = arrays.get(f"tol__{name}", 0.0)
                try:
                    compare(f"{function}: {name} vs {oracle}", outputs[name], expected[name], tol, case["dtype"])
                except Mismatch as exc:
                    if not follows_open_point(function, name, args, outputs[name], tol, case["dtype"]):
                        raise Mismatch(f"{exc}{poison_note(outputs[name], expected[name], POISON) if poisoner else ''}") from None
        finally:
            if plot:
                draw(plot, function, outputs, expected, oracle)
    check_declared(function, outputs, declared, dtypes=True)


def follows_open_point(function, name, args, actual, tol, dtype):
    """Whether `actual` is the other allowed answer where NaN / inf meets padding: the suite passes
    it (properties/conventions.py: OPEN), so the replay does."""
    if (function, name) not in OPEN_POINT_OUTPUTS:
        return False
    try:
        compare(name, actual, conv_skipping_padding(function, args), tol, dtype)
    except Mismatch:
        return False
    return True


def check_declared(function, outputs, declared, dtypes):
    """Each output's declared shape (dtypes False) or dtype (True): the suite judges shapes before
    values and dtypes after them."""
    import numpy as np

    for name, shape, dtype in declared:
        value = outputs.get(name)
        if shape is None:  # a scalar: a Python number or a 0-d NumPy value
            if isinstance(value, (bool, np.bool_)) or not isinstance(value, (float, int, np.number, np.ndarray)):
                raise Mismatch(f"[structure] {function}: {name}: expected a NumPy floating scalar, got {type(value).__name__}")
            if np.shape(value) != ():
                raise Mismatch(f"[shape] {function}: {name}: expected a scalar, got an array of shape {np.shape(value)}")
        elif not isinstance(value, np.ndarray):
            raise Mismatch(f"[structure] {function}: {name}: expected an ndarray of shape {tuple(shape)}, got {type(value).__name__}")
        elif value.shape != tuple(shape):
            raise Mismatch(f"[shape] {function}: {name}: expected shape {tuple(shape)}, got {value.shape}")
        if dtypes and np.asarray(value).dtype != np.dtype(dtype):
            raise Mismatch(f"[dtype] {function}: {name}: expected dtype {dtype}, got {np.asarray(value).dtype}")


def run_gradient(case, arrays, module, args, strict, caller):
    """Directional derivative: u.(f(x+hv) - f(x-hv))/(2h) against (J^T u).v of the backward."""
    import numpy as np

    g = case["gradient"]
    _require(isinstance(g, dict) and set(g) == {"forward", "wrt", "position", "step", "tolerance"}, "case.json: bad gradient")
    _require(g["forward"] in ("conv_forward", "pool_forward") and isinstance(g["position"], int), "case.json: bad gradient")
    _require(isinstance(g["step"], (int, float)) and isinstance(g["tolerance"], (int, float)), "case.json: bad gradient")
    _require({"u", "v"} <= set(arrays), "arrays.npz lacks the directions u and v")
    u, v, h = arrays["u"], arrays["v"], float(g["step"])
    forward_args = list(args[1]) if g["forward"] == "conv_forward" else [args[1][0], args[1][1], args[2]]
    values = []
    for sign in (1, -1):
        shifted = list(forward_args)
        shifted[g["position"]] = forward_args[g["position"]] + sign * h * v
        values.append(np.asarray(named_outputs(g["forward"], caller(module, g["forward"], shifted, True, strict=strict))[
            OUTPUT_NAMES[g["forward"]][0]], dtype=np.float64))
    grads = named_outputs(case["function"], caller(module, case["function"], args, True, strict=strict))
    grad = np.asarray(grads[g["wrt"]], dtype=np.float64)
    if grad.shape != v.shape:
        raise Mismatch(f"[shape] gradient {g['wrt']} has shape {grad.shape}, expected {v.shape}")
    lhs = float(np.sum(u * (values[0] - values[1]))) / (2 * h)
    rhs = float(np.sum(grad * v))
    if not abs(lhs - rhs) <= g["tolerance"]:
        raise Mismatch(f"[values] {g['wrt']}: central differences give {lhs!r}, the backward {rhs!r} (tolerance {g['tolerance']:.3g})")


def run_adjoint(case, arrays, module, args, strict, caller):
    """The adjoint law on the recorded conv_backward(y, cache): <conv(A_prev) - b, y> equals
    <A_prev, dA_prev(y)> and <W, dW(y)>, and db equals the sum of y over m, h, w; conv(A_prev) is
    the implementation's own conv_forward on the cache. Tolerances as recorded (tol__NAME)."""
    import numpy as np

    _require(case["function"] == "conv_backward" and len(args) == 2, "case.json: an adjoint case replays conv_backward(dZ, cache)")
    y, cache = args
    _require(isinstance(y, np.ndarray) and isinstance(cache, (list, tuple)) and len(cache) == 4, "case.json: bad adjoint call")
    _require(all(f"tol__{name}" in arrays for name in case["outputs"]), "arrays.npz lacks the law's tolerances")
    A_prev, W, b, _ = cache
    Z = named_outputs("conv_forward", caller(module, "conv_forward", list(cache), True, strict=strict))["Z"]
    grads = named_outputs("conv_backward", caller(module, "conv_backward", args, True, strict=strict))
    declared = case["declared"] or []
    check_declared("conv_backward", grads, declared, dtypes=False)
    for name, value, shape in (("Z", Z, y.shape), ("dA_prev", grads["dA_prev"], A_prev.shape), ("dW", grads["dW"], W.shape)):
        if not isinstance(value, np.ndarray) or value.shape != shape or value.dtype.kind not in "biuf":
            what = f"{value.dtype} array of shape {value.shape}" if isinstance(value, np.ndarray) else type(value).__name__
            raise Mismatch(f"[structure] {name}: expected a numeric array of shape {shape}, got {what}")
    lhs = np.sum((Z.astype(np.float64) - (0.0 if b is None else b)) * y)
    for name, x in (("dA_prev", A_prev), ("dW", W)):
        if name in case["outputs"]:
            inner = np.sum(x * grads[name].astype(np.float64))
            compare(f"<{name[1:]}, conv_backward's {name}(y)> vs <conv(A_prev) - b, y>", inner, lhs, arrays[f"tol__{name}"], None)
    if "db" in case["outputs"] and b is not None:
        want = y.sum(axis=(0, 1, 2)).reshape(np.shape(b))
        compare("db vs sum of dZ over m, h, w", grads["db"], want, arrays["tol__db"], None)  # dtypes: declared
    check_declared("conv_backward", grads, declared, dtypes=True)


def draw(path, function, outputs, expected, oracle):
    """Heatmaps of the worst output channel: implementation, oracle, difference."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        import numpy as np
    except ImportError as exc:
        raise CaseError(f"--plot needs matplotlib: {exc}") from None
    name = next(n for n in expected if n in outputs)
    got, want = np.asarray(outputs[name], dtype=np.float64), np.asarray(expected[name], dtype=np.float64)
    if got.shape != want.shape:
        got = np.full(want.shape, np.nan)
    diff = np.abs(np.nan_to_num(got - want, nan=np.inf))
    if want.ndim == 4:  # (m, H, W, C): the example and channel holding the worst element
        i, _, _, c = np.unravel_index(int(np.argmax(diff)), diff.shape)
        got, want, title = got[i, :, :, c], want[i, :, :, c], f"{name}[{i}, :, :, {c}]"
    elif want.ndim == 2:
        title = name
    else:
        got, want, title = np.atleast_2d(got.reshape(-1)), np.atleast_2d(want.reshape(-1)), name
    finite = np.concatenate([got[np.isfinite(got)], want[np.isfinite(want)], [0.0]])
    spread = float(np.abs(got - want)[np.isfinite(got - want)].max(initial=0.0)) or 1.0
    scales = ({"cmap": "viridis", "vmin": finite.min(), "vmax": finite.max()},) * 2 + (
        {"cmap": "coolwarm", "vmin": -spread, "vmax": spread},)  # one scale for both results; the difference centred on 0
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.6))
    for ax, image, label, scale in zip(axes, (got, want, got - want), ("implementation", f"oracle: {oracle}", "difference"), scales):
        shown = ax.imshow(image, **scale)
        ax.set_title(f"{label}\n{title}")
        fig.colorbar(shown, ax=ax, fraction=0.046)
    fig.suptitle(f"{function}: worst mismatch")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description="Replay one convcheck failure.")
    parser.add_argument("--impl", help="implementation to run instead of the recorded one")
    parser.add_argument("--case", default=os.path.dirname(os.path.abspath(__file__)), help="folder with case.json and arrays.npz")
    parser.add_argument("--plot", metavar="PNG", help="draw implementation, oracle and difference for the failing output")
    parser.add_argument("--in-process", action="store_true", help="replay in this process (by default a child process "
                        "replays it, so that an implementation that crashes its process is reported, exit 1)")
    parser.add_argument("--no-poison", action="store_true", help="do not first leave freed memory of the implementation's "
                        "allocator holding a sentinel (see poison())")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return EXIT_CANNOT_RUN if exc.code else EXIT_GONE
    if not args.in_process:
        return replay_in_child(args)
    try:
        case = load_case(args.case)
        arrays = load_arrays(args.case)
        module = load_implementation(args.impl or case["implementation"])
        print(f"{case['function']} ({case['check']} check, recorded as: {case['mismatch'].get('message', '')[:300]})")
        run_case(case, arrays, module, args.plot, poisoned=not args.no_poison)
    except CaseError as exc:
        print(f"cannot run this case: {exc}", file=sys.stderr)
        return EXIT_CANNOT_RUN
    except Mismatch as exc:
        print(f"STILL FAILS: {exc}")
        return EXIT_PRESENT
    print("passes: the mismatch is gone")
    return EXIT_GONE


def replay_in_child(args):
    """The replay in a fresh interpreter running this file: its exit status passes through; a
    child killed by a signal or ended by os._exit is the implementation crashing: exit 1. A
    poisoned replay that crashes (or whose poisoning hung: POISON_HUNG) is made again unpoisoned,
    whose verdict stands: a crash cannot be told apart from one the poisoning caused (memory it
    corrupted fails later, in the call)."""
    import subprocess

    command = [sys.executable, os.path.abspath(__file__), "--in-process", "--case", os.path.abspath(args.case)]
    command += ["--impl", args.impl] if args.impl else []
    command += ["--plot", args.plot] if args.plot else []
    command += ["--no-poison"] if args.no_poison else []
    code = subprocess.call(command)
    if code not in (EXIT_GONE, EXIT_PRESENT, EXIT_CANNOT_RUN) and not args.no_poison:
        print(f"the poisoned replay crashed or hung (exit status {code}): replaying without poisoning", file=sys.stderr)
        code = subprocess.call(command + ["--no-poison"])
    if code in (EXIT_GONE, EXIT_PRESENT, EXIT_CANNOT_RUN):
        return code
    how = f"killed by signal {signal.Signals(-code).name}" if code < 0 and -code in signal.valid_signals() else f"exit status {code}"
    print(f"STILL FAILS: [crashed] the implementation's process died during the replay ({how})")
    return EXIT_PRESENT


if __name__ == "__main__":
    sys.exit(main())
