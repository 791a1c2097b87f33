"""netCDF helpers for LMT's conventions: space-padded char arrays, ``_xlen``/``_slen`` dims."""

from __future__ import annotations

from typing import Any

import netCDF4
import numpy as np


def write_char(ds: netCDF4.Dataset, name: str, value: str, length: int) -> None:
    """Write a blank-padded ``char`` variable ``name`` with its ``<name>_slen`` dimension.

    No ``_Encoding`` attribute is set: lmtslr joins the raw bytes itself.
    """
    dim = f"{name}_slen"
    ds.createDimension(dim, length)
    var = ds.createVariable(name, "S1", (dim,))
    var.set_auto_chartostring(False)
    raw = value.encode("ascii")[:length].ljust(length, b" ")
    var[:] = np.frombuffer(raw, dtype="S1")


def read_char(ds: netCDF4.Dataset, name: str) -> str:
    """Read a char variable as a stripped ``str`` (blank or NUL padding removed)."""
    var = ds.variables[name]
    var.set_auto_chartostring(False)
    raw = np.asarray(var[:])
    if raw.dtype.kind == "S":
        text = b"".join(raw.ravel().tolist())
    else:
        text = bytes(raw.astype(np.uint8).ravel())
    return text.decode("ascii", errors="replace").replace("\x00", " ").strip()


def write_scalar(ds: netCDF4.Dataset, name: str, value: Any, dtype: str) -> None:
    """Write a scalar (dimensionless) numeric header variable."""
    var = ds.createVariable(name, dtype)
    var.assignValue(value)


def write_array(ds: netCDF4.Dataset, name: str, values: Any, dtype: str) -> None:
    """Write a 1-D header array with its ``<name>_xlen`` dimension."""
    arr = np.atleast_1d(np.asarray(values))
    dim = f"{name}_xlen"
    ds.createDimension(dim, arr.size)
    var = ds.createVariable(name, dtype, (dim,))
    var[:] = arr
