"""Memory-mapped reader of SDFITS files (ours, or any single-extension SDFITS table)."""

from __future__ import annotations

import json
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


def _native(arr: np.ndarray) -> np.ndarray:
    """A native-byte-order copy (strings: stripped ``str``)."""
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
    ``DATA`` as ``float32`` of shape ``(nrows, nchan)``. Use as a context manager.
    """

    def __init__(
        self, path: str | os.PathLike, required: Sequence[str] = REQUIRED_FOR_READ
    ) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise SDFITSError(self.path, "no such SDFITS file")
        try:
            self.primary_header, self.header, data_offset = _headers(self.path)
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

    # -- reading --------------------------------------------------------------------------

    def column(self, name: str, start: int = 0, stop: int | None = None) -> np.ndarray:
        """One column for rows ``start:stop`` (native byte order; strings stripped)."""
        if name not in self.column_names:
            raise SDFITSError(self.path, f"no column {name!r}")
        return _native(self._rows(start, stop)[name])

    def columns(
        self, names: Sequence[str] | None = None, start: int = 0, stop: int | None = None
    ) -> dict[str, np.ndarray]:
        """Several columns (default: all but ``DATA``) for rows ``start:stop``."""
        if names is None:
            names = [n for n in self.column_names if n != "DATA"]
        bad = [n for n in names if n not in self.column_names]
        if bad:
            raise SDFITSError(self.path, f"no columns {bad}")
        rows = self._rows(start, stop)
        return {n: _native(rows[n]) for n in names}

    def data(
        self, start: int = 0, stop: int | None = None, out: np.ndarray | None = None
    ) -> np.ndarray:
        """``DATA`` of rows ``start:stop`` as native ``float32`` ``(n, nchan)``."""
        src = self._rows(start, stop)["DATA"].reshape(-1, self.nchan)
        if out is None:
            out = np.empty(src.shape, dtype=np.float32)
        out[...] = src
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
