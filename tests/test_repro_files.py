"""Loading a recorded case never executes anything from it: malformed, truncated, oversized or
hostile case.json / arrays.npz give a clear error and exit status 125."""

from __future__ import annotations

import json
import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from convcheck import repro_template as R
from convcheck.properties.checks import needs_torch

CASE = Path(__file__).resolve().parent.parent / "properties" / "regressions" / "tutorial_seed_window_end_stride"


class Canary:
    """Unpickling this creates a marker file: proof that code ran."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _folder(tmp_path) -> Path:
    folder = tmp_path / "case"
    shutil.copytree(CASE, folder)
    shutil.copyfile(R.__file__, folder / "repro.py")
    return folder


def _run(folder, *args):
    return subprocess.run([sys.executable, str(folder / "repro.py"), *args], capture_output=True, text=True, timeout=120)


def _edit_case(folder, change):
    case = json.loads((folder / "case.json").read_text())
    change(case)
    (folder / "case.json").write_text(json.dumps(case))


@needs_torch
def test_untouched_case_replays(tmp_path):
    folder = _folder(tmp_path)
    assert _run(folder, "--impl", "convcheck.reference.loops").returncode == 0
    assert _run(folder).returncode == 1  # the recorded zoo member still has its defect


def _spoil_npz_random(folder, marker):
    (folder / "arrays.npz").write_bytes(os.urandom(4096))


def _spoil_npz_truncated(folder, marker):
    data = (folder / "arrays.npz").read_bytes()
    (folder / "arrays.npz").write_bytes(data[: len(data) // 2])


def _spoil_npz_oversized(folder, marker):
    with open(folder / "arrays.npz", "r+b") as fh:
        fh.truncate(R.MAX_NPZ_BYTES + 1)


def _spoil_npz_pickle(folder, marker):
    arrays = dict(np.load(folder / "arrays.npz"))
    arrays["arg0"] = np.array([Canary(str(marker))], dtype=object)
    np.savez(folder / "arrays.npz", **arrays)


def _spoil_npz_missing_array(folder, marker):
    arrays = dict(np.load(folder / "arrays.npz"))
    arrays.pop("arg0")
    np.savez(folder / "arrays.npz", **arrays)


def _spoil_json_text(folder, marker):
    (folder / "case.json").write_text("{not json")


def _spoil_json_pickle(folder, marker):
    (folder / "case.json").write_bytes(pickle.dumps(Canary(str(marker))))


def _spoil_json_unknown_key(folder, marker):
    _edit_case(folder, lambda c: c.update(exec=f"open({str(marker)!r}, 'w')"))


def _spoil_json_unknown_tag(folder, marker):
    _edit_case(folder, lambda c: c["args"].__setitem__(1, {"eval": f"open({str(marker)!r}, 'w')"}))


def _spoil_json_wrong_type(folder, marker):
    _edit_case(folder, lambda c: c.update(valid="yes"))


def _spoil_json_unknown_function(folder, marker):
    _edit_case(folder, lambda c: c.update(function="__import__"))


def _spoil_json_deep(folder, marker):
    deep = {"int": 1}
    for _ in range(50):
        deep = {"list": [deep]}
    _edit_case(folder, lambda c: c["args"].__setitem__(3, deep))


def _spoil_json_huge(folder, marker):
    (folder / "case.json").write_text(" " * (R.MAX_JSON_BYTES + 1))


def _spoil_json_schema(folder, marker):
    _edit_case(folder, lambda c: c.update(schema="convcheck.case/999"))


def _spoil_json_declared(folder, marker):
    _edit_case(folder, lambda c: c.update(declared=[["A", [1, -2], "float64"]]))


def _spoil_missing_impl(folder, marker):
    _edit_case(folder, lambda c: c.update(implementation=str(folder / "nowhere.py")))


SPOILERS = [f for name, f in sorted(globals().items()) if name.startswith("_spoil_")]


@needs_torch
@pytest.mark.parametrize(("shape", "dtype", "exit_status"), [
    (None, None, 0), ("recorded", "float32", 1), ([9, 9, 9, 9], None, 1),
])
def test_a_contract_case_replays_the_declared_result(tmp_path, shape, dtype, exit_status):
    """A contract check compares with no oracle, yet its failure may be the result's declared
    shape or dtype: the replay checks what case.json declares for each output."""
    folder = _folder(tmp_path)
    case = json.loads((folder / "case.json").read_text())
    arrays = R.load_arrays(str(folder))
    function = case["function"]
    module = __import__("convcheck.reference.loops", fromlist=["_"])
    outputs = R.named_outputs(function, getattr(module, function)(*[R.decode(a, arrays) for a in case["args"]]))
    declared = [[name, list(value.shape) if shape in (None, "recorded") else shape, dtype or value.dtype.name]
                for name, value in outputs.items()]
    _edit_case(folder, lambda c: c.update(check="contract", oracle=None, outputs=[], declared=declared))
    assert _run(folder, "--impl", "convcheck.reference.loops").returncode == exit_status


@pytest.mark.parametrize("spoil", SPOILERS, ids=[f.__name__.removeprefix("_spoil_") for f in SPOILERS])
def test_bad_case_files_exit_125_without_running_anything(tmp_path, spoil):
    folder = _folder(tmp_path)
    marker = tmp_path / "code-ran"
    spoil(folder, marker)
    result = _run(folder)
    assert result.returncode == 125, (result.stdout, result.stderr)
    assert "cannot run this case" in result.stderr and "Traceback" not in result.stderr
    assert not marker.exists()


def test_import_failure_of_the_implementation_exits_125(tmp_path):
    folder = _folder(tmp_path)
    result = _run(folder, "--impl", str(Path(__file__).parent / "impls" / "import_error.py"))
    assert result.returncode == 125 and "broken on purpose" in result.stderr


def test_repro_imports_nothing_of_the_suite(tmp_path):
    """Only numpy, torch (and the implementation): the script must not import convcheck itself."""
    folder = _folder(tmp_path)
    probe = "import runpy, sys; sys.argv = ['repro.py', '--impl', sys.argv[1]];\n" \
            "try:\n    runpy.run_path(sys.argv[0] if False else %r, run_name='__main__')\nexcept SystemExit:\n    pass\n" \
            "print(sorted(m for m in sys.modules if m.startswith('convcheck') or m in ('hypothesis', 'pytest')))" % str(folder / "repro.py")
    impl = tmp_path / "standalone.py"
    impl.write_text("def conv_forward(A, W, b, hp):\n    raise ValueError('not implemented')\n")
    out = subprocess.run([sys.executable, "-c", probe, str(impl)], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert out.stdout.strip().splitlines()[-1] == "[]", out.stdout + out.stderr


@needs_torch
def test_repro_oracle_agrees_with_the_suite_oracle_over_the_full_space():
    """repro.py carries its own torch code (it must not import the suite): it must compute what
    oracle/torch_ops computes, for every hyperparameter spelling."""
    from hypothesis import HealthCheck, given, settings

    from convcheck.oracle import torch_ops as T
    from convcheck.oracle.tolerances import tolerance
    from convcheck.properties import strategies as S
    from convcheck.properties.asserts import assert_close

    @settings(max_examples=150, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(S.conv_cases(api="full"), S.pool_cases(api="full"))
    def check(conv, pool):
        Z = R.torch_outputs("conv_forward", [conv.A_prev, conv.W, conv.b, conv.hparameters])["Z"]
        M = T.conv_forward(np.abs(conv.A_prev), np.abs(conv.W), None if conv.b is None else np.abs(conv.b), **conv.hparameters)
        tol = tolerance(M, int(np.prod(conv.W.shape[:3])) + 1, np.float64)  # two float64 routes: the policy's bound
        assert_close(Z, T.conv_forward(conv.A_prev, conv.W, conv.b, **conv.hparameters), tol, "repro.py's conv oracle")
        A = R.torch_outputs("pool_forward", [pool.A_prev, pool.hparameters, pool.mode])["A"]
        np.testing.assert_array_equal(A, T.pool_forward(pool.A_prev, mode=pool.mode, **pool.hparameters))

    check()


STALE_POOL = Path(__file__).parent / "impls" / "stale_pool.py"


def _pool_backward_folder(tmp_path, kind, implementation=STALE_POOL) -> Path:
    """A recorded max-pool backward over one 2x2 window: three of its four gradients are zeros
    that stale_pool.py never writes. Its inputs are zeros (as shrunk), so what a call of the
    replay leaves in freed memory for the next is zeros too: only poisoning changes it."""
    folder = _folder(tmp_path)
    np.savez(folder / "arrays.npz", arg0=np.zeros((1, 1, 1, 1)), arg1=np.zeros((1, 2, 2, 1)))
    window = {"dict": [["f", {"int": 2}], ["stride", {"int": 2}]]}
    _edit_case(folder, lambda c: c.update(
        schema=R.SCHEMA, function="pool_backward", family="backward", oracle="autograd", implementation=str(implementation),
        args=[{"array": ["arg0", "contiguous"]}, {"tuple": [{"array": ["arg1", "contiguous"]}, window]}, {"str": "max"}],
        outputs=["dA_prev"], declared=[["dA_prev", [1, 2, 2, 1], "float64"]], repeats=3,
        mismatch={"kind": kind, "message": f"[{kind}] pool_backward: dA_prev"}))
    return folder


@pytest.mark.parametrize("kind", [pytest.param("values", marks=needs_torch), "nondeterministic"])
def test_poisoning_shows_memory_the_implementation_never_wrote(tmp_path, kind):
    """stale_pool.py reads its own allocator's freed memory, which scribble() cannot reach: right
    in a fresh process, so only the poisoned replay fails, and names the sentinel it returned."""
    folder = _pool_backward_folder(tmp_path, kind)
    assert _run(folder, "--no-poison").returncode == 0
    poisoned = _run(folder)
    assert poisoned.returncode == 1 and "equals the poison value" in poisoned.stdout, poisoned.stdout
    for correct in ("convcheck.reference.fast", "convcheck.reference.loops"):
        assert _run(folder, "--impl", correct).returncode == 0


@pytest.mark.parametrize("implementation", ["aborts.py", "hang_swallows_everything.py"])
def test_a_crash_or_hang_while_poisoning_is_not_the_verdict(tmp_path, implementation):
    """aborts.py's pool_forward aborts the process, hang_swallows_everything.py's zero_pad never
    returns; the pool_backward of both is right: the poisoned replay of a pool_backward case ends,
    and the replay made again unpoisoned passes."""
    folder = _pool_backward_folder(tmp_path, "nondeterministic", Path(__file__).parent / "impls" / "isolation" / implementation)
    result = _run(folder)
    assert result.returncode == 0 and "replaying without poisoning" in result.stderr, (result.stdout, result.stderr)


def test_every_torch_route_is_recomputed_and_every_other_recorded():
    """A replay recomputes the answer of torch's routes and compares with the recorded answer of
    any other engine's (JAX, the loops reference): each route of the op table is one or the other."""
    from convcheck.properties.ops import OPS, SECOND_ENGINES

    routes = {route for op in OPS for route in op.oracles}
    assert {r for r in routes if R.recomputed(r)} == routes - set(SECOND_ENGINES) == set(R.TORCH_ROUTES)


def _recorded_route_folder(tmp_path, answer) -> Path:
    """The regression case (conv_forward), as if a JAX route had found it: its answer recorded."""
    folder = _folder(tmp_path)
    case = json.loads((folder / "case.json").read_text())
    arrays = dict(np.load(folder / "arrays.npz"))
    if answer is not None:
        arrays.update(want__Z=answer(R.decode(case["args"][0], arrays), R.decode(case["args"][1], arrays),
                                     R.decode(case["args"][2], arrays), R.decode(case["args"][3], arrays)),
                      tol__Z=np.float64(1e-12))
    np.savez(folder / "arrays.npz", **arrays)
    # The corpus case recorded a raise; as a route's finding it is a mismatch of values.
    _edit_case(folder, lambda c: c.update(oracle="jax", outputs=["Z"], mismatch={"kind": "values", "message": "[values] conv_forward: Z"}))
    return folder


def _loops_Z(*args):
    from convcheck.reference import loops

    return loops.conv_forward(*args)[0]


def _loops_Z_off_by_half(*args):
    return _loops_Z(*args) + 0.5


OFF_BY_HALF = """
from convcheck.reference.loops import *
from convcheck.reference import loops


def conv_forward(A_prev, W, b, hparameters):
    Z, cache = loops.conv_forward(A_prev, W, b, hparameters)
    return Z + 0.5, cache
"""


@pytest.mark.parametrize(("answer", "exit_status"), [(_loops_Z, 1), (_loops_Z_off_by_half, 0), (None, 125)])
def test_a_case_of_another_engines_route_replays_against_its_recorded_answer(tmp_path, answer, exit_status):
    """The implementation is the loops reference's convolution plus 0.5: wrong by torch, right by
    a recorded answer equal to it -- only the recorded answer decides (and a case that lacks it
    cannot run): needs no torch, and no JAX."""
    implementation = tmp_path / "off_by_half.py"
    implementation.write_text(OFF_BY_HALF)
    result = _run(_recorded_route_folder(tmp_path, answer), "--impl", str(implementation))
    assert result.returncode == exit_status, (result.stdout, result.stderr)
    if exit_status == 1:
        assert "vs jax (its answer as recorded)" in result.stdout, result.stdout


@needs_torch
def test_the_replays_explicit_padding_route_agrees_with_the_loops_reference_where_windows_see_only_padding():
    """Where a dilated max-pool window sees only padding torch's own backward is defective
    (ORACLE_DEFECTS); the replay of such a case recomputes the route that checked it, the -inf
    padding made explicit, which must give the contract's gradient (integer-valued upstream
    gradients: every sum exact)."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from convcheck.properties import strategies as S
    from convcheck.reference import loops

    @settings(max_examples=100, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(S.padding_only_pool_cases(dtypes=(np.dtype(np.float64),)), st.data())
    def check(case, data):
        dA = np.round(4 * data.draw(S.gradients_for(S.pool_output_shape(case), np.float64)))
        got = R.torch_outputs("pool_backward", [dA, (case.A_prev, case.hparameters), "max"], "explicit -inf padding")["dA_prev"]
        np.testing.assert_array_equal(got, loops.pool_backward(dA, (case.A_prev, case.hparameters), mode="max"))

    check()


@pytest.mark.parametrize("kind", [pytest.param("values", marks=needs_torch), "nondeterministic"])
def test_an_isolated_regression_replay_poisons_the_workers_allocator(tmp_path, kind):
    """The suite's replay of a promoted case, through the implementation's worker, poisons that
    worker's allocator as repro.py poisons its own process's."""
    from convcheck.implementations import isolated
    from convcheck.properties.test_regressions import _poison_in_worker, _through_worker

    folder = _pool_backward_folder(tmp_path, kind)
    case, arrays = R.load_case(str(folder)), R.load_arrays(str(folder))
    impl = isolated(str(STALE_POOL))
    try:
        R.run_case(case, arrays, None, caller=_through_worker(impl), poisoned=False)  # a fresh worker: zeros, right
        with pytest.raises(R.Mismatch, match="equals the poison value"):
            R.run_case(case, arrays, None, caller=_through_worker(impl), poisoner=_poison_in_worker(impl))
    finally:
        impl.worker.stop()


@pytest.mark.parametrize("implementation", ["aborts.py", "hang_swallows_everything.py"])
def test_a_worker_that_dies_or_hangs_while_poisoning_is_replaced_and_the_replay_goes_on(tmp_path, implementation):
    from convcheck.implementations import isolated
    from convcheck.properties.test_regressions import _poison_in_worker, _through_worker

    path = Path(__file__).parent / "impls" / "isolation" / implementation
    folder = _pool_backward_folder(tmp_path, "nondeterministic", path)
    case, arrays = R.load_case(str(folder)), R.load_arrays(str(folder))
    impl = isolated(str(path))
    try:
        R.run_case(case, arrays, None, caller=_through_worker(impl), poisoner=_poison_in_worker(impl))
    finally:
        impl.worker.stop()


@needs_torch
@pytest.mark.parametrize(("returned", "exit_status"), [
    ("np.where(np.arange(9).reshape(1, 3, 3, 1) == 4, np.nan, 0.0)", 0),  # no product with padding: the open point's other answer
    ("np.full((1, 3, 3, 1), np.nan)", 0),  # zero_pad-then-multiply: torch's float64 answer
    ("np.zeros((1, 3, 3, 1))", 1),  # the real product 0 x NaN dropped too: neither answer
])
def test_a_replay_accepts_either_answer_where_nan_meets_padding(tmp_path, returned, exit_status):
    """W = NaN (1 x 1), pad 1 over a 1 x 1 input: the eight outputs over padding alone are NaN
    (products with the padding formed) or 0 (not formed), as the suite allows; the centre is NaN."""
    impl = tmp_path / "impl.py"
    impl.write_text(f"import numpy as np\ndef conv_forward(A, W, b, hp):\n    return {returned}, (A, W, b, hp)\n")
    folder = _folder(tmp_path)
    np.savez(folder / "arrays.npz", arg0=np.zeros((1, 1, 1, 1)), arg1=np.full((1, 1, 1, 1), np.nan), tol__Z=np.zeros((1, 3, 3, 1)))
    _edit_case(folder, lambda c: c.update(
        schema=R.SCHEMA, function="conv_forward", oracle="F.conv2d", outputs=["Z"], declared=None, dtype="float64",
        args=[{"array": ["arg0", "contiguous"]}, {"array": ["arg1", "contiguous"]}, {"none": None},
              {"dict": [["stride", {"int": 1}], ["pad", {"int": 1}]]}]))
    result = _run(folder, "--impl", str(impl))
    assert result.returncode == exit_status, (result.stdout, result.stderr)


DOUBLED_DA = """
from convcheck.reference.loops import *
from convcheck.reference import loops


def conv_backward(dZ, cache):
    dA_prev, dW, db = loops.conv_backward(dZ, cache)
    return 2 * dA_prev, dW, db
"""

DOUBLED_CONV = DOUBLED_DA + """

def conv_forward(A_prev, W, b, hparameters):
    Z, cache = loops.conv_forward(A_prev, W, b, hparameters)
    return 2 * Z - b, cache


def conv_backward(dZ, cache):
    dA_prev, dW, db = loops.conv_backward(dZ, cache)
    return 2 * dA_prev, 2 * dW, db
"""


@pytest.fixture(scope="module")
def adjoint_finding(tmp_path_factory) -> Path:
    """The repro folder of the adjoint law's finding on a conv_backward whose dA_prev is doubled."""
    root = tmp_path_factory.mktemp("adjoint")
    (root / "doubled_dA.py").write_text(DOUBLED_DA)
    report = root / "report.json"
    result = subprocess.run(
        [sys.executable, "-m", "convcheck.cli", "verify", str(root / "doubled_dA.py"), "--family", "metamorphic",
         "--check", "test_conv_backward_is_adjoint*", "--report-json", str(report), "--repro-dir", str(root / "repros")],
        capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-2000:]
    (finding,) = json.loads(report.read_text())["findings"]
    return Path(finding["repro"])


Z_AS_LIST = DOUBLED_DA + """

def conv_forward(A_prev, W, b, hparameters):
    Z, cache = loops.conv_forward(A_prev, W, b, hparameters)
    return Z.tolist(), cache
"""


@pytest.mark.parametrize(("implementation", "exit_status", "says"), [
    (DOUBLED_DA, 1, "[values] <A_prev, conv_backward's dA_prev(y)> vs <conv(A_prev) - b, y>"),
    (Z_AS_LIST, 1, "[structure] Z: expected a numeric array"),
    (DOUBLED_CONV, 0, "passes"),
    ("from convcheck.reference.loops import *", 0, "passes"),
])
def test_an_adjoint_law_finding_replays_against_the_implementations_own_forward(tmp_path, adjoint_finding, implementation, exit_status,
                                                                                 says):
    """The doubled dA_prev breaks the adjoint law, and its folder replays it (exit 1), as it does
    a forward whose Z is no array. The law has no oracle: an implementation that doubles conv - b
    and both its gradients keeps it (exit 0), as does the loops reference. Needs no torch."""
    assert R.load_case(str(adjoint_finding))["check"] == "adjoint"
    (tmp_path / "under_test.py").write_text(implementation)
    replay = _run(adjoint_finding, "--impl", str(tmp_path / "under_test.py"))
    assert replay.returncode == exit_status and says in replay.stdout, (replay.stdout, replay.stderr)
