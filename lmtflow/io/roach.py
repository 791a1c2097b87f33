"""Read the WARES/roach spectrometer files of an ObsNum, in blocks of dumps.

A roach file holds one row per (dump, input); the four inputs are interleaved. lmtslr takes
the times of input 0 for every input and requires equal row counts per input
(`reference/sequoia_raw_and_algorithms.md` §3). Data are read as contiguous row ranges so
that memory stays bounded on large ObsNums.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import netCDF4
import numpy as np
from numpy.typing import NDArray

from ..constants import ROACH_TIME_OFFSET_S
from ..errors import ObsNumError, RawDataError
from .ifproc import MALFORMED
from .nc3 import Nc3File
from .nccheck import check_complete

NINPUTS = 4
_ROACH_NAME = re.compile(r"^roach(\d)_(\d+)_")


def roach_inputs_for_bank(receiver: str, bank: int) -> dict[int, list[tuple[int, int]]]:
    """Which roach boards and inputs carry a bank: ``{roach: [(input, pixel), ...]}``.

    SEQUOIA: bank 0 on roach0-3, bank 1 on roach4-7, input k of roach N is pixel
    ``4*(N mod 4)+k``. Msip1mm: roach0 only; bank 0 = inputs 0, 2; bank 1 = inputs 1, 3
    (the two polarisations of the single beam).
    """
    if receiver == "Msip1mm":
        inputs = [0, 2] if bank == 0 else [1, 3]
        return {0: [(k, k) for k in inputs]}
    return {4 * bank + r: [(k, 4 * r + k) for k in range(NINPUTS)] for r in range(4)}


def find_roach_files(data_lmt: str | Path, obsnum: int, roaches: list[int]) -> dict[int, Path]:
    """Roach files of ``obsnum`` for the given boards; a board without a file is left out."""
    found: dict[int, Path] = {}
    base = Path(data_lmt) / "spectrometer"
    for n in roaches:
        hits = sorted(
            p
            for p in (base / f"roach{n}").glob(f"roach{n}_{int(obsnum)}_*.nc")
            if "allantest" not in p.name
        )
        if len(hits) > 1:
            names = ", ".join(p.name for p in hits)
            raise ObsNumError(obsnum, f"more than one roach{n} file: {names}")
        if hits:
            found[n] = hits[0]
    return found


_HEADER_VARS = ("Header.Mode.numchannels", "Header.Mode.Bandwidth")
_ROW_VARS = ("Data.Integrate.time", "Data.Integrate.read_time", "Data.Integrate.Inputs")
_DATA = "Data.Integrate.Data"


@dataclass
class RoachFile:
    """One roach file, opened for block reads of its spectra.

    netCDF-3 files (all real ones) are read directly (:mod:`lmtflow.io.nc3`): one ``pread`` of
    the records of a block and a byte-swapping copy of each input's spectra into the caller's
    array. Other files (HDF5-based netCDF-4) go through the netCDF library.
    """

    path: Path
    roach: int
    nchan: int
    bandwidth_mhz: float
    dump_time: NDArray[np.float64]
    """Time each dump represents (s): input-0 ``time - read_time - 0.03``."""
    rows: NDArray[np.int_]
    """rows[d, k] = file row of dump d, input k."""
    _nc3: Nc3File | None = field(default=None, repr=False)
    _buf: NDArray[np.uint8] | None = field(default=None, repr=False)

    @classmethod
    def open(cls, path: str | Path) -> RoachFile:
        path = Path(path)
        match = _ROACH_NAME.match(path.name)
        if not match:
            raise RawDataError(path, "file name is not roachN_<obsnum>_...nc")
        if not path.exists():
            raise RawDataError(path, "file does not exist")
        check_complete(path)
        nc3 = Nc3File.open(path)
        values, shape = _read_nc3(nc3) if nc3 is not None else _read_netcdf4(path)
        try:
            nchan = int(np.ravel(values[_HEADER_VARS[0]])[0])
            bw = float(np.ravel(values[_HEADER_VARS[1]])[0])
        except (ValueError, OverflowError) as exc:
            raise RawDataError(path, f"malformed roach header ({exc})") from None
        t, read_time, inputs = (values[n] for n in _ROW_VARS)
        t, read_time = t.astype(np.float64, copy=False), read_time.astype(np.float64, copy=False)
        inputs = inputs.astype(int, copy=False)
        if len(shape) != 2 or nchan <= 0:
            raise RawDataError(path, f"Data has shape {shape}, numchannels is {nchan}")
        if shape[1] != nchan:
            raise RawDataError(path, f"Data has {shape[1]} channels, numchannels says {nchan}")
        if not (t.shape == read_time.shape == inputs.shape == shape[:1]):
            raise RawDataError(path, "time, read_time, Inputs and Data differ in length")
        counts = [int(np.count_nonzero(inputs == k)) for k in range(NINPUTS)]
        if len(set(counts)) != 1:
            raise RawDataError(path, f"unequal dump counts per input {counts}")
        if counts[0] == 0:
            raise RawDataError(path, "holds no dumps of inputs 0..3")
        rows = np.stack([np.flatnonzero(inputs == k) for k in range(NINPUTS)], axis=1)
        first = rows[:, 0]
        dump_time = t[first] - read_time[first] + ROACH_TIME_OFFSET_S
        if not np.all(np.isfinite(dump_time)):
            raise RawDataError(path, "Data.Integrate.time or read_time holds NaN or Inf")
        if np.any(np.diff(dump_time) <= 0):
            k = int(np.flatnonzero(np.diff(dump_time) <= 0)[0]) + 1
            raise RawDataError(path, f"dump times do not increase at dump {k}")
        return cls(path, int(match.group(1)), nchan, bw, dump_time, rows, nc3)

    @property
    def ndump(self) -> int:
        return self.dump_time.size

    def read_dumps(self, dumps: NDArray[np.int_], inputs: list[int]) -> NDArray[np.float32]:
        """Spectra of the given dumps (sorted) and inputs as float32 (ndump, ninput, nchan)."""
        out = np.empty((dumps.size, len(inputs), self.nchan), np.float32)
        self.read_dumps_into(dumps, inputs, [out[:, j] for j in range(len(inputs))])
        return out

    def read_dumps_into(
        self, dumps: NDArray[np.int_], inputs: list[int], out: list[NDArray[np.float32]]
    ) -> None:
        """Spectra of the given dumps (sorted) of ``inputs[j]`` into ``out[j]`` (ndump, nchan)."""
        if dumps.size == 0:
            return
        sel = self.rows[np.ix_(dumps, inputs)]
        lo, hi = int(sel.min()), int(sel.max()) + 1
        if self._nc3 is not None:
            self._buf, block = self._nc3.rows(_DATA, lo, hi, self._buf)
        else:
            block = _read_rows_netcdf4(self.path, lo, hi)
        for j, dest in enumerate(out):
            dest[...] = block[_regular(sel[:, j] - lo)]


def _regular(idx: NDArray[np.int_]) -> slice | NDArray[np.int_]:
    """``idx`` as a slice when evenly spaced (a view, no gathered copy), else itself."""
    step = int(idx[1] - idx[0]) if idx.size > 1 else 1
    if step > 0 and np.all(np.diff(idx) == step):
        return slice(int(idx[0]), int(idx[-1]) + 1, step)
    return idx


def _read_nc3(nc: Nc3File) -> tuple[dict[str, NDArray], tuple[int, ...]]:
    """Header and per-row variables of a netCDF-3 roach file, and the shape of Data."""
    for name in (*_HEADER_VARS, *_ROW_VARS, _DATA):
        v = nc.var(name)
        if v.dtype.kind not in "iuf":
            raise RawDataError(nc.path, f"{name} has type {v.dtype}, not a number")
        if name in _HEADER_VARS and np.prod(v.shape, dtype=np.int64) == 0:
            raise RawDataError(nc.path, f"malformed roach header ({name} is empty)")
    return nc.read([*_HEADER_VARS, *_ROW_VARS]), nc.var(_DATA).shape


def _read_netcdf4(path: Path) -> tuple[dict[str, NDArray], tuple[int, ...]]:
    """As :func:`_read_nc3` through the netCDF library (files that are not netCDF-3)."""
    try:
        ds = netCDF4.Dataset(path, "r")
    except MALFORMED as exc:
        raise RawDataError(path, f"not a readable netCDF file ({exc})") from exc
    with ds:
        try:
            values = {n: np.asarray(ds.variables[n][:]) for n in (*_HEADER_VARS, *_ROW_VARS)}
            for n in _HEADER_VARS:
                np.ravel(values[n])[0]
            shape = ds.variables[_DATA].shape
        except KeyError as exc:
            raise RawDataError(path, f"required variable {exc.args[0]} is missing") from None
        except MALFORMED as exc:
            raise RawDataError(path, f"malformed roach header ({exc!r})") from exc
    return values, shape


def _read_rows_netcdf4(path: Path, lo: int, hi: int) -> NDArray[np.float32]:
    try:
        with netCDF4.Dataset(path, "r") as ds:
            var = ds.variables[_DATA]
            var.set_auto_mask(False)
            return np.asarray(var[lo:hi], dtype=np.float32)
    except MALFORMED as exc:
        raise RawDataError(path, f"cannot read rows {lo}..{hi} ({exc})") from exc
