"""Counts and total-power levels from the sky model, Tsys, gains and noise (whole arrays)."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from .instrument import BIRDIE_PERIOD_S, Instrument
from .observation import Observation


def sky_ta(obs: Observation, x: NDArray, y: NDArray, bank: int) -> NDArray[np.float32]:
    """Ta* spectra (n, nchan) seen by a beam at sky-frame offsets x, y (n,) in one bank."""
    amp = obs.sky.spatial(x, y, obs.beams_arcsec[bank])  # (n, nsrc)
    if amp.shape[-1] == 0:
        return np.zeros((x.shape[0], obs.instrument.nchan), dtype=np.float32)
    return amp @ obs.profiles[bank]


def roach_counts(
    obs: Observation,
    roach: int,
    t: NDArray[np.float64],
    valid: NDArray[np.bool_],
    load: NDArray[np.float64],
    px: NDArray,
    py: NDArray,
    rng: np.random.Generator,
) -> NDArray:
    """Raw counts of a block of dumps of one roach: (ndump * 4, nchan), rows dump-major.

    ``px, py`` (ndump, 4) are the sky-frame offsets of the 4 inputs' pixels; ``valid`` marks
    dumps inside a block (slews see blank sky); ``load`` is the calibration load (K) in the beam.
    """
    inst: Instrument = obs.instrument
    nd, nchan = t.shape[0], inst.nchan
    idx = inst.roach_inputs(roach)
    temp = np.empty((nd, 4, nchan), dtype=np.float32)
    for k, i in enumerate(idx):
        ri = inst.inputs[i]
        ta = sky_ta(obs, px[:, k], py[:, k], ri.bank)
        ta *= valid[:, None]
        temp[:, k, :] = ta
        temp[:, k, :] += (inst.tsys_k[i] + load)[:, None].astype(np.float32)
    sigma = np.array(
        [inst.noise_per_sqrt * inst.faults.noisy_beams.get(inst.inputs[i].pixel, 1.0) for i in idx],
        dtype=np.float32,
    )
    z = rng.standard_normal((nd, 4, nchan), dtype=np.float32)
    z *= sigma[None, :, None]
    for bad in inst.faults.bad_intervals:  # noise x factor on some beams for a while
        if bad["obsnum"] == obs.obsnum:
            rel = t - obs.timeline.t_start
            when = (rel >= bad["t0_s"]) & (rel <= bad["t1_s"])
            for k, i in enumerate(idx):
                if inst.inputs[i].pixel in bad["beams"]:
                    z[when, k, :] *= np.float32(bad["factor"])
    z += np.float32(1.0)
    temp *= z
    temp *= inst.gain[idx][None, :, :]
    f = inst.faults
    if f.birdies:
        drift = (1.0 + 0.5 * np.sin(2 * np.pi * t / BIRDIE_PERIOD_S)).astype(np.float32)
        for b in f.birdies:
            for k, i in enumerate(idx):
                ri = inst.inputs[i]
                if ri.pixel in b["pixels"] and ri.bank in b["banks"]:
                    ch = np.asarray(b["channels"])
                    on = drift
                    if b.get("period_s"):  # intermittent: on for a duty fraction of a period
                        on = drift * ((t % b["period_s"]) < b["duty"] * b["period_s"])
                    temp[:, k, ch] += (
                        np.float32(b["amplitude_k"]) * on[:, None] * inst.gain[i, ch][None, :]
                    )
    for k, i in enumerate(idx):
        if inst.inputs[i].pixel in f.dead_beams:
            temp[:, k, :] = f.dead_value
    return temp.reshape(nd * 4, nchan)


def baseband_levels(
    obs: Observation,
    px: NDArray,
    py: NDArray,
    load: NDArray[np.float64],
    rng: np.random.Generator,
    nsub: int,
    dt: float,
) -> NDArray[np.float32]:
    """IFProc total-power levels (V) of the IFProc channels: (n, nif) or (n, nsub, nif).

    V = volts_per_k * (Tsys + load + band-mean Ta*) with radiometer noise over the full
    bandwidth and the sample time ``dt / nsub``; dead beams read 0 V.
    """
    inst = obs.instrument
    ifs = inst.ifproc_indices()
    n = px.shape[0]
    bw = inst.bandwidth_mhz * 1e6
    sig = 1.0 / np.sqrt(bw * dt / nsub)
    out = np.empty((n, nsub, len(ifs)), dtype=np.float64)
    for k, i in enumerate(ifs):
        ri = inst.inputs[i]
        amp = obs.sky.spatial(px[:, k], py[:, k], obs.beams_arcsec[ri.bank])
        means = obs.profiles[ri.bank].astype(np.float64).mean(axis=1)
        ta = amp.astype(np.float64) @ means if means.size else np.zeros(n)
        temp = inst.tsys_k[i] + load + ta
        factor = inst.faults.noisy_beams.get(ri.pixel, 1.0)
        noise = 1.0 + factor * sig * rng.standard_normal((n, nsub))
        out[:, :, k] = inst.volts_per_k[i] * temp[:, None] * noise
        if ri.pixel in inst.faults.dead_beams:
            out[:, :, k] = 0.0
    out32 = out.astype(np.float32)
    return out32[:, 0, :] if nsub == 1 else out32
