"""Attempts through the real workflow: shared steps are not redone, each attempt's products
live in its own directory, the attempts page loads in Chromium, and the Python API."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
import yaml
from astropy.io import fits

from lmtflow.workflow import run_attempt

from .test_pages import check_resolves, load_in_chromium
from .workflow_helpers import copy_run, dry_jobs, run, write_config

ATTEMPTS = {"coarse": {"grid": {"resolution": 16}}, "order1": {"baseline": {"b_order": 1}}}
CHAIN = ("ingest", "tsys", "calibrate", "baseline", "grid")


@pytest.fixture(scope="module")
def attempts_run(small_sim, maps_combined, tmp_path_factory):
    """Two maps of one field and their combination reduced as the base (a copy of the
    session's ``maps_combined``), then again with two attempts added."""
    root = copy_run(maps_combined["root"], tmp_path_factory.mktemp("attempts"))
    nums, project = maps_combined["maps"], maps_combined["project"]
    cfg = write_config(root / "attempts.yaml", **project, attempts=ATTEMPTS)
    _, ran = run(small_sim.data_lmt, root, nums, configfile=cfg)
    obsdir = next((root / "work").glob(f"*/{nums[0]}"))
    return {
        "root": root,
        "obsnum": nums[0],
        "dir": obsdir,
        "combo": obsdir.parent / f"{nums[0]}_{nums[1]}",
        "ran": ran,
        "config": cfg,
        "data": small_sim.data_lmt,
    }


def test_attempts_share_unchanged_steps(attempts_run):
    ran = attempts_run["ran"]
    # nothing before the first changed step runs again; the base is not redone
    # (two ObsNums: order1 redoes both baselines, each attempt grids both and the combination)
    assert [ran.get(r, 0) for r in CHAIN] == [0, 0, 0, 2, 4], dict(ran)
    assert ran["grid_combination"] == 2 and ran["srdp"] == 4 and ran["qa_page"] == 4, dict(ran)
    assert ran["attempts_page"] == 2 and ran["combo_attempts_page"] == 1, dict(ran)
    # the per-beam QA reads the baselines and the spectra used: only order1 redoes it
    assert ran["qa_beams"] == 2, dict(ran)
    obsdir, n = attempts_run["dir"], attempts_run["obsnum"]
    coarse, order1 = obsdir / "attempts" / "coarse", obsdir / "attempts" / "order1"
    assert not (coarse / f"{n}__0.base.sdfits").exists()  # read from the base
    assert (order1 / f"{n}__0.base.sdfits").is_file()
    assert not (order1 / f"{n}__0.cal.sdfits").exists()
    for d in (coarse, order1):
        assert len(list((d / "srdp").glob(f"*_{n}__0.fits"))) == 1
        assert (d / "README.html").is_file() and (d / f"{n}_SRDP.zip").is_file()


def test_attempt_products_follow_their_parameters(attempts_run):
    obsdir, n = attempts_run["dir"], attempts_run["obsnum"]
    base = fits.getheader(next((obsdir / "srdp").glob(f"*_{n}__0.fits")))
    coarse = fits.getheader(next((obsdir / "attempts/coarse/srdp").glob(f"*_{n}__0.fits")))
    assert coarse["BMAJ"] > base["BMAJ"] and coarse["CDELT2"] == pytest.approx(8 / 3600)
    params = json.loads(next((obsdir / "attempts/order1/srdp").glob("*.params.json")).read_text())
    assert params["steps"]["baseline"]["b_order"] == 1
    qa = json.loads((obsdir / f"attempts/coarse/qa/{n}__0.qa.json").read_text())
    assert qa["params"]["grid"]["resolution"] == 16
    with zipfile.ZipFile(obsdir / f"attempts/coarse/{n}_SRDP.zip") as zf:
        names = zf.namelist()
    assert any(x.endswith(f"_{n}__0.fits") for x in names)
    assert any(x.endswith("grid__0.json") for x in names) and any(x.endswith(".png") for x in names)


def test_attempts_page_loads_in_chromium(attempts_run, tmp_path):
    page = attempts_run["dir"] / "attempts.html"
    seen = load_in_chromium(page, tmp_path)
    check_resolves(seen, page)
    text = seen["text"]
    for name in ("base", "coarse", "order1", "grid.resolution", "baseline.b_order"):
        assert name in text, name
    # one image per plot and attempt; three downloads
    assert sum(src.endswith(".mom0.png") for src, *_ in seen["images"]) == 3
    assert sum(h.endswith("_SRDP.zip") for h in seen["links"]) == 3
    index = load_in_chromium(attempts_run["dir"].parent / "index.html", tmp_path)
    assert sum(h.endswith("attempts.html") for h in index["links"]) == 3  # 2 ObsNums, 1 combo


def test_combination_attempts_page_and_shared_baselines(attempts_run, tmp_path):
    combo = attempts_run["combo"]
    page = combo / "attempts.html"
    seen = load_in_chromium(page, tmp_path)
    check_resolves(seen, page)
    assert "grid.resolution" in seen["text"] and "baseline.b_order" in seen["text"]
    assert sum(h.endswith("_SRDP.zip") for h in seen["links"]) == 3
    # the coarse combination was gridded from the base's baselined SDFITS of both members:
    # no coarse directory holds any
    assert (combo / "attempts/coarse").is_dir()
    assert not list(combo.parent.glob("*/attempts/coarse/*.base.sdfits"))
    assert len(list(combo.parent.glob("*/attempts/order1/*.base.sdfits"))) == 2


def test_run_attempt_from_python(attempts_run):
    cfg = yaml.safe_load(Path(attempts_run["config"]).read_text())
    cfg.update(data_lmt=str(attempts_run["data"]), work_lmt=str(attempts_run["root"] / "work"))
    n = attempts_run["obsnum"]
    result = run_attempt(cfg, "tight", {"grid": {"rmax": 2.0}})
    files = result.files(n)
    assert files and all(f.is_file() for f in files), files
    assert all("/attempts/tight/" in str(f) for f in files)
    qa = result.qa(n)
    assert qa["params"]["grid"]["rmax"] == 2.0 and qa["cube"]["rms_center_mK"] > 0
    # the base's products are untouched and reused: nothing but the attempt's own steps ran
    assert set(result.ran) <= {
        "step_params",
        "grid",
        "srdp",
        "srdp_params",
        "srdp_planes",
        "qa_beams",
        "qa_maps",
        "qa_numbers",
        "qa_page",
        "archive",
        "combo_params",
        "grid_combination",
        "combo_qa_maps",
        "combo_qa_numbers",
        "combo_qa_page",
        "combo_archive",
    }, result.ran
    assert result.ran["grid"] == 2 and result.ran["grid_combination"] == 1, result.ran  # fmt: skip


def _dry_jobs(data_lmt, two_maps, maps_combined, tmp_path, name: str,
              flags_yaml: str | None) -> tuple:
    """Jobs a run of the two maps and their combination would execute with this flag file
    (None: no flags), as a real dry run in ``two_maps``' original run directory: a change of
    flags is seen through Snakemake's records, which copies of a tree do not carry."""
    extra = {}
    if flags_yaml is not None:
        flags = tmp_path / f"{name}.flags.yaml"
        flags.write_text(flags_yaml)
        extra["flags"] = str(flags)
    cfg = write_config(tmp_path / f"{name}.yaml", **maps_combined["project"], **extra)
    return dry_jobs(data_lmt, two_maps["root"], two_maps["maps"], cfg)


def test_member_flags_rerun_that_member_and_the_combination_only(
    small_sim, two_maps, maps_combined, tmp_path
) -> None:
    """Editing one member's flags re-runs that member's grid and the combination, nothing of
    the other member; with detectors on, the joint grid reads every member's auto-flag file.
    Compared with the same dry run without flags (the combination itself is new there)."""
    a, b = two_maps["maps"]
    combo = f"{a}_{b}"
    plain, _ = _dry_jobs(small_sim.data_lmt, two_maps, maps_combined, tmp_path, "plain", None)
    jobs, _ = _dry_jobs(small_sim.data_lmt, two_maps, maps_combined, tmp_path, "beam",
                        f"rules:\n  - {{reason: dead, obsnum: {a}, beam: 3}}\n")  # fmt: skip
    added = set(jobs) - set(plain)
    assert ("grid", str(a)) in added and ("grid_combination", combo) in jobs, (jobs, plain)
    assert not [j for j in added if j[1] == str(b)], added  # the other member: nothing
    assert not {"ingest", "calibrate", "baseline"} & {r for r, _ in added}, added
    jobs, out = _dry_jobs(small_sim.data_lmt, two_maps, maps_combined, tmp_path, "auto",
                          "auto: {bad_beams: apply}\n")  # fmt: skip
    assert {("autoflag", str(a)), ("autoflag", str(b)), ("grid_combination", combo)} <= set(jobs)
    after = out[out.index("rule grid_combination:"):].splitlines()
    inputs = next(ln for ln in after if ln.strip().startswith("input:"))  # its own input line
    assert inputs.count("flags/auto__0.yaml") == 2, inputs  # both members' auto flags


def test_joint_grid_applies_each_members_auto_flags(attempts_run, tmp_path):
    """An auto flag of beam 2 found in member A (its auto-flag file) leaves beam 2 of A out of
    the joint cube and keeps beam 2 of B: the same cube as pix_list without beam 2 for A."""
    from lmtflow.pipeline.grid import grid_products

    a, combo = attempts_run["obsnum"], attempts_run["combo"]
    b = int(combo.name.split("_")[1])
    bases = [next(attempts_run["root"].glob(f"work/*/{n}/{n}__0.base.sdfits")) for n in (a, b)]
    params = json.loads((combo / "params" / "grid__0.json").read_text())
    auto = tmp_path / "auto__0.yaml"
    rule = {"action": "flag", "origin": "auto", "reason": "noisy_beam", "policy": "apply",
            "beam": [[2, 2]], "pol": [[0, 0]]}  # fmt: skip
    auto.write_text(yaml.safe_dump({"rules": [
        {**rule, "id": f"auto/{a}/0/bad_beams/b2p0"},
        {**rule, "id": f"auto/{a}/1/bad_beams/b2p0"},  # another bank: not this cube's
        {**rule, "id": f"auto/{b}/0/bad_beams/b2p0", "policy": "suggest"}]}))  # fmt: skip
    flagged = grid_products(bases, tmp_path / "f.fits", tmp_path / "f.wt.fits", params,
                            auto_flags=[auto])  # fmt: skip
    cut = {**params, "pix_list": {**params["pix_list"],
                                  str(a): [p for p in params["pix_list"][str(a)] if p != 2]}}
    expect = grid_products(bases, tmp_path / "p.fits", tmp_path / "p.wt.fits", cut)
    plain = fits.getdata(combo.glob("*__0.wt.fits").__next__())
    for got, want in zip(flagged, expect, strict=True):
        assert np.array_equal(fits.getdata(got), fits.getdata(want), equal_nan=True)
    assert fits.getdata(flagged[1]).sum() < plain.sum()  # beam 2 of A left out
