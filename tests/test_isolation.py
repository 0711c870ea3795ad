"""Meta-test: the implementation runs in its own process, so what it does cannot take the suite
down, hang it, or forge its verdict.

Each module in tests/impls/isolation/ misbehaves in one way: a segfault (ctypes) on some
examples only, os.abort(), a malformed answer written into the worker's pipes, a hang inside a
loop that swallows BaseException, or an import-time patch of torch.nn.functional, of convcheck's
own oracle, of np.seterr or of torch's default dtype that would hide its real defect (or break
the suite) if it ran in the suite's process.
`convcheck verify MODULE -x --family forward` must exit 1 with the module's KIND: crashed,
timeout, or the real mismatch. The wire format is checked on every layout the strategies draw.
"""

from __future__ import annotations

import json
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from convcheck import wire
from convcheck.properties.checks import needs_torch
from convcheck.repro_template import LAYOUTS, with_layout

ISOLATION = sorted((Path(__file__).resolve().parent / "impls" / "isolation").glob("*.py"))


def _kind(module: Path) -> str:
    import ast

    for node in ast.parse(module.read_text()).body:
        if isinstance(node, ast.Assign) and [getattr(t, "id", None) for t in node.targets] == ["KIND"]:
            return ast.literal_eval(node.value)
    raise AssertionError(f"{module.name} declares no KIND")


@needs_torch
@pytest.mark.parametrize("module", ISOLATION, ids=[m.stem for m in ISOLATION])
def test_misbehaviour_is_a_finding_not_a_broken_suite(module, tmp_path):
    report = tmp_path / "report.json"
    result = subprocess.run(
        [sys.executable, "-m", "convcheck.cli", "verify", str(module), "-x", "--family", "forward", "--call-timeout", "5",
         "--report-json", str(report), "--repro-dir", str(tmp_path / "repros")],
        capture_output=True, text=True, timeout=600,
    )
    kinds = sorted({k for r in json.loads(report.read_text())["rows"] for k in r["kinds"]}) if report.exists() else []
    assert result.returncode == 1 and kinds == [_kind(module)], f"exit {result.returncode}, kinds {kinds}\n{result.stdout[-3000:]}"
    if _kind(module) == "crashed" and "segfault" in module.stem:  # crashes only where the input has 3 rows: shrunk to that
        assert "(1, 3, 1, 1)" in result.stdout, result.stdout[-3000:]
        (folder,) = [p for p in (tmp_path / "repros").iterdir() if p.is_dir()]  # one finding; repro.py replays the crash: exit 1
        replay = subprocess.run([sys.executable, str(folder / "repro.py")], capture_output=True, text=True, timeout=300)
        assert replay.returncode == 1 and "[crashed]" in replay.stdout and "SIGSEGV" in replay.stdout, replay.stdout + replay.stderr
        fixed = subprocess.run([sys.executable, str(folder / "repro.py"), "--impl", "convcheck.reference.fast"], capture_output=True, text=True)
        assert fixed.returncode == 0, fixed.stdout + fixed.stderr


def _same_array(a: np.ndarray, b: np.ndarray) -> bool:
    return (a.dtype == b.dtype and a.shape == b.shape and a.strides == b.strides and a.flags.writeable == b.flags.writeable
            and a.flags.c_contiguous == b.flags.c_contiguous and np.array_equal(a, b, equal_nan=True))


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int64, np.uint8, np.bool_, np.complex128])
def test_wire_recreates_arrays_exactly(layout, dtype):
    x = with_layout((np.arange(24).reshape(2, 3, 4, 1) % 5 - 2).astype(dtype), layout)
    y = wire.read_message(_reader(wire.dumps(x)))
    assert _same_array(x, y), (x.strides, y.strides, x.flags, y.flags)


def test_wire_values_cross_as_themselves():
    values = (None, True, 3, -2**70, 1.5, float("nan"), complex(1, -2), "same", np.int32(7), np.float32(0.25), np.bool_(True),
              [1, (2, 3)], {"stride": np.int64(2), "pad": ((0, 1), (1, 0))}, np.zeros((0, 3)), np.arange(6)[::-2])
    back = wire.read_message(_reader(wire.dumps(values)))
    assert repr(back[:6]) == repr(values[:6]) and back[6:9] == values[6:9]
    assert type(back[8]) is np.int32 and type(back[9]) is np.float32 and type(back[10]) is np.bool_
    assert back[11] == [1, (2, 3)] and back[12] == values[12] and type(back[12]["stride"]) is np.int64
    assert back[13].shape == (0, 3) and np.array_equal(back[14], values[14])


def test_wire_does_not_carry_objects():
    class Hostile:
        def __reduce__(self):  # what pickle would run
            raise AssertionError("executed")

    back = wire.read_message(_reader(wire.dumps([Hostile(), np.array([object()], dtype=object)])))
    assert all(isinstance(v, wire.Opaque) for v in back), back


def test_wire_sends_a_repeated_object_once_and_decodes_each_place_afresh():
    W, hp = np.arange(4.0).reshape(2, 2)[:, ::-1], {"stride": 1, "pad": (0, 1)}
    calls = [("call", "conv_forward", [np.full(3, k), W, hp]) for k in range(3)]
    message = wire.dumps(("batch", calls))
    assert struct.unpack("<QQ", message[:16])[1] == 4 and message.count(b'"stride"') == 1  # W and hp cross once
    back = wire.read_message(_reader(message))[1]
    assert [c[2][0][0] for c in back] == [0.0, 1.0, 2.0]
    assert all(_same_array(c[2][1], W) and c[2][2] == hp for c in back)
    assert len({id(c[2][1]) for c in back} | {id(c[2][2]) for c in back}) == 6  # no two calls share an array or a dict


def test_wire_rejects_what_its_encoder_never_writes():
    import json

    def framed(header: bytes, sizes=()) -> bytes:
        body = struct.pack(f"<Q{1 + len(sizes)}Q", len(sizes), len(header), *sizes) + header + b"".join(bytes(n) for n in sizes)
        return struct.pack("<Q", len(body)) + body

    for header in ({"a": 1}, [["x", 1], []], [["m", 0], [["m", 0]]]):  # a JSON object, an unknown tag, a memo loop
        with pytest.raises(ValueError):
            wire.read_message(_reader(framed(json.dumps(header).encode())))
    good = json.dumps([["a", 0, "<f8", [1], [8], 0, True], []]).encode()
    assert wire.read_message(_reader(framed(good, (8,)))).tolist() == [0.0]
    lying = framed(good, (8,))
    with pytest.raises(ValueError):  # a length that is not the sum of its parts
        wire.read_message(_reader(struct.pack("<Q", len(lying) - 8 + 4) + lying[8:] + bytes(4)))


def _reader(data: bytes):
    position = [0]

    def read_exactly(n):
        chunk = data[position[0] : position[0] + n]
        if len(chunk) < n:
            raise EOFError
        position[0] += n
        return chunk

    return read_exactly


# ---- several calls in one round trip (convcheck.worker.WorkerClient.request_each) ----------

BATCHED = '''
import os
import time

import numpy as np


def zero_pad(X, pad, keep=None):
    if pad == "write":
        X[0] = -1.0
    elif pad == "sleep":
        time.sleep(0.8)
    elif pad == "hang":
        time.sleep(600)
    elif pad == "exit":
        os._exit(7)
    elif pad == "uninitialized":
        return np.empty(X.shape, X.dtype)
    elif pad == "keep":
        return keep
    return X
'''


@pytest.fixture
def batched_worker(tmp_path):
    from convcheck.worker import WorkerClient

    module = tmp_path / "batched.py"
    module.write_text(BATCHED)
    client = WorkerClient(str(module))
    client.start()
    yield client
    client.stop()


def _calls(*pads):
    return [("call", "zero_pad", [np.full(3, k, dtype=np.float64), pad]) for k, pad in enumerate(pads)]


def _value(answer, call):
    """The first element of the array a call's answer holds (it returns its argument: a Ref)."""
    assert answer[0] == "returned", answer
    return float(wire.resolve(answer[1], call[2])[0])


def test_batched_answers_stream_in_order_each_within_its_own_time_limit(batched_worker):
    calls = _calls("sleep", "sleep", "sleep", 0)
    answers = list(batched_worker.request_each(calls, 1.5))  # 2.4 s in all, 0.8 s each
    assert [_value(a, c) for a, c in zip(answers, calls)] == [0.0, 1.0, 2.0, 3.0]


def test_batched_caller_that_stops_early_leaves_a_usable_worker(batched_worker):
    answers = batched_worker.request_each(_calls(0, "sleep", 0), 5)
    assert next(answers)[0] == "returned"
    answers.close()  # the remaining answers are drained, not left in the pipe
    call = _calls(0)[0]
    assert _value(batched_worker.request(call, 5), call) == 0.0 and batched_worker.starts == 1


@pytest.mark.parametrize("pad, error, words", [("hang", "WorkerHung", None), ("exit", "WorkerDied", "exit status 7")])
def test_batched_hang_or_death_is_reported_at_its_own_call(batched_worker, pad, error, words):
    from convcheck import worker

    answers = batched_worker.request_each(_calls(0, pad, 0), 1.0)
    assert next(answers)[0] == "returned"
    with pytest.raises(getattr(worker, error)) as raised:
        next(answers)
    assert words is None or words in str(raised.value)
    assert not batched_worker.alive()
    call = _calls(0)[0]
    assert _value(batched_worker.request(call, 5), call) == 0.0 and batched_worker.starts == 2


def test_a_scribble_is_made_in_the_worker_with_its_next_call(batched_worker):
    """What check_deterministic scribbles lands in the worker's allocator, sent in the same
    message as the next call (its own answer skipped): an uninitialized result shows it."""
    batched_worker.scribble([24], 0xA5)
    (uninitialized,) = batched_worker.request_each(_calls("uninitialized"), 5)
    assert uninitialized[1].tobytes() == b"\xa5" * 24
    batched_worker.scribble([24], 0xA5)
    call = _calls(0)[0]
    assert _value(batched_worker.request(call, 5), call) == 0.0 and batched_worker.starts == 1


def test_an_argument_returned_crosses_back_as_a_reference_unless_modified(batched_worker):
    """The suite gets its own array back, as from an in-process call; a written argument is not
    named (it is reported modified, and its new values cross)."""
    same, written = _calls(0, "write")
    answers = list(batched_worker.request_each([same, written], 5))
    assert isinstance(answers[0][1], wire.Ref) and wire.resolve(answers[0][1], same[2]) is same[2][0]
    assert isinstance(answers[1][1], np.ndarray) and answers[1][2] == [0] and answers[1][1][0] == -1.0
    assert wire.resolve(wire.Ref((5,)), same[2]).type_name == "reference"  # a path to nothing
    (kept,) = batched_worker.request_each([("call", "zero_pad", [np.zeros(2), "keep", {"pad": 1}])], 5, [[None, "keep", hp := {"pad": 1}]])
    assert kept[0] == "returned" and kept[1] is hp  # a container argument returned: the caller's own, resolved as it arrives


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_a_hung_worker_does_not_outlive_the_suite(tmp_path):
    """The suite's process is killed (no cleanup runs) while its worker hangs in a call: the
    worker is killed with it, not left spinning."""
    import os
    import time

    module = tmp_path / "batched.py"
    module.write_text(BATCHED)
    suite = (f"import os, sys, numpy as np\nfrom convcheck.worker import WorkerClient\nc = WorkerClient({str(module)!r})\n"
             "c.start()\nc._send(('call', 'zero_pad', [np.zeros(1), 'hang']))\nprint(c.process.pid, flush=True)\nos._exit(0)\n")
    out = subprocess.run([sys.executable, "-c", suite], capture_output=True, text=True, timeout=120)
    pid = int(out.stdout.split()[0])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    os.kill(pid, 9)
    raise AssertionError(f"worker {pid} still running 10 s after the suite's process ended")


def test_the_suites_own_transport_error_is_not_the_implementations_finding():
    """An exception raised while fetching an isolated call's answer (here a TypeError, as a bug
    in the transport would raise) propagates as the suite's error: it is not reported as the
    implementation raising, nor, for a ValueError, as rejecting a valid input."""
    from types import SimpleNamespace

    from convcheck.implementations import Remote
    from convcheck.properties.asserts import call

    class BrokenTransport:
        def __init__(self, error):
            self.error = error

        def request_each(self, messages, seconds, arguments=None):
            raise self.error
            yield  # a generator, as the worker client's

    for error in (TypeError("transport"), ValueError("transport")):
        remote = Remote(SimpleNamespace(worker=BrokenTransport(error)), "zero_pad")
        with pytest.raises(type(error), match="transport"):
            call(remote, "zero_pad", np.zeros((1, 1, 1, 1)), 1)


@pytest.mark.parametrize(("limit", "replaced"), [(0, True), (1 << 50, False)])
def test_a_worker_grown_past_its_size_limit_is_replaced_before_the_next_test(monkeypatch, limit, replaced):
    from convcheck import plugin
    from convcheck.implementations import isolated

    impl = isolated(str(Path(__file__).parent / "impls" / "independent" / "full_numpy.py"))
    try:
        X = np.ones((1, 1, 1, 1))
        impl.worker.request(("call", "zero_pad", [X, 1]), 60)
        pid = impl.worker.process.pid
        monkeypatch.setattr(plugin, "WORKER_RSS_LIMIT", limit)
        assert plugin.replace_if_large(impl) == replaced
        assert impl.worker.alive() != replaced
        assert impl.worker.request(("call", "zero_pad", [X, 1]), 60)[0] == "returned"
        assert (impl.worker.process.pid != pid) == replaced
    finally:
        impl.worker.stop()
