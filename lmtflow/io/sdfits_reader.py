"""Memory-mapped reader of SDFITS files (ours, or any single-extension SDFITS table)."""

from __future__ import annotations

import contextlib
import json
import mmap
import os
import re
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from astropy.io import fits

from .sdfits_columns import REQUIRED_FOR_READ
from .sdfits_errors import SDFITSError

_TFORM = re.compile(r"^\s*(\d*)([LXBIJKAEDCM])(.*)$")
_CODES = {"L": "S1", "B": "u1", "I": ">i2", "J": ">i4", "K": ">i8", "E": ">f4", "D": ">f8"}
_CODES |= {"C": ">c8", "M": ">c16"}


def _field(name: str, tform: str) -> tuple:
    m = _TFORM.match(tform)
    if m is None:
        raise ValueError(f"column {name}: TFORM {tform!r} is not supported (variable-length?)")
    repeat = int(m.group(1)) if m.group(1) else 1
    code = m.group(2)
    if code == "A":
        return (name, f"S{repeat}")
    if code == "X":
        return (name, "u1", ((repeat + 7) // 8,))
    if repeat == 1:
        return (name, _CODES[code])
    return (name, _CODES[code], (repeat,))


_CHUNK_BYTES = 32 << 20
"""Rows are read in chunks of about this size; their mapped pages are then released."""
_FAULT_AROUND_BYTES = 1 << 20
"""Released along with a chunk's rows: pages a read fault maps around it (kernel default 64 KB)."""


def _native(arr: np.ndarray, raw: bool = False) -> np.ndarray:
    """A native-byte-order copy (strings: stripped ``str``); ``raw``: a copy as stored."""
    if raw:
        return arr.copy()
    if arr.dtype.kind == "S":
        return np.strings.strip(np.strings.decode(arr, "ascii", "replace"), " \0")
    return arr.astype(arr.dtype.newbyteorder("="))


def _headers(path: Path) -> tuple[fits.Header, fits.Header, int]:
    """Primary header, first ``SINGLE DISH`` header and the byte offset of its rows."""
    with warnings.catch_warnings():  # astropy warns about truncation; the caller checks sizes
        warnings.simplefilter("ignore")
        with fits.open(path, memmap=False, lazy_load_hdus=True) as hdul:
            primary = hdul[0].header.copy()
            for i in range(1, 1000):
                try:
                    hdu = hdul[i]
                except IndexError:
                    break
                if str(hdu.header.get("EXTNAME", "")).strip() == "SINGLE DISH":
                    return primary, hdu.header.copy(), int(hdul.fileinfo(i)["datLoc"])
    raise SDFITSError(path, "no binary table with EXTNAME='SINGLE DISH'")


@dataclass
class SDFITSBlock:
    """A contiguous range of dumps: its rows, requested columns and ``data`` shaped
    ``(ndump, nbeam, npol, nband, nchan)``."""

    dumps: slice
    rows: slice
    columns: dict[str, np.ndarray]
    data: np.ndarray | None


class SDFITSReader:
    """Open an SDFITS file memory-mapped; read columns and ``DATA`` by row ranges.

    Columns come back in native byte order (string columns as stripped ``str`` arrays),
    ``DATA`` as ``float32`` of shape ``(nrows, nchan)``. Use as a context manager. Rows are
    copied out chunk by chunk and the chunk's mapped pages are released from the process
    right after (they stay in the page cache), so resident memory stays bounded whatever the
    file size.
    """

    def __init__(
        self, path: str | os.PathLike, required: Sequence[str] = REQUIRED_FOR_READ
    ) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise SDFITSError(self.path, "no such SDFITS file")
        try:
            self.primary_header, self.header, data_offset = _headers(self.path)
            _ = [card.value for card in self.header.cards]  # an unparsable card raises here
        except SDFITSError:
            raise
        except Exception as exc:  # astropy raises OSError, ValueError, ... for broken files
            raise SDFITSError(self.path, f"not a readable FITS file ({exc})") from exc
        h = self.header
        if h.get("XTENSION", "").strip() != "BINTABLE":
            raise SDFITSError(self.path, "the SINGLE DISH extension is not a binary table")
        try:
            fields = [_field(h[f"TTYPE{i}"], h[f"TFORM{i}"]) for i in range(1, h["TFIELDS"] + 1)]
        except (KeyError, ValueError) as exc:
            raise SDFITSError(self.path, f"bad table description: {exc}") from exc
        self.dtype = np.dtype(fields)
        self.nrows = int(h["NAXIS2"])
        if self.dtype.itemsize != h["NAXIS1"]:
            raise SDFITSError(
                self.path, f"NAXIS1={h['NAXIS1']} but the columns add up to {self.dtype.itemsize}"
            )
        self.column_names: tuple[str, ...] = self.dtype.names or ()
        missing = [c for c in ("DATA", *required) if c not in self.column_names]
        missing = list(dict.fromkeys(missing))
        if missing:
            raise SDFITSError(self.path, f"missing required columns {missing}")
        self.data_offset = data_offset
        need = self.data_offset + self.nrows * self.dtype.itemsize
        size = self.path.stat().st_size
        if size < need:
            have = max(0, size - self.data_offset) // self.dtype.itemsize
            raise SDFITSError(
                self.path,
                f"truncated: {size} bytes, header declares {self.nrows} rows needing {need} "
                f"bytes; only {have} complete rows present",
            )
        self.nchan = int(self.dtype["DATA"].shape[0]) if self.dtype["DATA"].shape else 1
        self.datadims = self._datadims()
        self.rows_per_dump = int(np.prod(self.datadims[1:4]))
        self._mm: np.memmap | None = None
        if self.nrows:
            self._mm = np.memmap(
                self.path, dtype=self.dtype, mode="r", offset=self.data_offset, shape=(self.nrows,)
            )

    def _datadims(self) -> tuple[int, int, int, int, int]:
        text = self.header.get("DATADIMS")
        if text is None:
            return (self.nrows, 1, 1, 1, self.nchan)
        try:
            dims = tuple(int(x) for x in str(text).strip("() ").split(","))
        except ValueError:
            dims = ()
        if len(dims) != 5 or dims[4] != self.nchan or int(np.prod(dims[:4])) != self.nrows:
            raise SDFITSError(
                self.path,
                f"DATADIMS={text!r} does not match NAXIS2={self.nrows} rows "
                f"of {self.nchan} channels",
            )
        return dims  # type: ignore[return-value]

    # -- metadata -------------------------------------------------------------------------

    @property
    def ndumps(self) -> int:
        return self.datadims[0]

    @property
    def params(self) -> dict[str, Any]:
        """The ``PARAMS`` JSON keyword as a dict (empty if absent)."""
        text = self.header.get("PARAMS")
        return {} if text is None else json.loads(text)

    def _rows(self, start: int, stop: int | None) -> np.ndarray:
        stop = self.nrows if stop is None else stop
        if not 0 <= start <= stop <= self.nrows:
            raise IndexError(f"{self.path}: rows {start}:{stop} outside 0:{self.nrows}")
        if self._mm is None:
            if self.nrows:
                raise SDFITSError(self.path, "reader is closed")
            return np.empty(0, dtype=self.dtype)
        return self._mm[start:stop]

    def _chunks(self, start: int, stop: int | None) -> Iterator[tuple[int, int, np.ndarray]]:
        """``(a, b, rows)`` of chunks covering ``start:stop``; pages released after each."""
        stop = self.nrows if stop is None else stop
        rows = self._rows(start, stop)
        step = max(1, _CHUNK_BYTES // self.dtype.itemsize)
        for a in range(0, rows.shape[0], step):
            b = min(rows.shape[0], a + step)
            yield a, b, rows[a:b]
            self._release(start + a, start + b)

    def _release(self, start: int, stop: int) -> None:
        """Drop the mapped pages of rows ``start:stop`` from this process's resident set."""
        mm = getattr(self._mm, "_mmap", None)
        if mm is None or stop <= start or not hasattr(mm, "madvise"):
            return
        base = self.data_offset - self.data_offset % mmap.ALLOCATIONGRANULARITY
        lo = self.data_offset - base + start * self.dtype.itemsize
        hi = self.data_offset - base + stop * self.dtype.itemsize
        # also the pages before: a read fault maps the cached pages around it (fault-around,
        # 64 KB by default), and the ones before ``lo`` were released with the rows before
        lo = max(0, lo - lo % mmap.PAGESIZE - _FAULT_AROUND_BYTES)
        with contextlib.suppress(OSError, ValueError):  # only an optimisation
            mm.madvise(mmap.MADV_DONTNEED, lo, hi - lo)

    # -- reading --------------------------------------------------------------------------

    def column(self, name: str, start: int = 0, stop: int | None = None) -> np.ndarray:
        """One column for rows ``start:stop`` (native byte order; strings stripped)."""
        if name not in self.column_names:
            raise SDFITSError(self.path, f"no column {name!r}")
        return self.columns([name], start, stop)[name]

    def columns(
        self,
        names: Sequence[str] | None = None,
        start: int = 0,
        stop: int | None = None,
        raw: bool = False,
    ) -> dict[str, np.ndarray]:
        """Several columns (default: all but ``DATA``) for rows ``start:stop``.

        ``raw`` returns the values as stored (big-endian, blank-padded bytes): the cheap way
        to carry columns into an :class:`SDFITSWriter`.
        """
        if names is None:
            names = [n for n in self.column_names if n != "DATA"]
        bad = [n for n in names if n not in self.column_names]
        if bad:
            raise SDFITSError(self.path, f"no columns {bad}")
        parts: dict[str, list[np.ndarray]] = {n: [] for n in names}
        for _, _, rows in self._chunks(start, stop):
            for n in names:
                parts[n].append(_native(rows[n], raw))
        if not next(iter(parts.values()), [None]):  # no rows
            rows = self._rows(start, stop)
            return {n: _native(rows[n], raw) for n in names}
        return {n: p[0] if len(p) == 1 else np.concatenate(p) for n, p in parts.items()}

    def data(
        self,
        start: int = 0,
        stop: int | None = None,
        out: np.ndarray | None = None,
        chans: slice | None = None,
    ) -> np.ndarray:
        """``DATA`` of rows ``start:stop`` as native ``float32`` ``(n, nchan)``.

        ``chans`` (a slice of channels) converts only those: ``(n, len(chans))``.
        """
        n = (self.nrows if stop is None else stop) - start
        cols = slice(None) if chans is None else chans
        width = len(range(self.nchan)[cols])
        if out is None:
            out = np.empty((max(n, 0), width), dtype=np.float32)
        if n <= 0:
            out[...] = self._rows(start, stop)["DATA"].reshape(-1, self.nchan)[:, cols]
            return out
        flat = out.reshape(-1, width)
        for a, b, rows in self._chunks(start, stop):
            flat[a:b] = rows["DATA"].reshape(-1, self.nchan)[:, cols]
        return out

    def iter_dumps(
        self,
        dumps_per_block: int | None = None,
        columns: Sequence[str] = (),
        data: bool = True,
        reuse_buffer: bool = False,
    ) -> Iterator[SDFITSBlock]:
        """Yield consecutive blocks of whole dumps (default: about 64 MB of rows each).

        With ``reuse_buffer`` every block's ``data`` lives in one buffer that the next block
        overwrites (faster: no fresh pages per block); copy what you keep.
        """
        per = self.rows_per_dump
        if dumps_per_block is None:
            dumps_per_block = max(1, (64 << 20) // max(1, per * self.dtype.itemsize))
        shape = self.datadims[1:]
        buf = None
        if data and reuse_buffer:
            buf = np.empty((min(dumps_per_block, self.ndumps) * per, self.nchan), np.float32)
        for d0 in range(0, self.ndumps, dumps_per_block):
            d1 = min(self.ndumps, d0 + dumps_per_block)
            r0, r1 = d0 * per, d1 * per
            cols = self.columns(columns, r0, r1) if columns else {}
            arr = None
            if data:
                out = None if buf is None else buf[: r1 - r0]
                arr = self.data(r0, r1, out=out).reshape((d1 - d0, *shape))
            yield SDFITSBlock(slice(d0, d1), slice(r0, r1), cols, arr)

    def close(self) -> None:
        """Release the memory map."""
        self._mm = None

    def __enter__(self) -> SDFITSReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"SDFITSReader({str(self.path)!r}, nrows={self.nrows}, nchan={self.nchan})"
