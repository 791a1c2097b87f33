"""The ``bench2`` preset against the real ObsNums 79447/79448 (reference/data/real_lmt_counts.md):
block sequence and lengths, spectra per roach file, float64, map size and cube shape, from the
schedule and the Map's ifproc header alone (the 1.6 GB of spectra are not written)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lmtflow.baseline import SliceSpec
from lmtflow.config import load_config
from lmtflow.constants import BufPos
from lmtflow.gridding import GridGeometry
from lmtflow.io.ifproc import read_header
from lmtflow.params import step_params
from lmtflow.sim.ifproc_writer import write_ifproc
from lmtflow.sim.preset_bench2 import REAL_COUNTS
from lmtflow.sim.presets import preset_config
from lmtflow.sim.simulate import _rng, _series, plan_observations, roach_spectra_counts

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def plan():
    (_, _, _, inst, observations), = plan_observations(preset_config("bench2"))[0]
    return inst, {obs.obsnum: obs for obs in observations}


def test_blocks_and_slews_are_the_real_ones(plan):
    _, obs = plan
    cal, mp = obs[79447].timeline.segments, obs[79448].timeline.segments
    assert [s.bufpos for s in cal] == [BufPos.HOT, None, BufPos.SKY]
    real = REAL_COUNTS["block_seconds"]
    np.testing.assert_allclose([cal[0].duration, cal[2].duration], [real["hot"], real["sky"]],
                               rtol=0.01)  # fmt: skip
    assert cal[1].duration == pytest.approx(REAL_COUNTS["cal_switch_s"], rel=0.01)
    assert mp[0].t0 - cal[-1].t1 == pytest.approx(REAL_COUNTS["cal_to_map_gap_s"], rel=0.01)
    on, ref = BufPos.ON, BufPos.REF
    assert [s.bufpos for s in mp] == [ref] + [None, on, None, ref] * 4
    durations = {code: [s.duration for s in mp if s.bufpos == code] for code in (on, ref, None)}
    np.testing.assert_allclose(durations[on], real["on"], rtol=0.015)  # real: 142.5-145.0 s
    np.testing.assert_allclose(durations[ref], real["ref"], rtol=0.05)
    np.testing.assert_allclose(durations[None], REAL_COUNTS["slew_seconds"], rtol=0.15)
    assert sum(durations[None]) == pytest.approx(sum(REAL_COUNTS["slew_seconds"]), rel=0.01)
    # no ifproc sample during a slew: samples only inside blocks
    t, idx = obs[79448].timeline.sample_times()
    assert all(mp[k].bufpos is not None for k in np.unique(idx))


def test_spectra_per_roach_file_are_the_real_counts(plan):
    inst, _ = plan
    counts = roach_spectra_counts(preset_config("bench2"))
    assert inst.dtype == "float64" and inst.dump_time_s == 0.1
    real_map = REAL_COUNTS["map_spectra_per_roach"]
    real_cal = REAL_COUNTS["cal_spectra_per_roach"]
    for roach in range(4):
        assert counts[79448][roach] == pytest.approx(real_map[roach], rel=0.01), roach
        # the real Cal files differ by 8 spectra (2 dumps) among themselves
        assert counts[79447][roach] == pytest.approx(real_cal[roach], rel=0.02), roach
    assert np.mean(list(counts[79447].values())) == pytest.approx(np.mean(real_cal), rel=0.01)
    nbytes = sum(counts[79448].values()) * inst.nchan * 8
    assert 1.5e9 < nbytes < 1.8e9  # the real bench2 raw set: about 1.6 GB


def test_map_header_gives_lmtoy_cube_shape(plan, tmp_path):
    _, obs = plan
    mp = obs[79448]
    path = tmp_path / "ifproc.nc"
    write_ifproc(path, mp, _series(mp, _rng(0, 0, mp.obsnum, 0)))
    header = read_header(path)
    assert (header.map_x_length_arcsec, header.map_y_length_arcsec) == pytest.approx(
        REAL_COUNTS["map_arcsec"]
    )
    config = load_config(REPO / "config" / "config.yaml")
    grid = step_params(config, header, 0, "grid")
    base = step_params(config, header, 0, "baseline")
    geometry = GridGeometry.from_extent(grid["extent"], grid["cell"])
    axis = header.spectral_axis(0, 2048, 800.0)
    nchan = SliceSpec.from_velocities(axis, *base["slice"]).nchan
    assert (nchan, geometry.ny, geometry.nx) == REAL_COUNTS["cube_shape"]


def test_spectra_only_in_blocks_are_ingested(tmp_path):
    """The real pattern (no spectra during slews) passes the raw-data checks and every block
    keeps its dumps: a tiny session with bench2's spectrometer margin."""
    from lmtflow.io.sdfits_reader import SDFITSReader
    from lmtflow.pipeline.ingest import ingest
    from lmtflow.sim import simulate

    from .conftest import make_tiny_config

    cfg = make_tiny_config(roach_block_margin_s=0.18)
    cfg["sessions"][0]["observations"][1]["params"]["switch_s"] = 2.5  # long slews, as real
    sim = simulate(cfg, tmp_path / "data_lmt", seed=2)
    for label in ("cal", "ps"):
        obs = sim.obs(label)
        out = ingest(sim.data_lmt, obs["obsnum"], 0, tmp_path / f"{label}.sdfits")
        with SDFITSReader(out) as r:
            bufpos = r.column("BUFPOS")[:: r.rows_per_dump]
        for code in {b["bufpos"] for b in obs["blocks"]}:
            blocks = [b for b in obs["blocks"] if b["bufpos"] == code]
            want = sum(round((b["t_last"] - b["t_first"]) / 0.1) - 1 for b in blocks)
            assert np.count_nonzero(bufpos == code) >= want, (label, code)
        assert np.all(np.isin(bufpos, [b["bufpos"] for b in obs["blocks"]]))


@pytest.mark.parametrize("name", ["small", "demo", "bench", "faults", "dualbank", "mosaic"])
def test_other_presets_follow_the_real_pattern(name):
    """From the schedule alone: the spectrometer dumps only near a block (the real margin, none
    mid-slew); the Cal is 79447's; a Map is REF, then (slew, ON, slew, REF) per ON block with
    slews 3/4 of a REF, as 79448; a Ps is REF, ON, ... of equal lengths (82480); a Bs alternates
    BufPos 0 and 1. ``bench`` has the real block lengths too."""
    from lmtflow.sim.instrument import REAL_ROACH_BLOCK_MARGIN_S
    from lmtflow.sim.simulate import roach_dump_times

    plan, _ = plan_observations(preset_config(name))
    real = REAL_COUNTS["block_seconds"]
    on, ref, hot, sky = BufPos.ON, BufPos.REF, BufPos.HOT, BufPos.SKY
    kinds = set()
    for si, _, _, inst, observations in plan:
        assert inst.roach_block_margin_s == REAL_ROACH_BLOCK_MARGIN_S
        for obs in observations:
            kinds.add(obs.kind)
            segs = obs.timeline.segments
            codes = [s.bufpos for s in segs]
            t = roach_dump_times(obs, _rng(0, si, obs.obsnum, 1))[0]
            blocks = obs.timeline.blocks()
            gap = np.min([np.maximum(b.t0 - t, t - b.t1) for b in blocks], axis=0)
            assert gap.max() <= REAL_ROACH_BLOCK_MARGIN_S, (obs.obsnum, gap.max())
            if obs.kind == "Cal":
                assert codes == [hot, None, sky]
                np.testing.assert_allclose([s.duration for s in segs],
                                           [real["hot"], REAL_COUNTS["cal_switch_s"], real["sky"]],
                                           rtol=0.01)  # fmt: skip
            elif obs.kind == "Map":
                n_on = codes.count(on)
                assert codes == [ref] + [None, on, None, ref] * n_on and n_on >= 2
                slews = [s.duration for s in segs if s.bufpos is None]
                refs = [s.duration for s in segs if s.bufpos == ref]
                assert np.mean(slews) / np.mean(refs) == pytest.approx(
                    np.mean(REAL_COUNTS["slew_seconds"]) / np.mean(real["ref"]), rel=0.05)
                if name == "bench":
                    ons = [s.duration for s in segs if s.bufpos == on]
                    np.testing.assert_allclose(ons, real["on"], rtol=0.015)
                    np.testing.assert_allclose(refs, real["ref"], rtol=0.05)
            elif obs.kind == "Ps":
                blk = [s for s in segs if s.bufpos is not None]
                assert [s.bufpos for s in blk] == [ref, on] * (len(blk) // 2)
                assert len({round(s.duration, 6) for s in blk}) == 1
            else:
                blk = [s.bufpos for s in segs if s.bufpos is not None]
                assert blk == [on, ref] * (len(blk) // 2) and len(blk) >= 4
    assert {"Cal", "Map"} <= kinds
