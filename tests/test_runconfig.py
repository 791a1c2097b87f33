"""How ``lmtflow run`` builds its config: files merged in order, ObsNums, ``--set`` values."""

from __future__ import annotations

import pytest
import yaml

from lmtflow.errors import ConfigError
from lmtflow.runconfig import build_run_config, set_value, split_arguments


def test_set_value_places_each_kind_of_key():
    cfg: dict = {}
    set_value(cfg, "grid.resolution=14")
    set_value(cfg, "79448.baseline.birdies=[1024, 1030]")
    set_value(cfg, 'overrides.79449.grid.pix_list="-3"')
    set_value(cfg, "ingest.missing_roach=fail")
    set_value(cfg, "threads=4")
    assert cfg == {
        "defaults": {"grid": {"resolution": 14}},
        "overrides": {"79448": {"baseline": {"birdies": [1024, 1030]}},
                      "79449": {"grid": {"pix_list": "-3"}}},
        "ingest": {"missing_roach": "fail"},
        "threads": 4,
    }  # fmt: skip
    att: dict = {}
    set_value(att, "grid.resolution=16", attempt="coarse")
    set_value(att, "79448.grid.pix_list=-3", attempt="coarse")
    coarse = {"grid": {"resolution": 16}, "overrides": {"79448": {"grid": {"pix_list": -3}}}}
    assert att == {"attempts": {"coarse": coarse}}
    with pytest.raises(ConfigError, match="expected KEY=VALUE"):
        set_value({}, "grid.resolution")
    with pytest.raises(ConfigError, match="only step values"):
        set_value({}, "threads=2", attempt="coarse")
    with pytest.raises(ConfigError, match="threads is not a mapping"):
        set_value({"threads": 2}, "threads.x=1")


def test_build_run_config_merges_in_order_and_validates(tmp_path):
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    a.write_text(yaml.safe_dump({"obsnums": [79448], "defaults": {"grid": {"rmax": 2}},
                                 "work_lmt": "w"}))  # fmt: skip
    b.write_text(yaml.safe_dump({"defaults": {"grid": {"nppb": 3}, "baseline": {"b_order": 1}}}))
    run = build_run_config([a, b], [79449], ["grid.rmax=4"], data_lmt=str(tmp_path))
    grid = run.config["defaults"]["grid"]
    assert (grid["rmax"], grid["nppb"]) == (4, 3)  # b merged over a, --set over both
    assert run.config["defaults"]["baseline"]["b_order"] == 1
    assert run.obsnums() == [79448, 79449]
    assert run.raw["work_lmt"] == str((tmp_path.cwd() / "w").resolve())
    written = yaml.safe_load(run.write(tmp_path / "run.yaml").read_text())
    assert written["defaults"]["grid"] == {"rmax": 4, "nppb": 3} and written["obsnums"] == [
        79448, 79449]  # fmt: skip
    with pytest.raises(ConfigError, match="'defaults.grid.rmx'; did you mean 'rmax'"):
        build_run_config([a], [], ["grid.rmx=3"])
    with pytest.raises(ConfigError, match="no attempt named 'x'"):
        build_run_config([a], [], [], attempt="x")
    assert build_run_config([a], [], ["grid.rmax=3"], attempt="x").config["attempts"] == {
        "x": {"grid": {"rmax": 3}}}  # fmt: skip


def test_split_arguments(tmp_path):
    cfg = tmp_path / "p.yaml"
    cfg.write_text("{}")
    assert split_arguments([str(cfg), "79448", "79449"]) == ([cfg], [79448, 79449])
    with pytest.raises(ConfigError, match="'nope.yaml' is neither an ObsNum nor a config file"):
        split_arguments(["nope.yaml"])
