"""Finding and loading the implementation under test: a dotted module name or a .py path."""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import os
import types
from dataclasses import dataclass
from types import ModuleType

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
    module: ModuleType
    api: str = "tutorial"  # the hyperparameter space it is checked on: "tutorial" or "full"

    def __getattr__(self, attr):
        return getattr(self.module, attr)

    def missing(self, functions) -> list[str]:
        return [f for f in functions if not callable(getattr(self.module, f, None))]

    def __repr__(self) -> str:
        return f"<implementation {self.name}: {self.source}>"

    def _repr_pretty_(self, printer, cycle):  # Hypothesis's pretty-printer: the short form
        printer.text(repr(self))


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
        name = os.path.splitext(os.path.basename(path))[0]
        source = path
    else:
        try:
            module = importlib.import_module(spec)
        except BaseException as exc:  # noqa: BLE001
            if isinstance(exc, KeyboardInterrupt):
                raise
            raise ImplementationError(f"--impl {spec}: importing module {spec!r} failed: {type(exc).__name__}: {exc}") from None
        name = _BUNDLED_NAMES.get(spec, spec)
        source = spec
    impl = Implementation(name, source, module)
    if len(impl.missing(SEED_FUNCTIONS)) == len(SEED_FUNCTIONS):
        raise ImplementationError(f"--impl {spec}: the module defines none of the seed functions {SEED_FUNCTIONS}")
    return impl


def rebound(func, **names):
    """A copy of `func` that sees some of its module's global names replaced (the module itself is
    untouched): how a variant of an implementation swaps one helper its functions call."""
    return types.FunctionType(func.__code__, {**func.__globals__, **names}, func.__name__, func.__defaults__)
