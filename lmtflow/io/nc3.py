"""Read variables of a netCDF-3 file (CDF-1, CDF-2, CDF-5) straight from the file.

The classic format stores each fixed-size variable contiguously at its ``begin`` offset and the
record variables interleaved, one record after the other (netCDF classic format
specification). :class:`Nc3File` parses the header once and reads a range of records with one
``pread`` into a caller's buffer, giving strided big-endian views of the variables in it: no
netCDF library, no per-record calls and no memory map (a file that shrinks under a map ends
the process with SIGBUS; a short ``pread`` is an error we can name). Files that are not
netCDF-3 (HDF5-based netCDF-4) give ``None`` from :meth:`Nc3File.open`.
"""

from __future__ import annotations

import math
import os
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from ..errors import RawDataError

_DIMENSION, _VARIABLE, _ATTRIBUTE = 0x0A, 0x0B, 0x0C
_DTYPES = {1: "i1", 2: "S1", 3: ">i2", 4: ">i4", 5: ">f4", 6: ">f8", 7: "u1", 8: ">u2",
           9: ">u4", 10: ">i8", 11: ">u8"}  # fmt: skip
_STREAMING = ((1 << 32) - 1, (1 << 64) - 1)
_HEADER_READ = 1 << 16
_U32 = struct.Struct(">I")
_NP_DTYPES = {code: np.dtype(t) for code, t in _DTYPES.items()}
_ITEMSIZE = {code: dt.itemsize for code, dt in _NP_DTYPES.items()}


@dataclass(frozen=True)
class Nc3Var:
    """Where one variable lives: ``shape`` starts with the record count for record variables."""

    name: str
    dtype: np.dtype
    shape: tuple[int, ...]
    begin: int
    record: bool


class _Header:
    """Big-endian reader over header bytes that grows the buffer on demand."""

    def __init__(self, fd: int, path: Path, size: int):
        self.fd, self.path, self.size = fd, path, size
        self.buf = os.pread(fd, min(size, _HEADER_READ), 0)
        self.pos = 4
        version = self.buf[3]
        self.wide = version == 5
        self.offset64 = version in (2, 5)

    def take(self, n: int) -> bytes:
        end = self.pos + n
        if n < 0 or end > self.size:
            raise RawDataError(self.path, "truncated or corrupt netCDF header")
        if end > len(self.buf):
            self.buf += os.pread(self.fd, max(end - len(self.buf), _HEADER_READ), len(self.buf))
            if end > len(self.buf):
                raise RawDataError(self.path, "truncated netCDF header")
        out = self.buf[self.pos : end]
        self.pos = end
        return out

    def u32(self) -> int:
        end = self.pos + 4  # the hot path of a header parse: no slice, no bytes object
        if end > len(self.buf):
            return struct.unpack(">I", self.take(4))[0]
        value = _U32.unpack_from(self.buf, self.pos)[0]
        self.pos = end
        return value

    def count(self) -> int:
        return struct.unpack(">Q", self.take(8))[0] if self.wide else self.u32()

    def offset(self) -> int:
        return struct.unpack(">Q", self.take(8))[0] if self.offset64 else self.u32()

    def bounded(self) -> int:
        n = self.count()
        if n * 4 > self.size - self.pos:
            raise RawDataError(self.path, f"corrupt netCDF header (list of {n} items)")
        return n

    def name(self) -> str:
        n = self.bounded()
        raw = self.take(n + (-n) % 4)[:n]
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise RawDataError(self.path, "corrupt netCDF header (name not UTF-8)") from None

    def skip_attributes(self) -> None:
        tag, n = self.u32(), self.bounded()
        if (tag, n) == (0, 0):
            return
        if tag != _ATTRIBUTE:
            raise RawDataError(self.path, "corrupt netCDF header (attribute list)")
        for _ in range(n):
            self.name()
            itemsize = _ITEMSIZE.get(self.u32())
            if itemsize is None:
                raise RawDataError(self.path, "corrupt netCDF header (attribute type)")
            nbytes = self.count() * itemsize
            self.take(nbytes + (-nbytes) % 4)


class Nc3File:
    """An open netCDF-3 file: its variables and direct reads of them."""

    def __init__(self, path: Path, fd: int, size: int, variables: dict[str, Nc3Var], recsize: int):
        self.path, self.size, self.variables, self.recsize = path, size, variables, recsize
        self._fd = fd

    @classmethod
    def open(cls, path: str | Path) -> Nc3File | None:
        """Parse the header; None if the file is not netCDF-3. Corrupt headers raise."""
        path = Path(path)
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError as exc:
            raise RawDataError(path, f"cannot open the file ({exc})") from exc
        try:
            size = os.fstat(fd).st_size
            if size < 8 or os.pread(fd, 3, 0) != b"CDF":
                os.close(fd)
                return None
            variables, recsize = _parse(_Header(fd, path, size))
        except OSError as exc:
            os.close(fd)
            raise RawDataError(path, f"cannot read the file ({exc})") from exc
        except BaseException:
            os.close(fd)
            raise
        return cls(path, fd, size, variables, recsize)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __del__(self) -> None:
        self.close()

    def __enter__(self) -> Nc3File:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def var(self, name: str) -> Nc3Var:
        """The variable ``name``; a missing one is a :class:`RawDataError`."""
        try:
            v = self.variables[name]
        except KeyError:
            raise RawDataError(self.path, f"required variable {name} is missing") from None
        end = self._end(v)
        if end > self.size:
            raise RawDataError(self.path, f"truncated: {self.size} bytes on disk, {name} "
                               f"ends at byte {end}")  # fmt: skip
        return v

    def _end(self, v: Nc3Var) -> int:
        """The byte after the last one of ``v`` in the file."""
        row = v.dtype.itemsize * math.prod(v.shape[1:])  # math.prod: 20x np.prod on tuples
        n = v.shape[0] if v.shape else 1
        return v.begin + (n - 1) * (self.recsize if v.record else row) + row if n else v.begin

    def declared_size(self) -> int:
        """Bytes the file needs according to its header (the end of its last variable)."""
        return max((self._end(v) for v in self.variables.values()), default=0)

    def _pread(self, out: NDArray[np.uint8], offset: int) -> None:
        """Fill ``out`` from ``offset``; bytes beyond the end of the file are an error."""
        if offset + out.nbytes > self.size:
            raise RawDataError(self.path, f"truncated: {self.size} bytes on disk, reading "
                               f"{out.nbytes} bytes at offset {offset}")  # fmt: skip
        view, done = memoryview(out).cast("B"), 0
        while done < view.nbytes:
            try:
                n = os.preadv(self._fd, [view[done:]], offset + done)
            except OSError as exc:
                raise RawDataError(self.path, f"cannot read the file ({exc})") from exc
            if n == 0:
                raise RawDataError(self.path, f"truncated at byte {offset + done}")
            done += n

    def _span(
        self, vs: list[Nc3Var], lo: int, hi: int, buf: NDArray[np.uint8] | None
    ) -> tuple[NDArray[np.uint8], dict[str, NDArray]]:
        """Rows ``lo..hi`` of record variables (or of one fixed variable) with one ``pread``."""
        inner = {v.name: v.shape[1:] if v.shape else () for v in vs}
        size = {v.name: v.dtype.itemsize * int(np.prod(inner[v.name], dtype=np.int64)) for v in vs}
        base = min(v.begin for v in vs)
        end = max(v.begin + size[v.name] for v in vs)
        step = self.recsize if vs[0].record else end - base
        nbytes = (hi - lo - 1) * step + end - base if hi > lo else 0
        if buf is None or buf.size < nbytes:
            buf = np.empty(max(nbytes, 1), np.uint8)
        self._pread(buf[:nbytes], base + lo * step)
        views = {}
        for v in vs:
            shape = inner[v.name]
            strides = [v.dtype.itemsize] * len(shape)
            for k in range(len(shape) - 2, -1, -1):
                strides[k] = strides[k + 1] * shape[k + 1]
            views[v.name] = np.ndarray(
                (hi - lo, *shape), v.dtype, buf, v.begin - base, (step, *strides)
            )
        return buf, views

    def rows(
        self, name: str, lo: int, hi: int, buf: NDArray[np.uint8] | None = None
    ) -> tuple[NDArray[np.uint8], NDArray]:
        """Rows ``lo..hi`` (first dimension) of a variable read into ``buf`` (grown when too
        small): the buffer and a view of the rows in it, in the file's byte order."""
        v = self.var(name)
        if not v.shape or not 0 <= lo <= hi <= v.shape[0]:
            raise RawDataError(self.path, f"{name} {v.shape} has no rows {lo}..{hi}")
        buf, views = self._span([v], lo, hi, buf)
        return buf, views[name]

    def fixed(self) -> dict[str, NDArray]:
        """Every fixed-size (non-record) variable, read with one ``pread`` (the header values
        of an LMT file), as views in the file's byte order."""
        vs = [v for v in self.variables.values() if not v.record]
        for v in vs:
            self.var(v.name)  # each ends within the file
        if not vs:
            return {}
        base = min(v.begin for v in vs)
        buf = np.empty(max(self._end(v) for v in vs) - base, np.uint8)
        self._pread(buf, base)
        out = {}
        for v in vs:
            at = v.begin - base
            out[v.name] = buf[at : at + v.dtype.itemsize * math.prod(v.shape)].view(v.dtype)
            out[v.name] = out[v.name].reshape(v.shape)
        return out

    def read(self, names: list[str], chunk_bytes: int = 2 << 20) -> dict[str, NDArray]:
        """Whole variables in native byte order; record variables in one pass over the records."""
        out: dict[str, NDArray] = {}
        records = [self.var(n) for n in names if self.var(n).record]
        for name in names:
            v = self.var(name)
            out[name] = np.empty(v.shape, v.dtype.newbyteorder("="))
            if not v.record:
                n = v.shape[0] if v.shape else 1
                _, views = self._span([v], 0, n, None)
                out[name].reshape((n, *v.shape[1:]))[...] = views[name]
        if records:
            n = records[0].shape[0]
            per = max(1, chunk_bytes // max(self.recsize, 1))
            buf = None
            for lo in range(0, n, per):
                hi = min(lo + per, n)
                buf, views = self._span(records, lo, hi, buf)
                for v in records:
                    out[v.name][lo:hi] = views[v.name]
        return out


def _parse(h: _Header) -> tuple[dict[str, Nc3Var], int]:
    """Variables and record size from the header (layout as in the classic format spec)."""
    path = h.path
    if h.buf[3] not in (1, 2, 5):
        raise RawDataError(path, f"unknown netCDF-3 version byte {h.buf[3]}")
    numrecs = h.count()
    tag, ndims = h.u32(), h.bounded()
    if tag not in (0, _DIMENSION) or (tag == 0 and ndims):
        raise RawDataError(path, "corrupt netCDF header (dimension list)")
    dims = []
    for _ in range(ndims):
        h.name()
        dims.append(h.count())
    h.skip_attributes()
    tag, nvars = h.u32(), h.bounded()
    if tag not in (0, _VARIABLE) or (tag == 0 and nvars):
        raise RawDataError(path, "corrupt netCDF header (variable list)")
    found = []
    for _ in range(nvars):
        name = h.name()
        ids = [h.count() for _ in range(h.bounded())]
        h.skip_attributes()
        code = h.u32()
        h.count()  # vsize: recomputed (it saturates for variables over 4 GiB)
        begin = h.offset()
        if code not in _DTYPES or any(i >= len(dims) for i in ids):
            raise RawDataError(path, "corrupt netCDF header (variable type or dimension)")
        shape = [dims[i] for i in ids]
        record = bool(ids) and shape[0] == 0
        if 0 in shape[1:]:  # only the first dimension of a variable may be the record one
            raise RawDataError(path, f"corrupt netCDF header ({name}: record dimension)")
        found.append((name, _NP_DTYPES[code], shape, begin, record))
    sizes = [dt.itemsize * math.prod(s[1:]) for _, dt, s, _, r in found if r]
    recsize = sizes[0] if len(sizes) == 1 else sum(s + (-s) % 4 for s in sizes)
    if numrecs in _STREAMING:  # count the records the file holds
        starts = [b for _, _, _, b, r in found if r]
        numrecs = (h.size - min(starts)) // recsize if starts and recsize else 0
    variables = {}
    for name, dtype, shape, begin, record in found:
        if record:
            shape[0] = numrecs
        variables[name] = Nc3Var(name, dtype, tuple(shape), begin, record)
    return variables, recsize
