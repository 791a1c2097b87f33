"""Observing sequences, time relations, headers and positions of the simulated files."""

from __future__ import annotations

import math

import netCDF4
import numpy as np
import pytest

from lmtflow.constants import ARCSEC_PER_RAD, BufPos
from lmtflow.geometry import beam_offsets_azel, rotate_azel_to_sky
from lmtflow.io.ncutil import read_char
from lmtflow.sim.instrument import REAL_ROACH_BLOCK_MARGIN_S
from lmtflow.sim.scan import IFPROC_DT
from lmtflow.spectral import sky_frequency_for


def load_ifproc(sim, key):
    with netCDF4.Dataset(sim.data_lmt / sim.obs(key)["ifproc_file"]) as ds:
        out = {
            name: np.asarray(var[:]) for name, var in ds.variables.items() if var.dtype.kind != "S"
        }
        for name, var in ds.variables.items():
            if var.dtype.kind == "S":
                out[name] = read_char(ds, name)
    return out


def load_roach(path):
    with netCDF4.Dataset(path) as ds:
        return {
            name: np.asarray(var[:]) for name, var in ds.variables.items() if var.dtype.kind != "S"
        }


def runs(bufpos, t):
    """Contiguous constant-BufPos runs: list of (code, t_first, t_last, n)."""
    edges = np.flatnonzero(np.diff(bufpos)) + 1
    starts = np.r_[0, edges]
    ends = np.r_[edges, bufpos.size] - 1
    return [(int(bufpos[a]), t[a], t[b], b - a + 1) for a, b in zip(starts, ends, strict=True)]


def dump_times(roach):
    """lmtslr's t = time - read_time - 0.03 of input-0 rows."""
    sel = roach["Data.Integrate.Inputs"] == 0
    return roach["Data.Integrate.time"][sel] - roach["Data.Integrate.read_time"][sel] - 0.03


def test_cal_hot_then_sky_with_gap(small_sim):
    d = load_ifproc(small_sim, "cal")
    assert d["Header.Dcs.ObsPgm"] == "Cal" and d["Header.Dcs.ObsGoal"] == "Calibration"
    t, bp = d["Data.TelescopeBackend.TelTime"], d["Data.TelescopeBackend.BufPos"]
    r = runs(bp, t)
    assert [x[0] for x in r] == [BufPos.HOT, BufPos.SKY]
    assert 2.5 < r[0][2] - r[0][1] < 2.7 and 2.5 < r[1][2] - r[1][1] < 2.7
    assert 2.4 < r[1][1] - r[0][2] < 2.6  # switch without samples
    assert 3.0 < d["Header.Dcs.IntegrationTime"] < 7.0


@pytest.mark.parametrize("key", ["cal", "map", "ps", "bs", "cal_1mm", "ps_1mm"])
def test_ifproc_125hz_and_gaps(small_sim, key):
    d = load_ifproc(small_sim, key)
    t, bp = d["Data.TelescopeBackend.TelTime"], d["Data.TelescopeBackend.BufPos"]
    dt = np.diff(t)
    assert np.all(dt > 0)
    inside = np.diff(bp) == 0
    assert np.allclose(dt[inside], 0.008, atol=1e-6)
    # every BufPos change is a slew/switch: a jump of > 0.4 s without samples
    assert np.all(dt[~inside] > 0.4)
    assert d["Header.Dcs.ObsNum"] == small_sim.labels[key]


def test_map_blocks_and_cal_link(small_sim):
    d = load_ifproc(small_sim, "map")
    assert d["Header.Dcs.ObsPgm"] == "Map" and d["Header.Dcs.ObsGoal"] == "Science"
    assert int(d["Header.IfProc.CalObsNum"]) == small_sim.labels["cal"]
    codes = [
        x[0] for x in runs(d["Data.TelescopeBackend.BufPos"], d["Data.TelescopeBackend.TelTime"])
    ]
    assert codes[0] == codes[-1] == BufPos.REF
    assert codes == [BufPos.REF, BufPos.ON] * (len(codes) // 2) + [BufPos.REF]
    assert codes.count(BufPos.ON) >= 2
    for key in ("ps", "bs"):
        assert (
            int(load_ifproc(small_sim, key)["Header.IfProc.CalObsNum"]) == small_sim.labels["cal"]
        )
    assert small_sim.obs("ps_1mm")["cal_obsnum"] == small_sim.labels["cal_1mm"]


def test_map_positions_raster_and_ref(small_sim):
    d = load_ifproc(small_sim, "map")
    p = small_sim.obs("map")["params"]
    ra0, dec0 = d["Header.Source.Ra"][0], d["Header.Source.Dec"][0]
    x = (d["Data.TelescopeBackend.SourceRaAct"] - ra0) * math.cos(dec0) * ARCSEC_PER_RAD
    y = (d["Data.TelescopeBackend.SourceDecAct"] - dec0) * ARCSEC_PER_RAD
    az = d["Data.TelescopeBackend.TelAzMap"] * ARCSEC_PER_RAD
    el = d["Data.TelescopeBackend.TelElMap"] * ARCSEC_PER_RAD
    par = d["Data.TelescopeBackend.ActParAng"]
    # Az/El map offsets and RA/Dec offsets agree through lmtslr's parallactic rotation
    xr, yr = rotate_azel_to_sky(az, el, par)
    assert np.allclose(xr, x, atol=1e-3) and np.allclose(yr, y, atol=1e-3)
    bp = d["Data.TelescopeBackend.BufPos"]
    on = bp == BufPos.ON
    half_x = p["xlength_arcsec"] / 2 + p["xramp_arcsec"]
    bulge = p["scan_rate_arcsec_s"] * p["turnaround_s"] / math.pi  # turnaround overshoot
    assert half_x - 1 < x[on].max() < half_x + bulge + 1
    assert half_x - 1 < -x[on].min() < half_x + bulge + 1
    assert (
        y[on].max() > p["ylength_arcsec"] / 2 - 10 and y[on].min() < -p["ylength_arcsec"] / 2 + 10
    )
    ref = bp == BufPos.REF
    assert np.allclose(az[ref], d["Header.Sky.AzOff"][1] * ARCSEC_PER_RAD)
    assert np.allclose(el[ref], d["Header.Sky.ElOff"][1] * ARCSEC_PER_RAD)
    assert abs(d["Header.Sky.AzOff"][1] * ARCSEC_PER_RAD) > 300
    # parallactic angle varies slowly; ElDesPos is a plausible elevation
    assert np.ptp(par) < math.radians(2) and np.ptp(par) > 0
    assert 0.3 < d["Header.Telescope.ElDesPos"] < 1.5


def test_ps_and_bs_sequences(small_sim):
    ps = load_ifproc(small_sim, "ps")
    r = runs(ps["Data.TelescopeBackend.BufPos"], ps["Data.TelescopeBackend.TelTime"])
    codes = [x[0] for x in r]
    assert codes.count(BufPos.ON) == codes.count(BufPos.REF) >= 2
    on = ps["Data.TelescopeBackend.BufPos"] == BufPos.ON
    assert np.all(ps["Data.TelescopeBackend.TelAzMap"][on] == 0)
    assert int(ps["Header.Sequoia.BeamSelected"]) == 10

    bs = load_ifproc(small_sim, "bs")
    assert list(bs["Header.Bs.Beam"]) == [10, 8]
    bp = bs["Data.TelescopeBackend.BufPos"]
    codes = [x[0] for x in runs(bp, bs["Data.TelescopeBackend.TelTime"])]
    assert codes == [0, 1] * (len(codes) // 2) and len(codes) >= 4
    # BufPos 0: beam 10 (tracking) on source; BufPos 1: beam 8 on source
    gaz, gel = beam_offsets_azel(bs["Header.Telescope.ElDesPos"], 10, [8])
    az = bs["Data.TelescopeBackend.TelAzMap"] * ARCSEC_PER_RAD
    el = bs["Data.TelescopeBackend.TelElMap"] * ARCSEC_PER_RAD
    assert np.allclose(az[bp == 0], 0) and np.allclose(el[bp == 0], 0)
    assert np.allclose(az[bp == 1] - gaz[0], 0, atol=1e-6)
    assert np.allclose(el[bp == 1] - gel[0], 0, atol=1e-6)
    assert math.hypot(gaz[0], gel[0]) == pytest.approx(2 * 27.9)


@pytest.mark.parametrize("key", ["cal", "map", "ps_1mm"])
def test_roach_time_relation(small_sim, key):
    d = load_ifproc(small_sim, key)
    t_if, bp = d["Data.TelescopeBackend.TelTime"], d["Data.TelescopeBackend.BufPos"]
    blocks = runs(bp, t_if)
    obs = small_sim.obs(key)
    for rel in obs["roach_files"].values():
        r = load_roach(small_sim.data_lmt / rel)
        inputs = r["Data.Integrate.Inputs"]
        counts = [np.sum(inputs == k) for k in range(4)]
        assert len(set(counts)) == 1
        t_rows = r["Data.Integrate.time"] - r["Data.Integrate.read_time"] - 0.03
        t4 = t_rows.reshape(-1, 4)
        assert np.allclose(t4, t4[:, :1], atol=1e-9)  # all inputs of a dump: same instant
        stagger = np.diff(r["Data.Integrate.time"].reshape(-1, 4), axis=1)
        assert np.allclose(stagger, 0.025, atol=0.003)
        rt = r["Data.Integrate.read_time"]
        assert np.all((rt > 0) & (rt < 0.2))
        t = dump_times(r)
        assert np.median(np.diff(t)) == pytest.approx(
            small_sim.session(key)["instrument"]["dump_time_s"], abs=0.003
        )
        assert t[0] < t_if[0] and t[-1] > t_if[-1]  # from before the first block to after the last
        # the real pattern: every block gets its dumps; outside the blocks, dumps only within
        # the spectrometer's margin of one, none in the middle of a slew
        kept = np.zeros(t.size, bool)
        near = np.zeros(t.size, bool)
        for _code, a, b, _n in blocks:
            inside = (t > a) & (t < b)
            assert inside.sum() >= 0.8 * (b - a) / 0.1
            kept |= inside
            near |= (t > a - REAL_ROACH_BLOCK_MARGIN_S - 0.003) & (
                t < b + IFPROC_DT + REAL_ROACH_BLOCK_MARGIN_S + 0.003)  # fmt: skip
        assert (~kept).sum() > 0 and near.all()
        slew = max(nxt[1] - prev[2] for prev, nxt in zip(blocks[:-1], blocks[1:], strict=True))
        assert np.diff(t).max() > slew - 2 * REAL_ROACH_BLOCK_MARGIN_S - 0.01  # no dump mid-slew


def test_cal_dumps_see_hot_and_sky(small_sim):
    """A dump's t falls in the right BufPos interval: HOT dumps have HOT power levels."""
    d = load_ifproc(small_sim, "cal")
    (hot_code, h0, h1, _), (sky_code, s0, s1, _) = runs(
        d["Data.TelescopeBackend.BufPos"], d["Data.TelescopeBackend.TelTime"]
    )
    sess = small_sim.session("cal")
    for roach, rel in small_sim.obs("cal")["roach_files"].items():
        r = load_roach(small_sim.data_lmt / rel)
        t = dump_times(r)
        data = r["Data.Integrate.Data"].reshape(t.size, 4, -1)
        power = data[:, :, 600:1400].mean(axis=2)
        hot, sky = (t > h0) & (t < h1), (t > s0) & (t < s1)
        for k in range(4):
            beam = next(b for b in sess["beams"] if b["roach"] == int(roach) and b["input"] == k)
            ratio = power[hot, k].mean() / power[sky, k].mean()
            assert ratio == pytest.approx((beam["tsys_k"] + 280) / beam["tsys_k"], rel=0.01)
            # the last SKY-interval dump is SKY, the first after HOT ends is not HOT
            assert power[hot, k].min() > power[sky, k].max()


def test_spectral_headers(small_sim):
    for key in ("map", "ps_1mm"):
        d = load_ifproc(small_sim, key)
        rx = d["Header.Dcs.Receiver"]
        nb = int(d[f"Header.{rx}.NumBands"])
        for b in range(nb):
            f = d[f"Header.{rx}.LineFreq"][b] * 1e9
            fs = sky_frequency_for(f, d["Header.Source.Velocity"], d["Header.Sky.ObsVel"])
            assert d[f"Header.{rx}.SkyFreq"][b] * 1e9 == pytest.approx(fs, rel=1e-12)
            assert d[f"Header.{rx}.SideBand1Lo"][b] == 0
        assert abs(d["Header.Sky.ObsVel"]) < 60 and d["Header.Source.VelSys"] == 0
        sess = small_sim.session(key)["instrument"]
        assert d["Header.SpecBackend.Bandwidth"][0] * 1e3 == sess["bandwidth_mhz"]
        assert d["Header.SpecBackend.DumpTime"] == sess["dump_time_s"]
        rel = next(iter(small_sim.obs(key)["roach_files"].values()))
        r = load_roach(small_sim.data_lmt / rel)
        assert r["Header.Mode.Bandwidth"] == sess["bandwidth_mhz"]
    assert load_ifproc(small_sim, "map")["Header.Sequoia.LineFreq"][0] == pytest.approx(115.271204)
    onemm = load_ifproc(small_sim, "ps_1mm")
    assert onemm["Header.Msip1mm.LineFreq"][0] != onemm["Header.Msip1mm.LineFreq"][1]


def _tiny_variant(cfg, **map_params):
    cfg["sessions"][0]["observations"][2]["params"].update(map_params)
    return cfg


def test_galactic_and_azel_maps(tmp_path, tiny_config):
    from lmtflow.sim import simulate

    cfg = tiny_config()
    sky = cfg["sessions"][0]["sky"]
    del sky["ra_deg"], sky["dec_deg"]
    sky.update(coord_sys="galactic", l_deg=111.5, b_deg=-0.8)
    res = simulate(_tiny_variant(cfg, coord="L"), tmp_path / "gal", seed=1)
    d = load_ifproc(res, "map")
    assert d["Header.Source.CoordSys"] == 2 and d["Header.Map.MapCoord"] == "L"
    assert d["Header.Source.Ra"][0] == 0.0
    l0, b0 = d["Header.Source.L"][0], d["Header.Source.B"][0]
    assert math.degrees(l0) == pytest.approx(111.5)
    lm = (d["Data.TelescopeBackend.SourceLAct"] - l0) * math.cos(b0) * ARCSEC_PER_RAD
    bm = (d["Data.TelescopeBackend.SourceBAct"] - b0) * ARCSEC_PER_RAD
    on = d["Data.TelescopeBackend.BufPos"] == 0
    assert 19.0 < lm[on].max() < 20.0 + 60 * 0.7 / math.pi + 1  # xlength/2 + xramp (+ turn)
    assert np.ptp(bm[on]) == pytest.approx(11.2, abs=0.5)  # two rows
    ang = d["Data.TelescopeBackend.ActParAng"] + d["Data.TelescopeBackend.ActGalAng"]
    x, y = rotate_azel_to_sky(
        d["Data.TelescopeBackend.TelAzMap"] * ARCSEC_PER_RAD,
        d["Data.TelescopeBackend.TelElMap"] * ARCSEC_PER_RAD,
        ang,
    )
    assert np.allclose(x, lm, atol=1e-3) and np.allclose(y, bm, atol=1e-3)
    assert np.any(d["Data.TelescopeBackend.ActGalAng"] != 0)

    res = simulate(_tiny_variant(tiny_config(), coord="Az"), tmp_path / "az", seed=1)
    d = load_ifproc(res, "map")
    assert d["Header.Map.MapCoord"] == "Az"
    on = d["Data.TelescopeBackend.BufPos"] == 0
    az = d["Data.TelescopeBackend.TelAzMap"][on] * ARCSEC_PER_RAD
    el = d["Data.TelescopeBackend.TelElMap"][on] * ARCSEC_PER_RAD
    assert 19.0 < az.max() < 20.0 + 60 * 0.7 / math.pi + 1
    assert np.ptp(el) == pytest.approx(11.2, abs=0.5)
