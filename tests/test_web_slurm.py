"""A web job on the private single-node SLURM cluster (the session's ``slurm`` fixture): launched
over HTTP with ``web.yaml``'s runner profile set to the cluster's, its cluster jobs carry the
job's name prefix ``lmtweb-<server>-<id>``, and a cancel leaves none of them queued or running,
nor touches the same-numbered job of another server. The job reduces an attempt of the Ps ObsNum
(its base steps are done)."""

from __future__ import annotations

import shutil
import time

import pytest

from lmtflow.cli import main as lmtflow_main
from lmtflow.web.slurm import cancel_cluster_jobs, job_prefix

from .slurm_cluster import SlurmCluster, write_test_profile
from .test_web_jobs import FINAL, _job, job_id_of, launch, wait_final
from .web_helpers import PROJECT, csrf_of, login, start_server, write_web_config

ACTIVE = {"PENDING", "RUNNING", "COMPLETING", "CONFIGURING", "SUSPENDED", "REQUEUED"}


@pytest.fixture(scope="module")
def slurm_server(web_tree, slurm: SlurmCluster, tmp_path_factory):
    root = tmp_path_factory.mktemp("web_slurm")
    others = {str(web_tree["map"]), str(web_tree["bs"])}  # the job needs the Ps and its Cal
    shutil.copytree(web_tree["root"], root / "tree", symlinks=True,
                    ignore=lambda d, names: others & set(names))  # fmt: skip
    tree = {**web_tree, "root": root / "tree", "work": root / "tree" / "work"}
    profile = write_test_profile(root, slurm)
    config = write_web_config(root, tree, runner={"cores": 1, "profile": str(profile)})
    pw = root / "pw.txt"
    pw.write_text("runner password 1\n")
    assert lmtflow_main(["web", "user", "add", "runa", "--project", PROJECT, "--role", "runner",
                         "--password-file", str(pw), "--config", str(config)]) == 0  # fmt: skip
    server = start_server(config, tree, root / "server.log", env=slurm.env())
    server.root = root
    yield server
    server.stop()


def named(slurm: SlurmCluster, prefix: str) -> dict[str, str]:
    """SLURM job id -> state of the cluster's jobs (finished ones too) named ``prefix...``."""
    lines = slurm.command("squeue", "-h", "-t", "all", "-o", "%i %T %j").splitlines()
    return {i: state for i, state, name in (line.split(None, 2) for line in lines)
            if name.startswith(prefix)}  # fmt: skip


def test_a_web_job_on_slurm_is_named_by_its_prefix_and_cancel_leaves_no_cluster_job(
        slurm_server, slurm):  # fmt: skip
    runa = login(slurm_server.url, "runa", "runner password 1")
    job_id = job_id_of(launch(runa, slurm_server, "onslurm", "baseline: {dv: 95}"))
    prefix = job_prefix(job_id, slurm_server.root / "web.sqlite") + "_"
    assert prefix.startswith("lmtweb-") and prefix.endswith(f"-{job_id}_")
    deadline = time.monotonic() + 180
    while not set(named(slurm, prefix).values()) & ACTIVE:
        assert time.monotonic() < deadline, (named(slurm, "lmtweb"), slurm.logs())
        job = _job(slurm_server, job_id)
        assert job["state"] not in FINAL, (job["state"], job["error"])
        time.sleep(0.5)
    # another web service (its own database) cleaning up its job of the same number
    assert cancel_cluster_jobs(job_id, slurm_server.root / "other.sqlite") == []
    assert set(named(slurm, prefix).values()) & ACTIVE
    token = csrf_of(runa, f"/p/{PROJECT}/jobs/{job_id}")
    t0 = time.monotonic()
    r = runa.post(f"/p/{PROJECT}/jobs/{job_id}/cancel", data={"csrf_token": token},
                  headers={"Origin": slurm_server.url})  # fmt: skip
    assert r.status_code == 303
    job = wait_final(slurm_server, job_id, timeout=30)
    assert job["state"] == "cancelled", job["error"]
    while set(named(slurm, prefix).values()) & ACTIVE and time.monotonic() - t0 < 30:
        time.sleep(0.5)
    left = named(slurm, prefix)
    assert left and not set(left.values()) & ACTIVE, left  # within 30 s of the click
    log = runa.get(f"/p/{PROJECT}/jobs/{job_id}/log").text
    assert f"SLURM run ID: {prefix}" in log
