"""The mosaic preset (lmtflow.sim.mosaic) and a mosaic project: simulator layout, truth and
project config, and the joint field of a combination of tiles (lmtflow.combination)."""

from __future__ import annotations

import json
import math

import pytest
import yaml

from lmtflow import cli
from lmtflow.combination import joint_field
from lmtflow.config import validate_config
from lmtflow.errors import ConfigError
from lmtflow.sim import mosaic, simulate_preset
from lmtflow.targets import scan_config

TILES = 6  # conftest's mosaic_sim


def test_layout_and_sources_on_tile_edges():
    assert mosaic.tile_layout(1) == (1, 1)
    assert mosaic.tile_layout(6) == (3, 2)
    assert mosaic.tile_layout(64) == (8, 8)
    assert mosaic.tile_layout(65) == (9, 8)
    with pytest.raises(ConfigError, match="tiles"):
        mosaic.tile_layout(0)
    spacing = 60.0
    centres = mosaic.tile_offsets(64, spacing)
    assert len(set(centres)) == 64
    assert max(abs(x) for x, _ in centres) == pytest.approx(3.5 * spacing)
    for src in mosaic.mosaic_sources(64, spacing):
        # distances to the nearest tile centres: on an edge two tiles are equally near, on a
        # corner four; only tile0's own source sits in a tile's middle
        d = sorted(math.hypot(src["dx_arcsec"] - x, src["dy_arcsec"] - y) for x, y in centres)
        if src["name"] == "tile0":
            assert d[0] == pytest.approx(0.0)
        elif src["name"].startswith("corner"):
            assert d[0] == pytest.approx(d[3]) and d[0] == pytest.approx(spacing / math.sqrt(2))
        else:
            assert d[0] == pytest.approx(d[1]) and d[0] == pytest.approx(spacing / 2)


def test_joint_field_of_tiles_and_of_one_field():
    assert joint_field([(10.0, 20.0), (10.0, 20.0)], [60.0, 90.0]) == (None, 90.0)
    cosd = math.cos(math.radians(20.0))
    east = 10.0 + 120.0 / 3600.0 / cosd  # 120" east
    centre, half = joint_field([(10.0, 20.0), (east, 20.0)], [60.0, 60.0])
    assert centre[0] == pytest.approx(10.0 + 60.0 / 3600.0 / cosd)
    assert centre[1] == pytest.approx(20.0)
    assert half == pytest.approx(120.0)  # 60" to each tile's centre + its own 60"
    # across RA 0: the centre is between the tiles, not on the far side of the sky
    centre, _ = joint_field([(359.99, 0.0), (0.01, 0.0)], [60.0, 60.0])
    assert centre[0] == pytest.approx(0.0, abs=1e-9) or centre[0] == pytest.approx(360.0)


def test_cli_simulates_a_mosaic(tmp_path, capsys):
    out = tmp_path / "data_lmt"
    argv = ["simulate", "--preset", "mosaic", "--tiles", "1", "--out", str(out)]
    assert cli.main(argv) == 0
    assert "project.yaml" in capsys.readouterr().out
    truth = json.loads((tmp_path / "data_lmt_truth" / "truth.json").read_text())
    assert truth["obsnums"]["Map"] == mosaic.map_obsnums(1) and truth["mosaic"]["tiles"] == 1
    project = yaml.safe_load((tmp_path / "data_lmt_truth" / "project.yaml").read_text())
    assert "combinations" not in project["sources"][mosaic.SOURCE_NAME]  # one map: no joint


def test_simulated_mosaic_truth_and_project(mosaic_sim):
    truth = mosaic_sim.truth
    maps = mosaic.map_obsnums(TILES)
    assert truth["obsnums"]["Map"] == maps
    assert truth["obsnums"]["Cal"] == [n - 1 for n in maps]
    assert truth["preset"] == "mosaic"
    info = truth["mosaic"]
    assert info["tiles"] == TILES and (info["cols"], info["rows"]) == (3, 2)
    # every Map uses the Cal of its own tile, tracks its own centre, and sees every source
    names = {s["name"] for s in truth["sessions"][0]["sky"]["sources"]}
    assert len(names) == len(mosaic.mosaic_sources(TILES, info["spacing_arcsec"]))
    positions = set()
    for obsnum in maps:
        session = next(s for s in truth["sessions"] if obsnum in s["obsnums"])
        assert session["obsnums"] == [obsnum - 1, obsnum]
        assert {s["name"] for s in session["sky"]["sources"]} == names
        positions.add((round(session["sky"]["ra_deg"], 8), round(session["sky"]["dec_deg"], 8)))
    assert len(positions) == TILES
    # the project config names every Map and their joint combination, and is a valid config
    project = yaml.safe_load((mosaic_sim.truth_dir / "project.yaml").read_text())
    assert project["data_lmt"] == str(mosaic_sim.data_lmt)
    config = validate_config({**project, "work_lmt": str(mosaic_sim.data_lmt.parent / "work")})
    infos, combos = scan_config(config)
    assert sorted(infos) == maps
    assert [sorted(i.obsnum for i in members) for members in combos.values()] == [maps]
    assert {infos[n].cal.obsnum for n in maps} == {n - 1 for n in maps}


def test_mosaic_preset_options(tmp_path):
    with pytest.raises(ConfigError, match="only 'mosaic'"):
        simulate_preset("small", tmp_path / "x", tiles=4)
    cfg = mosaic.mosaic_config(2, dual_bank=True)
    assert [s["instrument"]["line_freq_ghz"] for s in cfg["sessions"]] == [
        [mosaic.CO10, mosaic.CO13_10]
    ] * 2
    rest = {s["rest_freq_ghz"] for s in cfg["sessions"][0]["sky"]["sources"]}
    assert rest == {mosaic.CO10, mosaic.CO13_10}
    starts = [s["start_utc"] for s in cfg["sessions"]]
    assert starts == sorted(starts) and len(set(starts)) == 2  # tiles one after the other


def _tile_headers():
    """Headers of two tiles 120" apart in RA (from tests/test_params.py's header)."""
    from dataclasses import replace

    from tests.test_params import HEADER

    east = HEADER.ra_deg + 120.0 / 3600.0 / math.cos(math.radians(HEADER.dec_deg))
    return HEADER, replace(HEADER, obsnum=HEADER.obsnum + 2, ra_deg=east)


def test_combination_params_of_tiles_and_its_own_grid_values():
    """Tiles get the joint field; the combination's own grid values change it alone."""
    from lmtflow.params import combination_params, step_params

    first, second = _tile_headers()
    nums = [first.obsnum, second.obsnum]
    combo = {"obsnums": nums, "grid": {"resolution": 14.0}}
    overrides = {str(first.obsnum): {"grid": {"rms_cut": 0.5}}}
    cfg = validate_config({"sources": {"S": {"obsnums": nums, "combinations": [combo]}},
                           "overrides": overrides})  # fmt: skip
    p = combination_params(cfg, [second, first], 0, "grid")
    own = step_params(cfg, first, 0, "grid")
    assert own["resolution"] != 14.0  # a member's own grid is not changed
    assert p["resolution"] == 14.0 and p["cell"] == pytest.approx(7.0)  # derived again
    assert p["rms_cut"][str(first.obsnum)] == 0.5  # the members' own overrides stay
    assert p["center"][0] == pytest.approx(0.5 * (first.ra_deg + second.ra_deg))
    assert p["extent"] == pytest.approx(60.0 + own["extent"])
    # one field (no center key: an existing combination's parameters are unchanged)
    from dataclasses import replace

    same = combination_params(cfg, [first, replace(first, obsnum=second.obsnum)], 0, "grid")
    assert "center" not in same and same["extent"] == own["extent"]
    cfg["sources"]["T"] = {"combinations": [{"obsnums": nums, "grid": {"resolution": 16.0}}]}
    with pytest.raises(ConfigError, match="grid values differ"):
        combination_params(cfg, [first, second], 0, "grid")


def test_misspelt_combination_grid_key_is_named():
    combo = {"obsnums": [1, 2], "grid": {"resolutio": 14}}
    with pytest.raises(ConfigError, match=r"combinations\.0\.grid\.resolutio.*'resolution'"):
        validate_config({"sources": {"S": {"obsnums": [1, 2], "combinations": [combo]}}})


def test_header_cache_reuses_and_rereads(mosaic_sim, tmp_path, monkeypatch):
    """Each Snakemake start reads the headers from the work-tree cache while the ifproc files
    are unchanged, and reads a file again when its size or time changes."""
    import os
    import shutil

    from lmtflow import header_cache
    from lmtflow.io.ifproc import read_header

    src = next((mosaic_sim.data_lmt / "ifproc").glob("*.nc"))
    raw = tmp_path / src.name
    shutil.copy(src, raw)
    first = header_cache.HeaderCache(tmp_path / "work")
    assert first.read(raw) == read_header(raw)
    first.save()
    assert (tmp_path / "work" / header_cache.CACHE_FILE).exists()

    def no_read(path):
        raise AssertionError(f"{path} read again")

    monkeypatch.setattr(header_cache, "read_header", no_read)
    assert header_cache.HeaderCache(tmp_path / "work").read(raw) == read_header(raw)
    os.utime(raw, ns=(1, 1))  # the file changed: read again (and not from the cache)
    with pytest.raises(AssertionError, match="read again"):
        header_cache.HeaderCache(tmp_path / "work").read(raw)
    (tmp_path / "work" / header_cache.CACHE_FILE).write_text("{not json")
    monkeypatch.setattr(header_cache, "read_header", read_header)
    assert header_cache.HeaderCache(tmp_path / "work").read(raw).obsnum > 0  # damaged: re-read
