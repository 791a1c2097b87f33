"""Read an ifproc header straight from a netCDF-3 file (no netCDF library): ``lmtflow info``.

:func:`lmtflow.io.ifproc.read_header` opens each file with netCDF4 (~10 ms a file); a listing
of a whole ``$DATA_LMT`` reads thousands of headers, so this reader parses the classic header
with :class:`lmtflow.io.nc3.Nc3File` and ``pread`` s only the scalars and short arrays the
header needs (and the first TelTime sample), then builds the same
:class:`~lmtflow.io.ifproc.IfProcHeader` with the same code (``_header``). HDF5-based files
fall back to the netCDF4 reader.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from ..errors import RawDataError
from .ifproc import MALFORMED, IfProcHeader, _header, _Vars, read_header
from .nc3 import Nc3File


class _Nc3Variable:
    """Enough of a netCDF4 variable for ``_Vars``: ``shape``, ``[:]`` and ``[0]``."""

    def __init__(self, nc: Nc3File, name: str, fixed: dict[str, NDArray]):
        self.nc, self.name, self.fixed = nc, name, fixed
        self.var = nc.var(name)  # raises (missing, or beyond the end of a truncated file)
        self.shape = self.var.shape

    def __getitem__(self, key: object) -> NDArray:
        if self.var.record:  # only the first record is ever read from the header
            if not self.shape[0]:
                return np.empty((0, *self.shape[1:]), self.var.dtype)
            _, rows = self.nc.rows(self.name, 0, 1)
            return np.asarray(rows, self.var.dtype.newbyteorder("="))[key]
        values = self.fixed[self.name].astype(self.var.dtype.newbyteorder("="))
        return values if values.ndim == 0 and key == slice(None) else values[key]


class _Nc3Vars(_Vars):
    """:class:`lmtflow.io.ifproc._Vars` over a :class:`Nc3File`."""

    def __init__(self, nc: Nc3File, path: Path):
        self.nc, self.path = nc, path
        self.fixed = nc.fixed()  # every header value with one read

    def has(self, name: str) -> bool:
        return name in self.nc.variables

    def _var(self, name: str) -> _Nc3Variable:  # type: ignore[override]
        return _Nc3Variable(self.nc, name, self.fixed)

    def text(self, name: str, default: str | None = None) -> str:
        if default is not None and not self.has(name):
            return default
        raw = self._var(name)[:]
        text = raw.tobytes() if raw.dtype.kind == "S" else bytes(raw.astype(np.uint8))
        return text.decode("ascii", errors="replace").replace("\x00", " ").strip()


def read_header_fast(path: str | Path) -> IfProcHeader:
    """The header of an ifproc file, as :func:`~lmtflow.io.ifproc.read_header` gives it;
    a truncated or damaged file is a :class:`RawDataError` naming it."""
    path = Path(path)
    try:
        nc = Nc3File.open(path)
    except MALFORMED as exc:
        raise RawDataError(path, f"not a readable netCDF file ({exc})") from exc
    if nc is None:  # netCDF-4 (HDF5) or not netCDF at all: the library says which
        return read_header(path)
    with nc:
        need = nc.declared_size()
        if nc.size < need:
            raise RawDataError(
                path, f"truncated: {nc.size} bytes on disk, its netCDF header declares {need}"
            )
        try:
            return _header(_Nc3Vars(nc, path), path)
        except MALFORMED as exc:
            raise RawDataError(path, f"malformed ifproc header ({exc!r})") from exc
