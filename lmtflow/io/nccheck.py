"""Detect truncated netCDF-3 files before reading them.

The netCDF library opens a netCDF-3 file whose tail is missing and returns fill values for
the missing bytes, so a truncated raw file would be reduced as if its last dumps were zeros.
:func:`check_complete` compares the size the classic header declares (parsed by
:mod:`lmtflow.io.nc3`) with the size on disk. HDF5-based files are left to the HDF5 library,
which rejects truncation itself.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import RawDataError
from .nc3 import Nc3File


def declared_size(path: str | Path) -> int | None:
    """Bytes a netCDF-3 file needs according to its header; None if not netCDF-3 (a file
    whose header says "streaming" declares what it holds)."""
    path = Path(path)
    try:
        if path.stat().st_size < 8:
            raise RawDataError(path, "not a netCDF file (fewer than 8 bytes)")
    except OSError as exc:
        raise RawDataError(path, f"cannot read the file ({exc})") from exc
    nc = Nc3File.open(path)
    if nc is None:
        return None
    with nc:
        return nc.declared_size()


def check_complete(path: str | Path) -> None:
    """Raise :class:`RawDataError` if a netCDF-3 file is shorter than its header declares."""
    path = Path(path)
    need = declared_size(path)
    have = path.stat().st_size
    if need is not None and have < need:
        raise RawDataError(
            path, f"truncated: {have} bytes on disk, its netCDF header declares {need} bytes"
        )
