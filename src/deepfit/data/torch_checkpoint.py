"""Read a PyTorch checkpoint (a ``torch.save`` zip) or a safetensors file into a state_dict, safely.

A ``.pth``/``.pt`` file is a zip whose ``<name>/data.pkl`` is a pickle, and unpickling one
(``pickle.load``, ``torch.load``) runs whatever its author put in it. So nothing here unpickles:
``pickletools.genops`` lists the opcodes as data, and a small stack machine interprets only those
that ``torch.save(model.state_dict(), path)`` writes. Globals are names checked against an
allowlist, never imported or called; tensors are copied out of the ``<name>/data/<key>`` records
with ``torch.frombuffer``. Anything else is refused with a ModelFileError that says what to do.
"""

from __future__ import annotations

import pickletools
import sys
import zipfile
import zlib
from math import prod
from pathlib import Path
from typing import NamedTuple

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file

from deepfit.errors import ModelFileError

STORAGE_DTYPES = {f"{kind}Storage": dtype for kind, dtype in [
    ("Float", torch.float32), ("Double", torch.float64), ("Half", torch.float16), ("BFloat16", torch.bfloat16),
    ("Long", torch.int64), ("Int", torch.int32), ("Short", torch.int16), ("Char", torch.int8),
    ("Byte", torch.uint8), ("Bool", torch.bool), ("ComplexFloat", torch.complex64),
    ("ComplexDouble", torch.complex128)]}
ORDERED_DICT = ("collections", "OrderedDict")
REBUILD_TENSOR = ("torch._utils", "_rebuild_tensor_v2")
REBUILD_PARAMETER = ("torch._utils", "_rebuild_parameter")
ALLOWED_GLOBALS = {ORDERED_DICT, REBUILD_TENSOR, REBUILD_PARAMETER} | {("torch", name) for name in STORAGE_DTYPES}
MAX_TENSOR_BYTES = 4 * 1024**3
MAX_PICKLE_BYTES = 64 * 1024**2
FIX = "save it with torch.save(model.state_dict(), path) or convert it to safetensors"
_CONSTANTS = {"BININT", "BININT1", "BININT2", "LONG1", "BINFLOAT", "BINUNICODE", "SHORT_BINUNICODE", "BINUNICODE8"}
_NEW = {"NONE": lambda: None, "NEWTRUE": lambda: True, "NEWFALSE": lambda: False,
        "EMPTY_TUPLE": tuple, "EMPTY_LIST": list, "EMPTY_DICT": dict}
_FIXED_COUNT = {"TUPLE1": 1, "TUPLE2": 2, "TUPLE3": 3, "APPEND": 1, "SETITEM": 2}  # the rest take all above a MARK
_COLLECT = {*_FIXED_COUNT, "TUPLE", "APPENDS", "SETITEMS"}


class _Refused(Exception):
    """Why a file is refused, in words that follow '<path>: '."""


class _Global(NamedTuple):
    module: str
    name: str


class _Storage(NamedTuple):
    key: str
    dtype: torch.dtype
    numel: int


def read_state_dict(path) -> dict[str, torch.Tensor]:
    """The tensors of a ``torch.save`` zip checkpoint or a ``.safetensors`` file, by name, on the CPU."""
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"{path}: no such file. Check the path to the checkpoint.")
    try:
        if path.suffix.lower() == ".safetensors":
            return load_file(path)
        if not zipfile.is_zipfile(path):
            with path.open("rb") as file:
                start = file.read(1)
            raise _Refused("the file is empty, not a checkpoint" if not start else
                           "is a raw pickle or the legacy torch format, which deepfit never unpickles"
                           if start == b"\x80" else "is not a torch.save zip checkpoint (truncated, or another file)")
        with zipfile.ZipFile(path) as archive:
            return _as_state_dict(_CheckpointReader(archive).read())
    except _Refused as error:
        raise ModelFileError(f"{path}: {error}; {FIX}.") from None
    except (SafetensorError, zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError) as error:
        raise ModelFileError(f"{path}: the file is damaged or truncated ({error}); {FIX}.") from None


def _as_state_dict(obj: object) -> dict[str, torch.Tensor]:
    """`obj` itself if it maps names to tensors, else the one such mapping under 'state_dict' or 'model'."""
    def is_state_dict(value: object) -> bool:
        return isinstance(value, dict) and all(isinstance(k, str) and isinstance(v, torch.Tensor)
                                               for k, v in value.items())
    inner = [obj[key] for key in ("state_dict", "model") if isinstance(obj, dict) and is_state_dict(obj.get(key))]
    if is_state_dict(obj) or len(inner) == 1:
        return dict(obj if is_state_dict(obj) else inner[0])
    raise _Refused(f"holds a {type(obj).__name__}, not a mapping of names to tensors "
                   "(nor one under a 'state_dict' or 'model' key)")


class _CheckpointReader:
    """Interprets ``data.pkl`` of one archive as data, with an explicit stack, mark stack and memo."""

    def __init__(self, archive: zipfile.ZipFile) -> None:
        self.archive = archive
        pickles = [name for name in archive.namelist() if name.count("/") == 1 and name.endswith("/data.pkl")]
        if len(pickles) != 1:
            raise _Refused("is a zip file but not a torch.save checkpoint (no single <name>/data.pkl)")
        self.prefix = pickles[0].rsplit("/", 1)[0]
        self.storages: dict[str, tuple[_Storage, torch.Tensor]] = {}
        self.storage_bytes = self.tensor_bytes = 0

    def read(self) -> object:
        """The object data.pkl describes, built only from allowlisted pieces."""
        has_order = f"{self.prefix}/byteorder" in self.archive.namelist()
        order = self._record("byteorder", 16).strip() if has_order else b"little"
        if order != b"little" or sys.byteorder != "little":
            raise _Refused(f"holds {order.decode(errors='replace')}-endian data; deepfit reads little-endian only")
        stack: list = []
        marks: list[int] = []
        memo: dict[int, object] = {}
        try:
            for opcode, arg, position in pickletools.genops(self._record("data.pkl", MAX_PICKLE_BYTES)):
                name = opcode.name
                if name in _CONSTANTS:
                    stack.append(arg)
                elif name in _NEW:
                    stack.append(_NEW[name]())
                elif name == "MARK":
                    marks.append(len(stack))
                elif name in _COLLECT:
                    start = len(stack) - _FIXED_COUNT[name] if name in _FIXED_COUNT else marks.pop()
                    if start < (marks[-1] if marks else 0):
                        raise IndexError(f"{name} reaches below its mark")
                    items, stack[start:] = stack[start:], []
                    if name.startswith("TUPLE"):
                        stack.append(tuple(items))
                    elif name.startswith("APPEND"):
                        _expect(stack[-1], list).extend(items)
                    elif len(items) % 2 or not all(type(key) in (str, int) for key in items[::2]):
                        raise _Refused("data.pkl is malformed (a dictionary key is not a name or a number)")
                    else:
                        _expect(stack[-1], dict).update(zip(items[::2], items[1::2]))
                elif name in ("BINPUT", "LONG_BINPUT", "MEMOIZE"):
                    memo[len(memo) if name == "MEMOIZE" else arg] = stack[-1]
                elif name in ("BINGET", "LONG_BINGET"):
                    stack.append(memo[arg])
                elif name in ("GLOBAL", "STACK_GLOBAL"):
                    found = tuple(arg.split(" ", 1) if name == "GLOBAL" else reversed([stack.pop(), stack.pop()]))
                    if not all(type(part) is str for part in found) or found not in ALLOWED_GLOBALS:
                        raise _Refused(f"data.pkl asks for {'.'.join(map(str, found))[:100]}, which is not on the "
                                       "allowlist of a plain state_dict (it could run code), so it was not read")
                    stack.append(_Global(*found))
                elif name == "BINPERSID":
                    stack.append(self._storage(stack.pop()))
                elif name == "REDUCE":
                    args, function = stack.pop(), stack.pop()
                    stack.append(self._call(function, _expect(args, tuple)))
                elif name == "BUILD":  # only the OrderedDict's _metadata is expected, and it is not needed
                    stack.pop()
                    _expect(stack[-1], dict)
                elif name == "STOP":
                    if len(stack) == 1 and not marks:
                        return stack[0]
                    break
                elif name not in ("PROTO", "FRAME"):
                    raise _Refused(f"data.pkl uses the pickle opcode {name} (byte {position}), "
                                   "which a state_dict does not need")
        except (IndexError, KeyError, TypeError, RecursionError) as error:
            raise _Refused(f"data.pkl is malformed ({type(error).__name__}: {error})") from None
        raise _Refused("data.pkl is malformed (it does not end with exactly one object)")

    def _record(self, name: str, limit: int) -> bytes:
        """The bytes of the zip record ``<prefix>/<name>``, refused when missing or over `limit` bytes."""
        try:
            info = self.archive.getinfo(f"{self.prefix}/{name}")
        except KeyError:
            raise _Refused(f"the record {name} is missing") from None
        if info.file_size > limit:
            raise _Refused(f"the record {name} holds {info.file_size} bytes, more than the {limit} expected")
        return self.archive.read(info)

    def _storage(self, pid: object) -> _Storage:
        """The storage a persistent id names, ('storage', torch.XStorage, key, location, numel), read once."""
        if not (type(pid) is tuple and len(pid) == 5 and pid[0] == "storage" and type(pid[1]) is _Global
                and pid[1].name in STORAGE_DTYPES and type(pid[2]) is str and _is_count(pid[4])):
            raise _Refused("data.pkl names a storage in a form deepfit does not read")
        storage = _Storage(pid[2], STORAGE_DTYPES[pid[1].name], pid[4])
        if storage.key not in self.storages:
            nbytes = storage.numel * storage.dtype.itemsize
            self.storage_bytes += nbytes
            _check_total(self.storage_bytes)
            data = bytearray(self._record(f"data/{storage.key}", nbytes))
            if len(data) != nbytes:
                raise _Refused(f"the record data/{storage.key} holds {len(data)} bytes, not the {nbytes} declared")
            flat = torch.frombuffer(data, dtype=storage.dtype) if nbytes else torch.empty(0, dtype=storage.dtype)
            self.storages[storage.key] = (storage, flat)
        elif self.storages[storage.key][0] != storage:
            raise _Refused(f"the storage {storage.key} is declared twice with different types or sizes")
        return storage

    def _call(self, function: object, args: tuple) -> object:
        """What an allowlisted REDUCE makes; no global is imported or called."""
        target = tuple(function) if type(function) is _Global else type(function).__name__
        if target == ORDERED_DICT and args == ():
            return {}
        if target == REBUILD_PARAMETER and len(args) == 3 and isinstance(args[0], torch.Tensor):
            return args[0]
        if target == REBUILD_TENSOR and len(args) in (6, 7) and type(args[0]) is _Storage:
            return self._tensor(*args[:4])
        raise _Refused(f"data.pkl calls {target} in a way a state_dict does not")

    def _tensor(self, storage: _Storage, offset: object, size: object, stride: object) -> torch.Tensor:
        """A copy of the view (offset, size, stride) of `storage`, after checking that it lies inside it."""
        if not (type(size) is tuple and type(stride) is tuple and len(size) == len(stride)
                and all(map(_is_count, (offset, *size, *stride)))):
            raise _Refused(f"a tensor on storage {storage.key} has an unreadable offset, size or stride")
        count = prod(size)
        if (offset + sum((n - 1) * step for n, step in zip(size, stride)) if count else offset - 1) >= storage.numel:
            raise _Refused(f"a tensor reaches past the end of its storage {storage.key} ({storage.numel} elements)")
        self.tensor_bytes += count * storage.dtype.itemsize
        _check_total(self.tensor_bytes)
        view = self.storages[storage.key][1].as_strided(size, stride, offset)
        return view.clone(memory_format=torch.contiguous_format)


def _is_count(value: object) -> bool:
    return type(value) is int and 0 <= value < 2**48


def _check_total(nbytes: int) -> None:
    if nbytes > MAX_TENSOR_BYTES:
        raise _Refused(f"its tensors declare more than {MAX_TENSOR_BYTES // 1024**3} GiB, more than deepfit reads")


def _expect(value: object, kind: type):
    if type(value) is not kind:
        raise _Refused(f"data.pkl is malformed (a {type(value).__name__} where a {kind.__name__} belongs)")
    return value
