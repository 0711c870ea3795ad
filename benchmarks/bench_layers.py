"""Speed of the vectorized layers (``reference.fast``) next to torch, the loop spec and bare GEMMs.

Run from the project root:

    python benchmarks/bench_layers.py               # full sizes, prints the table and the targets
    python benchmarks/bench_layers.py --quick       # small sizes, few repeats: a smoke test only
    python benchmarks/bench_layers.py --json out.json

Everything runs on one thread (NumPy's BLAS and torch), so the ratios compare algorithms, not
core counts. Each time is the median of several repeats after a warm-up, measured with
``time.perf_counter``. torch runs forward + backward through autograd, in the same dtype, on
contiguous NCHW tensors prepared beforehand (layout conversion is not timed). The loop spec is
far too slow for the full sizes, so ``fast / loops`` compares both on a small problem.

Cases: (a) conv float64, (b) the same conv in float32, (c) max and average pooling, (d) a
depthwise conv (groups = channels), (e) a dilated conv, both float64. (d) has a target
against torch; (e) has none. Their GEMM floor is the GEMMs of the grouped im2col design on the
whole batch: for (e) the same three GEMMs as (a) (dilation only changes which entries im2col
gathers); for (d) the three GEMMs of each of the 64 groups, which are matrix-vector products
(K = 9, one output channel per group), so that floor is memory-bound, not a compute floor --
which is why fast does (d) without GEMMs, as broadcast multiply-adds per kernel offset.
"""

from __future__ import annotations

import os
import sys

# The BLAS and OpenMP pools size themselves when their library loads: pin them to one thread
# before NumPy or torch is imported.
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
if "numpy" in sys.modules or "torch" in sys.modules:
    print("warning: numpy/torch were imported before this module set " + ", ".join(THREAD_VARS)
          + "; check the thread counts reported below", file=sys.stderr)
for _var in THREAD_VARS:
    os.environ[_var] = "1"

import argparse  # noqa: E402
import ctypes  # noqa: E402
import gc  # noqa: E402
import glob  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import re  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from dataclasses import asdict, dataclass, replace  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from convcheck.reference import fast, loops  # noqa: E402

torch.set_num_threads(1)
# OpenBLAS variables that change which kernels NumPy's BLAS uses; reported, never changed here.
OPENBLAS_TUNING_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


# ----------------------------------------------------------------------------- environment


def _openblas_runtime() -> dict:
    """Kernel set and thread count NumPy's OpenBLAS actually runs with (best effort).

    threadpoolctl answers if installed; otherwise ask the OpenBLAS shipped in numpy.libs directly.
    """
    try:
        import threadpoolctl
    except ImportError:
        pass
    else:
        for info in threadpoolctl.threadpool_info():
            if info.get("internal_api") == "openblas":
                return {"core": info.get("architecture"), "threads": info.get("num_threads"), "source": "threadpoolctl"}
    libs = glob.glob(os.path.join(os.path.dirname(np.__file__) + ".libs", "*openblas*"))
    if not libs:
        return {}
    lib = ctypes.CDLL(libs[0])  # the library NumPy already loaded: same handle, same state
    found = {"source": "ctypes"}
    for key, names, restype in (
        ("core", ("scipy_openblas_get_corename64_", "scipy_openblas_get_corename", "openblas_get_corename"), ctypes.c_char_p),
        ("threads", ("scipy_openblas_get_num_threads64_", "scipy_openblas_get_num_threads", "openblas_get_num_threads"), ctypes.c_int),
    ):
        for name in names:
            fn = getattr(lib, name, None)
            if fn is not None:
                fn.restype = restype
                value = fn()
                found[key] = value.decode() if isinstance(value, bytes) else value
                break
    return found


def environment() -> dict:
    blas = {}
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
    except Exception:  # older NumPy: no dict mode
        pass
    torch_config = torch.__config__.show()
    torch_blas = re.search(r"BLAS_INFO=(\w+)", torch_config)
    return {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "numpy": np.__version__,
        "numpy_blas": blas.get("name", "unknown"),
        "numpy_blas_version": blas.get("version", "unknown"),
        "numpy_blas_build": blas.get("openblas configuration", ""),
        "numpy_blas_runtime": _openblas_runtime(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "torch_blas": torch_blas.group(1) if torch_blas else "unknown",
        "torch_onednn": bool(torch.backends.mkldnn.is_available()),
        "thread_env": {var: os.environ.get(var) for var in THREAD_VARS},
        "openblas_tuning_env": {var: os.environ.get(var, "unset") for var in OPENBLAS_TUNING_VARS},
    }


# ----------------------------------------------------------------------------- timing


def median_seconds(fns: dict, repeats: int, warmup: int) -> dict:
    """Median wall time of each fn() over `repeats` runs, after `warmup` untimed runs of each.

    The functions take turns (one run of each per round), so that a change in machine load
    during the measurement hits all of them alike rather than skewing their ratios.
    """
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    samples = {name: [] for name in fns}
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        for _ in range(repeats):
            for name, fn in fns.items():
                start = time.perf_counter()
                fn()
                samples[name].append(time.perf_counter() - start)
    finally:
        if gc_was_enabled:
            gc.enable()
    return {name: {"median": statistics.median(s), "min": min(s), "samples": s} for name, s in samples.items()}


def small_ratio(fast_run, loops_run, sizes) -> dict:
    """fast and loops on the small problem (loops is far too slow for the full size)."""
    return median_seconds({"fast_small": fast_run, "loops_small": loops_run}, sizes.loops_repeats, 1)


def to_nchw(x: np.ndarray, requires_grad: bool = False) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2))).requires_grad_(requires_grad)


@dataclass
class Sizes:
    conv: tuple  # (m, H, W, C_in, C_out, f, stride, pad, dilation, groups)
    conv_small: tuple
    depthwise: tuple  # conv shape, groups = C_in = C_out
    depthwise_small: tuple
    dilated: tuple  # conv shape, dilation > 1
    dilated_small: tuple
    pool: tuple  # (m, H, W, C, f, stride)
    pool_small: tuple
    repeats: int  # conv
    pool_repeats: int  # pooling is ~10x faster than conv: more repeats for the same stability
    loops_repeats: int
    warmup: int


FULL = Sizes(
    conv=(16, 64, 64, 32, 64, 3, 1, 1, 1, 1),
    conv_small=(1, 16, 16, 8, 8, 3, 1, 1, 1, 1),
    depthwise=(16, 64, 64, 64, 64, 3, 1, 1, 1, 64),
    depthwise_small=(1, 16, 16, 8, 8, 3, 1, 1, 1, 8),
    dilated=(16, 64, 64, 32, 64, 3, 1, 2, 2, 1),
    dilated_small=(1, 16, 16, 8, 8, 3, 1, 2, 2, 1),
    pool=(16, 64, 64, 32, 2, 2),
    pool_small=(1, 16, 16, 8, 2, 2),
    repeats=7,
    pool_repeats=21,
    loops_repeats=5,
    warmup=2,
)
QUICK = Sizes(
    conv=(2, 16, 16, 8, 16, 3, 1, 1, 1, 1),
    conv_small=(1, 6, 6, 3, 4, 3, 1, 1, 1, 1),
    depthwise=(2, 16, 16, 8, 8, 3, 1, 1, 1, 8),
    depthwise_small=(1, 6, 6, 3, 3, 3, 1, 1, 1, 3),
    dilated=(2, 16, 16, 8, 16, 3, 1, 2, 2, 1),
    dilated_small=(1, 6, 6, 3, 4, 3, 1, 2, 2, 1),
    pool=(2, 16, 16, 8, 2, 2),
    pool_small=(1, 6, 6, 3, 2, 2),
    repeats=3,
    pool_repeats=3,
    loops_repeats=2,
    warmup=1,
)


# ----------------------------------------------------------------------------- cases


def conv_problem(shape: tuple, dtype, rng):
    m, H, W_, C, C_out, f, stride, pad, dilation, groups = shape
    A = rng.standard_normal((m, H, W_, C)).astype(dtype)
    W = rng.standard_normal((f, f, C // groups, C_out)).astype(dtype)
    b = rng.standard_normal((1, 1, 1, C_out)).astype(dtype)
    hp = {"stride": stride, "pad": pad}
    if (dilation, groups) != (1, 1):  # (a) and (b) keep the tutorial's hyperparameters
        hp.update(dilation=dilation, groups=groups)
    extent = dilation * (f - 1) + 1
    n_H, n_W = (H + 2 * pad - extent) // stride + 1, (W_ + 2 * pad - extent) // stride + 1
    dZ = rng.standard_normal((m, n_H, n_W, C_out)).astype(dtype)
    return A, W, b, hp, dZ


def conv_label(shape: tuple) -> str:
    m, H, W_, C, C_out, f, stride, pad, dilation, groups = shape
    extra = (f" d{dilation}" if dilation != 1 else "") + (f" groups={groups}" if groups != 1 else "")
    return f"A {m}x{H}x{W_}x{C} -> {C_out}ch, {f}x{f}, s{stride} p{pad}{extra}"


def conv_step(module, A, W, b, hp, dZ):
    def run():
        _, cache = module.conv_forward(A, W, b, hp)
        return module.conv_backward(dZ, cache)

    return run


def bench_conv(shape: tuple, small_shape: tuple, sizes: Sizes, dtype, rng) -> dict:
    A, W, b, hp, dZ = conv_problem(shape, dtype, rng)
    C, C_out, f, stride, pad, dilation, groups = shape[3:]
    fast_run = conv_step(fast, A, W, b, hp, dZ)

    # contiguous NCHW / (C_out, C_in, f, f) tensors, made once: layout conversion is not timed
    a, g = to_nchw(A, True), to_nchw(dZ)
    w = torch.from_numpy(np.ascontiguousarray(W.transpose(3, 2, 0, 1))).requires_grad_(True)
    bias = torch.from_numpy(b.reshape(-1).copy()).requires_grad_(True)

    def torch_run():
        out = F.conv2d(a, w, bias, stride=stride, padding=pad, dilation=dilation, groups=groups)
        return torch.autograd.grad(out, (a, w, bias), g)

    # The three GEMMs of an im2col design, on operands that already exist, into existing outputs;
    # with groups, those of each group (im2col laid out group by group, as in fast).
    N, K, M = dZ.shape[0] * dZ.shape[1] * dZ.shape[2], f * f * C // groups, C_out // groups
    cols = rng.standard_normal((groups, N, K)).astype(dtype)
    W_mat = np.ascontiguousarray(W.reshape(K, groups, M).transpose(1, 0, 2))
    dZ_mat = dZ.reshape(N, C_out)
    out_Z, out_dW, out_dcols = np.empty((N, C_out), dtype), np.empty((groups, K, M), dtype), np.empty((groups, N, K), dtype)

    def gemm_run():
        for g in range(groups):
            channels = slice(g * M, (g + 1) * M)
            np.matmul(cols[g], W_mat[g], out=out_Z[:, channels])
            np.matmul(cols[g].T, dZ_mat[:, channels], out=out_dW[g])
            np.matmul(dZ_mat[:, channels], W_mat[g].T, out=out_dcols[g])

    # Sanity: the timed code computes the same thing as torch.
    dA_f, dW_f, _ = fast_run()
    dA_t, dW_t, _ = torch_run()
    scale = float(np.abs(dA_f).max()) + 1.0
    agree = np.abs(dA_f - dA_t.permute(0, 2, 3, 1).numpy()).max() / scale
    agree = max(agree, np.abs(dW_f - dW_t.permute(2, 3, 1, 0).numpy()).max() / (float(np.abs(dW_f).max()) + 1.0))

    As, Ws, bs, hps, dZs = conv_problem(small_shape, dtype, rng)
    return {
        "shape": conv_label(shape),
        "small_shape": conv_label(small_shape),
        "dtype": np.dtype(dtype).name,
        "gemm_shapes": f"N={N}, K={K}, C_out={C_out}" if groups == 1 else
                       f"per group ({groups} groups) N={N}, K={K}, C_out={M}" + (", matrix-vector products" if M == 1 else ""),
        "max_rel_diff_vs_torch": float(agree),
        **median_seconds({"fast": fast_run, "torch": torch_run, "gemm": gemm_run}, sizes.repeats, sizes.warmup),
        **small_ratio(conv_step(fast, As, Ws, bs, hps, dZs), conv_step(loops, As, Ws, bs, hps, dZs), sizes),
    }


def pool_problem(shape: tuple, rng):
    m, H, W_, C, f, stride = shape
    A = rng.standard_normal((m, H, W_, C))
    dA = rng.standard_normal((m, (H - f) // stride + 1, (W_ - f) // stride + 1, C))
    return A, {"f": f, "stride": stride}, dA


def pool_step(module, A, hp, dA, mode):
    def run():
        _, cache = module.pool_forward(A, hp, mode)
        return module.pool_backward(dA, cache, mode)

    return run


def bench_pool(sizes: Sizes, mode: str, rng) -> dict:
    A, hp, dA = pool_problem(sizes.pool, rng)
    m, H, W_, C, f, stride = sizes.pool
    fast_run = pool_step(fast, A, hp, dA, mode)
    a, g = to_nchw(A, True), to_nchw(dA)
    op = F.max_pool2d if mode == "max" else F.avg_pool2d

    def torch_run():
        return torch.autograd.grad(op(a, f, stride), (a,), g)[0]

    agree = np.abs(fast_run() - torch_run().permute(0, 2, 3, 1).numpy()).max()
    As, hps, dAs = pool_problem(sizes.pool_small, rng)
    return {
        "shape": f"A {m}x{H}x{W_}x{C}, f={f}, s{stride}",
        "small_shape": "A {}x{}x{}x{}".format(*sizes.pool_small[:4]),
        "dtype": "float64",
        "max_abs_diff_vs_torch": float(agree),
        **median_seconds({"fast": fast_run, "torch": torch_run}, sizes.pool_repeats, sizes.warmup),
        **small_ratio(pool_step(fast, As, hps, dAs, mode), pool_step(loops, As, hps, dAs, mode), sizes),
    }


# ----------------------------------------------------------------------------- report


@dataclass
class Target:
    case: str
    ratio: str  # "fast/torch" or "fast/GEMMs"
    limit: float
    measured: float = float("nan")
    met: bool = False

    def label(self) -> str:
        return f"({self.case}) {self.ratio} <= {self.limit}"


TARGETS = [
    Target("a", "fast/torch", 0.9),
    Target("a", "fast/GEMMs", 1.3),
    Target("b", "fast/torch", 2.5),
    Target("b", "fast/GEMMs", 1.3),
    Target("c-max", "fast/torch", 1.5),
    Target("c-average", "fast/torch", 1.5),
    Target("d", "fast/torch", 1.5),
]


def ratios(result: dict) -> dict:
    med = {key: result[key]["median"] for key in ("fast", "torch", "gemm", "fast_small", "loops_small") if key in result}
    out = {"fast/torch": med["fast"] / med["torch"], "fast/loops": med["fast_small"] / med["loops_small"]}
    if "gemm" in med:
        out["fast/GEMMs"] = med["fast"] / med["gemm"]
    return out


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:9.2f}"


def print_report(env: dict, sizes: Sizes, results: dict, targets: list, quick: bool) -> None:
    runtime = env["numpy_blas_runtime"]
    print("convcheck layer benchmark" + ("  [--quick: tiny sizes, smoke test only; targets not meaningful]" if quick else ""))
    print(f"  threads    : NumPy's OpenBLAS {runtime.get('threads', '?')}, torch {env['torch_threads']} "
          f"(env {', '.join(f'{k}={v}' for k, v in env['thread_env'].items())}; torch.set_num_threads(1))")
    print(f"  numpy      : {env['numpy']}, BLAS {env['numpy_blas']} {env['numpy_blas_version']}, "
          f"kernels in use: {runtime.get('core', '?')}  [build: {env['numpy_blas_build']}]")
    print(f"  torch      : {env['torch']}, BLAS {env['torch_blas']}, oneDNN available: {env['torch_onednn']}")
    print(f"  OpenBLAS tuning env: {', '.join(f'{k}={v}' for k, v in env['openblas_tuning_env'].items())}")
    print(f"  python {env['python']} on {env['machine']}, {env['cpu_count']} CPUs")
    print(f"  times      : ms, median of {sizes.repeats} (conv) / {sizes.pool_repeats} (pooling) / "
          f"{sizes.loops_repeats} (small problem) timed runs after warm-up, the timed codes taking turns")
    print()
    header = (f"{'case':<11}{'dtype':<9}{'fast':>9}{'torch':>9}{'GEMMs':>9}{'fast/torch':>11}{'fast/GEMMs':>11}"
              f"  |{'loops':>9}{'fast':>9}{'fast/loops':>12}  (small)")
    print(header)
    print("-" * len(header))
    for name, result in results.items():
        r = ratios(result)
        gemm = ms(result["gemm"]["median"]) if "gemm" in result else f"{'-':>9}"
        gemm_ratio = f"{r['fast/GEMMs']:11.2f}" if "fast/GEMMs" in r else f"{'-':>11}"
        print(f"{name:<11}{result['dtype']:<9}{ms(result['fast']['median'])}{ms(result['torch']['median'])}{gemm}"
              f"{r['fast/torch']:11.2f}{gemm_ratio}  |{ms(result['loops_small']['median'])}"
              f"{ms(result['fast_small']['median'])}{r['fast/loops']:12.5f}")
    print()
    for name, result in results.items():
        extra = f", GEMMs {result['gemm_shapes']}" if "gemm_shapes" in result else ""
        diff = result.get("max_rel_diff_vs_torch", result.get("max_abs_diff_vs_torch"))
        print(f"  {name}: {result['shape']}{extra}; small: {result['small_shape']}; fast vs torch max diff {diff:.1e}")
    print()
    print("Targets" + (" (quick sizes: informative only)" if quick else "") + ":")
    for t in targets:
        print(f"  {t.label():<36} measured {t.measured:6.2f}   {'MET' if t.met else 'MISSED'}")
    print(f"  {sum(t.met for t in targets)}/{len(targets)} met")
    for name in [name for name in results if name not in {t.case for t in targets}]:
        r = ratios(results[name])
        print(f"  ({name}) no target: " + ", ".join(f"{k} {r[k]:.5f}" if k == "fast/loops" else f"{k} {r[k]:.2f}"
                                                    for k in ("fast/torch", "fast/GEMMs", "fast/loops") if k in r))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes and few repeats (smoke test)")
    parser.add_argument("--json", metavar="PATH", help="also write the measurements to PATH as JSON")
    parser.add_argument("--repeats", type=int, help="timed repeats per measurement (default: conv 7, pooling 21; quick 3)")
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    if args.repeats is not None:
        if args.repeats < 1:
            parser.error("--repeats must be >= 1")
        sizes = replace(sizes, repeats=args.repeats, pool_repeats=args.repeats)

    rng = np.random.default_rng(0)
    env = environment()
    results = {
        "a": bench_conv(sizes.conv, sizes.conv_small, sizes, np.float64, rng),
        "b": bench_conv(sizes.conv, sizes.conv_small, sizes, np.float32, rng),
        "c-max": bench_pool(sizes, "max", rng),
        "c-average": bench_pool(sizes, "average", rng),
        "d": bench_conv(sizes.depthwise, sizes.depthwise_small, sizes, np.float64, rng),
        "e": bench_conv(sizes.dilated, sizes.dilated_small, sizes, np.float64, rng),
    }
    targets = [Target(t.case, t.ratio, t.limit) for t in TARGETS]
    for t in targets:
        t.measured = ratios(results[t.case])[t.ratio]
        t.met = t.measured <= t.limit
    print_report(env, sizes, results, targets, args.quick)

    if args.json:
        payload = {
            "quick": args.quick,
            "sizes": asdict(sizes),
            "environment": env,
            "results": {name: {**result, "ratios": ratios(result)} for name, result in results.items()},
            "targets": [{**asdict(t), "label": t.label()} for t in targets],
        }
        with open(args.json, "w") as fh:
            json.dump(payload, fh, indent=2)
        print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
