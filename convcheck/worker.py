"""The implementation under test runs in a worker process of its own.

One worker per (test process, implementation): a fresh interpreter (`python -m
convcheck.worker`, never a fork) that imports the implementation and makes every call into it.
The suite's process never imports the implementation, so nothing the implementation does at
import or during a call -- np.seterr, torch defaults, patching torch or convcheck's oracle,
printing, crashing, hanging -- reaches the oracle, the tolerance policy or the verdict. Values
cross as data (convcheck.wire). The worker reports what a call returned or raised, whether it
wrote into its arguments, and the first warning raised from the implementation's own code
(strict mode). A worker that dies is a finding ("crashed"); one that does not answer within the
call timeout is killed, whatever it catches ("timeout"). A new worker is started for the next
call. It is not a sandbox: the implementation runs with the user's rights and can touch files.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any

from . import wire

IMPORT_TIMEOUT = 600.0  # importing is not a call: a cold torch import alone can take ~20 s


class WorkerDied(Exception):
    """The worker process ended while (or before) answering: how, in words."""


class WorkerHung(Exception):
    """The worker did not answer within the call timeout and was killed."""


def _describe_exit(code: int | None) -> str:
    if code is None:
        return "it stopped answering"
    if code < 0:
        try:
            return f"killed by signal {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit status {code}"


@dataclass
class Ready:
    name: str
    functions: tuple  # the seed functions it defines (callables)
    source: str  # its own file or package folder (strict mode's warning filter)
    text_cnn: str | None  # why its TextCNN cannot be checked, or None
    capabilities: Any  # its CAPABILITIES as they crossed (an object that is not data: wire.Opaque), or None
    conventions: Any  # its CONVENTIONS, likewise


class WorkerClient:
    """The suite's side: starts the worker, sends calls, reads answers, kills and restarts."""

    def __init__(self, spec: str, strict: bool = False):
        self.spec, self.strict = spec, strict
        self.process: subprocess.Popen | None = None
        self._unread = bytearray()
        self._scribble: tuple | None = None  # sent ahead of the next call (scribble)
        self._skip = 0  # answers still to skip before the next one that is asked for
        self.ready: Ready | None = None
        self.starts = 0

    # -- process --------------------------------------------------------------------------

    def start(self) -> Ready:
        env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
        self.process = subprocess.Popen([sys.executable, "-m", "convcheck.worker"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
        self.starts += 1
        self._send(("load", self.spec, self.strict))
        reply = self._receive(IMPORT_TIMEOUT)
        if reply[0] != "ready":
            self.stop()
            raise ImportError(reply[1])
        _, name, functions, source, text_cnn, declared, conventions = reply
        self.ready = Ready(name, tuple(functions), source, text_cnn, declared, conventions)
        return self.ready

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def resident_bytes(self) -> int:
        """The worker's resident memory (Linux /proc; 0 where none runs or that cannot be read)."""
        if not self.alive():
            return 0
        try:
            with open(f"/proc/{self.process.pid}/statm", encoding="ascii") as fh:
                return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, ValueError, IndexError):
            return 0

    def stop(self) -> None:
        if self.process is not None:
            if self.process.poll() is None:
                self.process.kill()
            self.process.wait()
            for pipe in (self.process.stdin, self.process.stdout):
                pipe.close()
        self.process = None
        self._unread, self._skip = bytearray(), 0

    # -- messages -------------------------------------------------------------------------

    def _read_exactly(self, n: int, deadline: float) -> bytes:
        """n bytes of the worker's answers; what arrives beyond them is kept for the next read
        (one system call per answer, not one per field)."""
        out = self.process.stdout
        while len(self._unread) < n:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([out], [], [], remaining)[0]:
                raise WorkerHung
            chunk = os.read(out.fileno(), max(n - len(self._unread), 1 << 16))
            if not chunk:
                raise EOFError
            self._unread += chunk
        data = bytes(self._unread[:n])
        del self._unread[:n]
        return data

    def _send(self, message: Any) -> None:
        if self._scribble is not None and message[0] != "load":
            requests = message[1] if message[0] == "batch" else [message]
            message, self._scribble, self._skip = ("batch", [self._scribble, *requests]), None, 1
        try:
            self.process.stdin.write(wire.dumps(message))
            self.process.stdin.flush()
        except (BrokenPipeError, OSError):
            code = self.process.wait()
            self.stop()
            raise WorkerDied(_describe_exit(code)) from None

    def _receive(self, seconds: float, args: list | None = None) -> Any:
        """The next answer (within `seconds`); the Refs of a call's answer resolved against its `args`."""
        deadline = time.monotonic() + (seconds if seconds > 0 else 1e9)

        def read(n):
            return self._read_exactly(n, deadline)

        try:
            while self._skip:  # the answer to a scribble sent ahead of this request
                self._skip -= 1
                wire.read_message(read)
            return wire.read_message(read, args)
        except WorkerHung:
            self.stop()
            raise
        except (EOFError, BrokenPipeError, OSError):
            code = self.process.wait()
            self.stop()
            raise WorkerDied(_describe_exit(code)) from None
        except Exception as exc:  # noqa: BLE001 - only what ran in the worker can have written these bytes
            self.stop()
            raise WorkerDied(f"stopped: it wrote an answer that cannot be read ({type(exc).__name__}: {exc})") from None

    def request(self, message: tuple, seconds: float) -> Any:
        """Send one request (starting a worker if none runs) and return its answer."""
        if not self.alive():
            self.start()
        self._send(message)
        return self._receive(seconds)

    def scribble(self, sizes: list, pattern: int) -> None:
        """repro_template.scribble in the worker, before its next call (which must not see what a
        previous one left in freed memory): sent in the same message as that call, its answer
        skipped. Should the worker die there, it is that call's crash."""
        self._scribble = ("scribble", [int(n) for n in sizes], pattern)

    def request_each(self, messages: list, seconds: float, arguments: list | None = None):
        """Send several requests in one message; yield their answers in order as the worker
        streams them, each within `seconds` of the one before (so each call keeps its own time
        limit), each answer's Refs resolved against its entry of `arguments` (if given). A caller
        that stops early (closes the generator) has the rest drained: a worker that hangs or dies
        then is stopped silently, as the finding is the earlier answer. Any other interruption
        (Ctrl-C) leaves the worker in an unknown state: it is stopped."""
        if not self.alive():
            self.start()
        self._send(("batch", list(messages)))
        pending = len(messages)
        try:
            while pending:
                answer = self._receive(seconds, None if arguments is None else arguments[len(messages) - pending])
                pending -= 1
                yield answer
        except GeneratorExit:
            try:
                for _ in range(pending):
                    self._receive(seconds)
            except (WorkerHung, WorkerDied):
                pass  # stopped by _receive
            except BaseException:
                self.stop()
                raise
            raise
        except (WorkerHung, WorkerDied):
            raise  # stopped by _receive
        except BaseException:
            self.stop()
            raise


# ---- the worker's side ----------------------------------------------------------------------


def _serve() -> None:
    """Read requests from stdin, answer on the original stdout. What the implementation prints
    goes to stderr (fd 1 is redirected), so it cannot corrupt the answers."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the suite's: it ends the run, and then this process
    _die_with_parent()
    answers = os.dup(1)
    os.dup2(2, 1)
    requests = sys.stdin.buffer

    def read_exactly(n):
        data = requests.read(n)
        if len(data) < n:
            raise EOFError
        return data

    state = _Loaded()
    while True:
        try:
            request = wire.read_message(read_exactly)
        except EOFError:
            return
        for one in request[1] if request[0] == "batch" else [request]:  # a batch: each answer sent as soon as it is made
            data = memoryview(wire.dumps(*state.answer(one)))
            while data:  # one system call, unless the pipe takes it in parts
                data = data[os.write(answers, data):]


def _die_with_parent() -> None:
    """On Linux, be killed when the suite's process ends, however it ends (a hung call never
    reads the closed pipe that would otherwise tell it)."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    parent = os.getppid()
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


class _Loaded:
    """The worker's state: the implementation's module, its warning sources, the models built."""

    def __init__(self):
        self.module, self.sources, self.models = None, [], {}

    def answer(self, request: tuple) -> tuple:
        """(the answer, the arrays it may name by reference: the call's unmodified arguments)."""
        from . import repro_template as R

        op = request[0]
        if op == "load":
            _, spec, strict = request
            try:
                self.module = R.load_implementation(spec)
            except R.CaseError as exc:
                return ("error", str(exc).replace("cannot import implementation", "importing", 1)), None
            from .implementations import SEED_FUNCTIONS, display_name

            self.sources = [R.own_source(self.module)] if strict else []
            return ("ready", display_name(spec), [f for f in SEED_FUNCTIONS if callable(getattr(self.module, f, None))],
                    R.own_source(self.module), _text_cnn_status(self.module), getattr(self.module, "CAPABILITIES", None),
                    getattr(self.module, "CONVENTIONS", None)), None
        if op == "scribble":  # (sizes, pattern): this process's allocator is the one the next call draws from
            R.scribble(request[1], request[2])
            return ("done",), None
        if op == "poison":  # (case, args, value): the implementation's own allocator, before a replayed call
            R.poison(request[1], list(request[2]), self.module, request[3])
            return ("done",), None
        if op == "model":
            from . import text_cnn

            try:
                self.models[len(self.models)] = text_cnn.model_class(self.module)(self.module, request[1])
            except BaseException as exc:  # noqa: BLE001 - the implementation's class failed: reported
                return ("raised", type(exc).__name__, str(exc)[:2000], isinstance(exc, ValueError), 0.0), None
            return ("returned", len(self.models) - 1, [], None, 0.0), None
        # ("call", function, args) or ("method", model, name, args)
        name = request[1] if op == "call" else request[2]
        target = getattr(self.module, name, None) if op == "call" else getattr(self.models[request[1]], name, None)
        args = list(request[-1])
        before = R.snapshot(args)
        start = time.perf_counter()
        try:
            with R.own_warnings(self.sources) as own:
                result = target(*args)
        except BaseException as exc:  # noqa: BLE001 - whatever it raised is the finding
            return ("raised", type(exc).__name__, str(exc)[:2000], isinstance(exc, ValueError), time.perf_counter() - start), None
        seconds = time.perf_counter() - start  # the call alone (benchmarks/bench_suite.py: the rest of a round trip is overhead)
        modified = [i for i, (old, new) in enumerate(zip(before, args)) if not R.same(old, new)]
        known = wire.argument_paths(args)
        if modified:
            known = {k: path for k, path in known.items() if path[0] not in modified}
        return ("returned", result, modified, R.describe_warning(name, own[0]) if own else None, seconds), known


def _text_cnn_status(module) -> str | None:
    from . import text_cnn

    try:
        text_cnn.model_class(module)
    except ValueError as exc:
        return str(exc)
    return None


if __name__ == "__main__":
    _serve()
