"""The workflow on a real single-node SLURM cluster through profiles/slurm, and its profiles.

The cluster (munged, slurmctld, slurmd from Debian packages) is started once per session by
the ``slurm`` fixture of tests/conftest.py (tests/test_web_slurm.py shares it), see
tests/slurm_cluster.py. As root (the README's test command, which installs the packages)
they must run: a missing package fails them. Without root they skip and say why, unless
LMTFLOW_REQUIRE_SLURM is set (as .ci/run does): then they fail.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from lmtflow import resources
from lmtflow.workflow import REPO, snakemake_command

from .slurm_cluster import SlurmCluster, start_cluster
from .workflow_helpers import FINISHED

SUBMITTED = re.compile(r"submitted with SLURM jobid (\d+) \(log: .*/((?:group|rule)_[^/]+)/")


def _raw_mb(data_lmt: Path, obsnum: int) -> float:
    """MB of the raw files of a one-bank ObsNum (ifproc + every roach file)."""
    files = [*data_lmt.glob(f"ifproc/*_{obsnum:06d}_*.nc"),
             *data_lmt.glob(f"spectrometer/roach*/roach*_{obsnum}_*.nc")]  # fmt: skip
    assert files
    return sum(f.stat().st_size for f in files) / 1e6


@pytest.mark.slow
def test_map_on_slurm_equals_local_run(small_sim, reduced, slurm, slurm_runs) -> None:
    tmp_path = slurm_runs["map"].dir
    obsnum = small_sim.labels["map"]
    proc, _ = slurm_runs["map"].result(check=False, timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:] + "\n" + slurm.logs()

    # Every step of the map ran; the Cal's and the map's steps as ONE SLURM job each.
    ran = Counter(FINISHED.findall(proc.stderr))
    for rule, n in {"ingest": 2, "tsys": 1, "calibrate": 1, "baseline": 1, "grid": 1,
                    "srdp": 1}.items():  # fmt: skip
        assert ran[rule] == n, ran
    jobs = dict(SUBMITTED.findall(proc.stderr))  # SLURM job id -> group_<name>_<rules>
    cal = small_sim.labels["cal"]
    by_name = {name: jobid for jobid, name in jobs.items()}
    assert f"group_obs{cal}_ingest_tsys" in by_name, jobs
    chain = [n for n in by_name if n.startswith(f"group_obs{obsnum}_baseline_calibrate_grid_")]
    assert len(chain) == 1 and len(jobs) == 2, jobs  # nothing else went to the cluster

    # The cluster saw them finish, with memory sized from the raw data.
    lines = slurm.command("squeue", "-h", "-t", "all", "-o", "%i %T %m").splitlines()
    state = {i: (st, mem) for i, st, mem in (line.split() for line in lines)}
    assert all(state[j][0] == "COMPLETED" for j in jobs), state
    raw = _raw_mb(small_sim.data_lmt, cal)  # ingest then tsys: the larger of the two
    cal_mem = max(resources.mem_mb("ingest", raw), resources.mem_mb("tsys", raw))
    assert state[by_name[f"group_obs{cal}_ingest_tsys"]][1] == f"{cal_mem}M"
    raw = _raw_mb(small_sim.data_lmt, obsnum)
    chain_mem = int(state[by_name[chain[0]]][1].rstrip("M"))
    assert chain_mem >= resources.mem_mb("grid", raw) > 500

    # The products equal those of the local run.
    local_work = reduced["dir"].parent.parent
    for product in (reduced["cube"], next(reduced["dir"].glob("srdp/*__0.wt.fits"))):
        on_slurm = tmp_path / "work" / product.relative_to(local_work)
        with fits.open(product) as a, fits.open(on_slurm) as b:
            np.testing.assert_array_equal(a[0].data, b[0].data)
            assert {k: v for k, v in a[0].header.items() if k != "DATE"} == {
                k: v for k, v in b[0].header.items() if k != "DATE"
            }
    params = next(reduced["dir"].glob("srdp/*__0.params.json"))
    on_slurm = tmp_path / "work" / params.relative_to(local_work)
    assert json.loads(on_slurm.read_text()) == json.loads(params.read_text())


def test_cluster_stops_and_starts_again(slurm: SlurmCluster) -> None:
    """A second cluster comes up beside the first, and stopping it ends every daemon it began."""
    second = start_cluster()
    procs = list(second.procs)
    assert second.command("sinfo", "-h", "-o", "%T").strip() == "idle"
    second.stop()
    assert all(p.poll() is not None for p in procs) and not second.root.exists()
    assert slurm.command("sinfo", "-h", "-o", "%T").strip() in {"idle", "mixed", "allocated"}


@pytest.mark.parametrize("profile", ["local", "slurm"])
def test_profiles_load(profile: str, small_sim, tmp_path: Path) -> None:
    """Each shipped profile loads and plans the map (dry run: no cluster needed)."""
    cmd = snakemake_command(
        small_sim.data_lmt,
        tmp_path / "work",
        [small_sim.labels["map"]],
        directory=tmp_path,
        extra_args=["-n", "--profile", str(REPO / "profiles" / profile)],
    )
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert re.search(r"^grid\s+1$", proc.stdout + proc.stderr, re.M)


def test_lint_is_clean(small_sim, tmp_path: Path) -> None:
    cmd = snakemake_command(small_sim.data_lmt, tmp_path / "work", [small_sim.labels["map"]],
                            directory=tmp_path, extra_args=["--lint"])  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    lints = re.findall(r"^Lints for .*$|^    \* .*$", proc.stdout + proc.stderr, re.M)
    assert proc.returncode == 0 and not lints, "\n".join(lints) or proc.stderr[-2000:]


def test_resources_grow_with_data_and_attempt() -> None:
    for step in resources.SIZING:
        assert resources.mem_mb(step, 1000) > resources.mem_mb(step, 10) >= 500
        assert resources.runtime(step, 10_000) > resources.runtime(step, 10) >= 10
        assert resources.mem_mb(step, 100, attempt=2) == pytest.approx(
            2 * resources.mem_mb(step, 100), abs=1
        )
    with pytest.raises(KeyError, match="no resource sizing"):
        resources.mem_mb("nosuchstep", 1)


@pytest.mark.slow
def test_mosaic_on_slurm_one_job_per_obsnum(slurm, slurm_runs) -> None:
    """A small mosaic project (issue 19) through profiles/slurm: each tile's Cal and Map steps
    run as one cluster job each, the joint grid as one more; nothing else is submitted."""
    from lmtflow.sim import mosaic

    tmp_path, maps = slurm_runs["mosaic"].dir, mosaic.map_obsnums(2)
    proc, _ = slurm_runs["mosaic"].result(check=False, timeout=900)
    assert proc.returncode == 0, proc.stderr[-4000:] + "\n" + slurm.logs()
    names = sorted(name for _, name in SUBMITTED.findall(proc.stderr))
    expected = [f"group_obs{n}_ingest_tsys" for n in (m - 1 for m in maps)]
    assert [n for n in names if n.endswith("_ingest_tsys")] == expected, names
    chains = [n for n in names if n.startswith("group_obs") and not n.endswith("_ingest_tsys")]
    assert sorted(n.split("_")[1] for n in chains) == [f"obs{m}" for m in maps], names
    assert [n for n in names if not n.startswith("group_")] == ["rule_grid_combination"], names
    assert len(names) == 2 * len(maps) + 1
    cube = next((tmp_path / "work").glob(f"*/{maps[0]}_{maps[1]}/*__0.fits"))
    assert fits.getheader(cube)["NAXIS1"] > fits.getheader(
        next((tmp_path / "work").glob(f"*/{maps[0]}/srdp/*__0.fits"))
    )["NAXIS1"]  # the joint cube holds both tiles
