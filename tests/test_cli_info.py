"""``lmtflow info``, ``lmtflow project init`` and what a run naming no ObsNum says, through the
real command line (a subprocess) on the small simulated tree; checked against the simulator's
truth."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from lmtflow.config import validate_config
from lmtflow.io.ifproc import read_header
from lmtflow.io.ifproc_nc3 import read_header_fast
from lmtflow.workflow import REPO


def lmtflow(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run ``lmtflow ARGS`` as a user does (a fresh process)."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("DATA_LMT", None)
    env.pop("WORK_LMT", None)
    return subprocess.run([sys.executable, "-m", "lmtflow.cli", *args], capture_output=True,
                          text=True, cwd=cwd, env=env)  # fmt: skip


def info_json(*args: str) -> dict:
    proc = lmtflow("info", *args, "--json")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_fast_header_reader_equals_the_netcdf_reader(small_sim):
    files = sorted((small_sim.data_lmt / "ifproc").glob("*.nc"))
    assert len(files) == 7
    for path in files:
        assert read_header_fast(path) == read_header(path)


def test_info_lists_every_obsnum_as_the_truth_says(small_sim):
    doc = info_json(str(small_sim.data_lmt))
    got = {e["obsnum"]: e for e in doc["obsnums"]}
    truth = small_sim.truth["observations"]
    assert sorted(got) == sorted(int(n) for n in truth) and doc["unreadable"] == []
    for num, t in truth.items():
        e = got[int(num)]
        assert (e["mode"], e["source"], e["receiver"]) == (t["obspgm"], t["source_name"],
                                                           t["receiver"])  # fmt: skip
        assert e["date"][:10] == t["date"]
        assert e["calobsnum"] == t["cal_obsnum"]
        assert e["tint_s"] == t["integration_time_s"]
        assert e["banks"] == [b["bank"] for b in t["banks"]]
        assert e["rest_ghz"] == [b["line_freq_ghz"] for b in t["banks"]]
        assert all(abs(s - b["sky_freq_ghz"]) < 1e-6 for s, b in zip(e["sky_ghz"], t["banks"],
                                                                      strict=True))  # fmt: skip
    table = lmtflow("info", str(small_sim.data_lmt)).stdout.splitlines()
    assert table[0].split()[:3] == ["date", "(UTC)", "ObsNum"]
    assert len(table) == 1 + len(truth) + 1 and table[-1].startswith(f"{len(truth)} ObsNums")
    line = next(t for t in table if " 82480 " in t)
    assert "Msip1mm" in line and "230.5380/220.3987" in line and "0,1" in line


def test_info_filters(small_sim):
    data = str(small_sim.data_lmt)
    maps = [e["obsnum"] for e in info_json(data, "--mode", "map")["obsnums"]]
    assert maps == sorted(small_sim.obsnums["Map"])
    orion = [e["obsnum"] for e in info_json(data, "--source", "orion*")["obsnums"]]
    assert orion == [82479, 82480]
    assert [e["obsnum"] for e in info_json(data, "--since", "2018-12-01")["obsnums"]] == orion
    assert [
        e["obsnum"]
        for e in info_json(data, "--until", "2018-11-30", "--receiver", "sequoia", "--mode", "Ps")[
            "obsnums"
        ]
    ] == [79449]
    assert info_json(data, "--project", "2018-S1-MU-46", "--mode", "Map")["obsnums"] == []
    bad = lmtflow("info", data, "--since", "yesterday")
    assert bad.returncode == 2 and "'yesterday' is not YYYY-MM-DD" in bad.stderr


def test_info_names_unreadable_files_and_goes_on(small_sim, tmp_path):
    ifproc = tmp_path / "data_lmt" / "ifproc"
    shutil.copytree(small_sim.data_lmt / "ifproc", ifproc)
    cut = next(ifproc.glob("*_079449_*"))
    os.truncate(cut, cut.stat().st_size // 2)
    (ifproc / "ifproc_2018-11-16_079460_00_0001.nc").write_bytes(b"not netCDF at all")
    shutil.copy(next(ifproc.glob("*_079450_*")), ifproc / "ifproc_2018-11-16_079450_01_0002.nc")
    shutil.copy(next(ifproc.glob("*_079451_*")), ifproc / "ifproc_2018-11-16_079470_00_0001.nc")
    doc = info_json(str(tmp_path / "data_lmt"))
    bad = {u["obsnum"]: u["reason"] for u in doc["unreadable"]}
    assert sorted(bad) == [79449, 79450, 79460, 79470]
    assert "truncated" in bad[79449]
    assert "not a readable netCDF file" in bad[79460] or "not netCDF" in bad[79460]
    assert "more than one ifproc file" in bad[79450]
    assert "Header.Dcs.ObsNum 79451" in bad[79470]
    assert sorted(e["obsnum"] for e in doc["obsnums"]) == [79447, 79448, 79451, 82479, 82480]
    text = lmtflow("info", str(tmp_path / "data_lmt"))
    assert text.returncode == 0 and "4 unreadable file(s):" in text.stdout
    assert str(cut) in text.stdout
    missing = lmtflow("info", str(tmp_path / "nowhere"))
    assert missing.returncode == 2 and "is not a directory" in missing.stderr


def test_a_run_naming_no_obsnum_says_so(small_sim, tmp_path):
    data = str(small_sim.data_lmt)
    proc = lmtflow("run", "--data-lmt", data, "--work-lmt", str(tmp_path / "work"))
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "names no ObsNum: nothing to reduce" in out and "lmtflow run 79448" in out
    assert "holds 7 ObsNums, 5 of them science" in out
    science = [n for role in ("Map", "Ps", "Bs") for n in small_sim.obsnums[role]]
    listed = [int(line.split()[2]) for line in out.splitlines() if line.startswith("  2018-")]
    assert sorted(listed) == sorted(science)  # the science ObsNums, not the Cals
    assert not (tmp_path / "work").exists()  # nothing ran, nothing written
    # the same from Snakemake itself, with the default config (obsnums: [])
    snake = subprocess.run(
        [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--cores", "1",
         "--directory", str(tmp_path), "--config", f"data_lmt={data}",
         f"work_lmt={tmp_path / 'work'}"],
        capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(REPO)},
    )  # fmt: skip
    assert snake.returncode == 0, snake.stderr
    assert "names no ObsNum: nothing to reduce" in snake.stderr
    assert "holds 7 ObsNums" in snake.stderr


def test_project_init_writes_a_valid_project_with_combinations(small_sim, tmp_path):
    out = tmp_path / "mu8.yaml"
    proc = lmtflow("project", "init", "2018-S1-MU-8", "--data-lmt", str(small_sim.data_lmt),
                   "-o", str(out))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    text = out.read_text()
    doc = yaml.safe_load(text)
    cfg = validate_config(doc)
    src = cfg["sources"]["IRC+10216"]
    assert src["obsnums"] == [79448, 79449, 79450, 79451]
    combos = sorted(c["obsnums"] for c in src["combinations"])
    assert combos == [[79448, 79451], [79449, 79450]]  # maps; Ps+Bs spectra (same setup)
    assert "Calibration ObsNums (Header.IfProc.CalObsNum): 79447" in text
    assert "# 79448: Map 2018-11-16" in text
    again = lmtflow("project", "init", "2018-S1-MU-8", "--data-lmt", str(small_sim.data_lmt),
                    "-o", str(out))  # fmt: skip
    assert again.returncode == 2 and "exists" in again.stderr
    nope = lmtflow("project", "init", "2099-X", "--data-lmt", str(small_sim.data_lmt))
    assert nope.returncode == 2 and "2018-S1-MU-8" in nope.stderr  # names the projects there
    # it runs as written: Snakemake plans every ObsNum and both combinations
    dry = lmtflow("run", str(out), "--work-lmt", str(tmp_path / "work"), "-n")
    assert dry.returncode == 0, dry.stderr + dry.stdout
    planned = dict(line.split() for line in dry.stdout.splitlines()[1:])
    assert planned["grid_combination"] == "1" and planned["spectrum_combination"] == "1"
    assert planned["grid"] == "2" and planned["spectrum"] == "2" and "qa_page" in planned
    science = lmtflow("run", str(out), "--work-lmt", str(tmp_path / "work"), "-n",
                      "--target", "science")  # fmt: skip
    assert science.returncode == 0, science.stderr
    assert "grid_combination" in science.stdout and "spectrum_combination" in science.stdout
    # no pages, index or per-beam QA (the maps' moment planes do come from the cube QA step)
    assert not {"qa_page", "qa_index", "qa_beams", "qa_numbers", "qa_spectrum"} & set(
        science.stdout.split()
    )
    assert (tmp_path / "work" / ".snakemake").is_dir()  # Snakemake's state: in the work tree


def test_project_init_leaves_out_what_cannot_run(small_sim, tmp_path):
    data = tmp_path / "data_lmt"
    shutil.copytree(small_sim.data_lmt / "ifproc", data / "ifproc")
    (data / "spectrometer").symlink_to(small_sim.data_lmt / "spectrometer")
    next((data / "ifproc").glob("*_079447_*")).unlink()  # the Sequoia Cal is gone
    proc = lmtflow("project", "init", "2018-S1-MU-8", "--data-lmt", str(data), "-o", "-")
    assert proc.returncode == 0, proc.stderr
    doc = yaml.safe_load(proc.stdout)
    assert doc["sources"] == {}
    assert "# Left out" in proc.stdout and "79448 (IRC+10216, Map): its calibration ObsNum" \
        in proc.stdout  # fmt: skip


def test_info_and_project_init_of_rsr(rsr_sim):
    doc = info_json(str(rsr_sim.data_lmt))
    got = {e["obsnum"]: e for e in doc["obsnums"]}
    assert sorted(got) == sorted(n for ns in rsr_sim.obsnums.values() for n in ns)
    for role, nums in rsr_sim.obsnums.items():
        assert all(got[n]["mode"] == role and got[n]["receiver"] == "RSR" for n in nums)
    assert got[33551]["calobsnum"] == 33550 and got[33553]["calobsnum"] == 33552
    assert got[33551]["date"].startswith("2015-01-22T") and got[33551]["tint_s"] > 0
    proc = lmtflow("project", "init", "2015-ARSR-SIM", "--data-lmt", str(rsr_sim.data_lmt),
                   "-o", "-")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    source = yaml.safe_load(proc.stdout)["sources"]["I10565"]
    assert source == {"obsnums": [33551, 33553], "combinations": [{"obsnums": [33551, 33553]}]}
