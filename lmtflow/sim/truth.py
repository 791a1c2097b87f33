"""The TRUE values behind a simulated data set, written as ``truth.json`` beside the raw tree.

Layout (all angles deg unless named ``_rad``, offsets arcsec, velocities km/s LSR radio)::

    format: "lmtflow-sim-truth", version: 1, preset, seed, data_lmt (absolute path)
    obsnums: {Cal: [...], Map: [...], Ps: [...], Bs: [...]}      # by role, in time order
    labels:  {label: obsnum}                                     # e.g. cal, map, ps, bs, ps_1mm
    conventions: {...}                                           # how to read the numbers
    sessions: [                                                  # one per receiver set-up
      {name, receiver, obsnums,
       instrument: {nchan, bandwidth_mhz, channel_width_hz, dump_time_s, dtype, nbanks,
                    line_freq_ghz, tracking_beam, tamb_k, noise_per_k},
       beams: [{roach, input, pixel, bank, tsys_k, gain_counts_per_k, ifproc_volts_per_k,
                dead, noise_factor}],                           # one per roach input
       tsys_k: [[per pixel] per bank],                            # what 280 SKY/(HOT-SKY) gives
       sky: {source_name, coord_sys, ra_deg, dec_deg, l_deg, b_deg, velocity_kms,
             ref_offset_arcsec: [az, el],
             sources: [{name, dx_arcsec, dy_arcsec, lon_deg, lat_deg (sky frame of the model),
                        ra_deg, dec_deg, l_deg, b_deg, fwhm_arcsec, peak_k (intrinsic),
                        vlsr_kms, fwhm_kms, rest_freq_ghz}]},
       beam_model: {shape, factor, rule},
       faults: {dead_beams, dead_value, noisy_beams, birdies, spikes_per_file, spike_factor,
                missing_roach: [{obsnum, roach}]}}]
    observations: {"<obsnum>": {obsnum, role, label, session, obspgm, obsgoal, cal_obsnum,
       receiver, source_name, subobsnum, scannum, date, t_start_unix, t_end_unix,
       ifproc_file, roach_files: {roach: path}, missing_roach: [roach], ndumps_per_input: {roach},
       first_dump_unix: {roach}, n_ifproc_samples, ifproc_dt_s,
       blocks: [{bufpos, t_first, t_last, n_samples}],               # ifproc sample times
       el_des_deg, az_des_deg, parang_deg: {mean, min, max}, gal_angle_deg,
       obs_vel_kms, bary_vel_kms, velocity_model, tracking_beam, ref_offset_arcsec,
       banks: [{bank, line_freq_ghz, sky_freq_ghz, rest_freq_hz, sky_freq_hz, nchan,
                bandwidth_mhz, channel_width_hz, dvdc_kms, v0_kms, ch0, beam_fwhm_arcsec,
                roaches, lines: [{source, vlsr_kms, fwhm_kms, channel, fwhm_channels,
                                  observed_peak_k, observed_fwhm_arcsec}]}],
       params: {...}, map: {nrows, row_spacing_arcsec, row_length_arcsec, frame} (Map),
       bs_beams: [on_bufpos0, on_bufpos1] (Bs),
       spikes: [{roach, row, dump, t_unix, input, pixel, bank, channel}]}}
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from lmtflow.constants import T_AMBIENT_K
from lmtflow.io.atomic import atomic_path

from . import astro
from .instrument import Instrument
from .observation import Observation
from .skymodel import BEAM_FACTOR, SkyModel

CONVENTIONS = {
    "offsets": "sky-frame offsets from the tracking centre: (dRA cos Dec0, dDec) arcsec for "
    "equatorial models, (dl cos b0, db) for galactic; absolute = centre + offset/cos(lat0)",
    "beam_positions": "pixel position = tracking offset - beam offset (lmtflow.geometry, "
    "elevation = ElDesPos, rotated by the instantaneous ActParAng (+ActGalAng))",
    "dump_time": "Data.Integrate.time = t_true + read_time + 0.03 s; every row of a dump "
    "represents the sky at t_true (no smearing over the dump)",
    "calibration": "counts = gain(ch) * T * (1 + N(0,1)/sqrt(channel_width_hz*dump_time_s)), "
    "T = Tsys + load + Ta*; HOT load 280 K; 280*SKY/(HOT-SKY) = Tsys and "
    "Tsys*(ON-REF)/REF = Ta* in expectation; Tsys flat across channels",
    "cal_position": "Cal HOT/SKY are taken at the REF position (blank sky)",
    "slews": "the ifproc has no samples in slews/switches; the spectrometer dumps through them "
    "(blank sky, BufPos undefined) unless the instrument's roach_block_margin_s is set: then only "
    "within that margin of a block, as the real files (every SEQUOIA/1MM preset: 0.18 s)",
    "line_profile": "Gaussian in the bank's LSR radio velocity, evaluated at channel centres",
    "velocity_axis": "lmtflow.spectral.SpectralAxis: v(ch) = (ch - ch0)*dvdc + v0, SideBand1Lo 0",
}


def sky_truth(sky: SkyModel) -> dict[str, Any]:
    sources = []
    for s in sky.sources:
        lon, lat = sky.source_abs(s)
        if sky.galactic:
            (ra, dec), (gl, gb) = astro.galactic_to_equatorial(lon, lat), (lon, lat)
        else:
            (ra, dec), (gl, gb) = (lon, lat), astro.equatorial_to_galactic(lon, lat)
        sources.append(
            {
                "name": s.name,
                "dx_arcsec": s.dx_arcsec,
                "dy_arcsec": s.dy_arcsec,
                "lon_deg": lon,
                "lat_deg": lat,
                "ra_deg": ra,
                "dec_deg": dec,
                "l_deg": gl,
                "b_deg": gb,
                "fwhm_arcsec": s.fwhm_arcsec,
                "peak_k": s.peak_k,
                "vlsr_kms": s.vlsr_kms,
                "fwhm_kms": s.fwhm_kms,
                "rest_freq_ghz": s.rest_freq_ghz,
            }
        )
    return {
        "source_name": sky.source_name,
        "coord_sys": sky.coord_sys,
        "ra_deg": sky.ra_deg,
        "dec_deg": sky.dec_deg,
        "l_deg": sky.l_deg,
        "b_deg": sky.b_deg,
        "velocity_kms": sky.velocity_kms,
        "ref_offset_arcsec": list(sky.ref_offset_arcsec),
        "sources": sources,
    }


def session_truth(name: str, inst: Instrument, sky: SkyModel) -> dict[str, Any]:
    beams = []
    tsys = np.full((inst.nbanks, inst.npix), np.nan)
    for i, ri in enumerate(inst.inputs):
        dead = ri.pixel in inst.faults.dead_beams
        beams.append(
            {
                "roach": ri.roach,
                "input": ri.input,
                "pixel": ri.pixel,
                "bank": ri.bank,
                "tsys_k": float(inst.tsys_k[i]),
                "gain_counts_per_k": float(inst.gain_scale[i]),
                "ifproc_volts_per_k": float(inst.volts_per_k[i]),
                "dead": dead,
                "noise_factor": inst.faults.noisy_beams.get(ri.pixel, 1.0),
            }
        )
        tsys[ri.bank, ri.pixel] = inst.tsys_k[i]
    faults = inst.faults.as_dict()
    faults["missing_roach"] = [
        {"obsnum": o, "roach": r} for o, r in sorted(inst.faults.missing_roach)
    ]
    return {
        "name": name,
        "receiver": inst.receiver,
        "obsnums": [],
        "instrument": {
            "nchan": inst.nchan,
            "bandwidth_mhz": inst.bandwidth_mhz,
            "channel_width_hz": inst.channel_width_hz,
            "dump_time_s": inst.dump_time_s,
            "dtype": inst.dtype,
            "nbanks": inst.nbanks,
            "line_freq_ghz": inst.line_freq_ghz,
            "tracking_beam": inst.tracking_beam,
            "tamb_k": T_AMBIENT_K,
            "noise_per_k": inst.noise_per_sqrt,
        },
        "beams": beams,
        "tsys_k": [[None if math.isnan(v) else float(v) for v in row] for row in tsys],
        "sky": sky_truth(sky),
        "beam_model": {
            "shape": "circular gaussian",
            "factor": BEAM_FACTOR,
            "rule": "FWHM = 1.2 * lambda / 50 m at the bank's SkyFreq",
        },
        "faults": faults,
    }


def observation_truth(obs: Observation, session: str, extra: dict[str, Any]) -> dict[str, Any]:
    tl = obs.timeline
    inst = obs.instrument
    blocks = []
    for s in tl.blocks():
        n = int(round(s.duration / 0.008))
        blocks.append(
            {"bufpos": s.bufpos, "t_first": s.t0, "t_last": s.t0 + 0.008 * (n - 1), "n_samples": n}
        )
    banks = []
    for b, ax in enumerate(obs.axes):
        beam = obs.beams_arcsec[b]
        lines = []
        for src in obs.sky.sources:
            vc, w = src.bank_velocity(ax.rest_freq_hz / 1e9)
            peak, size = src.observed(beam)
            lines.append(
                {
                    "source": src.name,
                    "vlsr_kms": vc,
                    "fwhm_kms": w,
                    "channel": float(ax.channel_of_velocity(vc)),
                    "fwhm_channels": w / abs(ax.dvdc),
                    "observed_peak_k": peak,
                    "observed_fwhm_arcsec": size,
                }
            )
        banks.append(
            {
                "bank": b,
                "line_freq_ghz": ax.rest_freq_hz / 1e9,
                "sky_freq_ghz": ax.sky_freq_hz / 1e9,
                "rest_freq_hz": ax.rest_freq_hz,
                "sky_freq_hz": ax.sky_freq_hz,
                "nchan": ax.nchan,
                "bandwidth_mhz": inst.bandwidth_mhz,
                "channel_width_hz": ax.channel_width_hz,
                "dvdc_kms": ax.dvdc,
                "v0_kms": ax.v0,
                "ch0": ax.ch0,
                "beam_fwhm_arcsec": beam,
                "roaches": sorted({ri.roach for ri in inst.inputs if ri.bank == b}),
                "lines": lines,
            }
        )
    out: dict[str, Any] = {
        "obsnum": obs.obsnum,
        "role": obs.kind,
        "label": obs.label,
        "session": session,
        "obspgm": obs.kind,
        "obsgoal": obs.obsgoal,
        "cal_obsnum": obs.cal_obsnum,
        "receiver": inst.receiver,
        "source_name": obs.sky.source_name,
        "subobsnum": obs.subobsnum,
        "scannum": obs.scannum,
        "date": astro.utc_datetime(obs.t_start).strftime("%Y-%m-%d"),
        "t_start_unix": obs.t_start,
        "t_end_unix": obs.t_end,
        "ifproc_dt_s": 0.008,
        "blocks": blocks,
        "el_des_deg": math.degrees(obs.pointing.el_des),
        "az_des_deg": math.degrees(obs.pointing.az_des),
        "gal_angle_deg": math.degrees(obs.pointing.gal_angle),
        "obs_vel_kms": obs.obs_vel,
        "bary_vel_kms": obs.bary_vel,
        "velocity_model": obs.velocity_model,
        "tracking_beam": inst.tracking_beam,
        "ref_offset_arcsec": list(obs.ref_azel),
        "integration_time_s": obs.integration_time,
        "banks": banks,
        "params": obs.params,
    }
    if obs.kind == "Map" and obs.raster is not None:
        r = obs.raster
        out["map"] = {
            "nrows": r.nrows,
            "row_spacing_arcsec": r.dy,
            "row_length_arcsec": r.lx,
            "frame": "azel" if obs.params["coord"] == "Az" else obs.sky.coord_sys,
        }
    if obs.kind == "Bs":
        out["bs_beams"] = list(obs.params["beams"])
    out.update(extra)
    return out


def write_truth(truth: dict[str, Any], truth_dir: Path) -> Path:
    truth_dir.mkdir(parents=True, exist_ok=True)
    path = truth_dir / "truth.json"
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(truth, indent=1, sort_keys=True, default=_jsonable))
    return path


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, (set, tuple)):
        return list(obj)
    raise TypeError(f"not JSON serialisable: {type(obj)}")
