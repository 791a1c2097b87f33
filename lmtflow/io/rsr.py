"""Read RSR chassis files and corr_cal matrices (reference §1.2, §2).

Files of ObsNum O: ``$DATA_LMT/RedshiftChassisC/RedshiftChassisC_*_OOOOOO_00_0001.nc``;
corr_cal: ``$DATA_LMT/rsr/cal/corr_cal_<CorrCalId>_<C>.nc`` (``$CORR_CAL_DIR`` overrides).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import netCDF4
import numpy as np
from numpy.typing import NDArray

from ..errors import LmtflowError
from ..rsr.constants import LO1_HIGH, LO1_LOW, LO2_HIGH, LO2_LOW, NBOARD, NCHASSIS, NLAG, SLOTS
from .ncutil import read_char


class RsrFileError(LmtflowError):
    """A missing or malformed RSR raw or corr_cal file."""


def chassis_files(data_lmt: str | Path, obsnum: int) -> dict[int, Path]:
    """{chassis: path} of the science files (``_00_0001``) of ``obsnum``; missing chassis absent.

    Raises if no chassis has a file or if one chassis has several.
    """
    found: dict[int, Path] = {}
    for c in range(NCHASSIS):
        hits = sorted(
            Path(data_lmt).glob(f"RedshiftChassis{c}/RedshiftChassis{c}_*_{obsnum:06d}_00_0001.nc")
        )
        if len(hits) > 1:
            raise RsrFileError(f"ObsNum {obsnum}: chassis {c} has several files: {hits}")
        if hits:
            found[c] = hits[0]
    if not found:
        raise RsrFileError(
            f"ObsNum {obsnum}: no RedshiftChassis?/RedshiftChassis?_*_{obsnum:06d}_00_0001.nc "
            f"under {data_lmt}"
        )
    return found


def is_rsr_obsnum(data_lmt: str | Path, obsnum: int) -> bool:
    """True if RSR chassis files exist for ``obsnum``."""
    try:
        chassis_files(data_lmt, obsnum)
    except RsrFileError:
        return False
    return True


@dataclass
class ChassisData:
    """One chassis file: header values and normalised ACFs (AccData / AccSamples)."""

    path: Path
    obsnum: int
    chassis: int
    obspgm: str
    project_id: str
    source: str
    ra_rad: float
    dec_rad: float
    utdate: float
    cal_obsnum: int
    corr_cal_id: int
    slots: NDArray[np.int_]
    tamb: float
    tau: float
    nrepeats: int
    tsamp: float
    lo1: tuple[float, float]
    lo2: tuple[float, float]
    acc: NDArray[np.float64]  # (ndump, 6, 256) AccData / AccSamples
    ref: NDArray[np.float64]  # (ndump, 6, 256) RefData / AccSamples
    samples: NDArray[np.float64]  # (ndump, 6)
    bufpos: NDArray[np.int_]
    time: NDArray[np.float64]

    @property
    def int_time_s(self) -> float:
        """Integration time: sum over dumps of the board-mean AccSamples / 48124 (§3.12)."""
        return float(self.samples.mean(axis=1).sum() / 48124.0)


def _get(ds: netCDF4.Dataset, path: Path, name: str, default: float | None = None) -> NDArray:
    if name not in ds.variables:
        if default is not None:
            return np.asarray(default)
        raise RsrFileError(f"{path}: variable {name} is missing")
    return np.asarray(ds.variables[name][...])


def _lo(value: NDArray, fallback: float) -> float:
    v = float(np.ravel(value)[0])
    return v if v > 0 else fallback


def _open_chassis(path: Path) -> tuple[netCDF4.Dataset, str]:
    """The open dataset (masking off) and its one ``RedshiftChassis_C_`` header group name."""
    try:
        ds = netCDF4.Dataset(path)
    except OSError as exc:
        raise RsrFileError(f"{path}: not a readable netCDF file ({exc})") from exc
    ds.set_auto_mask(False)
    groups = {n.split(".")[1] for n in ds.variables if n.startswith("Header.RedshiftChassis_")}
    if len(groups) != 1:
        ds.close()
        raise RsrFileError(f"{path}: expected one RedshiftChassis_C_ header group, {groups}")
    return ds, groups.pop()


def read_chassis(path: str | Path) -> ChassisData:
    """Read one chassis file; every required name is checked (error names file and variable)."""
    path = Path(path)
    ds, g = _open_chassis(path)
    with ds:
        chassis = int(g.split("_")[1])
        obspgm = read_char(ds, "Header.Dcs.ObsPgm") if "Header.Dcs.ObsPgm" in ds.variables else ""
        if not obspgm:
            raise RsrFileError(f"{path}: Header.Dcs.ObsPgm is missing or empty")
        samples = _get(ds, path, f"Data.{g}.AccSamples").astype(np.float64)
        acc = _get(ds, path, f"Data.{g}.AccData").astype(np.float64)
        ref = _get(ds, path, f"Data.{g}.RefData").astype(np.float64)
        if acc.ndim != 3 or acc.shape[1:] != (NBOARD, NLAG) or samples.shape != acc.shape[:2]:
            raise RsrFileError(
                f"{path}: AccData {acc.shape} / AccSamples {samples.shape} are not "
                f"(ndump, {NBOARD}, {NLAG}) / (ndump, {NBOARD})"
            )
        if np.any(samples <= 0):
            raise RsrFileError(f"{path}: AccSamples has non-positive values")
        temps = np.ravel(_get(ds, path, "Header.Rsfend.Temperature", default=np.zeros(7)))
        tamb = float(temps[6]) if temps.size > 6 and 100 < temps[6] < 400 else 279.0
        is_bs = obspgm == "Bs"
        with np.errstate(invalid="ignore"):
            return ChassisData(
                path=path,
                obsnum=int(_get(ds, path, "Header.Dcs.ObsNum")),
                chassis=chassis,
                obspgm=obspgm,
                project_id=read_char(ds, "Header.Dcs.ProjectId")
                if "Header.Dcs.ProjectId" in ds.variables
                else "unknown",
                source=read_char(ds, "Header.Source.SourceName"),
                ra_rad=float(np.ravel(_get(ds, path, "Header.Source.Ra"))[0]),
                dec_rad=float(np.ravel(_get(ds, path, "Header.Source.Dec"))[0]),
                utdate=float(_get(ds, path, "Header.TimePlace.UTDate")),
                cal_obsnum=int(_get(ds, path, f"Header.{g}.CalObsNum")),
                corr_cal_id=int(_get(ds, path, f"Header.{g}.CorrCalId")),
                slots=np.ravel(_get(ds, path, f"Header.{g}.SlotNumber")).astype(int),
                tamb=tamb,
                tau=float(_get(ds, path, "Header.Radiometer.Tau", default=0.0)),
                nrepeats=int(_get(ds, path, "Header.Bs.NumRepeats")) if is_bs else 0,
                tsamp=float(_get(ds, path, "Header.Bs.TSamp")) if is_bs else 0.0,
                lo1=(
                    _lo(_get(ds, path, "Header.Rsfend.LoLowFreq", LO1_LOW), LO1_LOW),
                    _lo(_get(ds, path, "Header.Rsfend.LoHighFreq", LO1_HIGH), LO1_HIGH),
                ),
                lo2=(
                    _lo(_get(ds, path, f"Header.{g}.LoLowFreq", LO2_LOW), LO2_LOW),
                    _lo(_get(ds, path, f"Header.{g}.LoHighFreq", LO2_HIGH), LO2_HIGH),
                ),
                acc=acc / samples[..., None],
                ref=ref / samples[..., None],
                samples=samples,
                bufpos=np.ravel(_get(ds, path, "Data.Dcs.BufPos")).astype(int),
                time=np.ravel(_get(ds, path, "Data.Sky.Time", default=np.zeros(acc.shape[0]))),
            )


def corr_cal_dir(data_lmt: str | Path) -> Path:
    """``$CORR_CAL_DIR`` if set, else ``$DATA_LMT/rsr/cal``."""
    env = os.environ.get("CORR_CAL_DIR")
    return Path(env) if env else Path(data_lmt) / "rsr" / "cal"


def read_corr_cal(cal_dir: str | Path, corr_cal_id: int, chassis: int,
                  slots: tuple[int, ...] = SLOTS) -> NDArray:  # fmt: skip
    """(6, 256, 256) matrices of one chassis, card chosen by ``slotno`` == each board's slot."""
    path = Path(cal_dir) / f"corr_cal_{corr_cal_id}_{chassis}.nc"
    if not path.is_file():
        raise RsrFileError(f"corr_cal file {path} not found (CorrCalId {corr_cal_id})")
    g = f"RedshiftChassis_{chassis}_"
    with netCDF4.Dataset(path) as ds:
        ds.set_auto_mask(False)
        try:
            slotno = np.asarray(ds.variables[f"Header.{g}.slotno"][:]).astype(int)
            mats = np.asarray(ds.variables[f"Data.{g}.corr_cal"][:], dtype=np.float64)
        except KeyError as exc:
            raise RsrFileError(f"{path}: variable {exc} is missing") from exc
    if mats.shape[1:] != (NLAG, NLAG):
        raise RsrFileError(f"{path}: corr_cal is {mats.shape}, expected (ncards, 256, 256)")
    out = np.empty((NBOARD, NLAG, NLAG))
    for b, slot in enumerate(slots):
        hit = np.flatnonzero(slotno == int(slot))
        if hit.size == 0:
            raise RsrFileError(f"{path}: no card for slot {slot} (board {b})")
        out[b] = mats[hit[0]]
    return out


@dataclass(frozen=True)
class RsrHeader:
    """What the workflow needs from the headers of one RSR ObsNum (its first chassis file).

    Shaped like :class:`~lmtflow.io.ifproc.IfProcHeader` where the workflow reads it: RSR
    products are made for one pseudo-bank (0) holding every chassis and board.
    """

    path: Path
    obsnum: int
    obspgm: str
    project_id: str
    source: str
    calobsnum: int
    corr_cal_id: int
    chassis: tuple[int, ...]
    receiver: str = "RSR"

    @property
    def banks(self) -> list[int]:
        return [0]


def read_rsr_header(data_lmt: str | Path, obsnum: int) -> RsrHeader:
    """Header values of ``obsnum`` from its chassis files (only scalars are read)."""
    files = chassis_files(data_lmt, obsnum)
    path = files[min(files)]
    ds, g = _open_chassis(path)
    with ds:
        names = ds.variables

        def text(name: str, default: str) -> str:
            return (read_char(ds, name) if name in names else "") or default

        return RsrHeader(
            path=path,
            obsnum=int(_get(ds, path, "Header.Dcs.ObsNum")),
            obspgm=text("Header.Dcs.ObsPgm", ""),
            project_id=text("Header.Dcs.ProjectId", "unknown"),
            source=text("Header.Source.SourceName", "unknown"),
            calobsnum=int(_get(ds, path, f"Header.{g}.CalObsNum")),
            corr_cal_id=int(_get(ds, path, f"Header.{g}.CorrCalId")),
            chassis=tuple(sorted(files)),
        )


def calibration_inputs(data_lmt: str | Path, header: RsrHeader, cal: RsrHeader) -> list[Path]:
    """Raw files calibrating ``header``'s ObsNum reads: its and its Cal's chassis files and
    the corr_cal files of their CorrCalIds (those that exist; a missing one is the job's error)."""
    files = [*chassis_files(data_lmt, header.obsnum).values()]
    files += chassis_files(data_lmt, cal.obsnum).values()
    ids = sorted({header.corr_cal_id, cal.corr_cal_id})
    cc = [corr_cal_dir(data_lmt) / f"corr_cal_{i}_{c}.nc" for i in ids for c in header.chassis]
    return files + [p for p in cc if p.is_file()]
