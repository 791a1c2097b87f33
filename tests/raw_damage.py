"""Make damaged copies of simulated raw files for the bad-input, fuzz and kill tests.

A damaged tree is a hard-linked clone of a simulated one: a file to damage is first unlinked
and then written anew, so the simulated original is never touched.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import netCDF4
import numpy as np


def clone_tree(src: Path, dst: Path) -> Path:
    """A copy of the raw tree ``src`` whose files are hard links (cheap; never write them)."""
    shutil.copytree(src, dst, copy_function=os.link)
    return dst


def ifproc_file(data_lmt: Path, obsnum: int) -> Path:
    return next((data_lmt / "ifproc").glob(f"ifproc_*_{obsnum:06d}_*.nc"))


def roach_file(data_lmt: Path, obsnum: int, roach: int) -> Path:
    return next((data_lmt / "spectrometer" / f"roach{roach}").glob(f"roach{roach}_{obsnum}_*.nc"))


def replace_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` as ``path`` without touching the file it was linked to."""
    path.unlink()
    path.write_bytes(data)


def truncate(path: Path, fraction: float) -> None:
    data = path.read_bytes()
    replace_bytes(path, data[: int(len(data) * fraction)])


Edit = Callable[[np.ndarray], np.ndarray] | np.ndarray | str | float | int


def rewrite_nc(
    src: Path,
    dst: Path | None = None,
    values: dict[str, Edit] | None = None,
    drop: tuple[str, ...] = (),
    rows: np.ndarray | slice | None = None,
) -> Path:
    """Copy a netCDF-3 file, changing variables: ``values[name]`` is a new value or a function
    of the old array; ``drop`` leaves variables out; ``rows`` selects records (time dim)."""
    dst = src if dst is None else dst
    values = values or {}
    tmp = dst.with_name(dst.name + ".tmp")
    with netCDF4.Dataset(src) as a, netCDF4.Dataset(tmp, "w", format=a.data_model) as b:
        b.set_fill_off()
        for name, dim in a.dimensions.items():
            b.createDimension(name, None if dim.isunlimited() else len(dim))
        for name, var in a.variables.items():
            if name in drop:
                continue
            var.set_auto_maskandscale(False)
            var.set_auto_chartostring(False)
            data = var[...]
            if rows is not None and var.dimensions[:1] == ("time",):
                data = data[rows]
            if name in values:
                new = values[name]
                if isinstance(new, str):
                    n = len(a.dimensions[var.dimensions[0]])
                    new = np.frombuffer(new.encode()[:n].ljust(n, b" "), dtype="S1")
                data = new(data) if callable(new) else np.asarray(new, dtype=var.dtype)
            out = b.createVariable(name, var.dtype, var.dimensions)
            out.set_auto_chartostring(False)
            out.setncatts({k: var.getncattr(k) for k in var.ncattrs()})
            if var.dimensions:
                out[: len(data)] = data
            else:
                out.assignValue(data)
    if dst.exists():
        dst.unlink()
    tmp.rename(dst)
    return dst
