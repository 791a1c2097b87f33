"""Counts carry the model: pixel mapping, Tsys, line amplitudes and positions, noise, faults."""

from __future__ import annotations

import math

import netCDF4
import numpy as np
import pytest

from lmtflow.constants import ARCSEC_PER_RAD, T_AMBIENT_K, BufPos
from lmtflow.geometry import beam_offsets_sky
from lmtflow.sim import simulate

FOUR_LN2 = 4 * math.log(2)


def ifproc(sim, key):
    with netCDF4.Dataset(sim.data_lmt / sim.obs(key)["ifproc_file"]) as ds:
        return {n: np.asarray(v[:]) for n, v in ds.variables.items() if v.dtype.kind != "S"}


def roach_dumps(sim, key, roach):
    """(t per dump, data (ndump, 4, nchan) float64) of one roach file."""
    with netCDF4.Dataset(sim.data_lmt / sim.obs(key)["roach_files"][str(roach)]) as ds:
        time = np.asarray(ds.variables["Data.Integrate.time"][:])
        read = np.asarray(ds.variables["Data.Integrate.read_time"][:])
        data = np.asarray(ds.variables["Data.Integrate.Data"][:], dtype=np.float64)
    t = (time - read - 0.03)[::4]
    return t, data.reshape(t.size, 4, -1)


def blocks(d):
    """Constant-BufPos runs of an ifproc series: list of (code, t_first, t_last)."""
    t, bp = d["Data.TelescopeBackend.TelTime"], d["Data.TelescopeBackend.BufPos"]
    edges = np.flatnonzero(np.diff(bp)) + 1
    a, b = np.r_[0, edges], np.r_[edges, bp.size] - 1
    return [(int(bp[i]), t[i], t[j]) for i, j in zip(a, b, strict=True)]


def in_code(t, blks, code):
    m = np.zeros(t.size, bool)
    for c, a, b in blks:
        if c == code:
            m |= (t > a) & (t < b)
    return m


def cal_tsys(sim, key, roach):
    """lmtslr's Tsys spectrum: 280 * median(SKY) / (median(HOT) - median(SKY)), (4, nchan)."""
    blk = blocks(ifproc(sim, key))
    t, data = roach_dumps(sim, key, roach)
    hot = np.median(data[in_code(t, blk, BufPos.HOT)], axis=0)
    sky = np.median(data[in_code(t, blk, BufPos.SKY)], axis=0)
    return T_AMBIENT_K * sky / (hot - sky)


def beam_truth(sess, roach, k):
    return next(b for b in sess["beams"] if b["roach"] == roach and b["input"] == k)


def test_tsys_and_pixel_mapping(small_sim):
    """280 SKY/(HOT-SKY) from each roach input gives that input's pixel's Tsys (all distinct)."""
    sess = small_sim.session("cal")
    truth_tsys = np.array(sess["tsys_k"][0])
    assert np.min(np.diff(np.sort(truth_tsys))) > 1.0
    for roach in range(4):
        tsys = cal_tsys(small_sim, "cal", roach)
        for k in range(4):
            b = beam_truth(sess, roach, k)
            assert b["pixel"] == 4 * roach + k
            measured = tsys[k, 50:-100].mean()
            assert measured == pytest.approx(b["tsys_k"], rel=0.01)
            assert int(np.argmin(np.abs(truth_tsys - measured))) == 4 * roach + k


def test_ifproc_total_power_tsys(small_sim):
    d = ifproc(small_sim, "cal")
    bp, lev = d["Data.TelescopeBackend.BufPos"], d["Data.IfProc.BasebandLevel"]
    hot, sky = np.median(lev[bp == BufPos.HOT], axis=0), np.median(lev[bp == BufPos.SKY], axis=0)
    tsys = T_AMBIENT_K * sky / (hot - sky)
    assert np.allclose(tsys, small_sim.session("cal")["tsys_k"][0], rtol=0.01)
    # 1MM: (time, 5, 4) super-sampled levels, 4 inputs
    d = ifproc(small_sim, "cal_1mm")
    bp, lev = d["Data.TelescopeBackend.BufPos"], d["Data.IfProc.BasebandLevel"]
    hot = np.median(lev[bp == BufPos.HOT].reshape(-1, 4), axis=0)
    sky = np.median(lev[bp == BufPos.SKY].reshape(-1, 4), axis=0)
    want = [beam_truth(small_sim.session("cal_1mm"), 0, k)["tsys_k"] for k in range(4)]
    assert np.allclose(T_AMBIENT_K * sky / (hot - sky), want, rtol=0.01)


def ps_spectrum(sim, key, roach, cal_key):
    """Tsys (ON - REF)/REF with block means paired in order (lmtslr Ps stype 2), (4, nchan)."""
    blk = blocks(ifproc(sim, key))
    t, data = roach_dumps(sim, key, roach)
    ons = [(t > a) & (t < b) for c, a, b in blk if c == BufPos.ON]
    refs = [(t > a) & (t < b) for c, a, b in blk if c == BufPos.REF]
    assert len(ons) == len(refs) >= 1
    tsys = cal_tsys(sim, cal_key, roach)
    ps = [
        (data[o].mean(0) - data[r].mean(0)) / data[r].mean(0)
        for o, r in zip(ons, refs, strict=True)
    ]
    n_on = sum(int(o.sum()) for o in ons)
    return tsys * np.mean(ps, axis=0), n_on


def fit_amplitude(spec, chan, fwhm_ch):
    """Least-squares amplitude of a known Gaussian line (plus a constant) and its channel."""
    ch = np.arange(spec.size)
    win = np.abs(ch - chan) < 4 * fwhm_ch
    g = np.exp(-FOUR_LN2 * ((ch[win] - chan) / fwhm_ch) ** 2)
    a = np.vstack([g, np.ones_like(g)]).T
    amp, _ = np.linalg.lstsq(a, spec[win], rcond=None)[0]
    return amp


def test_ps_line_amplitude_sequoia(small_sim):
    obs = small_sim.obs("ps")
    line = next(x for x in obs["banks"][0]["lines"] if x["source"] == "core")
    spec, _ = ps_spectrum(small_sim, "ps", 2, "cal")  # pixel 10 = roach2 input 2
    amp = fit_amplitude(spec[2], line["channel"], line["fwhm_channels"])
    assert amp == pytest.approx(line["observed_peak_k"], rel=0.08)
    # pixel 0 is 40-80" away: no line there
    spec0, _ = ps_spectrum(small_sim, "ps", 0, "cal")
    assert abs(fit_amplitude(spec0[0], line["channel"], line["fwhm_channels"])) < 0.2
    # velocity axis: the line sits at the channel the LSR velocity maps to
    assert line["channel"] == pytest.approx(
        1023.5 + (-20 - obs["banks"][0]["v0_kms"]) / obs["banks"][0]["dvdc_kms"]
    )


def test_1mm_banks_and_polarisations(small_sim):
    obs = small_sim.obs("ps_1mm")
    spec, _ = ps_spectrum(small_sim, "ps_1mm", 0, "cal_1mm")
    co = obs["banks"][0]["lines"][0]
    co13 = obs["banks"][1]["lines"][1]
    assert co["source"] == "co21" and co13["source"] == "13co21"
    # both lines sit near the band centre of their bank; the amplitudes tell them apart
    for k in (0, 2):  # bank 0 = inputs 0, 2: CO 2-1 (8 K) in both polarisations
        assert fit_amplitude(spec[k], co["channel"], co["fwhm_channels"]) == pytest.approx(
            8.0, rel=0.05
        )
    for k in (1, 3):  # bank 1 = inputs 1, 3: 13CO 2-1 (2 K)
        assert fit_amplitude(spec[k], co13["channel"], co13["fwhm_channels"]) == pytest.approx(
            2.0, rel=0.1
        )
    assert 0 < co13["channel"] < 4096 and 0 < co["channel"] < 4096


def test_radiometer_noise(small_sim):
    """Scatter of REF dumps around their mean = T/sqrt(dnu * t_dump) (T = Tsys here)."""
    inst = small_sim.session("map")["instrument"]
    expected = 1 / math.sqrt(inst["channel_width_hz"] * inst["dump_time_s"])
    blk = blocks(ifproc(small_sim, "map"))
    for roach in (0, 3):
        t, data = roach_dumps(small_sim, "map", roach)
        ref_blocks = [(t > a) & (t < b) for c, a, b in blk if c == BufPos.REF]
        rel = []
        for m in ref_blocks:
            x = data[m][:, :, 100:-100]
            n = x.shape[0]
            rel.append(((x / x.mean(0) - 1) * math.sqrt(n / (n - 1))).reshape(-1))
        assert np.std(np.concatenate(rel)) == pytest.approx(expected, rel=0.03)


def test_map_line_follows_sky_model(small_sim):
    """Calibrated ON dumps, placed like lmtslr does (interpolated offsets minus beam offsets with
    the pixel's mean parallactic angle), match the beam-convolved model."""
    obs, sess = small_sim.obs("map"), small_sim.session("map")
    d = ifproc(small_sim, "map")
    blk = blocks(d)
    tif = d["Data.TelescopeBackend.TelTime"]
    ra0, dec0 = d["Header.Source.Ra"][0], d["Header.Source.Dec"][0]
    xmap = (d["Data.TelescopeBackend.SourceRaAct"] - ra0) * math.cos(dec0) * ARCSEC_PER_RAD
    ymap = (d["Data.TelescopeBackend.SourceDecAct"] - dec0) * ARCSEC_PER_RAD
    bank = obs["banks"][0]
    lines = {ln["source"]: ln for ln in bank["lines"]}
    srcs = sess["sky"]["sources"]
    chans = np.arange(1019, 1029)
    measured, predicted = [], []
    for roach in range(4):
        t, data = roach_dumps(small_sim, "map", roach)
        tsys = cal_tsys(small_sim, "cal", roach)
        on_idx = [i for i, (c, _, _) in enumerate(blk) if c == BufPos.ON]
        for i in on_idx:
            on = (t > blk[i][1]) & (t < blk[i][2])
            rb = (t > blk[i - 1][1]) & (t < blk[i - 1][2])
            ra = (t > blk[i + 1][1]) & (t < blk[i + 1][2])
            ref = 0.5 * (data[rb].mean(0) + data[ra].mean(0))
            ta = tsys * (data[on] - ref) / ref  # (n, 4, nchan)
            x = np.interp(t[on], tif, xmap)
            y = np.interp(t[on], tif, ymap)
            par = np.interp(t[on], tif, d["Data.TelescopeBackend.ActParAng"]).mean()
            gx, gy = beam_offsets_sky(
                d["Header.Telescope.ElDesPos"], par, 10, 4 * roach + np.arange(4)
            )
            for k in range(4):
                px, py = x - gx[k], y - gy[k]
                pred = np.zeros(px.size)
                for s in srcs:
                    ln = lines[s["name"]]
                    prof = np.exp(
                        -FOUR_LN2 * ((chans - ln["channel"]) / ln["fwhm_channels"]) ** 2
                    ).mean()
                    r2 = (px - s["dx_arcsec"]) ** 2 + (py - s["dy_arcsec"]) ** 2
                    pred += (
                        ln["observed_peak_k"]
                        * prof
                        * np.exp(-FOUR_LN2 * r2 / ln["observed_fwhm_arcsec"] ** 2)
                    )
                measured.append(ta[:, k, chans].mean(axis=1))
                predicted.append(pred)
    m, p = np.concatenate(measured), np.concatenate(predicted)
    assert p.max() > 1.5 and (p > 0.5).sum() > 100  # the map does cover the sources
    slope = np.sum(m * p) / np.sum(p * p)
    assert slope == pytest.approx(1.0, abs=0.04)
    resid = m - p
    noise = np.mean(sess["tsys_k"][0]) / math.sqrt(390625 * 0.1 * chans.size)
    assert np.std(resid) < 1.3 * noise


def test_reproducible_from_seed(tmp_path, tiny_config):
    a = simulate(tiny_config(), tmp_path / "a", seed=7)
    b = simulate(tiny_config(), tmp_path / "b", seed=7)
    c = simulate(tiny_config(), tmp_path / "c", seed=8)
    names = ("Data.Integrate.Data", "Data.Integrate.time", "Data.Integrate.read_time")
    rel = a.obs("ps")["roach_files"]["1"]
    assert rel == b.obs("ps")["roach_files"]["1"]
    with netCDF4.Dataset(a.data_lmt / rel) as da, netCDF4.Dataset(b.data_lmt / rel) as db:
        for n in names:
            assert (
                np.asarray(da.variables[n][:]).tobytes() == np.asarray(db.variables[n][:]).tobytes()
            )
    rel_c = c.obs("ps")["roach_files"]["1"]
    with netCDF4.Dataset(a.data_lmt / rel) as da, netCDF4.Dataset(c.data_lmt / rel_c) as dc:
        x, y = da.variables["Data.Integrate.Data"][:], dc.variables["Data.Integrate.Data"][:]
        assert x.shape != y.shape or not np.array_equal(x, y)
    with (
        netCDF4.Dataset(a.data_lmt / a.obs("map")["ifproc_file"]) as da,
        netCDF4.Dataset(b.data_lmt / b.obs("map")["ifproc_file"]) as db,
    ):
        for n in ("Data.IfProc.BasebandLevel", "Data.TelescopeBackend.TelTime"):
            assert np.array_equal(da.variables[n][:], db.variables[n][:])


def test_faults(tmp_path, tiny_config):
    cfg = tiny_config()
    cfg["sessions"][0]["faults"] = {
        "dead_beams": [3],
        "noisy_beams": {5: 3.0},
        "birdies": [{"channels": [1500], "amplitude_k": 20.0, "pixels": [6]}],
        "spikes": {"per_file": 4, "factor": 1000.0},
        "missing_roach": [{"obsnum": 1003, "roach": 2}],
    }
    res = simulate(cfg, tmp_path / "f", seed=2)
    faults = res.session("map")["faults"]
    assert faults["dead_beams"] == [3] and faults["missing_roach"] == [{"obsnum": 1003, "roach": 2}]
    m = res.obs("map")
    assert m["missing_roach"] == [2] and "2" not in m["roach_files"]
    assert not list((res.data_lmt / "spectrometer" / "roach2").glob("roach2_1003_*"))
    assert list((res.data_lmt / "spectrometer" / "roach2").glob("roach2_1002_*"))
    # spikes: recorded positions hold huge values
    spikes = res.obs("ps")["spikes"]
    assert len(spikes) == 4 * 4
    for sp in spikes:
        with netCDF4.Dataset(res.data_lmt / res.obs("ps")["roach_files"][str(sp["roach"])]) as ds:
            row = np.asarray(ds.variables["Data.Integrate.Data"][sp["row"]], dtype=float)
            inp = int(ds.variables["Data.Integrate.Inputs"][sp["row"]])
        assert inp == sp["input"] and sp["pixel"] == 4 * sp["roach"] + sp["input"]
        if sp["pixel"] != 3:
            others = np.delete(row, sp["channel"])
            assert row[sp["channel"]] > 100 * np.median(others)
    blk = blocks(ifproc(res, "ps"))
    t, data = roach_dumps(res, "ps", 0)
    assert np.all(data[:, 3] == 0.0)  # dead beam 3 = roach0 input 3
    t, data = roach_dumps(res, "ps", 1)
    ref = in_code(t, blk, BufPos.REF)
    x = data[ref][:, :, 200:1400]
    x = x / np.median(x, axis=0) - 1
    spikes_free = np.abs(x) < 0.5
    std = [np.std(x[:, k][spikes_free[:, k]]) for k in range(4)]
    assert std[1] / std[0] == pytest.approx(3.0, rel=0.06)  # pixel 5 noisy x3
    # birdie on pixel 6 (roach1 input 2): +20 K x gain x slow drift in channel 1500, none on 7
    sess = res.session("ps")
    spec = np.median(data[ref], axis=0)
    drift = np.mean(1 + 0.5 * np.sin(2 * np.pi * t[ref] / 47.0))
    for k, want in ((2, 20.0 * drift), (3, 0.0)):
        b = beam_truth(sess, 1, k)
        neighbours = 0.5 * (spec[k, 1499] + spec[k, 1501])
        excess_k = (spec[k, 1500] - neighbours) / neighbours * b["tsys_k"]
        assert excess_k == pytest.approx(want, abs=3.0)


def test_dual_bank(tmp_path, tiny_config):
    cfg = tiny_config(line_freq_ghz=[115.271204, 110.201354])
    cfg["sessions"][0]["sky"]["sources"].append(
        {
            "name": "s13",
            "peak_k": 1.0,
            "vlsr_kms": 60.0,
            "fwhm_kms": 8.0,
            "rest_freq_ghz": 110.201354,
        }
    )
    res = simulate(cfg, tmp_path / "d", seed=4)
    obs = res.obs("ps")
    assert sorted(obs["roach_files"]) == [str(r) for r in range(8)]
    assert [b["roaches"] for b in obs["banks"]] == [[0, 1, 2, 3], [4, 5, 6, 7]]
    with netCDF4.Dataset(res.data_lmt / obs["ifproc_file"]) as ds:
        assert int(ds.variables["Header.Sequoia.NumBands"][0]) == 2
        lf = ds.variables["Header.Sequoia.LineFreq"][:]
        assert lf[0] != lf[1] and lf[1] == pytest.approx(110.201354)
    sess = res.session("ps")
    pix = {(b["roach"], b["input"]): (b["pixel"], b["bank"]) for b in sess["beams"]}
    assert pix[(6, 2)] == (10, 1) and pix[(2, 2)] == (10, 0)
    # pixel 10 sees CO in bank 0 (roach2) and 13CO in bank 1 (roach6), each only there
    spec0, _ = ps_spectrum(res, "ps", 2, "cal")
    spec1, _ = ps_spectrum(res, "ps", 6, "cal")
    co, co13 = obs["banks"][0]["lines"][0], obs["banks"][1]["lines"][1]
    assert co13["vlsr_kms"] == pytest.approx(60.0) and 0 < co13["channel"] < 2048
    assert fit_amplitude(spec0[2], co["channel"], co["fwhm_channels"]) == pytest.approx(
        2.0, rel=0.15
    )
    assert fit_amplitude(spec1[2], co13["channel"], co13["fwhm_channels"]) == pytest.approx(
        1.0, rel=0.25
    )
    assert abs(fit_amplitude(spec1[2], co["channel"], co["fwhm_channels"])) < 0.3
