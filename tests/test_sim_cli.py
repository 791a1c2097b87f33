"""``lmtflow simulate`` and the config layer (presets, YAML example, errors)."""

from __future__ import annotations

import json

import pytest
import yaml

from lmtflow import cli
from lmtflow.errors import ConfigError
from lmtflow.sim import EXAMPLE_YAML, PRESETS, example_config, preset_config, simulate


def test_cli_simulate_from_config(tmp_path, tiny_config, capsys):
    cfg = tmp_path / "tiny.yaml"
    cfg.write_text(yaml.safe_dump(tiny_config()))
    out = tmp_path / "run" / "data_lmt"
    assert cli.main(["simulate", "--config", str(cfg), "--out", str(out), "--seed", "5"]) == 0
    text = capsys.readouterr().out
    truth_path = tmp_path / "run" / "data_lmt_truth" / "truth.json"
    assert str(out) in text and str(truth_path) in text
    truth = json.loads(truth_path.read_text())
    assert truth["seed"] == 5 and truth["obsnums"]["Cal"] == [1001]
    assert truth["labels"] == {"cal": 1001, "ps": 1002, "map": 1003}
    assert (out / "ifproc").is_dir() and len(list((out / "spectrometer").rglob("*.nc"))) == 12
    assert (truth_path.parent / "config.yaml").exists()


def test_cli_errors(tmp_path, capsys):
    with pytest.raises(SystemExit):
        cli.main(["simulate", "--preset", "nosuch", "--out", str(tmp_path / "x")])
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"sesions": []}))
    assert cli.main(["simulate", "--config", str(bad), "--out", str(tmp_path / "y")]) == 2
    assert "sesions" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main([])


def test_presets_and_example_are_valid(tmp_path):
    assert {"small", "demo", "bench"} <= set(PRESETS)
    assert "79448" in EXAMPLE_YAML
    cfg = example_config()
    assert cfg["sessions"][0]["observations"][1]["obsnum"] == 79448
    bench = preset_config("bench")
    mp = bench["sessions"][0]["observations"][1]
    assert mp["obsnum"] == 79448 and mp["params"]["xlength_arcsec"] == 400
    with pytest.raises(ConfigError, match="unknown simulator preset"):
        preset_config("nope")


def test_config_errors(tmp_path, tiny_config):
    cfg = tiny_config()
    cfg["sessions"][0]["sky"]["sources"][0]["peak"] = 1.0
    with pytest.raises(ConfigError, match="peak"):
        simulate(cfg, tmp_path / "a")
    cfg = tiny_config()
    cfg["sessions"][0]["observations"][2]["params"]["rows"] = 3
    with pytest.raises(ConfigError, match="rows"):
        simulate(cfg, tmp_path / "b")
    assert not (tmp_path / "b").exists()  # a config error writes nothing
    with pytest.raises(ConfigError, match="inside"):
        simulate(tiny_config(), tmp_path / "c", truth_dir=tmp_path / "c" / "truth")
    cfg = tiny_config()
    del cfg["sessions"][0]["observations"][0]
    with pytest.raises(ConfigError, match="Cal"):
        simulate(cfg, tmp_path / "d")
