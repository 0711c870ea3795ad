"""What crosses between the suite and an implementation's worker process: data only.

Values are encoded as a JSON structure plus raw array bytes -- never pickled, so nothing
received is executed. Arrays keep their dtype, shape, strides (C, Fortran, any view), and
writeable flag: the worker sees exactly the layout the suite drew. Python and NumPy scalars,
complex numbers, strings, None, lists, tuples and dicts cross as themselves. Anything else an
implementation returns arrives as an `Opaque` stand-in (its type name and a short repr), which
the result checks then reject as the wrong structure.
"""

from __future__ import annotations

import base64
import ctypes
import json
import struct
from dataclasses import dataclass
from typing import Any

import numpy as np

ARRAY_KINDS = "biufc"  # bool, integers, floats, complex: their bytes are their values
MAX_DEPTH = 32


@dataclass(frozen=True)
class Opaque:
    """A value that cannot cross as data (an object of some class, an object array, ...)."""

    type_name: str
    text: str

    def __repr__(self) -> str:
        return f"<{self.type_name}: {self.text}>"


def _span(x: np.ndarray) -> tuple[int, int]:
    """Byte offsets, from the first element's address, of the lowest and past the highest byte the view touches."""
    lo = sum(min(0, (n - 1) * s) for n, s in zip(x.shape, x.strides))
    hi = sum(max(0, (n - 1) * s) for n, s in zip(x.shape, x.strides)) + x.itemsize
    return lo, hi


@dataclass(frozen=True)
class Ref:
    """In an answer: the very array the call was given at `path` (positions into its arguments).
    It does not cross again; the suite puts its own array there (wire.resolve), as an in-process
    call returning its argument would."""

    path: tuple


def argument_paths(args: list) -> dict:
    """id -> path of every array in args (nested in lists and tuples), for dumps(known=...)."""
    paths: dict = {}

    def walk(value, path):
        if isinstance(value, np.ndarray):
            paths.setdefault(id(value), path)
        elif isinstance(value, (list, tuple)) and len(path) < MAX_DEPTH:
            for i, v in enumerate(value):
                walk(v, (*path, i))

    walk(args, ())
    return paths


def resolve(value: Any, args: list) -> Any:
    """value with each Ref replaced by the array of args it names."""
    if isinstance(value, Ref):
        try:
            for i in value.path:
                args = args[i]
        except (IndexError, TypeError, KeyError):
            return Opaque("reference", f"no argument at {list(value.path)}")
        return args if isinstance(args, np.ndarray) else Opaque("reference", f"no array at {list(value.path)}")
    if isinstance(value, (list, tuple)):
        return type(value)(resolve(v, args) for v in value)
    if isinstance(value, dict):
        return {k: resolve(v, args) for k, v in value.items()}
    return value


# The exact built-in types of hyperparameters and flags, encoded without the checks below (most
# of what crosses, by count); subclasses (an IntEnum, a str subclass) take the general path.
_PLAIN = {str: lambda v: {"v": v}, bool: lambda v: {"v": v}, type(None): lambda v: {"v": None},
          int: lambda v: {"i": str(v)}, float: lambda v: {"f": repr(v)}}


def _encode(value: Any, buffers: list, depth: int = 0, known: dict | None = None) -> Any:
    plain = _PLAIN.get(type(value))
    if plain is not None:
        return plain(value)
    if depth > MAX_DEPTH:
        return {"o": ["nested too deeply", ""]}
    if known and isinstance(value, np.ndarray) and id(value) in known:
        return {"r": list(known[id(value)])}
    if isinstance(value, np.ndarray):
        value = np.asarray(value)  # a subclass (matrix, masked array) as the plain array it holds
    if isinstance(value, np.ndarray) and value.dtype.kind in ARRAY_KINDS and not value.dtype.fields:
        if value.size == 0:
            data, lo, strides = b"", 0, None
        elif value.flags.c_contiguous:  # its memory is its C-order bytes
            data, lo, strides = value.tobytes(), 0, list(value.strides)
        else:
            lo, hi = _span(value)
            data, strides = ctypes.string_at(value.ctypes.data + lo, hi - lo), list(value.strides)
        buffers.append(data)
        return {"a": [len(buffers) - 1, value.dtype.str, list(value.shape), strides, -lo, bool(value.flags.writeable)]}
    if isinstance(value, np.generic) and value.dtype.kind in ARRAY_KINDS:
        return {"g": [value.dtype.str, base64.b64encode(value.tobytes()).decode()]}
    if value is None or isinstance(value, (bool, str)):
        return {"v": value}
    if isinstance(value, int):
        return {"i": str(value)}
    if isinstance(value, float):
        return {"f": repr(value)}
    if isinstance(value, complex):
        return {"c": [repr(value.real), repr(value.imag)]}
    if isinstance(value, (list, tuple)):  # subclasses (a namedtuple) as the plain container
        return {"l" if isinstance(value, list) else "t": [_encode(v, buffers, depth + 1, known) for v in value]}
    if isinstance(value, dict):
        return {"d": [[_encode(k, buffers, depth + 1, known), _encode(v, buffers, depth + 1, known)] for k, v in value.items()]}
    try:
        text = repr(value)[:80]
    except Exception:  # noqa: BLE001 - a hostile __repr__ is just one more opaque value
        text = "?"
    return {"o": [type(value).__name__, text]}


def _decode(tree: Any, buffers: list) -> Any:
    (tag, payload), = tree.items()
    if tag == "a":
        index, dtype, shape, strides, offset, writeable = payload
        dtype = np.dtype(dtype)
        if dtype.kind not in ARRAY_KINDS:
            raise ValueError(f"array dtype {dtype} cannot cross")
        if strides is None:
            x = np.zeros(shape, dtype=dtype)
        else:
            x = np.ndarray(tuple(shape), dtype=dtype, buffer=bytearray(buffers[index]), offset=offset, strides=tuple(strides))
        x.flags.writeable = writeable
        return x
    if tag == "g":
        dtype, data = payload
        return np.frombuffer(base64.b64decode(data), dtype=np.dtype(dtype))[0]
    if tag == "v":
        return payload
    if tag == "i":
        return int(payload)
    if tag == "f":
        return float(payload)
    if tag == "c":
        return complex(float(payload[0]), float(payload[1]))
    if tag in ("l", "t"):
        items = [_decode(v, buffers) for v in payload]
        return items if tag == "l" else tuple(items)
    if tag == "d":
        return {_decode(k, buffers): _decode(v, buffers) for k, v in payload}
    if tag == "o":
        return Opaque(*payload)
    if tag == "r":
        return Ref(tuple(payload))
    raise ValueError(f"unknown tag {tag!r}")


def dumps(value: Any, known: dict | None = None) -> bytes:
    """One framed message: header length, JSON header, then each buffer with its length. Arrays
    whose id is in `known` (argument_paths) cross as a Ref to their path."""
    buffers: list = []
    header = json.dumps(_encode(value, buffers, 0, known)).encode()
    parts = [struct.pack("<QQ", len(header), len(buffers)), header]
    for data in buffers:
        parts += [struct.pack("<Q", len(data)), data]
    return b"".join(parts)


def read_message(read_exactly) -> Any:
    """The next message, reading through read_exactly(n) -> n bytes (EOFError at the end)."""
    header_size, count = struct.unpack("<QQ", read_exactly(16))
    header = json.loads(read_exactly(header_size))
    buffers = [read_exactly(struct.unpack("<Q", read_exactly(8))[0]) for _ in range(count)]
    return _decode(header, buffers)
