"""Observing sequences: timed BufPos blocks, telescope paths and beam positions.

An observation is a :class:`Timeline` of :class:`Segment` s. A segment with a ``bufpos`` is a
block during which the ifproc samples at 125 Hz; a segment with ``bufpos=None`` is a slew or
switch: no ifproc samples (TelTime jumps), the spectrometer keeps dumping blank sky. Paths give
the tracking position as offsets (arcsec) in the Az/El frame (``frame='azel'``) or in the
sky frame of the model (``frame='sky'``: dRA cos Dec0, dDec or dl cos b0, db).

Sequences (timings default to the real ones quoted in the reference, §2.3):

* Cal: HOT (BufPos 3, load 280 K) 2.62 s, switch 2.49 s, SKY (BufPos 2) 2.64 s, at the REF position
  (the real Cal 79447).
* Map: REF, slew, ON rows (``rows_per_scan`` rows incl. turnarounds, BufPos 0), slew, REF, ...;
  REF first and last. Rows run along x of the map frame (``Ra``, ``L`` or ``Az``), boustrophedon,
  with ``xramp`` at both ends; nrows = ceil((YLength + 2 YRamp) / (YStep HPBW)).
* Ps: REF, ON, REF, ON, ... (equal numbers; tracking beam on source during ON).
* Bs: BufPos 0 (tracking beam ``beams[0]`` on source), BufPos 1 (``beams[1]`` on source), ...
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from lmtflow.constants import T_AMBIENT_K, BufPos
from lmtflow.errors import ConfigError
from lmtflow.geometry import beam_offsets_azel, rotate_azel_to_sky

from . import astro
from .skymodel import SkyModel

IFPROC_DT = 0.008
"""ifproc sample interval (125 Hz)."""

Path = Callable[[NDArray[np.float64]], tuple[NDArray[np.float64], NDArray[np.float64]]]


def constant_path(u: float, v: float) -> Path:
    def path(t: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        return np.full(t.shape, float(u)), np.full(t.shape, float(v))

    return path


@dataclass
class Segment:
    t0: float
    t1: float
    bufpos: int | None
    frame: str = "azel"
    path: Path | None = None
    load_k: float = 0.0

    @property
    def duration(self) -> float:
        return self.t1 - self.t0


@dataclass
class Timeline:
    origin: float = 0.0
    segments: list[Segment] = field(default_factory=list)

    def add(
        self,
        duration: float,
        bufpos: int | None,
        path: Path | None = None,
        frame: str = "azel",
        load_k: float = 0.0,
    ) -> Segment:
        t0 = self.segments[-1].t1 if self.segments else self.origin
        seg = Segment(t0, t0 + duration, bufpos, frame, path, load_k)
        self.segments.append(seg)
        return seg

    @property
    def t_start(self) -> float:
        return self.segments[0].t0

    @property
    def t_end(self) -> float:
        return self.segments[-1].t1

    def blocks(self) -> list[Segment]:
        return [s for s in self.segments if s.bufpos is not None]

    def sample_times(self, dt: float = IFPROC_DT) -> tuple[NDArray[np.float64], NDArray[np.int_]]:
        """ifproc sample times (only inside blocks) and the segment index of each."""
        ts, idx = [], []
        for k, s in enumerate(self.segments):
            if s.bufpos is None:
                continue
            n = int(round(s.duration / dt))
            ts.append(s.t0 + dt * np.arange(n))
            idx.append(np.full(n, k))
        return np.concatenate(ts), np.concatenate(idx)

    def locate(self, t: NDArray[np.float64]) -> NDArray[np.int_]:
        """Index of the segment holding each time (t0 <= t < t1), -1 outside the timeline."""
        starts = np.array([s.t0 for s in self.segments])
        k = np.searchsorted(starts, t, side="right") - 1
        inside = (k >= 0) & (t < self.t_end)
        return np.where(inside, k, -1)

    def bufpos_of(self, idx: NDArray[np.int_]) -> NDArray[np.int_]:
        """BufPos of each segment index; -1 for gaps and outside."""
        codes = np.array([-1 if s.bufpos is None else s.bufpos for s in self.segments] + [-1])
        return codes[idx]

    def load_of(self, idx: NDArray[np.int_]) -> NDArray[np.float64]:
        loads = np.array([s.load_k for s in self.segments] + [0.0])
        return loads[idx]


# ----------------------------------------------------------------------------- sequences


CAL_DEFAULTS = {"hot_s": 2.62, "switch_s": 2.49, "sky_s": 2.64}  # the real Cal 79447
PS_DEFAULTS = {"nrepeats": 2, "on_s": 3.0, "ref_s": 3.0, "switch_s": 1.0}
BS_DEFAULTS = {"beams": [10, 8], "nrepeats": 2, "block_s": 2.0, "switch_s": 0.5}
MAP_DEFAULTS = {
    "coord": "Ra",
    "xlength_arcsec": 90.0,
    "ylength_arcsec": 90.0,
    "hpbw_arcsec": 14.0,
    "xstep": 1.0,
    "ystep": 0.8,
    "xramp_arcsec": 10.0,
    "yramp_arcsec": 10.0,
    "scan_rate_arcsec_s": 60.0,
    "rows_per_scan": 5,
    "turnaround_s": 0.7,
    "ref_s": 2.0,
    "slew_s": 1.5,
    "scan_angle_deg": 0.0,
}


def with_defaults(kind: str, params: dict[str, Any] | None) -> dict[str, Any]:
    defaults = {"Cal": CAL_DEFAULTS, "Map": MAP_DEFAULTS, "Ps": PS_DEFAULTS, "Bs": BS_DEFAULTS}[
        kind
    ]
    params = dict(params or {})
    unknown = set(params) - set(defaults)
    if unknown:
        raise ConfigError(
            f"{kind} parameters: unknown key(s) {sorted(unknown)}; valid: {sorted(defaults)}"
        )
    return {**defaults, **params}


def cal_timeline(t0: float, p: dict[str, Any], ref_azel: tuple[float, float]) -> Timeline:
    tl = Timeline(t0)
    at_ref = constant_path(*ref_azel)
    tl.add(p["hot_s"], int(BufPos.HOT), at_ref, load_k=T_AMBIENT_K)
    tl.add(p["switch_s"], None, load_k=0.5 * T_AMBIENT_K)
    tl.add(p["sky_s"], int(BufPos.SKY), at_ref)
    return tl


def ps_timeline(t0: float, p: dict[str, Any], ref_azel: tuple[float, float]) -> Timeline:
    tl = Timeline(t0)
    for i in range(int(p["nrepeats"])):
        if i:
            tl.add(p["switch_s"], None)
        tl.add(p["ref_s"], int(BufPos.REF), constant_path(*ref_azel))
        tl.add(p["switch_s"], None)
        tl.add(p["on_s"], int(BufPos.ON), constant_path(0.0, 0.0))
    return tl


def bs_timeline(t0: float, p: dict[str, Any], beam1_azel: tuple[float, float]) -> Timeline:
    """Tracking on the source for BufPos 0; offset so that ``beams[1]`` is on it for BufPos 1."""
    tl = Timeline(t0)
    for i in range(int(p["nrepeats"])):
        if i:
            tl.add(p["switch_s"], None)
        tl.add(p["block_s"], int(BufPos.ON), constant_path(0.0, 0.0))
        tl.add(p["switch_s"], None)
        tl.add(p["block_s"], int(BufPos.REF), constant_path(*beam1_azel))
    return tl


@dataclass(frozen=True)
class Raster:
    """OTF raster geometry (arcsec, s)."""

    nrows: int
    dy: float
    lx: float  # row length including both ramps
    rate: float
    turn: float
    angle: float  # rad

    @property
    def row_time(self) -> float:
        return self.lx / self.rate

    def row_y(self, r: NDArray[np.int_]) -> NDArray[np.float64]:
        return (r - (self.nrows - 1) / 2.0) * self.dy

    def block_duration(self, nrows: int) -> float:
        return nrows * self.row_time + (nrows - 1) * self.turn

    def path(self, t0: float, first_row: int, nrows: int) -> Path:
        period = self.row_time + self.turn
        bulge = self.rate * self.turn / math.pi  # keeps the speed continuous into the turn

        def path(t: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
            u = np.asarray(t, dtype=float) - t0
            j = np.clip(np.floor(u / period), 0, nrows - 1).astype(int)
            w = u - j * period
            r = first_row + j
            d = np.where(r % 2 == 0, 1.0, -1.0)
            y_r = self.row_y(r)
            q = np.clip((w - self.row_time) / self.turn, 0.0, 1.0) if self.turn > 0 else 0.0 * w
            in_row = w <= self.row_time
            x = np.where(
                in_row,
                d * (-self.lx / 2 + self.rate * w),
                d * (self.lx / 2 + bulge * np.sin(np.pi * q)),
            )
            y = np.where(in_row, y_r, y_r + self.dy * (1 - np.cos(np.pi * q)) / 2)
            ca, sa = math.cos(self.angle), math.sin(self.angle)
            return x * ca - y * sa, x * sa + y * ca

        return path


def make_raster(p: dict[str, Any]) -> Raster:
    dy = p["ystep"] * p["hpbw_arcsec"]
    nrows = math.ceil((p["ylength_arcsec"] + 2 * p["yramp_arcsec"]) / dy - 1e-9)
    return Raster(
        nrows=max(nrows, 1),
        dy=dy,
        lx=p["xlength_arcsec"] + 2 * p["xramp_arcsec"],
        rate=p["scan_rate_arcsec_s"],
        turn=p["turnaround_s"],
        angle=math.radians(p["scan_angle_deg"]),
    )


def map_timeline(
    t0: float, p: dict[str, Any], ref_azel: tuple[float, float]
) -> tuple[Timeline, Raster]:
    raster = make_raster(p)
    frame = "azel" if p["coord"] in ("Az", "El") else "sky"
    tl = Timeline(t0)
    at_ref = constant_path(*ref_azel)
    per = max(int(p["rows_per_scan"]), 1)
    tl.add(p["ref_s"], int(BufPos.REF), at_ref)
    for first in range(0, raster.nrows, per):
        n = min(per, raster.nrows - first)
        tl.add(p["slew_s"], None)
        seg = tl.add(raster.block_duration(n), int(BufPos.ON), None, frame=frame)
        seg.path = raster.path(seg.t0, first, n)
        tl.add(p["slew_s"], None)
        tl.add(p["ref_s"], int(BufPos.REF), at_ref)
    return tl, raster


# ----------------------------------------------------------------------------- pointing


@dataclass
class Pointing:
    """Tracking position and beam positions of one observation."""

    sky: SkyModel
    receiver: str
    tracking_beam: int
    el_des: float  # rad, Header.Telescope.ElDesPos: the one elevation of beam rotations
    az_des: float
    gal_angle: float  # rad, ActGalAng (constant over an observation)

    def parang(self, t: NDArray[np.float64]) -> NDArray[np.float64]:
        return astro.horizontal(t, math.radians(self.sky.ra_deg), math.radians(self.sky.dec_deg))[2]

    def frame_angle(self, t: NDArray[np.float64]) -> NDArray[np.float64]:
        """Rotation angle from Az/El into the sky frame: P (equatorial) or P + G (galactic)."""
        p = self.parang(t)
        return p + self.gal_angle if self.sky.galactic else p

    def track(self, tl: Timeline, t: NDArray[np.float64], idx: NDArray[np.int_]) -> dict:
        """Tracking offsets (arcsec) in Az/El and in the sky frame, and the angles, at times t."""
        n = t.shape[0]
        gaz, gel, gx, gy = (np.zeros(n) for _ in range(4))
        ang = self.frame_angle(t)
        for k, s in enumerate(tl.segments):
            m = idx == k
            if s.path is None or not m.any():
                continue
            u, v = s.path(t[m])
            if s.frame == "azel":
                gaz[m], gel[m] = u, v
                gx[m], gy[m] = rotate_azel_to_sky(u, v, ang[m])
            else:
                gx[m], gy[m] = u, v
                gaz[m], gel[m] = rotate_azel_to_sky(u, v, ang[m])  # the matrix is an involution
        if self.sky.galactic:
            gl, gb = gx, gy
            gra, gdec = astro.rotate_lb_to_radec(gl, gb, self.gal_angle)
        else:
            gra, gdec = gx, gy
            gl, gb = astro.rotate_radec_to_lb(gra, gdec, self.gal_angle)
        return {
            "gaz": gaz,
            "gel": gel,
            "gx": gx,
            "gy": gy,
            "gra": gra,
            "gdec": gdec,
            "gl": gl,
            "gb": gb,
            "angle": ang,
            "parang": ang - self.gal_angle if self.sky.galactic else ang,
        }

    def beam_azel(self, pixels: NDArray[np.int_]) -> tuple[NDArray, NDArray]:
        return beam_offsets_azel(self.el_des, self.tracking_beam, pixels, self.receiver)

    def pixel_positions(
        self, gx: NDArray, gy: NDArray, angle: NDArray, pixels: NDArray[np.int_]
    ) -> tuple[NDArray, NDArray]:
        """Sky-frame offsets of pixels: tracking - beam offset (lmtslr's convention).

        Shapes: ``gx, gy, angle`` (n,), pixels (m,) -> (n, m).
        """
        baz, bel = self.beam_azel(pixels)
        bx, by = rotate_azel_to_sky(baz[None, :], bel[None, :], angle[:, None])
        return gx[:, None] - bx, gy[:, None] - by
