"""``lmtflow run``, ``lmtflow status`` and Snakemake's report through the real command line:
the 1MM project of the small simulated tree (Ps 82480, two banks, Cal 82479), from a project
file written by ``lmtflow project init``, reduced once by real Snakemake."""

from __future__ import annotations

import json
import os
import zipfile

import pytest

from lmtflow.workflow import REPO

from .test_cli_info import lmtflow

PID = "2018-S1-MU-46"


@pytest.fixture(scope="module")
def project_run(small_sim, tmp_path_factory) -> dict:
    tmp = tmp_path_factory.mktemp("cli_run")
    project = tmp / "project.yaml"
    init = lmtflow("project", "init", PID, "--data-lmt", str(small_sim.data_lmt),
                   "-o", str(project))  # fmt: skip
    assert init.returncode == 0, init.stderr
    work = tmp / "work"
    proc = lmtflow("run", str(project), "--work-lmt", str(work), "--cores", "2", "--report",
                   cwd=tmp)  # fmt: skip
    return {"tmp": tmp, "project": project, "work": work, "proc": proc}


def status(run: dict, *extra: str) -> dict:
    proc = lmtflow("status", str(run["project"]), "--work-lmt", str(run["work"]), "--json",
                   *extra)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return {(g["label"], g["attempt"]): g for g in json.loads(proc.stdout)}


def test_run_shows_progress_products_pages_and_report(project_run):
    proc, work = project_run["proc"], project_run["work"]
    assert proc.returncode == 0, proc.stderr + proc.stdout
    bars = [line for line in proc.stderr.splitlines() if line.startswith("[")]
    done, total = bars[-1].split("] ")[1].split()[0].split("/")
    assert done == total and int(total) > 10 and len(bars) >= 3
    assert any("running: " in line for line in bars)
    rows = {}
    for line in proc.stdout.splitlines():
        cells = line.split()
        if cells and cells[0] == "82480":
            rows[int(cells[1])] = cells
    assert sorted(rows) == [0, 1]  # both banks of the 1MM Ps
    for bank, cells in rows.items():
        qa = json.loads(next(work.glob(f"{PID}/82480/qa/82480__{bank}.qa.json")).read_text())
        spectrum = qa["spectrum"]
        assert cells[5] == f"{spectrum['rms_mK']:.1f}"
        assert cells[6] == f"{spectrum['rms_radiometer_ratio']:.2f}"
        assert 0.8 < spectrum["rms_radiometer_ratio"] < 1.25  # noise as the radiometer equation
        assert (work / cells[4]).is_file() and cells[4].endswith(f"82480__{bank}.spec.fits")
    index = work / PID / "index.html"
    assert f"pages: {index}" in proc.stdout and index.is_file()
    # Snakemake's state went to the work tree, not to the current or the package directory
    assert (work / ".snakemake").is_dir()
    assert not (project_run["tmp"] / ".snakemake").exists()
    # Snakemake's report: per ObsNum, the QA plots and the SRDP files, with captions
    report = work / "report.zip"
    assert f"report: {report}" in proc.stdout
    names = zipfile.ZipFile(report).namelist()
    for bank in (0, 1):
        assert any(n.endswith(f"82480__{bank}.final.png") for n in names)
        assert any(n.endswith(f"OrionKL_82480__{bank}.spec.fits") for n in names)
    html = zipfile.ZipFile(report).read("report/report.html").decode()
    assert "ObsNum 82480" in html and "QA plots, bank 1" in html
    assert "science-ready products" in html and "Waterfall per beam" in html


def test_status_complete_then_out_of_date_and_why(project_run):
    assert project_run["proc"].returncode == 0
    groups = status(project_run)
    assert groups["82480", "base"]["state"] == "complete"
    assert groups["82479", "base"]["state"] == "complete"  # the Cal's Tsys
    changed = status(project_run, "--set", "baseline.b_order=1")
    assert changed["82480", "base"]["state"] == "out of date"
    reasons = changed["82480", "base"]["reasons"]
    assert "parameter changed: baseline__0.json" in reasons
    assert "parameter changed: baseline__1.json" in reasons
    assert changed["82479", "base"]["state"] == "complete"  # the Cal does not use it
    table = lmtflow("status", str(project_run["project"]), "--work-lmt", str(project_run["work"]))
    assert table.returncode == 0 and "82480" in table.stdout and "complete" in table.stdout


def test_rerun_has_nothing_to_do_and_an_attempt_reruns_only_its_steps(project_run):
    project, work = str(project_run["project"]), str(project_run["work"])
    again = lmtflow("run", project, "--work-lmt", work, "--cores", "1")
    assert again.returncode == 0 and "nothing to do" in again.stdout, again.stderr
    dry = lmtflow("run", project, "--work-lmt", work, "-n", "--attempt", "order1",
                  "--set", "baseline.b_order=1")  # fmt: skip
    assert dry.returncode == 0, dry.stderr
    planned = dict(line.split() for line in dry.stdout.splitlines()[1:])
    assert planned.get("baseline") == "2" and "ingest" not in planned and "tsys" not in planned
    slurm = lmtflow("run", project, "--work-lmt", work, "-n", "--profile", "slurm")
    assert slurm.returncode == 0 and "nothing to do" in slurm.stdout, slurm.stderr
    noprofile = lmtflow("run", project, "--work-lmt", work, "--profile", "nosuch")
    assert noprofile.returncode == 2 and "profile 'nosuch'" in noprofile.stderr
    bad = lmtflow("run", project, "--work-lmt", work, "--attempt", "nosuch")
    assert bad.returncode == 2 and "no attempt named 'nosuch'" in bad.stderr


def test_errors_come_before_anything_runs(small_sim, tmp_path):
    data = str(small_sim.data_lmt)
    typo = lmtflow("run", "79449", "--data-lmt", data, "--work-lmt", str(tmp_path / "w"),
                   "--set", "grid.resolutoin=14")  # fmt: skip
    assert typo.returncode == 2
    assert "unknown config key 'defaults.grid.resolutoin'; did you mean 'resolution'?" in (
        typo.stderr)  # fmt: skip
    cal = lmtflow("run", "79447", "--data-lmt", data, "--work-lmt", str(tmp_path / "w"))
    assert cal.returncode == 2 and "79447" in cal.stderr and "calibration" in cal.stderr
    missing = lmtflow("run", "no_such.yaml", "--work-lmt", str(tmp_path / "w"))
    assert missing.returncode == 2 and "neither an ObsNum nor a config file" in missing.stderr
    assert not (tmp_path / "w").exists()


def test_two_projects_at_once_keep_their_own_config_file(small_sim, tmp_path):
    """Two ``lmtflow run`` of different projects in one work tree at the same time (dry runs):
    each hands Snakemake its own saved config (named by its hash), neither overwrites the other."""
    from concurrent.futures import ThreadPoolExecutor

    import yaml

    work = tmp_path / "w"
    nums = (small_sim.labels["ps"], small_sim.labels["ps_1mm"])  # projects MU-8 and MU-46
    with ThreadPoolExecutor(2) as pool:
        procs = list(pool.map(lambda n: lmtflow("run", str(n), "--data-lmt",
                                                str(small_sim.data_lmt), "--work-lmt", str(work),
                                                "-n"), nums))  # fmt: skip
    assert all(p.returncode == 0 for p in procs), [p.stderr[-2000:] for p in procs]
    saved = sorted((work / ".lmtflow" / "configs").glob("run-*.yaml"))
    assert sorted(yaml.safe_load(f.read_text())["obsnums"] for f in saved) == [[n] for n in nums]
    assert not (work / ".lmtflow" / "run.yaml").exists()


def test_a_failed_step_exits_nonzero_with_its_log(project_run):
    """Last in this module: it damages the work tree."""
    work = project_run["work"]
    raw = next(work.glob(f"{PID}/82480/82480__0.raw.sdfits"))
    with open(raw, "r+b") as f:
        f.truncate(raw.stat().st_size // 3)
    os.utime(raw)  # newer than the calibrated SDFITS made from it
    groups = status(project_run)
    assert groups["82480", "base"]["state"] == "out of date"
    assert any(r.startswith("input newer than 82480__0.cal.sdfits: 82480__0.raw.sdfits")
               for r in groups["82480", "base"]["reasons"])  # fmt: skip
    proc = lmtflow("run", str(project_run["project"]), "--work-lmt", str(work), "--cores", "1")
    assert proc.returncode == 1
    assert "lmtflow run: rule calibrate failed" in proc.stderr
    assert "calibrate__0.log (last 25 lines)" in proc.stderr
    assert str(raw) in proc.stderr  # the step's own error, naming the damaged file
    assert "the whole log:" in proc.stderr
    assert str(REPO) not in proc.stderr.split("the whole log:")[1]
