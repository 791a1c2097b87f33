"""Write RSR chassis netCDF files and corr_cal files in the layout of the reference §1-2."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import netCDF4
import numpy as np
from numpy.typing import NDArray

from lmtflow.io.atomic import atomic_path
from lmtflow.io.ncutil import write_array, write_char, write_scalar
from lmtflow.rsr.constants import (
    LO1_HIGH,
    LO1_LOW,
    LO2_HIGH,
    LO2_LOW,
    NBOARD,
    NLAG,
    SLOTS,
)

from . import astro

NC_FORMAT = "NETCDF3_64BIT_OFFSET"


def chassis_filename(chassis: int, t0: float, obsnum: int) -> str:
    """``RedshiftChassisC/RedshiftChassisC_YYYY-MM-DD_OOOOOO_00_0001.nc``."""
    day = astro.utc_datetime(t0).strftime("%Y-%m-%d")
    return f"RedshiftChassis{chassis}/RedshiftChassis{chassis}_{day}_{obsnum:06d}_00_0001.nc"


def corr_cal_filename(corr_cal_id: int, chassis: int) -> str:
    """``rsr/cal/corr_cal_<id>_<chassis>.nc`` (``$CORR_CAL_DIR`` = ``$DATA_LMT/rsr/cal``)."""
    return f"rsr/cal/corr_cal_{corr_cal_id}_{chassis}.nc"


@dataclass
class ChassisDump:
    """What one chassis file holds: header values and the (ndump, 6, 256) accumulators."""

    obsnum: int
    chassis: int
    obspgm: str  # "Bs" or "Cal"
    cal_obsnum: int
    corr_cal_id: int
    project_id: str
    source: str
    ra_deg: float
    dec_deg: float
    t0: float
    tsamp: float
    nrepeats: int
    tamb: float
    tau: float
    acc: NDArray[np.float64]  # AccData (accumulated, not normalised)
    ref: NDArray[np.float64]  # RefData
    samples: NDArray[np.float64]  # (ndump, 6)
    bufpos: NDArray[np.int32]


def _data(ds: netCDF4.Dataset, name: str, values: NDArray, dtype: str) -> None:
    dims = ["time"]
    for axis, size in zip(("xlen", "ylen"), values.shape[1:], strict=False):
        dim = f"{name}_{axis}"
        ds.createDimension(dim, size)
        dims.append(dim)
    var = ds.createVariable(name, dtype, tuple(dims))
    var[:] = values


def write_chassis(data_lmt: Path, d: ChassisDump) -> Path:
    """Write one chassis file (netCDF3 64-bit offset, blank-padded strings, 0-d scalars)."""
    out = Path(data_lmt) / chassis_filename(d.chassis, d.t0, d.obsnum)
    out.parent.mkdir(parents=True, exist_ok=True)
    ndump = d.acc.shape[0]
    g = f"RedshiftChassis_{d.chassis}_"
    ra, dec = math.radians(d.ra_deg), math.radians(d.dec_deg)
    times = d.t0 + d.tsamp * np.arange(ndump)
    az, el, _ = astro.horizontal(times[:1], ra, dec)
    utd = astro.utc_datetime(d.t0)
    with atomic_path(out) as tmp, netCDF4.Dataset(tmp, "w", format=NC_FORMAT) as ds:
        ds.createDimension("time", None)
        write_scalar(ds, "Header.Dcs.ObsNum", d.obsnum, "i4")
        write_scalar(ds, "Header.Dcs.SubObsNum", 0, "i4")
        write_scalar(ds, "Header.Dcs.ScanNum", 1, "i4")
        write_char(ds, "Header.Dcs.ObsPgm", d.obspgm, 128)
        write_char(ds, "Header.Dcs.Receiver", "RedshiftReceiver", 128)
        write_char(ds, "Header.Dcs.ObsGoal", "Science", 128)
        write_char(ds, "Header.Dcs.ProjectId", d.project_id, 128)
        write_scalar(ds, "Header.Dcs.IntegrationTime", d.tsamp * ndump, "f8")
        write_scalar(ds, "Header.ScanFile.Valid", 1, "i4")
        write_char(ds, "Header.Source.SourceName", d.source, 32)
        write_array(ds, "Header.Source.Ra", [ra, ra], "f8")
        write_array(ds, "Header.Source.Dec", [dec, dec], "f8")
        write_array(ds, "Header.Source.Az", [az[0], az[0]], "f8")
        write_array(ds, "Header.Source.El", [el[0], el[0]], "f8")
        write_array(ds, "Header.Sky.AzReq", [az[0], az[0]], "f8")
        write_array(ds, "Header.Sky.ElReq", [el[0], el[0]], "f8")
        write_scalar(ds, "Header.TimePlace.UTDate", astro.fractional_year(d.t0), "f8")
        write_scalar(ds, "Header.TimePlace.UT1", astro.ut1_rad(d.t0), "f8")
        write_scalar(ds, "Header.Radiometer.Tau", d.tau, "f8")
        write_char(ds, "Header.Radiometer.UpdateDate", utd.strftime("%d/%m/%Y %H:%M:%S"), 32)
        if d.obspgm == "Bs":
            write_scalar(ds, "Header.Bs.NumRepeats", d.nrepeats, "i4")
            write_scalar(ds, "Header.Bs.TSamp", d.tsamp, "f8")
            write_array(ds, "Header.Bs.Beam", [0, 1], "i4")
        else:
            write_scalar(ds, "Header.Cal.CalMode", 1, "i4")
        write_scalar(ds, "Header.Rsfend.LoLowFreq", LO1_LOW, "f8")
        write_scalar(ds, "Header.Rsfend.LoHighFreq", LO1_HIGH, "f8")
        temps = np.full(8, 20.0)
        temps[6] = d.tamb
        write_array(ds, "Header.Rsfend.Temperature", temps, "f8")
        write_scalar(ds, "Header.RedshiftReceiver.NumBeams", 2, "i4")
        write_scalar(ds, f"Header.{g}.ChassisNumber", d.chassis, "i4")
        write_array(ds, f"Header.{g}.BoardNumber", np.arange(NBOARD), "i4")
        write_array(ds, f"Header.{g}.SlotNumber", SLOTS, "i4")
        write_array(ds, f"Header.{g}.Gain", np.full(NBOARD, 7), "i4")
        write_scalar(ds, f"Header.{g}.CorrCalId", d.corr_cal_id, "i4")
        write_scalar(ds, f"Header.{g}.CalObsNum", d.cal_obsnum, "i4")
        write_scalar(ds, f"Header.{g}.LoLowFreq", LO2_LOW, "f8")
        write_scalar(ds, f"Header.{g}.LoHighFreq", LO2_HIGH, "f8")
        write_char(ds, f"Header.{g}.AccumMode", "AccumNormal", 32)
        write_scalar(ds, f"Header.{g}.NumChannels", NLAG, "i4")
        write_scalar(ds, f"Header.{g}.Tamb", d.tamb, "f8")
        _data(ds, f"Data.{g}.AccData", d.acc, "f8")
        _data(ds, f"Data.{g}.RefData", d.ref, "f8")
        _data(ds, f"Data.{g}.AccSamples", d.samples, "f8")
        _data(ds, "Data.Dcs.BufPos", d.bufpos.astype(np.int32), "i4")
        _data(ds, "Data.Sky.Time", times, "f8")
        ds.variables["Data.Sky.Time"].units = "sec"
    return out


def write_corr_cal(data_lmt: Path, corr_cal_id: int, chassis: int, matrix: NDArray) -> Path:
    """Write ``corr_cal_<id>_<chassis>.nc``: one 256 x 256 matrix per card (§2.7)."""
    out = Path(data_lmt) / corr_cal_filename(corr_cal_id, chassis)
    out.parent.mkdir(parents=True, exist_ok=True)
    g = f"RedshiftChassis_{chassis}_"
    hours = 735600.0 * 24.0  # hours since 0001-01-01 (~2015)
    with atomic_path(out) as tmp, netCDF4.Dataset(tmp, "w", format=NC_FORMAT) as ds:
        ds.createDimension("numcards", NBOARD)
        ds.createDimension("numchannels", NLAG)
        ds.createDimension("scalarval", 1)
        ds.createDimension("ccid_slen", 9)
        for name, values in (("slotno", SLOTS), ("boardid", range(NBOARD)), ("zerolag", [0] * 6)):
            ds.createVariable(f"Header.{g}.{name}", "i4", ("numcards",))[:] = np.asarray(values)
        ds.createVariable(f"Header.{g}.svd", "f8", ("numcards",))[:] = np.full(NBOARD, 1e-3)
        cid = ds.createVariable(f"Header.{g}.corr_cal_id", "S1", ("ccid_slen",))
        cid.set_auto_chartostring(False)
        cid[:] = np.frombuffer(str(corr_cal_id).encode().ljust(9, b" ")[:9], dtype="S1")
        ds.createVariable(f"Header.{g}.chassis", "i4", ("scalarval",))[:] = [chassis]
        for name in ("obsdate", "reducedate", "createdate"):
            var = ds.createVariable(f"Header.{g}.{name}", "f8", ("scalarval",))
            var.units = "hours since 0001-01-01 00:00:00.0"
            var.calendar = "gregorian"
            var[:] = [hours]
        cc = ds.createVariable(
            f"Data.{g}.corr_cal", "f8", ("numcards", "numchannels", "numchannels")
        )
        cc[:] = np.broadcast_to(matrix, (NBOARD, NLAG, NLAG))
    return out
