"""Detect truncated netCDF-3 files before reading them.

The netCDF library opens a netCDF-3 file whose tail is missing and returns fill values for
the missing bytes, so a truncated raw file would be reduced as if its last dumps were zeros.
:func:`check_complete` parses the classic header (CDF-1, CDF-2 and CDF-5, as laid out in the
netCDF classic format specification) and compares the size the header declares with the
size on disk. HDF5-based files are left to the HDF5 library, which rejects truncation itself.
"""

from __future__ import annotations

import mmap
import struct
from pathlib import Path

from ..errors import RawDataError

_DIMENSION, _VARIABLE, _ATTRIBUTE = 0x0A, 0x0B, 0x0C
_TYPE_SIZE = {1: 1, 2: 1, 3: 2, 4: 4, 5: 4, 6: 8, 7: 1, 8: 2, 9: 4, 10: 8, 11: 8}
_STREAMING = (1 << 32) - 1


class _Header:
    """Sequential big-endian reader over the header bytes with bounds checks."""

    def __init__(self, buf: bytes | mmap.mmap, version: int, path: Path):
        self.buf, self.pos, self.path = buf, 4, path
        self.wide = version == 5  # CDF-5: 64-bit counts
        self.offset64 = version in (2, 5)

    def _take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.buf):
            raise RawDataError(self.path, "truncated or corrupt netCDF header")
        out = self.buf[self.pos : self.pos + n]
        self.pos += n
        return out

    def u32(self) -> int:
        return struct.unpack(">I", self._take(4))[0]

    def count(self) -> int:
        return struct.unpack(">Q", self._take(8))[0] if self.wide else self.u32()

    def offset(self) -> int:
        return struct.unpack(">Q", self._take(8))[0] if self.offset64 else self.u32()

    def bounded(self) -> int:
        """A count of header items; each item takes at least 4 bytes of what is left."""
        n = self.count()
        if n * 4 > len(self.buf) - self.pos:
            raise RawDataError(self.path, f"corrupt netCDF header (list of {n} items)")
        return n

    def name(self) -> None:
        n = self.bounded()
        self._take(n + (-n) % 4)

    def attributes(self) -> None:
        tag, n = self.u32(), self.bounded()
        if tag == 0 and n == 0:
            return
        if tag != _ATTRIBUTE:
            raise RawDataError(self.path, "corrupt netCDF header (attribute list)")
        for _ in range(n):
            self.name()
            size = _TYPE_SIZE.get(self.u32())
            if size is None:
                raise RawDataError(self.path, "corrupt netCDF header (attribute type)")
            nbytes = self.count() * size
            self._take(nbytes + (-nbytes) % 4)


def declared_size(path: str | Path) -> int | None:
    """Bytes a netCDF-3 file needs according to its header; None if not netCDF-3/streaming."""
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            if path.stat().st_size < 8:
                raise RawDataError(path, "not a netCDF file (fewer than 8 bytes)")
            magic = fh.read(4)
            if magic[:3] != b"CDF":
                return None
            with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as buf:
                return _declared_size(_Header(buf, magic[3], path))
    except OSError as exc:
        raise RawDataError(path, f"cannot read the file ({exc})") from exc


def _declared_size(h: _Header) -> int | None:
    if h.buf[3] not in (1, 2, 5):
        raise RawDataError(h.path, f"unknown netCDF-3 version byte {h.buf[3]}")
    numrecs = h.count()
    tag, ndims = h.u32(), h.bounded()
    if tag not in (0, _DIMENSION) or (tag == 0 and ndims):
        raise RawDataError(h.path, "corrupt netCDF header (dimension list)")
    dims = []
    for _ in range(ndims):
        h.name()
        dims.append(h.count())
    h.attributes()
    tag, nvars = h.u32(), h.bounded()
    if tag not in (0, _VARIABLE) or (tag == 0 and nvars):
        raise RawDataError(h.path, "corrupt netCDF header (variable list)")
    fixed_end, records = h.pos, []
    for _ in range(nvars):
        h.name()
        ids = [h.count() for _ in range(h.bounded())]
        h.attributes()
        size = _TYPE_SIZE.get(h.u32())
        h.count()  # vsize: recomputed below (it saturates for variables over 4 GiB)
        begin = h.offset()
        if size is None or any(i >= len(dims) for i in ids):
            raise RawDataError(h.path, "corrupt netCDF header (variable type or dimension)")
        is_record = bool(ids) and dims[ids[0]] == 0
        for i in ids[1:] if is_record else ids:
            size *= dims[i]
        if is_record:
            records.append((begin, size))
        else:
            fixed_end = max(fixed_end, begin + size)
    if not records or numrecs == 0:
        return fixed_end
    if numrecs in (_STREAMING, (1 << 64) - 1):
        return None
    recsize = records[0][1] if len(records) == 1 else sum(s + (-s) % 4 for _, s in records)
    return max(fixed_end, *(b + (numrecs - 1) * recsize + s for b, s in records))


def check_complete(path: str | Path) -> None:
    """Raise :class:`RawDataError` if a netCDF-3 file is shorter than its header declares."""
    path = Path(path)
    need = declared_size(path)
    have = path.stat().st_size
    if need is not None and have < need:
        raise RawDataError(
            path, f"truncated: {have} bytes on disk, its netCDF header declares {need} bytes"
        )
