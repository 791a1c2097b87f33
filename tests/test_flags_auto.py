"""Automatic flags on the simulator's faults preset, through the real workflow: the noisy beam
is found (and no other), applied to the cube, and put back by a veto of its id; suggest
applies nothing; the guard demotes a detector that would flag too much."""

from __future__ import annotations

import json

import pytest
import yaml
from astropy.io import fits

from lmtflow.flags.apply import applied_auto_rules
from lmtflow.flags.auto import detect, write_auto_file
from lmtflow.io.sdfits_reader import SDFITSReader
from lmtflow.sim import simulate_preset

from .workflow_helpers import run, write_config

AUTO = (
    "auto:\n  bad_beams: {policy: apply}\n  spikes: {policy: apply}\n  bad_time: {policy: apply}\n"
)


@pytest.fixture(scope="module")
def faults_auto(tmp_path_factory):
    root = tmp_path_factory.mktemp("faults_auto")
    sim = simulate_preset("faults", root / "data_lmt", seed=0)
    flags = root / "flags.yaml"
    flags.write_text(AUTO)
    config = write_config(root / "config.yaml", flags=str(flags))
    n = sim.labels["map"]
    _, ran = run(sim.data_lmt, root, [n], configfile=config)
    obsdir = next((root / "work").glob(f"*/{n}"))
    return {"sim": sim, "root": root, "flags": flags, "config": config, "obsnum": n,
            "obsdir": obsdir, "ran": ran}  # fmt: skip


def nspec(obsdir):
    return int(fits.getheader(next(obsdir.glob("srdp/*__0.fits")))["NSPEC"])


def beam_rows(base, beam):
    with SDFITSReader(base) as r:
        return int((r.column("FDNUM") == beam).sum()), r.nrows


def test_noisy_beam_found_applied_and_vetoed(faults_auto):
    f = faults_auto
    n, obsdir = f["obsnum"], f["obsdir"]
    assert f["ran"]["autoflag"] == 1
    auto = yaml.safe_load((obsdir / "flags" / "auto__0.yaml").read_text())
    beams = [r for r in auto["rules"] if r["id"].split("/")[3] == "bad_beams"]
    assert [r["id"] for r in beams] == [f"auto/{n}/0/bad_beams/b5p0"]  # beam 5 (x3), no other
    assert beams[0]["reason"] == "noisy_beam" and beams[0]["metric"]["z"] > 5
    # spikes are found in the raw counts (REF dumps too) and applied at calibration: the
    # injected x1000 spikes (5 per roach file, 3 files of the map) and nothing weak
    raw = yaml.safe_load((obsdir / "flags" / "auto_raw__0.yaml").read_text())
    spikes = [r for r in raw["rules"] if r["reason"] == "spike"]
    assert raw["policy"] == {"spikes": "apply"} and 5 <= len(spikes) <= 15
    assert all(r["metric"]["z"] > 1e4 for r in spikes)
    cal = fits.open(obsdir / f"{n}__0.cal.sdfits")[1]
    assert json.loads(cal.header["FLGRCAL"])["spike"] > 0  # the ON-dump ones are marked
    base = obsdir / f"{n}__0.base.sdfits"
    b5, rows = beam_rows(base, 5)
    flagged = nspec(obsdir)
    cube = fits.getheader(next(obsdir.glob("srdp/*__0.fits")))
    assert len(cube["FLGSSEL"]) == 64  # the rules the grid applied are recorded

    # veto the beam by its id: only the map's select-level steps run again, beam 5 is back
    f["flags"].write_text(AUTO + f"rules:\n  - {{action: unflag, reason: beam5_ok, "
                          f"id: auto/{n}/0/bad_beams/b5p0}}\n")  # fmt: skip
    _, ran = run(f["sim"].data_lmt, f["root"], [n], configfile=f["config"])
    assert ran["grid"] == 1 and not {"ingest", "calibrate", "baseline"} & set(ran), dict(ran)
    assert nspec(obsdir) - flagged == b5  # exactly the beam-5 spectra came back
    assert b5 > 0 and rows > b5
    # the QA numbers and page list the veto (origin, id, metric)
    qa = json.loads(next(obsdir.glob("qa/*.qa.json")).read_text())["flags"]
    vetoed = [v for v in qa["vetoes"] if v.get("vetoed")]
    assert [v["id"] for v in vetoed] == [f"auto/{n}/0/bad_beams/b5p0"]
    assert vetoed[0]["origin"] == "auto" and vetoed[0]["metric"]["z"] > 5
    assert not [a for a in qa["applied"] if a["reason"] == "noisy_beam"]
    page = (obsdir / "README.html").read_text()
    assert "Flags vetoed (unflag)" in page and f"auto/{n}/0/bad_beams/b5p0" in page


def test_suggest_applies_nothing_and_guard_demotes(faults_auto, tmp_path):
    obsdir, n = faults_auto["obsdir"], faults_auto["obsnum"]
    base = obsdir / f"{n}__0.base.sdfits"
    params = {"pix_list": list(range(16)), "rms_cut": -4, "b_regions": [[-370, -120], [80, 330]]}
    suggest = detect(base, {"bad_beams": {"policy": "suggest"}}, params)
    assert [r["policy"] for r in suggest["rules"]] == ["suggest"]
    path = write_auto_file(suggest, tmp_path / "auto.yaml", str(base))
    assert applied_auto_rules(path) == []
    greedy = detect(base, {"bad_beams": {"policy": "apply", "nsigma": -100, "min_ratio": 0}},
                    params)
    assert (
        greedy["policy"]["bad_beams"] == "suggest" and "demoted to suggest" in greedy["warnings"][0]
    )
    assert len(greedy["rules"]) > 6 and applied_auto_rules(write_auto_file(
        greedy, tmp_path / "g.yaml", str(base))) == []  # fmt: skip
    assert detect(base, {"bad_beams": {"policy": "off"}}, params)["rules"] == []
