"""Ps, Bs and 1MM spectra and combinations through the real workflow, against the truth."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import unquote, urlparse

import numpy as np
import pytest
from astropy.io import fits
from scipy.optimize import curve_fit

from lmtflow.calibration import pair_refs
from lmtflow.combination import combo_name, configured_combinations
from lmtflow.io.sdfits_reader import SDFITSReader
from lmtflow.io.spectrum_fits import velocity_axis
from lmtflow.pipeline.combine_spectra import combine_spectra
from lmtflow.qa.registry import THUMBNAIL, plots_for
from lmtflow.qa.stats import nan_std
from lmtflow.sim import simulate

from .conftest import make_tiny_config
from .test_pages import check_resolves, load_in_chromium
from .workflow_helpers import copy_run, run, write_config


def _gauss(v, a, v0, fwhm):
    return a * np.exp(-4 * np.log(2) * ((v - v0) / fwhm) ** 2)


def _spectrum(path):
    with fits.open(path) as hdul:
        data = hdul[0].data.astype(float)
        return velocity_axis(hdul[0].header, data.size), data, hdul[0].header


def _on_ref_counts(raw_path):
    """Dumps in each ON block and its paired REF block (Ps/Bs pair by index)."""
    with SDFITSReader(raw_path) as r:
        bufpos = r.column("BUFPOS")[:: r.rows_per_dump]
    p = pair_refs(bufpos)
    n_on = p.on_runs[:, 1] - p.on_runs[:, 0] + 1
    n_ref = p.ref_runs[:, 1] - p.ref_runs[:, 0] + 1
    return n_on, n_ref


def radiometer_sigma(tsys, n_on, n_ref, channel_hz, dump_s):
    """Noise of a block-averaged (ON_i - REF_i)/REF_i spectrum of one beam and pol."""
    per_block = tsys * np.sqrt(1 / n_on + 1 / n_ref) / np.sqrt(channel_hz * dump_s)
    return np.sqrt(np.sum(per_block**2)) / len(per_block)


def _line_free(v, lines, bank_lines_factor=3.0):
    free = np.ones(v.size, bool)
    for ln in lines:
        free &= np.abs(v - ln["vlsr_kms"]) > bank_lines_factor * ln["fwhm_kms"]
    return free


@pytest.fixture(scope="module")
def spectra_run(small_sim, spectra_base, tmp_path_factory):
    """The Ps, Bs and 1MM Ps ObsNums reduced by the real workflow (Ps and Bs in the session's
    ``spectra_base``, copied here; the 1MM Ps added)."""
    work = copy_run(spectra_base["root"], tmp_path_factory.mktemp("spectra"))
    labels = ["ps", "bs", "ps_1mm"]
    _, ran = run(small_sim.data_lmt, work, [small_sim.labels[k] for k in labels])
    # Ps and Bs are not redone: only the 1MM Ps and its Cal ran (two banks each)
    assert ran["spectrum"] == 2 and ran["ingest"] == 4 and ran["tsys"] == 2, dict(ran)
    out = {}
    for label in labels:
        obsnum = small_sim.labels[label]
        obsdir = next((work / "work").glob(f"*/{obsnum}"))
        out[label] = {"dir": obsdir, "obsnum": obsnum}
    return out


@pytest.mark.parametrize(
    ("label", "bank", "source"),
    [("ps", 0, "core"), ("bs", 0, "core"), ("ps_1mm", 0, "co21"), ("ps_1mm", 1, "13co21")],
)
def test_spectrum_recovers_line_and_radiometer_noise(small_sim, spectra_run, label, bank, source):
    info = spectra_run[label]
    obsnum = info["obsnum"]
    v, data, header = _spectrum(next(info["dir"].glob(f"srdp/*_{obsnum}__{bank}.spec.fits")))
    truth = small_sim.obs(label)["banks"][bank]
    line = next(ln for ln in truth["lines"] if ln["source"] == source)
    near = np.abs(v - line["vlsr_kms"]) < 3 * line["fwhm_kms"]
    start = [line["observed_peak_k"], line["vlsr_kms"], line["fwhm_kms"]]
    (a, v0, fw), _ = curve_fit(_gauss, v[near], data[near], p0=start)
    assert a == pytest.approx(line["observed_peak_k"], rel=0.05)
    assert abs(v0 - line["vlsr_kms"]) < 0.5 * abs(truth["dvdc_kms"])
    assert fw == pytest.approx(line["fwhm_kms"], rel=0.10)

    measured = np.std(data[_line_free(v, truth["lines"])])
    assert measured == pytest.approx(_truth_sigma(small_sim, info, label, bank), rel=0.10)


def _truth_sigma(small_sim, info, label, bank):
    """Radiometer noise of the final spectrum from the simulator's Tsys and the ON/REF dumps."""
    truth = small_sim.obs(label)["banks"][bank]
    session = small_sim.session(label)
    dump_s = session["instrument"]["dump_time_s"]
    n_on, n_ref = _on_ref_counts(info["dir"] / f"{info['obsnum']}__{bank}.raw.sdfits")
    tsys = {b["pixel"]: b["tsys_k"] for b in session["beams"] if b["bank"] == bank}
    sig = {p: radiometer_sigma(t, n_on, n_ref, truth["channel_width_hz"], dump_s)
           for p, t in tsys.items()}  # fmt: skip
    if label == "bs":
        beam_on, beam_off = small_sim.obs(label)["params"]["beams"]
        return 0.5 * np.hypot(sig[beam_on], sig[beam_off])
    if label == "ps":
        return sig[session["instrument"]["tracking_beam"]]
    return 1 / np.sqrt(sum(1 / s**2 for s in sig.values()))  # 1MM: two pols, 1/sigma^2


@pytest.mark.parametrize(
    ("label", "bank", "source"), [("ps", 0, "core"), ("bs", 0, "core"), ("ps_1mm", 1, "13co21")]
)
def test_spectrum_qa_numbers_match_truth(small_sim, spectra_run, label, bank, source):
    info = spectra_run[label]
    qa = json.loads((info["dir"] / "qa" / f"{info['obsnum']}__{bank}.qa.json").read_text())
    spec, expected = qa["spectrum"], 1e3 * _truth_sigma(small_sim, info, label, bank)
    assert qa["kind"] == "spectrum"
    assert spec["radiometer_mK"] == pytest.approx(expected, rel=0.15)
    assert spec["rms_mK"] == pytest.approx(expected, rel=0.15)
    assert spec["rms_radiometer_ratio"] == pytest.approx(1.0, abs=0.15)
    line = next(ln for ln in small_sim.obs(label)["banks"][bank]["lines"] if ln["source"] == source)
    assert abs(spec["peak_velocity_kms"] - line["vlsr_kms"]) < line["fwhm_kms"]
    assert qa["spectra"]["used"] > 0 and len(spec["parts"]) == len(qa["params"]["spectrum"][
        "pix_list"]) * (2 if label == "ps_1mm" else 1)  # fmt: skip


def test_spectrum_page_and_index_load_in_chromium(spectra_run, tmp_path):
    info = spectra_run["bs"]
    page = info["dir"] / "README.html"
    seen = load_in_chromium(page, tmp_path)
    check_resolves(seen, page)
    for label in ("RMS / radiometer", "Radiometer RMS (mK)", "Spectra used / rejected"):
        assert label in seen["text"], label
    shown = {Path(unquote(urlparse(src).path)).name for src, _, _ in seen["images"]}
    for plot in plots_for("spectrum"):
        assert f"{info['obsnum']}__0.{plot.name}.png" in shown, plot.name
    names = {Path(unquote(urlparse(h).path)).name for h in seen["links"]}
    assert any(n.endswith(".spec.fits") for n in names) and any(n.endswith(".spec.txt")
                                                                for n in names)  # fmt: skip
    index = info["dir"].parent / "index.html"
    seen = load_in_chromium(index, tmp_path)
    check_resolves(seen, index)
    assert any(h.endswith(f"/{info['obsnum']}/README.html") for h in seen["links"])
    assert any(src.endswith(f"{info['obsnum']}__0.final.png") for src, _, _ in seen["images"])


def test_ascii_table_matches_fits(spectra_run):
    info = spectra_run["bs"]
    v, data, header = _spectrum(next(info["dir"].glob("srdp/*__0.spec.fits")))
    table = np.loadtxt(next(info["dir"].glob("srdp/*__0.spec.txt")))
    np.testing.assert_allclose(table[:, 0], v, atol=1e-5)
    np.testing.assert_allclose(table[:, 1], data, atol=1e-5)
    assert table.shape[1] == 3 + 2  # velocity, Ta*, Tsys, beams 10 and 8
    assert header["BEAMS"] == "10,8" and header["NBLOCK"] == 2
    with fits.open(next(info["dir"].glob("srdp/*__0.spec.fits"))) as hdul:
        assert len(hdul["BLOCKS"].data) == 2  # per-block spectra


def _ps_series_config(n):
    cfg = make_tiny_config()
    obs = cfg["sessions"][0]["observations"]
    ps = obs[1]
    ps["params"].update(nrepeats=2, on_s=2.0, ref_s=2.0)
    obs[:] = [obs[0]] + [{**ps, "obsnum": 1002 + k, "label": f"ps{k}"} for k in range(n)]
    return cfg


@pytest.fixture(scope="module")
def ps_series(tmp_path_factory):
    root = tmp_path_factory.mktemp("ps_series")
    return simulate(_ps_series_config(4), root / "data_lmt", seed=11), root


@pytest.fixture(scope="module")
def ps_combo(ps_series):
    """Three of the Ps ObsNums combined by the real workflow, then all four (second run's jobs)."""
    sim, root = ps_series
    nums = [sim.labels[f"ps{k}"] for k in range(4)]
    work = root / "run"
    three = write_config(root / "three.yaml", sources={"TinySrc": {"combinations": [
        {"obsnums": [nums[2], nums[0], nums[1]]}]}})  # fmt: skip
    run(sim.data_lmt, work, [], configfile=three)
    four = write_config(root / "four.yaml", sources={"TinySrc": {"combinations": [
        {"obsnums": [nums[3], nums[1], nums[0], nums[2]]}]}})  # fmt: skip
    _, ran = run(sim.data_lmt, work, [], configfile=four)
    return {"nums": nums, "work": work, "ran": ran,
            "dir": next((work / "work").glob(f"*/{combo_name(nums)}"))}  # fmt: skip


def _series_sigma(sim, work, nums):
    """Radiometer noise (K) of each Ps ObsNum of the series (truth Tsys, ON/REF dumps)."""
    truth, session = sim.obs("ps0")["banks"][0], sim.session("ps0")
    tsys = {b["pixel"]: b["tsys_k"] for b in session["beams"]}[
        session["instrument"]["tracking_beam"]
    ]
    out = []
    for n in nums:
        n_on, n_ref = _on_ref_counts(next((work / "work").glob(f"*/{n}")) / f"{n}__0.raw.sdfits")
        out.append(radiometer_sigma(tsys, n_on, n_ref, truth["channel_width_hz"],
                                    session["instrument"]["dump_time_s"]))  # fmt: skip
    return np.array(out)


def test_combination_noise_follows_radiometer_and_reruns_only_new(ps_series, ps_combo):
    sim, root = ps_series
    nums, work, ran = ps_combo["nums"], ps_combo["work"], ps_combo["ran"]
    assert ran["ingest"] == 1 and ran["calibrate"] == 1 and ran["spectrum"] == 1, dict(ran)
    assert ran["spectrum_combination"] == 1 and ran.get("tsys", 0) == 0, dict(ran)

    combo_dir = next((work / "work").glob(f"*/{combo_name(nums)}"))
    v, combined, header = _spectrum(next(combo_dir.glob("*.spec.fits")))
    assert header["OBSNUMS"] == ",".join(map(str, sorted(nums)))
    free = _line_free(v, sim.obs("ps0")["banks"][0]["lines"])
    singles = [np.std(_spectrum(next((work / "work").glob(f"*/{n}/srdp/*.spec.fits")))[1][free])
               for n in nums]  # fmt: skip
    expected_combined = 1 / np.sqrt(np.sum(1 / np.square(_series_sigma(sim, work, nums))))
    assert np.std(combined[free]) == pytest.approx(expected_combined, rel=0.10)
    assert np.std(combined[free]) < 0.6 * np.mean(singles)  # four ObsNums: about 1/2


def test_combination_is_order_independent(ps_series, ps_combo, tmp_path):
    sim, root = ps_series
    spectra = sorted((root / "run" / "work").glob("*/100[2-5]/srdp/*.spec.fits"))
    params = {"b_regions": [[-300, -100], [100, 300]]}
    a = combine_spectra(spectra, tmp_path / "a.fits", tmp_path / "a.txt", params)[0]
    b = combine_spectra(spectra[::-1], tmp_path / "b.fits", tmp_path / "b.txt", params)[0]
    np.testing.assert_array_equal(fits.getdata(a), fits.getdata(b))
    assert (tmp_path / "a.txt").read_text() == (tmp_path / "b.txt").read_text()


def test_combination_names_are_sets_and_never_collide():
    assert combo_name([79451, 79448]) == combo_name([79448, 79451, 79448]) == "79448_79451"
    long_a = combo_name(range(100, 107))
    long_b = combo_name([100, 101, 102, 103, 104, 105, 106, 106])
    long_c = combo_name([100, 101, 102, 103, 104, 105, 107, 106])
    assert long_a == long_b and long_a != long_c and long_a.startswith("100-106_n7_")
    cfg = {"sources": {"S": {"combinations": [
        {"obsnums": [3, 1, 2]}, {"obsnums": [1, 2, 3]}, {"obsnums": [1, 2, 3, 4], "exclude": [4]},
    ]}}}  # fmt: skip
    assert configured_combinations(cfg) == [(1, 2, 3)]


@pytest.fixture(scope="module")
def map_combo(maps_combined):
    """The two small maps of one field (79448, 79451) combined by the real workflow (the
    session's ``maps_combined``: listed as [79451, 79448], added to the reduced maps)."""
    maps, work = maps_combined["maps"], maps_combined["work"]
    return {"maps": maps, "work": work, "ran": maps_combined["ran"],
            "dir": next(work.glob(f"*/{combo_name(maps)}"))}  # fmt: skip


def test_map_combination_gridded_jointly_and_quieter(map_combo):
    maps, tmp_path = map_combo["maps"], map_combo["work"].parent
    ran = map_combo["ran"]  # added to reduced maps: their steps are not redone
    assert ran["grid_combination"] == 1 and ran.get("grid", 0) == ran.get("ingest", 0) == 0, ran
    combo = next(map_combo["dir"].glob("*__0.fits"))
    header = fits.getheader(combo)
    assert header["OBSNUMS"] == ",".join(map(str, sorted(maps)))
    params = json.loads(next(combo.parent.glob("params/grid__0.json")).read_text())
    assert set(params["pix_list"]) == {str(m) for m in maps}

    def noise(path):
        d = fits.getdata(path)
        return nan_std(np.concatenate([d[:150], d[-150:]]), axis=0)  # NaN outside the map

    singles = [noise(next((tmp_path / "work").glob(f"*/{m}/srdp/*__0.fits"))) for m in maps]
    both = noise(combo)
    inner = np.isfinite(both) & np.isfinite(singles[0]) & np.isfinite(singles[1])
    expected = 1 / np.sqrt(1 / singles[0] ** 2 + 1 / singles[1] ** 2)
    assert np.median(both[inner] / expected[inner]) == pytest.approx(1.0, abs=0.10)


def test_interactive_spectrum_equals_workflow(small_sim, spectra_run, tmp_path):
    import lmtflow

    info = spectra_run["bs"]
    obs = lmtflow.load(info["obsnum"], data_lmt=small_sim.data_lmt, work=tmp_path / "w")
    spec = obs.calibrate().baseline().spectrum()
    _, workflow_data, _ = _spectrum(next(info["dir"].glob("srdp/*__0.spec.fits")))
    np.testing.assert_array_equal(spec.data, workflow_data.astype(np.float32))
    assert spec.params["pix_list"] == [10, 8]
    assert spec.velocity.size == spec.data.size


# --- QA numbers and pages of combinations (reuse the combination runs above)


def _qa(directory: Path, name: str) -> dict:
    return json.loads((directory / "qa" / f"{name}__0.qa.json").read_text())


def _names(urls) -> set[str]:
    return {Path(unquote(urlparse(u).path)).name for u in urls}


def _check_combination_page(directory: Path, kind: str, members, tmp_path) -> dict:
    """The README.html of a combination and its project index load in Chromium with every
    image and link resolving; the page shows the header, every plot, the members' pages."""
    name = directory.name
    page = directory / "README.html"
    seen = load_in_chromium(page, tmp_path)
    check_resolves(seen, page)
    assert all(str(m) in seen["title"] for m in members)
    for label in ("Source", "ObsNums", "CalObsNums", "Date (UTC)", "Receiver", "Mode",
                  "Integration time (s)", "Tsys (K, median)", "RMS / radiometer",
                  "Member ObsNums", "Parameters used", "Product files"):  # fmt: skip
        assert label in seen["text"], label
    shown = _names(src for src, _, _ in seen["images"])
    assert shown == {f"{name}__0.{p.name}.png" for p in plots_for(kind)}
    assert f"{name}__0.qa.json" in _names(seen["links"])
    for m in members:
        assert any(h.endswith(f"/{m}/README.html") for h in seen["links"]), m
    index = directory.parent / "index.html"
    indexed = load_in_chromium(index, tmp_path)
    check_resolves(indexed, index)
    assert any(h.endswith(f"/{name}/README.html") for h in indexed["links"])
    thumbnail = f"{name}__0.{THUMBNAIL[kind]}.png"
    assert thumbnail in _names(src for src, _, _ in indexed["images"])
    assert "+".join(map(str, members)) in indexed["text"]
    return seen


def test_map_combination_qa_numbers_follow_radiometer(map_combo, small_sim):
    maps, directory = map_combo["maps"], map_combo["dir"]
    qa = _qa(directory, directory.name)
    members = [_qa(next(map_combo["work"].glob(f"*/{m}")), str(m)) for m in maps]
    assert qa["kind"] == "map_combination" and qa["obsnums"] == maps
    obs = qa["observation"]
    assert obs["obsnum"] == maps and obs["calobsnum"] == [small_sim.labels["cal"]]
    assert obs["mode"] == "Map" and obs["source"] == members[0]["observation"]["source"]
    assert obs["inttime_s"] == pytest.approx(sum(m["observation"]["inttime_s"] for m in members))
    first, last = (m["observation"]["date_obs"] for m in members)
    assert obs["date_obs"].startswith(first) and obs["date_obs"].endswith(last)
    # the spectra the gridder used: each member's own pix_list and rms cut (same defaults here)
    assert qa["spectra"]["used"] == sum(m["spectra"]["used"] for m in members) > 0
    cube = qa["cube"]  # simulated noise is radiometric: measured / expected is about 1
    assert cube["rms_radiometer_ratio"] == pytest.approx(1.0, abs=0.15)
    assert cube["rms_center_mK"] == pytest.approx(cube["radiometer_center_mK"], rel=0.15)
    # the radiometer map comes from both members: at the centre about 1/sqrt(sum 1/sigma^2)
    single = np.array([m["cube"]["radiometer_center_mK"] for m in members])
    assert cube["radiometer_center_mK"] == pytest.approx(1 / np.sqrt(np.sum(single**-2.0)),
                                                         rel=0.10)  # fmt: skip
    combined = fits.getheader(next(directory.glob("*__0.fits")))
    for plane in ("mom0", "peak", "rms", "radiometer"):
        h = fits.getheader(directory / "qa" / f"{directory.name}__0.{plane}.fits")
        assert (h["NAXIS1"], h["NAXIS2"], h["CRVAL1"]) == (
            combined["NAXIS1"], combined["NAXIS2"], combined["CRVAL1"])  # fmt: skip


def test_map_combination_radiometer_map_adds_every_members_spectra(map_combo):
    """Per cell the members' noise N_k and weight sums W_k (their own radiometer and weight
    maps) give the joint grid's exactly: sqrt(sum (N_k W_k)^2) / sum W_k."""
    name = map_combo["dir"].name
    joint = fits.getdata(map_combo["dir"] / "qa" / f"{name}__0.radiometer.fits")
    num = den = 0.0
    for m in map_combo["maps"]:
        srdp = next(map_combo["work"].glob(f"*/{m}/srdp"))
        noise = fits.getdata(next(srdp.glob("*__0.radiometer.fits"))).astype(float)
        weight = fits.getdata(next(srdp.glob("*__0.wt.fits"))).astype(float)
        assert noise.shape == joint.shape  # one field, one extent: the same grid
        num, den = num + np.square(noise * weight), den + weight
    expected = np.sqrt(num) / den
    both = np.isfinite(expected) & np.isfinite(joint)
    assert both.sum() > 0.8 * joint.size
    np.testing.assert_allclose(joint[both], expected[both], rtol=1e-4)


def test_map_combination_page_and_index_load_in_chromium(map_combo, tmp_path):
    seen = _check_combination_page(map_combo["dir"], "map_combination", map_combo["maps"],
                                   tmp_path)  # fmt: skip
    names = _names(seen["links"])
    name = map_combo["dir"].name
    assert {f"{name}__0.{p}.fits" for p in ("mom0", "mom1", "peak", "rms", "radiometer")} <= names
    assert {"grid__0.json", "baseline__0.json"} <= names
    assert any(n.endswith(f"_{name}__0.fits") for n in names)
    assert any(n.endswith(f"_{name}__0.wt.fits") for n in names)


def test_spectrum_combination_qa_follows_radiometer(ps_series, ps_combo):
    sim, _ = ps_series
    nums, directory = ps_combo["nums"], ps_combo["dir"]
    qa = _qa(directory, directory.name)
    assert qa["kind"] == "spectrum_combination" and qa["obsnums"] == nums
    spec = qa["spectrum"]
    # expected rms of the weighted average from the members' radiometer values and weights
    members = [_qa(next((ps_combo["work"] / "work").glob(f"*/{n}")), str(n)) for n in nums]
    sigma = np.array([m["spectrum"]["radiometer_mK"] for m in members])
    with fits.open(next(directory.glob("*.spec.fits"))) as hdul:
        w = 1 / np.square(hdul["OBSNUMS"].data["RMS"].astype(float))
    assert [p["weight"] for p in spec["parts"]] == pytest.approx(list(w / w.sum()))
    assert spec["radiometer_mK"] == pytest.approx(np.sqrt(np.sum((w * sigma) ** 2)) / w.sum())
    # ... which the simulator's truth confirms, as does the measured rms
    truth = 1e3 / np.sqrt(np.sum(_series_sigma(sim, ps_combo["work"], nums) ** -2.0))
    assert spec["radiometer_mK"] == pytest.approx(truth, rel=0.15)
    assert spec["rms_mK"] == pytest.approx(truth, rel=0.15)
    assert spec["rms_radiometer_ratio"] == pytest.approx(1.0, abs=0.15)
    line = sim.obs("ps0")["banks"][0]["lines"][0]
    assert abs(spec["peak_velocity_kms"] - line["vlsr_kms"]) < line["fwhm_kms"]
    assert qa["observation"]["inttime_s"] == pytest.approx(
        sum(m["observation"]["inttime_s"] for m in members))  # fmt: skip


def test_spectrum_combination_page_and_index_load_in_chromium(ps_combo, tmp_path):
    seen = _check_combination_page(ps_combo["dir"], "spectrum_combination", ps_combo["nums"],
                                   tmp_path)  # fmt: skip
    names = _names(seen["links"])
    assert any(n.endswith(".spec.fits") for n in names) and "spectrum__0.json" in names
