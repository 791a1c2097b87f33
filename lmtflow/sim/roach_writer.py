"""Write one roach (WARES spectrometer) netCDF file in blocks of dumps.

Layout: the minimal reader set (reference/data/minimal_sequoia_cdl.txt) plus the real writer's
superset (reference §3.1): dims ``time`` (unlimited), ``numinputs``=4, ``numchannels``; header
``Header.Mode.*`` and ``Header.Telescope.*`` (ints are i4: NETCDF3_64BIT_OFFSET has no int64);
data ``Data.Integrate.{time, read_time, sync_time, acc_n, sync_n, sync_scale, sync_period,
Inputs, Data}`` with ``long_name`` attributes. One row per (dump, input), inputs 0..3.
The file is written under a ``.part`` name and renamed when complete.
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType

import netCDF4
import numpy as np
from numpy.typing import NDArray

from lmtflow.io.ncutil import write_char, write_scalar

from . import astro

_LONG_NAMES = {
    "Data.Integrate.time": "Epoch time",
    "Data.Integrate.read_time": "Read time",
    "Data.Integrate.sync_time": "Sync time",
    "Data.Integrate.acc_n": "Accumulation number",
    "Data.Integrate.sync_n": "Sync number",
    "Data.Integrate.sync_scale": "Sync scale",
    "Data.Integrate.sync_period": "Sync period",
    "Data.Integrate.Inputs": "Input number",
    "Data.Integrate.Data": "Spectrum",
}
_ROW_VARS = (
    ("Data.Integrate.time", "f8"),
    ("Data.Integrate.read_time", "f8"),
    ("Data.Integrate.sync_time", "f8"),
    ("Data.Integrate.acc_n", "i4"),
    ("Data.Integrate.sync_n", "i4"),
    ("Data.Integrate.sync_scale", "i4"),
    ("Data.Integrate.sync_period", "i4"),
    ("Data.Integrate.Inputs", "i4"),
)


def roach_filename(
    roach: int, obsnum: int, subobsnum: int, scannum: int, source: str, t_open: float
) -> str:
    stamp = astro.utc_datetime(t_open).strftime("%Y-%m-%d_%H%M%S")
    name = source.replace(" ", "_").replace("/", "_")
    return f"roach{roach}_{obsnum}_{subobsnum}_{scannum}_{name}_{stamp}.nc"


class RoachFile:
    """Context manager writing one roach file; call :meth:`write` with consecutive row blocks."""

    def __init__(
        self,
        path: Path,
        *,
        roach: int,
        obsnum: int,
        subobsnum: int,
        scannum: int,
        source: str,
        obspgm: str,
        nchan: int,
        bandwidth_mhz: float,
        dtype: str = "float32",
    ) -> None:
        self.path = path
        self.tmp = path.with_suffix(".nc.part")
        path.parent.mkdir(parents=True, exist_ok=True)
        ds = netCDF4.Dataset(self.tmp, "w", format="NETCDF3_64BIT_OFFSET")
        ds.set_fill_off()
        ds.createDimension("time", None)
        ds.createDimension("numinputs", 4)
        ds.createDimension("numchannels", nchan)
        write_scalar(ds, "Header.Telescope.ObsNum", obsnum, "i4")
        write_scalar(ds, "Header.Telescope.SubObsNum", subobsnum, "i4")
        write_scalar(ds, "Header.Telescope.ScanNum", scannum, "i4")
        write_char(ds, "Header.Telescope.source_name", source, 32)
        write_char(ds, "Header.Telescope.obspgm", obspgm, 20)
        write_scalar(ds, "Header.Mode.numchannels", nchan, "i4")
        write_scalar(ds, "Header.Mode.Bandwidth", bandwidth_mhz, "f8")
        write_scalar(ds, "Header.Mode.Clock", 2.0 * bandwidth_mhz, "f8")
        write_scalar(ds, "Header.Mode.ADCStreams", 4, "i4")
        write_scalar(ds, "Header.Mode.Gain", 0xFFFF, "i4")
        write_scalar(ds, "Header.Mode.Shift", 0x1FFF, "i4")
        write_scalar(ds, "Header.Mode.sync_LCM", 12, "i4")
        write_scalar(ds, "Header.Mode.PFBTaps", 4, "i4")
        write_scalar(ds, "Header.Mode.FFTSize", 2 * nchan, "i4")
        write_scalar(ds, "Header.Mode.FFTInputs", 4, "i4")
        write_scalar(ds, "Header.Mode.roach_id", roach, "i4")
        write_scalar(ds, "Header.Mode.nbram", 4, "i4")
        bits = f"sequoia_{nchan}ch_{int(round(bandwidth_mhz))}mhz"
        write_char(ds, "Header.Mode.Bitcode", bits, 32)
        for name, dt in _ROW_VARS:
            var = ds.createVariable(name, dt, ("time",))
            var.long_name = _LONG_NAMES[name]
            if name in ("Data.Integrate.read_time", "Data.Integrate.sync_time"):
                var.units = "seconds"
        data = ds.createVariable("Data.Integrate.Data", np.dtype(dtype), ("time", "numchannels"))
        data.long_name = _LONG_NAMES["Data.Integrate.Data"]
        self.ds = ds
        self.rows = 0

    def write(self, rows: dict[str, NDArray], data: NDArray) -> None:
        """Append rows: ``rows`` maps the 1-D Data.Integrate names to arrays of len(data)."""
        a, b = self.rows, self.rows + data.shape[0]
        for name, _ in _ROW_VARS:
            self.ds.variables[name][a:b] = rows[name]
        self.ds.variables["Data.Integrate.Data"][a:b] = data
        self.rows = b

    def __enter__(self) -> RoachFile:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.ds.close()
        if exc_type is None:
            self.tmp.replace(self.path)
        else:
            self.tmp.unlink(missing_ok=True)


def row_times(
    t_true: NDArray[np.float64], rng: np.random.Generator, first_acc: int
) -> dict[str, NDArray]:
    """The per-row 1-D variables of a block of dumps (rows = 4 inputs per dump).

    ``read_time`` = a small per-dump latency + 0.025 s per input (the inputs are read one after
    the other), and ``time = t_true + read_time + 0.03`` for every row, so lmtslr's
    ``time - read_time - 0.03`` of input 0 (or of any input) is the instant the dump represents.
    """
    nd = t_true.shape[0]
    base = rng.uniform(0.004, 0.012, nd)
    read = base[:, None] + 0.025 * np.arange(4)[None, :]
    time = t_true[:, None] + read + 0.03
    acc = first_acc + np.arange(nd)
    return {
        "Data.Integrate.time": time.ravel(),
        "Data.Integrate.read_time": read.ravel(),
        "Data.Integrate.sync_time": np.repeat(rng.uniform(0.0005, 0.0015, nd), 4),
        "Data.Integrate.acc_n": np.repeat(acc, 4).astype(np.int32),
        "Data.Integrate.sync_n": np.repeat(acc, 4).astype(np.int32),
        "Data.Integrate.sync_scale": np.ones(4 * nd, dtype=np.int32),
        "Data.Integrate.sync_period": np.full(4 * nd, 2048, dtype=np.int32),
        "Data.Integrate.Inputs": np.tile(np.arange(4, dtype=np.int32), nd),
    }
