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
    """In an answer: the very array or container the call was given at `path` (positions into
    its arguments). It does not cross again; the suite puts its own object there (wire.resolve),
    as an in-process call returning its argument would."""

    path: tuple


def argument_paths(args: list) -> dict:
    """id -> path of every array and container in args (nested in lists and tuples, the args
    list itself aside), for dumps(known=...)."""
    paths: dict = {}

    def walk(value, path):
        kind = type(value)
        if kind is list or kind is tuple:
            paths.setdefault(id(value), path)
            if len(path) < MAX_DEPTH:
                for i, v in enumerate(value):
                    if type(v) not in _LITERALS:
                        walk(v, (*path, i))
        elif isinstance(value, (np.ndarray, dict)):
            paths.setdefault(id(value), path)

    for i, v in enumerate(args):
        if type(v) not in _LITERALS:
            walk(v, (i,))
    return paths


def resolve(value: Any, args: list) -> Any:
    """value with each Ref replaced by the argument it names."""
    kind = type(value)
    if kind is Ref:
        target = args
        try:
            for i in value.path:
                if type(target) not in (list, tuple):
                    raise IndexError
                target = target[i]
        except (IndexError, TypeError):
            return Opaque("reference", f"no argument at {list(value.path)}")
        return target
    if kind is list or kind is tuple:
        return kind(v if type(v) in _LITERALS else resolve(v, args) for v in value)
    if kind is dict:
        return {k: v if type(v) in _LITERALS else resolve(v, args) for k, v in value.items()}
    return value


# A node is a JSON literal (str, bool, None, int, float: the exact built-in types, most of what
# crosses by count) or a list whose first item is its tag. A repeated object (the same array or
# container in several calls of one batch) crosses once, as a memo entry, and is decoded afresh
# at each place it appears: no two calls share an array.
_LITERALS = frozenset((str, bool, type(None), int, float))
_MEMOIZED = (np.ndarray, list, tuple, dict)


class _Encoder:
    def __init__(self, known: dict | None):
        self.known, self.buffers, self.memo, self.trees = known or {}, [], [], {}

    def encode(self, value: Any, depth: int = 0) -> Any:
        if type(value) in _LITERALS:
            return value
        key = id(value)
        first = self.trees.get(key)
        if first is not None:  # seen before: its first place becomes a memo entry too, in place
            if first[0] != "m":
                self.memo.append(list(first))
                first[:] = ["m", len(self.memo) - 1]
            return ["m", first[1]]
        if key in self.known:  # an argument of the call, unmodified: by reference
            return ["r", list(self.known[key])]
        if depth > MAX_DEPTH:
            return ["o", "nested too deeply", ""]
        kind = type(value)
        if kind is tuple or kind is list:  # the exact containers first: most of what is not a literal
            tree = [self._tags[kind], *(v if type(v) in _LITERALS else self.encode(v, depth + 1) for v in value)]
        elif kind is np.ndarray and value.dtype.kind in ARRAY_KINDS and not value.dtype.fields:
            tree = self._array(value)
        else:
            tree = self._tree(value, depth)
        if isinstance(value, _MEMOIZED) and type(tree) is list and tree[0] != "o":
            # only once its children are encoded: a container holding itself is not a memo entry
            self.trees[key] = tree
        return tree

    _tags = {tuple: "t", list: "l"}

    def _array(self, x: np.ndarray) -> list:
        """A plain array of a kind whose bytes are its values."""
        flags = x.flags
        if x.size == 0:
            data, lo, strides = b"", 0, None
        elif flags.c_contiguous:  # its memory is its C-order bytes
            data, lo, strides = x.tobytes(), 0, list(x.strides)
        else:
            lo, hi = _span(x)
            data, strides = ctypes.string_at(x.ctypes.data + lo, hi - lo), list(x.strides)
        self.buffers.append(data)
        return ["a", len(self.buffers) - 1, x.dtype.str, list(x.shape), strides, -lo, flags.writeable]

    def _tree(self, value: Any, depth: int) -> Any:
        if isinstance(value, np.ndarray):
            x = np.asarray(value)  # a subclass (matrix, masked array) as the plain array it holds
            if x.dtype.kind not in ARRAY_KINDS or x.dtype.fields:
                return ["o", type(value).__name__, _short_repr(value)]
            return self._array(x)
        if isinstance(value, np.generic) and value.dtype.kind in ARRAY_KINDS:
            return ["g", value.dtype.str, base64.b64encode(value.tobytes()).decode()]
        if isinstance(value, bool):  # subclasses of the literal types, as the built-in value they hold
            return bool(value)
        if isinstance(value, int):
            return int(value)
        if isinstance(value, float):
            return float(value)
        if isinstance(value, str):
            return str(value)
        if isinstance(value, complex):
            return ["c", value.real, value.imag]
        if isinstance(value, (list, tuple)):  # subclasses (a namedtuple) as the plain container
            return ["l" if isinstance(value, list) else "t", *(self.encode(v, depth + 1) for v in value)]
        if isinstance(value, dict):
            return ["d", *([k if type(k) in _LITERALS else self.encode(k, depth + 1), v if type(v) in _LITERALS else self.encode(v, depth + 1)]
                           for k, v in value.items())]
        return ["o", type(value).__name__, _short_repr(value)]


def _short_repr(value: Any) -> str:
    try:
        return repr(value)[:80]
    except Exception:  # noqa: BLE001 - a hostile __repr__ is just one more opaque value
        return "?"


def _decode(tree: Any, context: tuple, depth: int = 0) -> Any:
    """context: (buffers, memo entries, the arguments a Ref names or None to keep Refs)."""
    kind = type(tree)
    if kind is not list:
        if kind is dict:
            raise ValueError("a JSON object is not a node")
        return tree
    if depth > 2 * MAX_DEPTH + 2:  # memo entries referring to each other in a loop
        raise ValueError("nested too deeply")
    tag = tree[0]
    if tag == "t" or tag == "l":
        items = [v if type(v) in _LITERALS else _decode(v, context, depth + 1) for v in tree[1:]]
        return items if tag == "l" else tuple(items)
    if tag == "a":
        _, index, dtype, shape, strides, offset, writeable = tree
        dtype = np.dtype(dtype)
        if dtype.kind not in ARRAY_KINDS:
            raise ValueError(f"array dtype {dtype} cannot cross")
        if strides is None:
            x = np.zeros(shape, dtype=dtype)
        else:
            x = np.ndarray(tuple(shape), dtype=dtype, buffer=bytearray(context[0][index]), offset=offset, strides=tuple(strides))
        x.flags.writeable = writeable
        return x
    if tag == "m":
        return _decode(context[1][tree[1]], context, depth + 1)
    if tag == "r":
        ref = Ref(tuple(tree[1]))
        return ref if context[2] is None else resolve(ref, context[2])
    if tag == "d":
        return {k if type(k) in _LITERALS else _decode(k, context, depth + 1): v if type(v) in _LITERALS else _decode(v, context, depth + 1)
                for k, v in tree[1:]}
    if tag == "g":
        return np.frombuffer(base64.b64decode(tree[2]), dtype=np.dtype(tree[1]))[0]
    if tag == "c":
        return complex(float(tree[1]), float(tree[2]))
    if tag == "o":
        return Opaque(str(tree[1]), str(tree[2]))
    raise ValueError(f"unknown tag {tag!r}")


_JSON = json.JSONEncoder(separators=(",", ":"))  # one encoder: json.dumps with arguments builds one per call


def dumps(value: Any, known: dict | None = None) -> bytes:
    """One framed message: its length, then the JSON header's length and the buffers' lengths,
    the JSON header ([root node, memo entries]) and the buffers. Arrays and containers whose id
    is in `known` (argument_paths) cross as a Ref to their path."""
    encoder = _Encoder(known)
    root = encoder.encode(value)
    header = _JSON.encode([root, encoder.memo]).encode()
    sizes = [len(header), *map(len, encoder.buffers)]
    body = b"".join([struct.pack(f"<Q{len(sizes)}Q", len(sizes) - 1, *sizes), header, *encoder.buffers])
    return struct.pack("<Q", len(body)) + body


def read_message(read_exactly, args: list | None = None) -> Any:
    """The next message, reading through read_exactly(n) -> n bytes (EOFError at the end): two
    reads, its length and the rest; with `args`, each Ref in it is resolved against them as it is
    decoded (resolve)."""
    (length,) = struct.unpack("<Q", read_exactly(8))
    body = memoryview(read_exactly(length))
    (count,) = struct.unpack_from("<Q", body)
    sizes = struct.unpack_from(f"<{count + 1}Q", body, 8)
    at = 8 * (count + 2)
    ends = [at + sizes[0]]
    for n in sizes[1:]:
        ends.append(ends[-1] + n)
    if ends[-1] != length:
        raise ValueError(f"a message of {length} bytes whose parts add up to {ends[-1]}")
    root, memo = json.loads(body[at:ends[0]].tobytes())
    buffers = [body[start:end] for start, end in zip(ends, ends[1:])]
    return _decode(root, (buffers, memo, args))
