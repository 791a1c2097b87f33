"""A fault on one polarisation of 1MM (simulator ``noisy_pols``) is found by the bad-beam
detector on that polarisation of that bank only (2 feeds per bank: judged against the
quieter polarisation)."""

from __future__ import annotations

import pytest

import lmtflow
from lmtflow.errors import ConfigError
from lmtflow.flags.auto import detect
from lmtflow.sim import simulate
from lmtflow.sim.presets import PRESETS


def _onemm(faults: dict) -> dict:
    cfg = PRESETS["small"]()
    sess = cfg["sessions"][1]  # 1MM: Cal 82479 + Ps 82480
    sess["faults"] = faults
    return {"sessions": [sess]}


def test_noisy_polarisation_found_alone(tmp_path):
    sim = simulate(_onemm({"noisy_pols": [{"bank": 0, "pol": 1, "factor": 3.0}]}),
                   tmp_path / "data_lmt", seed=5)  # fmt: skip
    assert sim.truth["sessions"][0]["faults"]["noisy_pols"] == [
        {"bank": 0, "pol": 1, "factor": 3.0}]  # fmt: skip
    found = {}
    for bank in (0, 1):
        obs = lmtflow.load(82480, bank=bank, data_lmt=sim.data_lmt, work=tmp_path / "work")
        base = obs.calibrate().baseline()
        params = {**base.params, "pix_list": [0, 1], "rms_cut": -4}
        found[bank] = detect(base.path, {"bad_beams": {"policy": "apply"}}, params)["rules"]
    assert found[1] == []  # the other bank is clean
    (rule,) = found[0]
    assert rule["pol"] == [[1, 1]] and rule["reason"] == "noisy_beam"
    assert rule["policy"] == "apply" and rule["id"].endswith("/bad_beams/b0p1")
    assert 2.5 < rule["metric"]["ratio"] < 3.5


def test_noisy_pols_refused_on_sequoia(tmp_path):
    cfg = PRESETS["faults"]()
    cfg["sessions"][0]["faults"] = {"noisy_pols": [{"bank": 0, "pol": 1}]}
    with pytest.raises(ConfigError, match="noisy_pols"):
        simulate(cfg, tmp_path / "data_lmt", seed=1)
