"""Simulator fault ``bad_intervals`` (noise x factor on some beams for a while) and the
``bad_time`` detector: each injected interval is found within 2 dumps, on its beams only."""

from __future__ import annotations

import numpy as np

import lmtflow
from lmtflow.flags.auto import detect
from lmtflow.io.sdfits_reader import SDFITSReader
from lmtflow.sim import simulate
from lmtflow.sim.presets import PRESETS


def test_bad_intervals_are_found_within_two_dumps(tmp_path):
    cfg = PRESETS["faults"]()
    sess = cfg["sessions"][0]
    sess["observations"] = sess["observations"][:2]  # Cal + Map
    bad = [{"obsnum": 90002, "beams": [6, 7], "t0_s": 12.0, "t1_s": 15.0, "factor": 4.0}]
    sess["faults"] = {"bad_intervals": bad}
    sim = simulate(cfg, tmp_path / "data_lmt", seed=3)
    assert sim.truth["sessions"][0]["faults"]["bad_intervals"] == bad
    obs = lmtflow.load(90002, data_lmt=sim.data_lmt, work=tmp_path / "work")
    base = obs.calibrate().baseline()
    params = {**base.params, "pix_list": list(range(16)), "rms_cut": -4}
    found = detect(base.path, {"bad_time": {"policy": "apply"}}, params)["rules"]
    with SDFITSReader(obs.path) as r:  # raw: every dump, its start time
        per = r.rows_per_dump
        utc, dumps = r.column("UTCTIME")[::per], r.column("INTNUM")[::per]
    with SDFITSReader(base.path) as r:
        on = set(r.column("INTNUM")[:: r.rows_per_dump].tolist())
    rel = utc - utc[0]
    inside = [int(d) for d, t in zip(dumps, rel, strict=True) if 12.0 <= t <= 15.0 and d in on]
    assert sorted({r["beam"][0][0] for r in found}) == [6, 7]  # those beams, no other
    for beam in (6, 7):
        (rule,) = [r for r in found if r["beam"] == [[beam, beam]]]
        d0, d1 = rule["dump"][0]
        assert abs(d0 - inside[0]) <= 2 and abs(d1 - inside[-1]) <= 2, (d0, d1, inside)
        assert rule["id"] == f"auto/90002/0/bad_time/b{beam}p0d{d0}-{d1}"
    assert np.all([r["metric"]["z"] > 5 for r in found])
