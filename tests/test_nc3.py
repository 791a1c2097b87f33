"""The direct netCDF-3 reader (lmtflow.io.nc3) against the netCDF library, and the roach
reader's fallback to the library for files that are not netCDF-3."""

from __future__ import annotations

from pathlib import Path

import netCDF4
import numpy as np
import pytest

from lmtflow.errors import RawDataError
from lmtflow.io.nc3 import Nc3File
from lmtflow.io.roach import RoachFile
from lmtflow.sim import simulate

from .conftest import make_tiny_config
from .raw_damage import roach_file

RNG = np.random.default_rng(3)


def _write(path: Path, fmt: str, records: dict[str, tuple[str, tuple]], nrec: int = 7) -> Path:
    """A file with record variables ``records`` (dtype, inner shape), a fixed 2-D, a scalar
    and a char variable; sizes chosen so that record slots need padding."""
    with netCDF4.Dataset(path, "w", format=fmt) as ds:
        ds.set_fill_off()
        ds.createDimension("time", None)
        ds.createDimension("a", 3)
        ds.createDimension("b", 5)
        ds.createVariable("fixed", "f8", ("a", "b"))[:] = RNG.normal(size=(3, 5))
        ds.createVariable("scalar", "i4", ())[...] = 42
        ds.createVariable("text", "S1", ("b",))[:] = np.array(list("abcde"), "S1")
        for name, (dtype, inner) in records.items():
            dims = ("time", *("a", "b")[: len(inner)])
            data = (RNG.normal(size=(nrec, *inner)) * 100).astype(dtype)
            ds.createVariable(name, dtype, dims)[:nrec] = data
    return path


FORMATS = ["NETCDF3_CLASSIC", "NETCDF3_64BIT_OFFSET", "NETCDF3_64BIT_DATA"]
RECORDS = {
    "many": {"t": ("f8", ()), "k": ("i2", ()), "s": ("i1", (3,)), "d": ("f4", (3, 5))},
    "one_short": {"k": ("i2", (3,))},  # a lone record variable is not padded
}


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("layout", list(RECORDS))
def test_reads_what_netcdf4_reads(tmp_path, fmt, layout):
    path = _write(tmp_path / "x.nc", fmt, RECORDS[layout])
    with netCDF4.Dataset(path) as ds, Nc3File.open(path) as nc:
        names = list(ds.variables)
        got = nc.read(names, chunk_bytes=40)  # several chunks of records
        for name in names:
            var = ds.variables[name]
            var.set_auto_maskandscale(False)
            var.set_auto_chartostring(False)
            np.testing.assert_array_equal(got[name], var[...], err_msg=name)
            assert got[name].dtype.isnative
        for name in RECORDS[layout]:
            _, rows = nc.rows(name, 2, 6)
            np.testing.assert_array_equal(rows, ds.variables[name][2:6])
        _, rows = nc.rows("fixed", 1, 3)
        np.testing.assert_array_equal(rows, ds.variables["fixed"][1:3])


def test_missing_variable_and_rows_out_of_range(tmp_path):
    path = _write(tmp_path / "x.nc", FORMATS[1], RECORDS["many"])
    with Nc3File.open(path) as nc:
        with pytest.raises(RawDataError, match="required variable nope is missing"):
            nc.read(["nope"])
        with pytest.raises(RawDataError, match="has no rows"):
            nc.rows("t", 3, 99)


def test_truncated_records_are_an_error_not_zeros(tmp_path):
    path = _write(tmp_path / "x.nc", FORMATS[1], RECORDS["many"])
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 30])
    with Nc3File.open(path) as nc, pytest.raises(RawDataError, match="truncated"):
        nc.read(["d"])


def test_netcdf4_file_is_not_nc3(tmp_path):
    path = _write(tmp_path / "x.nc", "NETCDF4", RECORDS["many"])
    assert Nc3File.open(path) is None


def test_roach_reader_gives_the_same_spectra_from_a_netcdf4_file(tmp_path):
    sim = simulate(make_tiny_config(), tmp_path / "data_lmt", seed=5)
    src = roach_file(sim.data_lmt, sim.labels["map"], 1)
    copy = tmp_path / src.name
    with netCDF4.Dataset(src) as a, netCDF4.Dataset(copy, "w", format="NETCDF4") as b:
        for name, dim in a.dimensions.items():
            b.createDimension(name, None if dim.isunlimited() else len(dim))
        for name, var in a.variables.items():
            var.set_auto_maskandscale(False)
            out = b.createVariable(name, var.dtype, var.dimensions)
            out[...] = var[...]
    direct, library = RoachFile.open(src), RoachFile.open(copy)
    assert direct._nc3 is not None and library._nc3 is None
    np.testing.assert_array_equal(direct.dump_time, library.dump_time)
    np.testing.assert_array_equal(direct.rows, library.rows)
    dumps = np.arange(1, direct.ndump, 3)
    a = direct.read_dumps(dumps, [3, 0, 2])
    np.testing.assert_array_equal(a, library.read_dumps(dumps, [3, 0, 2]))
    with netCDF4.Dataset(src) as ds:  # and both equal the library on the netCDF-3 file
        raw = ds.variables["Data.Integrate.Data"][:]
    np.testing.assert_array_equal(a[:, 1], raw[direct.rows[dumps, 0]])
