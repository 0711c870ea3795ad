"""A second oracle that runs in a worker process of its own.

JAX (adapters/jax_lax.py: XLA's operators behind the seed API) answers as an oracle route beside
torch. Its native code can abort, so, like an implementation under test, it is imported and
called only in a convcheck worker (convcheck/worker.py): an abort ends that worker, never the
suite, and the next call starts a new one. An engine that cannot be loaded (JAX not installed)
is unavailable, and the routes that need it are skipped, saying why.
"""

from __future__ import annotations

import importlib.util
import os
from typing import Any

ADAPTERS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "adapters")
CALL_SECONDS = 120.0  # an oracle call, compiling a new shape included
# XLA keeps every shape it compiled: a JAX engine's worker grew to 3.3 GB within 14 minutes of a
# thorough run (its adapter's own worker, under test, to 4.1 GB), still growing. A
# worker past this resident size is stopped after a call (checked every RSS_CHECK_EVERY calls);
# the next call starts a new one, which compiles again the shapes it meets.
RSS_LIMIT = 3 << 30
RSS_CHECK_EVERY = 64


class EngineFailed(Exception):
    """The engine raised, died or hung on a call: it gives no answer for this input."""


class IsolatedEngine:
    """A seed-API module (a path) called in a worker; started on first use, once per process."""

    def __init__(self, name: str, path: str, package: str):
        self.name, self.path, self.package = name, path, package
        self._client: Any = None
        self._unavailable: str | None = None
        self._calls = 0
        self.recycled = 0  # workers stopped for their size

    def unavailable(self) -> str | None:
        """Why the engine cannot answer (its module is missing or fails to import), or None."""
        if self._client is None and self._unavailable is None:
            self._start()
        return self._unavailable

    def _start(self) -> None:
        from convcheck.worker import WorkerClient, WorkerDied, WorkerHung

        if importlib.util.find_spec(self.package) is None:  # found out here, without starting a worker
            self._unavailable = f"{self.name} not installed (no module named {self.package!r})"
            return
        if not os.path.isfile(self.path):
            self._unavailable = f"{self.name}: {self.path} is not in this installation (a source checkout has it)"
            return
        client = WorkerClient(self.path)
        try:
            client.start()
        except ImportError as exc:
            self._unavailable = f"{self.name} not installed ({exc})"
            return
        except (WorkerDied, WorkerHung) as exc:
            self._unavailable = f"{self.name}: its worker died while importing it ({exc})"
            return
        self._client = client

    def conventions(self):
        """The CONVENTIONS its module declares, as the worker read them (None when unavailable)."""
        if self.unavailable():
            return None
        return self._client.ready.conventions

    def call(self, function: str, args: list) -> Any:
        """The engine's `function` on `args` (what it returned), or EngineFailed."""
        from convcheck import wire
        from convcheck.worker import WorkerDied, WorkerHung

        if self.unavailable():
            raise EngineFailed(self._unavailable)
        try:
            reply = self._client.request(("call", function, list(args)), CALL_SECONDS)
        except (WorkerDied, WorkerHung) as exc:
            raise EngineFailed(f"{self.name} {function}: its process {exc or 'stopped answering'}") from None
        finally:
            self._recycle_if_large()
        if reply[0] == "raised":
            raise EngineFailed(f"{self.name} {function} raised {reply[1]}: {reply[2]}")
        return wire.resolve(reply[1], list(args))

    def _recycle_if_large(self) -> None:
        self._calls += 1
        if self._calls % RSS_CHECK_EVERY == 0 and self._client.resident_bytes() > RSS_LIMIT:
            self._client.stop()
            self.recycled += 1


JAX = IsolatedEngine("JAX", os.path.join(ADAPTERS, "jax_lax.py"), "jax")
