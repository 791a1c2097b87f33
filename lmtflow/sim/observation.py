"""One simulated ObsNum: its kind, timeline, pointing, Doppler and spectral axes.

Observation schema (items of a session's ``observations:`` list)::

    - kind: Map                 # Cal | Map | Ps | Bs
      obsnum: 79448
      label: map                # unique name used by tests (default: kind lower-case)
      cal: 79447                # Header.IfProc.CalObsNum (default: the session's last Cal)
      subobsnum: 1              # defaults: Map 1/0, others 0/1 (SubObsNum/ScanNum)
      scannum: 0
      gap_before_s: 30          # idle time after the previous ObsNum
      obsgoal: Science          # Header.Dcs.ObsGoal (Cal: Calibration)
      params: {...}             # sequence parameters, see lmtflow.sim.scan *_DEFAULTS
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from lmtflow.errors import ConfigError
from lmtflow.spectral import SpectralAxis, sky_frequency_for

from . import astro, scan
from .instrument import Instrument
from .skymodel import SkyModel, beam_fwhm_arcsec

KINDS = ("Cal", "Map", "Ps", "Bs")
OBS_KEYS = {
    "kind",
    "obsnum",
    "label",
    "cal",
    "subobsnum",
    "scannum",
    "gap_before_s",
    "obsgoal",
    "params",
}


@dataclass
class Observation:
    kind: str
    obsnum: int
    label: str
    cal_obsnum: int
    subobsnum: int
    scannum: int
    obsgoal: str
    project_id: str
    params: dict[str, Any]
    timeline: scan.Timeline
    raster: scan.Raster | None
    pointing: scan.Pointing
    sky: SkyModel
    instrument: Instrument
    obs_vel: float
    bary_vel: float
    velocity_model: str
    axes: list[SpectralAxis]  # one per bank
    profiles: list[NDArray[np.float32]]  # unit-peak line profiles (nsrc, nchan) per bank

    @property
    def t_start(self) -> float:
        return self.timeline.t_start

    @property
    def t_end(self) -> float:
        return self.timeline.t_end

    @property
    def beams_arcsec(self) -> list[float]:
        return [beam_fwhm_arcsec(ax.sky_freq_hz) for ax in self.axes]

    @property
    def ref_azel(self) -> tuple[float, float]:
        return self.sky.ref_offset_arcsec

    @property
    def integration_time(self) -> float:
        return float(sum(s.duration for s in self.timeline.blocks()))


def _beam1_azel(inst: Instrument, el: float, beams: list[int]) -> tuple[float, float]:
    from lmtflow.geometry import beam_offsets_azel

    gaz, gel = beam_offsets_azel(el, beams[0], np.array([beams[1]]), inst.receiver)
    return float(gaz[0]), float(gel[0])


def build_observation(
    d: dict[str, Any],
    t0: float,
    sky: SkyModel,
    inst: Instrument,
    project_id: str,
    default_cal: int | None,
) -> Observation:
    """Lay out one ObsNum starting at unix time t0."""
    bad = set(d) - OBS_KEYS
    if bad:
        raise ConfigError(f"observation: unknown key(s) {sorted(bad)}; valid: {sorted(OBS_KEYS)}")
    for key in ("kind", "obsnum"):
        if key not in d:
            raise ConfigError(f"observation {d}: missing {key!r}")
    kind = str(d["kind"])
    if kind not in KINDS:
        raise ConfigError(f"observation kind {kind!r} not one of {KINDS}")
    obsnum = int(d["obsnum"])
    params = scan.with_defaults(kind, d.get("params"))
    ra0, dec0 = math.radians(sky.ra_deg), math.radians(sky.dec_deg)
    # El/Az at the middle of the observation define ElDesPos/AzDesPos
    ref = sky.ref_offset_arcsec
    raster = None
    if kind == "Cal":
        tl = scan.cal_timeline(t0, params, ref)
    elif kind == "Ps":
        tl = scan.ps_timeline(t0, params, ref)
    elif kind == "Map":
        if params["coord"] not in ("Ra", "Az", "L"):
            raise ConfigError(f"Map coord {params['coord']!r} not one of Ra, Az, L")
        if (params["coord"] == "L") != sky.galactic and params["coord"] != "Az":
            raise ConfigError("Map coord 'L' needs a galactic sky model and 'Ra' an equatorial one")
        tl, raster = scan.map_timeline(t0, params, ref)
    else:
        if len(params["beams"]) != 2:
            raise ConfigError("Bs params: beams needs two pixel ids")
        tl = scan.bs_timeline(t0, params, (0.0, 0.0))
    tmid = 0.5 * (tl.t_start + tl.t_end)
    az, el, _ = astro.horizontal(np.array([tmid]), ra0, dec0)
    el_des, az_des = float(el[0]), float(az[0])
    if kind == "Bs":  # the switch offset depends on the header elevation
        tl = scan.bs_timeline(t0, params, _beam1_azel(inst, el_des, params["beams"]))
    gal = astro.galactic_angle(sky.ra_deg, sky.dec_deg)
    pointing = scan.Pointing(sky, inst.receiver, inst.tracking_beam, el_des, az_des, gal)
    obs_vel, bary_vel, model = astro.observatory_velocities(sky.ra_deg, sky.dec_deg, tmid)
    axes = []
    for f in inst.line_freq_ghz:
        frest = f * 1e9
        axes.append(
            SpectralAxis(
                nchan=inst.nchan,
                bandwidth_hz=inst.bandwidth_mhz * 1e6,
                rest_freq_hz=frest,
                sky_freq_hz=sky_frequency_for(frest, sky.velocity_kms, obs_vel),
                sideband=0,
                vsource_kms=sky.velocity_kms,
                velsys=0,
                bary_vel_kms=bary_vel,
                obs_vel_kms=obs_vel,
            )
        )
    sub, scn = (1, 0) if kind == "Map" else (0, 1)
    if kind == "Cal":
        cal = int(d.get("cal", obsnum))
    else:
        cal = d.get("cal", default_cal)
        if cal is None:
            raise ConfigError(f"ObsNum {obsnum}: no Cal ObsNum before it and no 'cal' given")
    return Observation(
        kind=kind,
        obsnum=obsnum,
        label=str(d.get("label", kind.lower())),
        cal_obsnum=int(cal),
        subobsnum=int(d.get("subobsnum", sub)),
        scannum=int(d.get("scannum", scn)),
        obsgoal=str(d.get("obsgoal", "Calibration" if kind == "Cal" else "Science")),
        project_id=project_id,
        params=params,
        timeline=tl,
        raster=raster,
        pointing=pointing,
        sky=sky,
        instrument=inst,
        obs_vel=obs_vel,
        bary_vel=bary_vel,
        velocity_model=model,
        axes=axes,
        profiles=[sky.profiles(ax) for ax in axes],
    )
