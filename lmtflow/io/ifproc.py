"""Read the ifproc netCDF file of an ObsNum: header values and the 125 Hz time series.

Only what the reduction needs is read; names, units and fall-backs follow lmtslr
(`reference/sequoia_raw_and_algorithms.md` §2). Angles are converted to arcsec or degrees
at the edge of this module and nowhere else.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from pathlib import Path

import netCDF4
import numpy as np
from numpy.typing import NDArray

from ..constants import ARCSEC_PER_RAD
from ..errors import ObsNumError, RawDataError
from ..spectral import SpectralAxis
from .nccheck import check_complete
from .ncutil import read_char

SUPPORTED_RECEIVERS = ("Sequoia", "Msip1mm")
MALFORMED = (ValueError, TypeError, IndexError, KeyError, OverflowError, RuntimeError, OSError)
"""What netCDF4/numpy raise on damaged files (UnicodeDecodeError is a ValueError); the
readers turn them into RawDataError."""

MAP_COORD_AZEL, MAP_COORD_RADEC, MAP_COORD_GAL = 0, 1, 2


def find_ifproc(data_lmt: str | Path, obsnum: int) -> Path:
    """The one ifproc file of ``obsnum`` under ``data_lmt/ifproc``."""
    folder = Path(data_lmt) / "ifproc"
    if not folder.is_dir():
        raise RawDataError(folder, "no ifproc directory: is this a $DATA_LMT tree?")
    hits = sorted(folder.glob(f"ifproc_*_{int(obsnum):06d}_*.nc"))
    if not hits:
        raise ObsNumError(obsnum, f"no ifproc file ifproc_*_{int(obsnum):06d}_*.nc in {folder}")
    if len(hits) > 1:
        names = ", ".join(p.name for p in hits)
        raise ObsNumError(obsnum, f"more than one ifproc file in {folder}: {names}")
    return hits[0]


@dataclass(frozen=True)
class IfProcHeader:
    """Header values of one ObsNum that the reduction uses."""

    path: Path
    obsnum: int
    calobsnum: int
    obspgm: str
    obsgoal: str
    receiver: str
    project_id: str
    source: str
    coordsys: int
    ra_deg: float
    dec_deg: float
    glon_deg: float
    glat_deg: float
    vsource_kms: float
    velsys: int
    az_deg: float
    el_deg: float
    obs_vel_kms: float
    bary_vel_kms: float
    integration_time_s: float
    dump_time_s: float
    tau: float
    num_bands: int
    num_pixels: int
    tracking_beam: int
    line_freq_ghz: tuple[float, ...]
    sky_freq_ghz: tuple[float, ...]
    line_offset_ghz: tuple[float, ...]
    sideband1_lo: tuple[int, ...]
    bandwidth_ghz: tuple[float, ...]
    map_coord_name: str = ""
    map_x_length_arcsec: float = 0.0
    map_y_length_arcsec: float = 0.0
    bs_beams: tuple[int, ...] = ()
    utc_start: float = 0.0
    observer: str = ""  # Header.Telescope.Operator where the file has one
    extra: dict = field(default_factory=dict)

    def map_coord(self, override: int = -1) -> int:
        """lmtslr's map_coord: 0 Az/El, 1 Ra/Dec, 2 galactic (reference §2.4)."""
        if override >= 0:
            return override
        if self.obspgm != "Map":
            return MAP_COORD_AZEL
        if self.obsgoal == "Science":
            return MAP_COORD_GAL if self.coordsys == 2 else MAP_COORD_RADEC
        if self.obsgoal == "Pointing":
            return MAP_COORD_AZEL
        name = self.map_coord_name
        if "Az" in name or "El" in name:
            return MAP_COORD_AZEL
        if "Ra" in name or "Dec" in name:
            return MAP_COORD_RADEC
        if "L" in name or "B" in name:
            return MAP_COORD_GAL
        return MAP_COORD_AZEL

    def center(self, map_coord: int) -> tuple[float, float]:
        """(lon, lat) in deg that map offsets refer to: l/b, RA/Dec, or Az/El (map_coord 0)."""
        if map_coord == MAP_COORD_GAL:
            return self.glon_deg, self.glat_deg
        if map_coord == MAP_COORD_RADEC:
            return self.ra_deg, self.dec_deg
        return self.az_deg, self.el_deg

    @property
    def banks(self) -> list[int]:
        """Banks with data: 0..NumBands-1, skipping a bank whose LineFreq is 0."""
        n = max(1, self.num_bands)
        return [b for b in range(n) if b < len(self.line_freq_ghz) and self.line_freq_ghz[b] > 0]

    @property
    def date_obs(self) -> str:
        """UTC start of the observation, ISO format (lmtslr used local time: a bug we fix)."""
        t = _dt.datetime.fromtimestamp(self.utc_start, tz=_dt.UTC)
        return t.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-4]

    def spectral_axis(self, bank: int, nchan: int, bandwidth_mhz: float) -> SpectralAxis:
        """The spectral axis of ``bank`` for a spectrometer mode of ``nchan`` channels."""
        if bank >= len(self.line_freq_ghz):
            raise RawDataError(self.path, f"bank {bank} has no LineFreq entry")
        return SpectralAxis(
            nchan=nchan,
            bandwidth_hz=bandwidth_mhz * 1e6,
            rest_freq_hz=self.line_freq_ghz[bank] * 1e9,
            sky_freq_hz=self.sky_freq_ghz[bank] * 1e9,
            sideband=self.sideband1_lo[bank],
            vsource_kms=self.vsource_kms,
            velsys=self.velsys,
            bary_vel_kms=self.bary_vel_kms,
            obs_vel_kms=self.obs_vel_kms,
            line_offset_hz=self.line_offset_ghz[bank] * 1e9,
        )


@dataclass(frozen=True)
class IfProcSeries:
    """The ifproc time series: sample times, BufPos and map offsets (arcsec)."""

    time: NDArray[np.float64]
    bufpos: NDArray[np.int_]
    az_map: NDArray[np.float64]
    el_map: NDArray[np.float64]
    ra_map: NDArray[np.float64]
    dec_map: NDArray[np.float64]
    l_map: NDArray[np.float64]
    b_map: NDArray[np.float64]
    par_ang: NDArray[np.float64]
    gal_ang: NDArray[np.float64]

    def map_offsets(self, map_coord: int) -> tuple[NDArray, NDArray]:
        """The (x, y) offset pair of a map coordinate system."""
        if map_coord == MAP_COORD_RADEC:
            return self.ra_map, self.dec_map
        if map_coord == MAP_COORD_GAL:
            return self.l_map, self.b_map
        return self.az_map, self.el_map


def _open(path: Path) -> netCDF4.Dataset:
    if not path.exists():
        raise RawDataError(path, "file does not exist")
    check_complete(path)
    try:
        return netCDF4.Dataset(path, "r")
    except MALFORMED as exc:  # not netCDF, or names that are not UTF-8
        raise RawDataError(path, f"not a readable netCDF file ({exc})") from exc


class _Vars:
    """Read header values by name with errors that name the file and the variable."""

    def __init__(self, ds: netCDF4.Dataset, path: Path):
        self.ds, self.path = ds, path

    def has(self, name: str) -> bool:
        return name in self.ds.variables

    def _var(self, name: str):
        try:
            return self.ds.variables[name]
        except KeyError:
            raise RawDataError(self.path, f"required variable {name} is missing") from None

    def text(self, name: str, default: str | None = None) -> str:
        if default is not None and not self.has(name):
            return default
        self._var(name)
        return read_char(self.ds, name)

    def number(self, name: str, default: float | None = None) -> float:
        if default is not None and not self.has(name):
            return default
        values = np.ravel(np.ma.filled(self._var(name)[:], np.nan))
        if values.size == 0:
            raise RawDataError(self.path, f"variable {name} is empty")
        return float(values[0])

    def integer(self, name: str, default: int | None = None) -> int:
        value = self.number(name, None if default is None else float(default))
        if not np.isfinite(value):
            raise RawDataError(self.path, f"variable {name} is {value}, not an integer")
        return int(value)

    def numbers(self, name: str, default: tuple = ()) -> tuple[float, ...]:
        if default and not self.has(name):
            return default
        return tuple(float(v) for v in np.ravel(np.ma.filled(self._var(name)[:], np.nan)))

    def series(self, name: str, n: int, default: float | None = None) -> NDArray[np.float64]:
        if default is not None and not self.has(name):
            return np.full(n, default)
        values = np.asarray(np.ma.filled(self._var(name)[:], np.nan), dtype=np.float64)
        if values.shape[0] != n:
            raise RawDataError(self.path, f"{name} has {values.shape[0]} samples, expected {n}")
        return values


def read_header(path: str | Path) -> IfProcHeader:
    """Read the header of an ifproc file (:class:`RawDataError` if it is damaged or foreign)."""
    path = Path(path)
    with _open(path) as ds:
        try:
            return _header(_Vars(ds, path), path)
        except MALFORMED as exc:
            raise RawDataError(path, f"malformed ifproc header ({exc!r})") from exc


def _header(v: _Vars, path: Path) -> IfProcHeader:
    receiver = v.text("Header.Dcs.Receiver")
    if receiver not in SUPPORTED_RECEIVERS:
        raise RawDataError(
            path,
            f"receiver {receiver!r} is not reduced by lmtflow (supported: "
            f"{', '.join(SUPPORTED_RECEIVERS)}); RSR and other instruments need their own tools",
        )
    rx = f"Header.{receiver}"
    if not v.has(f"{rx}.LineFreq"):
        raise RawDataError(path, f"{rx}.LineFreq is missing: not a {receiver} ifproc file")
    obspgm = v.text("Header.Dcs.ObsPgm")
    time = v._var("Data.TelescopeBackend.TelTime")
    utc_start = float(time[0]) if time.shape[0] else 0.0
    if not np.isfinite(utc_start):
        raise RawDataError(path, "the first Data.TelescopeBackend.TelTime is not finite")
    num_bands = v.integer(f"{rx}.NumBands", 1)
    return IfProcHeader(
        path=path,
        obsnum=v.integer("Header.Dcs.ObsNum"),
        calobsnum=v.integer("Header.IfProc.CalObsNum", -1),
        obspgm=obspgm,
        obsgoal=v.text("Header.Dcs.ObsGoal", ""),
        receiver=receiver,
        project_id=v.text("Header.Dcs.ProjectId", "") or "unknown",
        source=v.text("Header.Source.SourceName"),
        coordsys=v.integer("Header.Source.CoordSys"),
        ra_deg=float(np.degrees(v.number("Header.Source.Ra"))),
        dec_deg=float(np.degrees(v.number("Header.Source.Dec"))),
        glon_deg=float(np.degrees(v.number("Header.Source.L"))),
        glat_deg=float(np.degrees(v.number("Header.Source.B"))),
        vsource_kms=v.number("Header.Source.Velocity"),
        velsys=v.integer("Header.Source.VelSys"),
        az_deg=float(np.degrees(v.number("Header.Telescope.AzDesPos"))),
        el_deg=float(np.degrees(v.number("Header.Telescope.ElDesPos"))),
        obs_vel_kms=v.number("Header.Sky.ObsVel"),
        bary_vel_kms=v.number("Header.Sky.BaryVel"),
        integration_time_s=v.number("Header.Dcs.IntegrationTime", 0.0),
        dump_time_s=v.number("Header.SpecBackend.DumpTime", 0.1),
        tau=v.number("Header.Radiometer.Tau", float("nan")),
        num_bands=num_bands,
        num_pixels=v.integer(f"{rx}.NumPixels", 16),
        tracking_beam=v.integer(f"{rx}.BeamSelected", -1),
        line_freq_ghz=v.numbers(f"{rx}.LineFreq"),
        sky_freq_ghz=v.numbers(f"{rx}.SkyFreq"),
        line_offset_ghz=v.numbers(f"{rx}.LineOffset", (0.0, 0.0)),
        sideband1_lo=tuple(int(x) for x in v.numbers(f"{rx}.SideBand1Lo", (0, 0))),
        bandwidth_ghz=v.numbers("Header.SpecBackend.Bandwidth", (0.0, 0.0)),
        map_coord_name=v.text("Header.Map.MapCoord", "") if obspgm == "Map" else "",
        map_x_length_arcsec=v.number("Header.Map.XLength", 0.0) * ARCSEC_PER_RAD,
        map_y_length_arcsec=v.number("Header.Map.YLength", 0.0) * ARCSEC_PER_RAD,
        bs_beams=tuple(int(x) for x in v.numbers("Header.Bs.Beam", (-1, -1)))
        if obspgm == "Bs"
        else (),
        utc_start=utc_start,
        observer=v.text("Header.Telescope.Operator", "").strip(),
    )


def _wrap(angle: NDArray[np.float64]) -> NDArray[np.float64]:
    """Wrap a longitude difference into [-pi, pi) (lmtslr does not; maps across RA 0 need it)."""
    return (angle + np.pi) % (2 * np.pi) - np.pi


def read_series(path: str | Path, header: IfProcHeader | None = None) -> IfProcSeries:
    """Read the ifproc time series, with offsets in arcsec as lmtslr derives them."""
    path = Path(path)
    header = header or read_header(path)
    with _open(path) as ds:
        try:
            return _series(_Vars(ds, path), path, header)
        except MALFORMED as exc:
            raise RawDataError(path, f"malformed ifproc time series ({exc!r})") from exc


def _series(v: _Vars, path: Path, header: IfProcHeader) -> IfProcSeries:
    name = "Data.TelescopeBackend.TelTime"
    t = v.series(name, v._var(name).shape[0])
    n = t.size
    if n == 0:
        raise RawDataError(path, "the time series is empty (no ifproc samples)")
    if not np.all(np.isfinite(t)):
        raise RawDataError(path, f"{name} holds NaN or Inf")
    if np.any(np.diff(t) < 0):
        k = int(np.flatnonzero(np.diff(t) < 0)[0]) + 1
        raise RawDataError(path, f"{name} goes backwards at sample {k}")
    bufpos = v.series("Data.TelescopeBackend.BufPos", n)
    if not np.all(np.isfinite(bufpos)):
        raise RawDataError(path, "Data.TelescopeBackend.BufPos holds NaN or Inf")
    bufpos = bufpos.astype(int)
    ra0, dec0 = np.radians(header.ra_deg), np.radians(header.dec_deg)
    l0, b0 = np.radians(header.glon_deg), np.radians(header.glat_deg)
    s = ARCSEC_PER_RAD
    return IfProcSeries(
        time=t,
        bufpos=bufpos,
        az_map=v.series("Data.TelescopeBackend.TelAzMap", n) * s,
        el_map=v.series("Data.TelescopeBackend.TelElMap", n) * s,
        ra_map=_wrap(v.series("Data.TelescopeBackend.SourceRaAct", n) - ra0) * np.cos(dec0) * s,
        dec_map=(v.series("Data.TelescopeBackend.SourceDecAct", n) - dec0) * s,
        l_map=_wrap(v.series("Data.TelescopeBackend.SourceLAct", n) - l0) * np.cos(b0) * s,
        b_map=(v.series("Data.TelescopeBackend.SourceBAct", n) - b0) * s,
        par_ang=v.series("Data.TelescopeBackend.ActParAng", n),
        gal_ang=v.series("Data.TelescopeBackend.ActGalAng", n, default=0.0),
    )
