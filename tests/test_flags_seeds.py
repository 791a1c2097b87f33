"""Automatic flags against the simulator's truth over 5 seeds (issue 17, science criteria).

The detectors run at the library level (calibrate + baseline of the faults map, then
:func:`lmtflow.flags.auto.detect` and :func:`detect_spikes`), not through 5 workflow runs: the
faults preset's map (dead beam 3, noisy beam 5 x3, birdies, x1000 spikes, a missing roach) plus
a bad interval on beams 6 and 7, and the same map without faults and with a brighter line.
Criteria: the dead and the noisy beam and no other; >= 95% of birdie channels with <= 1 false
channel per 2048; >= 90% of spikes with < 0.1% false spectra; bad intervals within 2 dumps; on
clean data < 0.1% of dumps flagged; the line's channels never flagged.
"""

from __future__ import annotations

import numpy as np
import pytest
from astropy.wcs import WCS

import lmtflow
from lmtflow.flags.auto import detect, detect_spikes
from lmtflow.flags.resolve import RowMeta
from lmtflow.io.sdfits_reader import SDFITSReader
from lmtflow.kernels import Kernel, smoothed_beam
from lmtflow.qa.maps import radiometer_plane, read_cube
from lmtflow.qa.stats import nan_std
from lmtflow.sim import simulate
from lmtflow.sim.presets import PRESETS

SEEDS = (11, 12, 13, 14, 15)
MAP = 90002
INTERVAL = {"obsnum": MAP, "beams": [6, 7], "t0_s": 12.0, "t1_s": 15.0, "factor": 4.0}
AUTO = {k: {"policy": "apply"} for k in ("bad_beams", "birdies", "bad_time", "spikes")}


def _config(faults: bool) -> dict:
    cfg = PRESETS["faults"]()
    sess = cfg["sessions"][0]
    sess["observations"] = sess["observations"][:2]  # Cal + Map
    if faults:
        sess["faults"]["bad_intervals"] = [INTERVAL]
        sess["faults"]["birdies"].append(  # intermittent, on a subset of beams
            {"channels": [800], "amplitude_k": 3.0, "pixels": [1, 2, 4], "period_s": 6.0,
             "duty": 0.5})  # fmt: skip
    else:
        del sess["faults"]
        sess["sky"]["sources"][0]["peak_k"] = 30.0  # a bright line
    return cfg


def _reduce(tmp, cfg: dict, seed: int) -> dict:
    sim = simulate(cfg, tmp / "data_lmt", seed=seed)
    obs = lmtflow.load(MAP, data_lmt=sim.data_lmt, work=tmp / "work")
    # as the workflow does: spikes found in the raw counts and applied at calibration (a spike
    # in a REF dump would reach every ON dump it calibrates), then the other detectors
    spikes = detect_spikes(obs.path, AUTO)
    for r in spikes["rules"]:
        if r["policy"] == "apply":
            obs.flag(r["reason"], **{k: r[k] for k in ("beam", "pol", "dump", "chan")})
    base = obs.calibrate().baseline()
    params = {**base.params, "pix_list": list(range(16)), "rms_cut": -4}
    found = detect(base.path, AUTO, params, raw_sdfits=obs.path)
    with SDFITSReader(obs.path) as r:
        per = r.rows_per_dump
        raw = {"utc": r.column("UTCTIME"), "beam": r.column("FDNUM"), "dump": r.column("INTNUM"),
               "per": per, "nrows": r.nrows}  # fmt: skip
    with SDFITSReader(base.path) as r:
        on = r.column("INTNUM")[:: r.rows_per_dump]
        beams = set(r.column("FDNUM", 0, r.rows_per_dump).tolist())  # 3 dead, 8-11 missing
    return {"sim": sim, "obs": obs, "found": found, "spikes": spikes, "raw": raw, "on": on,
            "beams": beams,
            "base": base, "params": params}  # fmt: skip


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("flag_seeds")
    return {
        "faults": [_reduce(root / f"f{s}", _config(True), s) for s in SEEDS],
        "clean": [_reduce(root / f"c{s}", _config(False), s) for s in SEEDS[:2]],
    }


def _by(found: dict, detector: str) -> list[dict]:
    return [r for r in found["rules"] if r["id"].split("/")[3] == detector]


def _channels(rule: dict) -> set[int]:
    return {c for lo, hi in rule["chan"] for c in range(lo, hi + 1)}


def test_dead_and_noisy_beam_found_and_no_other(runs):
    """Beam 3 (dead: constant counts, so no Tsys) is dropped by calibration, which names it
    in BADTSYBM; beam 5 (x3 noise) is the one noisy beam the detector finds."""
    for run in runs["faults"]:
        beams = _by(run["found"], "bad_beams")
        assert [(r["beam"], r["pol"], r["reason"], r["policy"]) for r in beams] == [
            ([[5, 5]], [[0, 0]], "noisy_beam", "apply")], [r["id"] for r in beams]  # fmt: skip
        assert 2.5 < beams[0]["metric"]["ratio"] < 3.5  # x3 the radiometer noise
        assert str(run["base"].header.get("BADTSYBM")) == "3"


def test_birdie_channels_found_with_few_false(runs):
    hits = total = false = 0
    for run in runs["faults"]:
        truth: dict[int, set[int]] = {}  # channel -> beams of the products it is injected in
        for b in run["sim"].truth["sessions"][0]["faults"]["birdies"]:
            for c in b["channels"]:
                truth.setdefault(c, set()).update(set(b["pixels"]) & run["beams"])
        rules = _by(run["found"], "birdies")
        assert all(r["policy"] == "apply" for r in rules)
        flagged: dict[int, set[int]] = {}
        for r in rules:
            for c in _channels(r):
                flagged.setdefault(c, set()).update(b for b, _ in r["beam"])
        hits += sum(truth[c] <= flagged.get(c, set()) for c in truth)
        total += len(truth)
        centres = {r["chan"][0][0] + 1 for r in rules}  # grown by 1 each side
        false += len({c for c in centres if min(abs(c - t) for t in truth) > 1})
    print(f"birdies: {hits}/{total} channels found, {false} false over {len(SEEDS)} banks")
    assert hits >= 0.95 * total
    assert false <= len(SEEDS)  # <= 1 false channel per 2048-channel bank


def _raw_dump(run: dict, spike: dict) -> int | None:
    """The raw SDFITS dump (INTNUM) of an injected spike, or None when its roach dump is
    outside the ObsNum's kept dumps (lead-in, tail, the margins of a block)."""
    raw = run["raw"]
    t = spike["t_unix"]
    rows = np.flatnonzero((raw["beam"] == spike["pixel"]) & (np.abs(raw["utc"] - t) < 0.03))
    return int(raw["dump"][rows[0]]) if rows.size else None


def test_spikes_found_with_few_false_spectra(runs):
    found_n = injected = false = spectra = 0
    for run in runs["faults"]:
        obs = run["sim"].obs(MAP)
        rules = run["spikes"]["rules"]
        assert run["spikes"]["policy"] == {"spikes": "apply"}
        got = {(r["dump"][0][0], r["beam"][0][0], r["chan"][0][0]) for r in rules}
        truth = set()
        for s in obs["spikes"]:
            d = _raw_dump(run, s)
            if d is not None and s["pixel"] != 3:  # x1000 of a dead beam's 0 is 0
                truth.add((d, s["pixel"], s["channel"]))
        found_n += len(truth & got)
        injected += len(truth)
        false += len({(d, b) for d, b, _ in got} - {(d, b) for d, b, _ in truth})
        spectra += run["raw"]["nrows"]
    print(f"spikes: {found_n}/{injected} found, {false} false spectra of {spectra}")
    assert injected >= 30 and found_n >= 0.9 * injected
    assert false < 1e-3 * spectra


def test_bad_intervals_within_two_dumps(runs):
    for run in runs["faults"]:
        raw = run["raw"]
        per = raw["per"]
        utc, dumps = raw["utc"][::per], raw["dump"][::per]
        rel = utc - utc[0]
        inside = [int(d) for d, t in zip(dumps, rel, strict=True)
                  if INTERVAL["t0_s"] <= t <= INTERVAL["t1_s"] and d in set(run["on"])]  # fmt: skip
        rules = _by(run["found"], "bad_time")
        assert sorted(r["beam"][0][0] for r in rules) == [6, 7], [r["id"] for r in rules]
        for r in rules:
            d0, d1 = r["dump"][0]
            assert abs(d0 - inside[0]) <= 2 and abs(d1 - inside[-1]) <= 2, (r["id"], inside)


def test_clean_data_nearly_unflagged_and_line_never(runs):
    for run in runs["clean"]:
        rules = run["found"]["rules"] + run["spikes"]["rules"]
        ndump, nfeed = run["on"].size, 16
        dumps = sum(r["dump"][0][1] - r["dump"][0][0] + 1 for r in rules if r.get("dump"))
        assert not _by(run["found"], "bad_beams") and not _by(run["found"], "birdies")
        assert dumps < 1e-3 * ndump * nfeed, [r["id"] for r in rules]
        line = _line_channels(run)
        assert not any(_channels(r) & line for r in rules if r.get("chan")), line
    for run in runs["faults"]:  # the line survives the faults' flags too
        line = _line_channels(run)
        rules = run["found"]["rules"] + run["spikes"]["rules"]
        assert not any(_channels(r) & line for r in _by(run["found"], "birdies")), line
        assert len(rules) > 0


def _line_channels(run: dict) -> set[int]:
    """Original channels within the core line's FWHM (vlsr -20 km/s, 28 km/s wide)."""
    with SDFITSReader(run["base"].path) as r:
        meta = RowMeta.from_sdfits(r)
    assert meta.vlsr_kms is not None
    line = meta.chan[(meta.vlsr_kms >= -34.0) & (meta.vlsr_kms <= -6.0)]
    assert line.size > 10
    return set(line.tolist())


def _truth_model(run: dict, data, p: dict) -> np.ndarray:
    """The simulator's sources as the cube should hold them: each line's observed peak and
    width, smoothed by the telescope beam and the gridding kernel."""
    kernel = Kernel.from_otf_select(p["otf_select"], p["otf_a"], p["otf_b"], p["otf_c"])
    lines = {ln["source"]: ln for ln in run["sim"].obs(MAP)["banks"][0]["lines"]}
    wcs = WCS(data.header).celestial
    jj, ii = np.mgrid[0 : data.cube.shape[1], 0 : data.cube.shape[2]]
    r_table = np.linspace(0, 200, 800)
    model = np.zeros(data.cube.shape, np.float64)
    for src in run["sim"].session(MAP)["sky"]["sources"]:
        ln = lines[src["name"]]
        resp = smoothed_beam(r_table, ln["observed_fwhm_arcsec"], p["resolution"], kernel,
                             p["rmax"], p["cell"])  # fmt: skip
        px, py = wcs.world_to_pixel_values(src["lon_deg"], src["lat_deg"])
        spatial = np.interp(np.hypot(ii - px, jj - py) * p["cell"], r_table, resp, right=0.0)
        dv = (data.velocity - ln["vlsr_kms"]) / ln["fwhm_kms"]
        spectral = np.where(np.abs(dv) < 1.5, np.exp(-4 * np.log(2) * dv**2), 0.0)
        model += ln["observed_peak_k"] * spectral[:, None, None] * spatial[None]
    return model


def flux_scale(cube: np.ndarray, model: np.ndarray, area: np.ndarray, free: np.ndarray
               ) -> tuple[float, float]:  # fmt: skip
    """The source flux in the cube relative to the truth ``model`` (the least-squares scale
    of the model over ``area``: a matched filter, far less noisy than a box sum) and its
    noise: the scatter of the same filter shifted to line-free channels (the cube's noise
    with its real correlations between pixels and channels)."""
    c = np.where(np.isfinite(cube) & area[None], cube, 0.0)
    m = np.where(area[None], model, 0.0)
    k = np.flatnonzero(m.any(axis=(1, 2)))
    norm = float((m[k] * m[k]).sum())
    scale = float((c[k] * m[k]).sum()) / norm
    shifted = [float((c[k + d] * m[k]).sum()) / norm for d in range(-k[0], c.shape[0] - k[-1])
               if free[k + d].all()]  # fmt: skip
    return scale, float(np.std(shifted))


@pytest.mark.parametrize("seed", SEEDS[:3])
def test_flagged_map_noise_even_and_flux_true(runs, seed):
    """Each seed's map with every applied auto flag (as rules: spikes and bad time at
    calibration, birdies at the baseline, the noisy beam at gridding), gridded with equal
    weights (so the x3 beam would dominate the noise where it passed): measured noise over
    the radiometer expectation is the same (10%) where beam 5 contributed most as elsewhere,
    and the source flux matches the simulator's truth (2%), measured as the least-squares
    scale of the truth model (noise 0.4-0.7% on the faults preset's 10 K core; on 5 seeds
    0.993, 0.999, 0.997, 1.000, 1.004; a cube scaled by 0.97 fails on each of the 3 seeds
    tested). With a 5 K core the noise was 0.9-1.35%: too close to a 2% bias to tell it. A box
    sum over the line has a noise of 2-3% (one seed gave 0.966 of the truth, the same map
    without faults 0.955): a 2% test on it passes or fails by chance."""
    run = runs["faults"][SEEDS.index(seed)]
    obs = run["obs"]
    for r in run["found"]["rules"]:
        if r["policy"] == "apply":
            obs.flag(r["reason"], **{k: r[k] for k in ("beam", "pol", "dump", "chan") if k in r})
    base = obs.calibrate().baseline()
    cube = base.grid(noise_sigma=0)
    data = read_cube(cube.path, cube.weight_path)
    p = cube.params
    beams = sorted(run["beams"])
    without5 = radiometer_plane(base.path, {**p, "pix_list": [b for b in beams if b != 5]},
                                data.geometry)  # fmt: skip
    with5 = radiometer_plane(base.path, {**p, "pix_list": beams}, data.geometry)
    free = np.ones(data.velocity.size, bool)
    for ln in run["sim"].obs(MAP)["banks"][0]["lines"]:
        free &= np.abs(data.velocity - ln["vlsr_kms"]) > 2 * ln["fwhm_kms"]
    measured = nan_std(data.cube[free], axis=0)  # NaN outside the coverage
    ratio = measured / without5
    covered = np.isfinite(ratio) & (data.weight > 0.5 * np.nanmedian(data.weight[data.weight > 0]))
    gain = without5 / with5  # how much beam 5 lowered the expected noise: where it contributed
    dominated = covered & (gain > np.nanpercentile(gain[covered], 90))
    elsewhere = covered & (gain < np.nanpercentile(gain[covered], 50))
    a, b = np.median(ratio[dominated]), np.median(ratio[elsewhere])
    print(f"seed {seed}: noise/radiometer {a:.3f} where beam 5 contributed most, {b:.3f} else")
    assert dominated.sum() > 20 and abs(a / b - 1) < 0.10
    scale, sigma = flux_scale(data.cube, _truth_model(run, data, p), covered, free)
    print(f"seed {seed}: flux {scale:.4f} of truth (noise {sigma:.4f})")
    assert sigma < 0.012  # the measurement can tell a 2% bias (measured 0.0056-0.0067)
    assert scale == pytest.approx(1.0, abs=0.02)
