"""Finding and loading the implementation under test: a dotted module name or a .py path."""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import os
import types
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from . import capabilities

SEED_FUNCTIONS = (
    "zero_pad",
    "conv_single_step",
    "conv_forward",
    "conv_backward",
    "pool_forward",
    "create_mask_from_window",
    "distribute_value",
    "pool_backward",
)
DEFAULT_IMPLEMENTATIONS = ("convcheck.reference.loops", "convcheck.reference.fast")
_BUNDLED_NAMES = {"convcheck.reference.loops": "loops", "convcheck.reference.fast": "fast"}


class ImplementationError(Exception):
    """The implementation cannot be loaded (not found, or its import failed)."""


@dataclass(frozen=True)
class Implementation:
    name: str  # short id used in test ids and reports
    source: str  # what the user named: dotted module or absolute path
    module: ModuleType | None  # None when it runs in a worker process (isolated)
    api: str = "tutorial"  # the hyperparameter space it is checked on: "tutorial" or "full"
    worker: Any = None  # convcheck.worker.WorkerClient when isolated
    functions: tuple = ()  # isolated: the seed functions it defines
    own_source: str = ""  # isolated: its file or package folder
    text_cnn: str | None = None  # isolated: why its TextCNN cannot be checked, or None
    space: capabilities.Space = capabilities.FULL  # what it declares it supports (its CAPABILITIES)
    conventions: tuple = ()  # the documented differences from torch it declares: ((name, says, source), ...)

    def __getattr__(self, attr):
        if self.worker is None:
            return getattr(self.module, attr)
        if attr in self.functions:
            return Remote(self, attr)
        raise AttributeError(f"{self.name} has no function {attr!r}")

    def missing(self, functions) -> list[str]:
        if self.worker is not None:
            return [f for f in functions if f not in self.functions]
        return [f for f in functions if not callable(getattr(self.module, f, None))]

    def __repr__(self) -> str:
        return f"<implementation {self.name}: {self.source}>"

    def _repr_pretty_(self, printer, cycle):  # Hypothesis's pretty-printer: the short form
        printer.text(repr(self))


@dataclass(frozen=True)
class Remote:
    """A function of an isolated implementation (or a method of a model built in its worker):
    `properties.asserts.call` sends the call to the worker."""

    impl: Implementation
    name: str
    model: int | None = None  # the worker's id of a TextCNN model, for a method

    def request(self, args: tuple) -> tuple:
        if self.name == "TextCNN":  # build the implementation's text CNN in its worker: (l2,) -> the model's id
            return ("model", args[0])
        return ("call", self.name, list(args)) if self.model is None else ("method", self.model, self.name, list(args))


@dataclass(frozen=True)
class RemoteModel:
    """A text CNN (the implementation's own TextCNN, or the bundled one on its layers) living in
    its worker: loss and loss_and_gradients are called there by name; arrays come back."""

    impl: Implementation
    id: int

    @property
    def loss(self) -> Remote:
        return Remote(self.impl, "loss", self.id)

    @property
    def loss_and_gradients(self) -> Remote:
        return Remote(self.impl, "loss_and_gradients", self.id)

    @staticmethod
    def pre_activations(cache) -> list:
        from .text_cnn import TextCNN

        return TextCNN.pre_activations(cache)


def display_name(spec: str) -> str:
    """The short name of an implementation (its file's stem, or its dotted module name)."""
    if _is_path(spec):
        return os.path.splitext(os.path.basename(spec))[0]
    return _BUNDLED_NAMES.get(spec, spec)


def isolated(spec: str, strict: bool = False) -> Implementation:
    """The implementation in a worker process of its own (convcheck.worker): imported there only."""
    from .worker import WorkerClient, WorkerDied, WorkerHung

    source = os.path.abspath(spec) if _is_path(spec) else spec
    if _is_path(spec) and not os.path.isfile(source):
        raise ImplementationError(f"--impl {spec}: no such file ({source})")
    client = WorkerClient(source, strict)
    try:
        ready = client.start()
    except ImportError as exc:
        raise ImplementationError(f"--impl {spec}: {exc}") from None
    except (WorkerDied, WorkerHung) as exc:
        raise ImplementationError(f"--impl {spec}: its worker process died while importing it ({exc or 'no answer'})") from None
    if not ready.functions:
        client.stop()
        raise ImplementationError(f"--impl {spec}: the module defines none of the seed functions {SEED_FUNCTIONS}")
    try:
        space, conventions = _space(spec, ready.capabilities), _conventions(spec, ready.conventions)
    except ImplementationError:
        client.stop()
        raise
    return Implementation(ready.name, source, None, worker=client, functions=ready.functions, own_source=ready.source,
                          text_cnn=ready.text_cnn, space=space, conventions=conventions)


def _space(spec: str, declared) -> capabilities.Space:
    """The space a module's CAPABILITIES declares (None: torch's whole space)."""
    if declared is None:
        return capabilities.FULL
    try:
        return capabilities.parse(declared)
    except capabilities.CapabilitiesError as exc:
        raise ImplementationError(f"--impl {spec}: {exc}") from None


def _conventions(spec: str, declared) -> tuple:
    """The conventions a module's CONVENTIONS declares (properties/conventions.py)."""
    from .properties import conventions

    try:
        return conventions.parse(declared)
    except conventions.ConventionsError as exc:
        raise ImplementationError(f"--impl {spec}: {exc}") from None


def _is_path(spec: str) -> bool:
    return spec.endswith(".py") or os.sep in spec or (os.altsep is not None and os.altsep in spec)


def load(spec: str) -> Implementation:
    """Import `spec`; a path is resolved from the current directory and loaded under a private
    module name, so it cannot clash with an installed module of the same file name."""
    if _is_path(spec):
        path = os.path.abspath(spec)
        if not os.path.isfile(path):
            raise ImplementationError(f"--impl {spec}: no such file ({path})")
        digest = hashlib.sha1(path.encode()).hexdigest()[:10]
        module_name = f"_convcheck_impl_{digest}"
        try:
            module_spec = importlib.util.spec_from_file_location(module_name, path)
            module = importlib.util.module_from_spec(module_spec)
            module_spec.loader.exec_module(module)
        except BaseException as exc:  # noqa: BLE001 - any import failure (SystemExit, pytest.skip() too) is one clear error
            if isinstance(exc, KeyboardInterrupt):
                raise
            raise ImplementationError(f"--impl {spec}: importing {path} failed: {type(exc).__name__}: {exc}") from None
        name = display_name(path)
        source = path
    else:
        try:
            module = importlib.import_module(spec)
        except BaseException as exc:  # noqa: BLE001
            if isinstance(exc, KeyboardInterrupt):
                raise
            raise ImplementationError(f"--impl {spec}: importing module {spec!r} failed: {type(exc).__name__}: {exc}") from None
        name = display_name(spec)
        source = spec
    impl = Implementation(name, source, module, space=_space(spec, getattr(module, "CAPABILITIES", None)),
                          conventions=_conventions(spec, getattr(module, "CONVENTIONS", None)))
    if len(impl.missing(SEED_FUNCTIONS)) == len(SEED_FUNCTIONS):
        raise ImplementationError(f"--impl {spec}: the module defines none of the seed functions {SEED_FUNCTIONS}")
    return impl


def rebound(func, **names):
    """A copy of `func` that sees some of its module's global names replaced (the module itself is
    untouched): how a variant of an implementation swaps one helper its functions call."""
    return types.FunctionType(func.__code__, {**func.__globals__, **names}, func.__name__, func.__defaults__)
