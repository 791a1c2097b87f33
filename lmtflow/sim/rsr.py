"""RSR simulator: Cal + Bs ObsNums of the four chassis, and corr_cal files, from sky lines.

Config (dict; :func:`rsr_preset` is a complete example)::

    project_id: 2015-ARSR-SIM
    start_utc: "2015-01-22T03:00:00"
    source: {name: I10565, ra_deg: 164.825, dec_deg: 24.543}
    tsys_k: [85, 115]          # chassis Tsys at 92 GHz, spread over this range
    tamb_k: 280.0
    corr_cal_id: 1401
    level_per_k: 1000.0        # normalised ACF (lag 0) per K of system temperature
    lines: [{freq_ghz: 110.514, peak_k: 0.05, fwhm_kms: 400}]   # topocentric sky frequencies
    observations: [{cal: 33550, bs: 33551, nrepeats: 24, tsamp_s: 5, label: a}]
    faults:                    # optional, per Bs ObsNum
      33551:
        bad_lags: [{chassis: 1, board: 2, lag: 100, kind: noisy}]   # noisy | spike | dead
        bad_boards: [{chassis: 3, board: 5, factor: 6}]

Physics (reference §2.5-2.6, §3.3-3.4): per chassis c, board b, channel k the pipeline Tsys is
``T(c,b,k)``; counts-temperature ``Tr = T / diffsat``; spectra are ``level * g * (...)`` with a
gain ripple g. Cal: HOT = Tr + Tamb, SKY = Tr, W = Z = SKY + d, X = Y = SKY. Bs dump pairs
(BufPos 0, 1): phase A / B powers with the source ``T_src / diffsat`` in the on-source phase
(chassis 0, 3: A at BufPos 0; chassis 1, 2: the reverse), a beam imbalance, radiometer noise
1/sqrt(31.25 MHz x TSamp/2) per phase; AccData = C^-1 (A - B)/2, RefData = C^-1 (A + B)/2.
"""

from __future__ import annotations

import copy
import time
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from lmtflow.errors import ConfigError
from lmtflow.rsr.constants import (
    CHAN_GHZ,
    NBOARD,
    NCHASSIS,
    NLAG,
    SAMPLES_PER_S,
    diffsat_factor,
    sky_freq_ghz,
    synthetic_corr_cal,
)

from . import astro, truth
from .rsr_writer import ChassisDump, write_chassis, write_corr_cal
from .simulate import SimulationResult, default_truth_dir

C_KMS = 299792.458
CAL_DUMPS = 6
CAL_D = 2000.0  # W/Z - X/Y offset of the Cal blanking dumps (ACF units)


def rsr_preset() -> dict[str, Any]:
    """Two Bs ObsNums of one source (each with its Cal); faults in the first."""
    return {
        "project_id": "2015-ARSR-SIM",
        "start_utc": "2015-01-22T03:00:00",
        "source": {"name": "I10565", "ra_deg": 164.825, "dec_deg": 24.543},
        "tsys_k": [85.0, 115.0],
        "tamb_k": 280.0,
        "corr_cal_id": 1401,
        "level_per_k": 2000.0,
        "lines": [
            {"freq_ghz": 76.20, "peak_k": 0.020, "fwhm_kms": 450.0},
            {"freq_ghz": 85.70, "peak_k": 0.015, "fwhm_kms": 400.0},
            {"freq_ghz": 88.60, "peak_k": 0.018, "fwhm_kms": 400.0},
            {"freq_ghz": 97.90, "peak_k": 0.015, "fwhm_kms": 400.0},
            {"freq_ghz": 110.514, "peak_k": 0.025, "fwhm_kms": 400.0},
        ],
        "observations": [
            {"cal": 33550, "bs": 33551, "nrepeats": 60, "tsamp_s": 30.0, "label": "a"},
            {"cal": 33552, "bs": 33553, "nrepeats": 60, "tsamp_s": 30.0, "label": "b"},
        ],
        "faults": {
            33551: {
                "bad_lags": [
                    {"chassis": 1, "board": 2, "lag": 100, "kind": "noisy"},
                    {"chassis": 0, "board": 4, "lag": 150, "kind": "spike"},
                    {"chassis": 2, "board": 0, "lag": 77, "kind": "dead"},
                ],
                "bad_boards": [{"chassis": 3, "board": 5, "factor": 6.0}],
            }
        },
    }


def line_model(freq_ghz: NDArray, lines: list[dict[str, Any]]) -> NDArray[np.float64]:
    """Sum of Gaussian lines (K) at the sky frequencies ``freq_ghz``."""
    out = np.zeros(np.shape(freq_ghz))
    for ln in lines:
        f0 = float(ln["freq_ghz"])
        fwhm = float(ln["fwhm_kms"]) / C_KMS * f0
        out += float(ln["peak_k"]) * np.exp(-4 * np.log(2) * ((freq_ghz - f0) / fwhm) ** 2)
    return out


def tsys_model(tsys_range: list[float], seed_rng: np.random.Generator) -> NDArray[np.float64]:
    """(4, 6, 256) pipeline Tsys: one level per chassis, rising towards the band edges."""
    f = sky_freq_ghz()
    levels = np.linspace(tsys_range[0], tsys_range[1], NCHASSIS)
    shape = 1.0 + 0.25 * ((f - 92.0) / 20.0) ** 2 + 0.03 * np.sin(f / 0.7)
    wobble = 1.0 + 0.03 * seed_rng.standard_normal((NCHASSIS, NBOARD, 1))
    return levels[:, None, None] * shape[None] * wobble


def _gain(rng: np.random.Generator) -> NDArray[np.float64]:
    """(4, 6, 256) relative gain with a ripple (cancels in every ratio)."""
    k = np.arange(NLAG)
    phase = rng.uniform(0, 2 * np.pi, (NCHASSIS, NBOARD, 1))
    level = rng.uniform(0.8, 1.2, (NCHASSIS, NBOARD, 1))
    return level * (1.0 + 0.15 * np.sin(2 * np.pi * k / 90.0 + phase))


def _rng(seed: int, *key: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=key)))


def _samples(rng: np.random.Generator, ndump: int, tsamp: float) -> NDArray[np.float64]:
    return np.round(SAMPLES_PER_S * tsamp * rng.uniform(0.97, 0.99, (ndump, NBOARD)))


def _cal_dumps(
    level: NDArray, tr: NDArray, tamb: float, tsamp: float, cinv: NDArray, rng: np.random.Generator
) -> NDArray[np.float64]:
    """(6, 6, 256) normalised Cal ACFs HOT, SKY, W, X, Y, Z of one chassis."""
    sigma = 1.0 / np.sqrt(CHAN_GHZ * 1e9 * tsamp)
    hot = level * (tr + tamb) * (1 + sigma * rng.standard_normal(tr.shape))
    sky = level * tr * (1 + sigma * rng.standard_normal(tr.shape))
    acf_hot = hot @ cinv.T
    acf_sky = sky @ cinv.T
    w = acf_sky + CAL_D
    return np.stack([acf_hot, acf_sky, w, acf_sky, acf_sky, w])


def _bs_dumps(
    chassis: int,
    level: NDArray,
    tr: NDArray,
    src: NDArray,
    nrepeats: int,
    tsamp: float,
    cinv: NDArray,
    rng: np.random.Generator,
) -> tuple[NDArray, NDArray, NDArray]:
    """Normalised (AccData, RefData) (ndump, 6, 256) and BufPos of one chassis."""
    ndump = 2 * nrepeats
    bufpos = np.tile([0, 1], nrepeats).astype(np.int32)
    src_in_a = (bufpos == 0) != (chassis in (1, 2))
    sigma = 1.0 / np.sqrt(CHAN_GHZ * 1e9 * tsamp / 2)
    imbalance = 1e-3 * (1.0 + 0.5 * np.linspace(-1, 1, NLAG))
    shape = (ndump, NBOARD, NLAG)
    on = np.where(src_in_a[:, None, None], src[None], 0.0)
    off = np.where(src_in_a[:, None, None], 0.0, src[None])
    pa = level * (tr * (1 + imbalance) + on) * (1 + sigma * rng.standard_normal(shape))
    pb = level * (tr + off) * (1 + sigma * rng.standard_normal(shape))
    acc = (0.5 * (pa - pb)) @ cinv.T
    ref = (0.5 * (pa + pb)) @ cinv.T
    return acc, ref, bufpos


def _apply_faults(acc: NDArray, chassis: int, faults: dict, rng: np.random.Generator) -> None:
    """Bad lags and bad boards, in place, on one chassis' normalised AccData."""
    noise = np.median(acc.std(axis=0), axis=-1)  # (6,) typical per-lag dump-to-dump rms
    for bad in faults.get("bad_lags", []):
        if int(bad["chassis"]) != chassis:
            continue
        b, lag, kind = int(bad["board"]), int(bad["lag"]), bad.get("kind", "noisy")
        if kind == "dead":
            acc[:, b, lag] = 0.0
        elif kind in ("noisy", "spike"):
            factor = {"noisy": 30.0, "spike": 4.0}[kind]
            acc[:, b, lag] += factor * noise[b] * rng.standard_normal(acc.shape[0])
        else:
            raise ConfigError(f"RSR fault kind {kind!r}: use noisy, spike or dead")
    for bad in faults.get("bad_boards", []):
        if int(bad["chassis"]) == chassis:
            b = int(bad["board"])
            per_lag = float(bad.get("factor", 6.0)) * noise[b] * rng.uniform(0.2, 1.8, NLAG)
            acc[:, b, :] += per_lag * rng.standard_normal((acc.shape[0], NLAG))


def simulate_rsr(
    config: dict[str, Any],
    out_dir: str | Path,
    seed: int = 0,
    truth_dir: str | Path | None = None,
    name: str = "rsr",
) -> SimulationResult:
    """Write the chassis files of every Cal and Bs ObsNum, corr_cal files and the truth."""
    t_start = time.perf_counter()
    cfg = copy.deepcopy(config)
    out = Path(out_dir).resolve()
    tdir = Path(truth_dir).resolve() if truth_dir else default_truth_dir(out)
    out.mkdir(parents=True, exist_ok=True)
    files: list[Path] = []
    cc = synthetic_corr_cal()
    cinv = np.linalg.inv(cc)
    ccid = int(cfg.get("corr_cal_id", 1401))
    for c in range(NCHASSIS):
        files.append(write_corr_cal(out, ccid, c, cc))
    freq = sky_freq_ghz()
    tsys = tsys_model(cfg.get("tsys_k", [85.0, 115.0]), _rng(seed, 0))
    diffsat = np.stack([diffsat_factor(c, freq) for c in range(NCHASSIS)])
    tr = tsys / diffsat
    gain = _gain(_rng(seed, 1))
    level = float(cfg.get("level_per_k", 1000.0)) * gain
    lines = cfg.get("lines", [])
    src = line_model(freq, lines)  # (6, 256)
    tamb = float(cfg.get("tamb_k", 280.0))
    t = astro.parse_utc(cfg.get("start_utc", "2015-01-22T03:00:00"))
    source = cfg.get("source", {})
    faults_all = {int(k): v for k, v in (cfg.get("faults") or {}).items()}
    obs_truth: dict[str, Any] = {}
    obsnums: dict[str, list[int]] = {"Cal": [], "Bs": []}
    labels: dict[str, int] = {}
    common = {
        "corr_cal_id": ccid,
        "project_id": cfg.get("project_id", "2015-ARSR-SIM"),
        "source": source.get("name", "RSRSIM"),
        "ra_deg": float(source.get("ra_deg", 164.825)),
        "dec_deg": float(source.get("dec_deg", 24.543)),
        "tamb": tamb,
        "tau": 0.12,
    }
    for o in cfg["observations"]:
        cal, bs = int(o["cal"]), int(o["bs"])
        nrep, tsamp = int(o.get("nrepeats", 24)), float(o.get("tsamp_s", 5.0))
        faults = faults_all.get(bs, {})
        for c in range(NCHASSIS):
            rng = _rng(seed, cal, c)
            cal_acf = _cal_dumps(level[c], tr[c], tamb, tsamp, cinv, rng)
            ns = _samples(rng, CAL_DUMPS, tsamp)
            d = ChassisDump(
                obsnum=cal, chassis=c, obspgm="Cal", cal_obsnum=cal, t0=t, tsamp=tsamp,
                nrepeats=1, acc=cal_acf * ns[..., None], ref=cal_acf * ns[..., None],
                samples=ns, bufpos=np.zeros(CAL_DUMPS, np.int32), **common,
            )  # fmt: skip
            files.append(write_chassis(out, d))
        t_bs = t + CAL_DUMPS * tsamp + 30.0
        for c in range(NCHASSIS):
            rng = _rng(seed, bs, c)
            acc, ref, bufpos = _bs_dumps(c, 1.02 * level[c], tr[c], src / diffsat[c], nrep,
                                         tsamp, cinv, rng)  # fmt: skip
            _apply_faults(acc, c, faults, rng)
            ns = _samples(rng, 2 * nrep, tsamp)
            d = ChassisDump(
                obsnum=bs, chassis=c, obspgm="Bs", cal_obsnum=cal, t0=t_bs, tsamp=tsamp,
                nrepeats=nrep, acc=acc * ns[..., None], ref=ref * ns[..., None], samples=ns,
                bufpos=bufpos, **common,
            )  # fmt: skip
            files.append(write_chassis(out, d))
        obsnums["Cal"].append(cal)
        obsnums["Bs"].append(bs)
        if "label" in o:
            labels[str(o["label"])] = bs
        obs_truth[str(bs)] = {
            "kind": "Bs", "cal_obsnum": cal, "nrepeats": nrep, "tsamp_s": tsamp,
            "start_unix": t_bs, "faults": faults,
        }  # fmt: skip
        obs_truth[str(cal)] = {"kind": "Cal", "start_unix": t}
        t = t_bs + 2 * nrep * tsamp + 60.0
    tr_json = {
        "receiver": "RSR",
        "preset": name,
        "seed": seed,
        "source": source,
        "lines": lines,
        "tamb_k": tamb,
        "corr_cal_id": ccid,
        "chan_ghz": CHAN_GHZ,
        "tsys_k": tsys.tolist(),
        "observations": obs_truth,
        "sessions": [],
    }
    tdir.mkdir(parents=True, exist_ok=True)
    tpath = truth.write_truth(tr_json, tdir)
    return SimulationResult(
        data_lmt=out, truth_dir=tdir, truth_path=tpath, truth=tr_json, obsnums=obsnums,
        labels=labels, files=files, nbytes=sum(f.stat().st_size for f in files),
        seconds=time.perf_counter() - t_start,
    )  # fmt: skip
