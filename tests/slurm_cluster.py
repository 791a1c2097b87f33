"""A private single-node SLURM cluster for tests: munged, slurmctld and slurmd, no systemd.

Everything lives in one scratch directory: its own munge key and socket, a ``slurm.conf`` with
free ports, state and spool directories, and logs; commands reach it through ``SLURM_CONF``
(see :meth:`SlurmCluster.env`). The daemons run in the foreground as children of the test
process, so :meth:`SlurmCluster.stop` ends exactly them and a later session starts afresh.
Needs root and Debian's ``munge``, ``slurmctld``, ``slurmd`` and ``slurm-client``.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .workflow_helpers import StartedRun

PARTITION = "debug"
BINARIES = ("munged", "slurmctld", "slurmd", "sbatch", "srun", "squeue", "sinfo", "scancel")


class SlurmUnavailable(RuntimeError):
    """SLURM cannot be started here (not root, or the packages are not installed)."""


def missing_requirements() -> str | None:
    """Why a cluster cannot be started on this machine, or None if it can."""
    if os.geteuid() != 0:
        return "starting slurmctld/slurmd/munged needs root"
    missing = [b for b in BINARIES if _which(b) is None]
    if missing:
        return f"not installed: {', '.join(missing)} (apt-get install munge slurmctld slurmd)"
    try:
        pwd.getpwnam("munge")
    except KeyError:
        return "no 'munge' user (apt-get install munge)"
    return None


def _which(name: str) -> str | None:
    """A program on PATH, or in the sbin directories (daemons) that a user's PATH may lack."""
    return shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")


def _free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _real_memory_mb() -> int:
    """Memory SLURM may hand out on this node: 80% of MemTotal."""
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(int(line.split()[1]) / 1024 * 0.8)
    raise SlurmUnavailable("cannot read MemTotal from /proc/meminfo")


def _slurm_conf(root: Path, host: str, cpus: int, mem_mb: int, ports: list[int]) -> str:
    return f"""\
ClusterName=lmtflowtest
SlurmctldHost={host}
SlurmctldAddr=127.0.0.1
SlurmctldPort={ports[0]}
SlurmdPort={ports[1]}
AuthType=auth/munge
AuthInfo=socket={root}/munge/munge.socket
CredType=cred/munge
SlurmUser=root
SlurmdUser=root
ProctrackType=proctrack/linuxproc
TaskPlugin=task/affinity
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
StateSaveLocation={root}/state
SlurmdSpoolDir={root}/spool
SlurmctldPidFile={root}/slurmctld.pid
SlurmdPidFile={root}/slurmd.pid
SlurmctldLogFile={root}/slurmctld.log
SlurmdLogFile={root}/slurmd.log
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MpiDefault=none
ReturnToService=2
MinJobAge=3600
NodeName={host} NodeAddr=127.0.0.1 CPUs={cpus} RealMemory={mem_mb} State=UNKNOWN
PartitionName={PARTITION} Nodes=ALL Default=YES MaxTime=INFINITE State=UP
"""


@dataclass
class SlurmCluster:
    """A running private cluster; ``partition``, ``cpus`` and ``mem_mb`` describe its node."""

    root: Path
    cpus: int
    mem_mb: int
    partition: str = PARTITION
    procs: list[subprocess.Popen] = field(default_factory=list)

    @property
    def conf(self) -> Path:
        return self.root / "slurm.conf"

    def env(self) -> dict[str, str]:
        """The environment in which SLURM commands reach this cluster.

        Besides ``SLURM_CONF``, ``bin/srun`` comes first on PATH: the SLURM executor's job step
        drops every ``SLURM_*`` variable before its nested ``srun``, which then looks for the
        config only in /etc/slurm; the shim puts ``SLURM_CONF`` back.
        """
        path = f"{self.root / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"
        return {**os.environ, "SLURM_CONF": str(self.conf), "PATH": path}

    def _write_srun_shim(self) -> None:
        srun = _which("srun")
        if srun is None:
            raise SlurmUnavailable("srun not installed (apt-get install slurm-client)")
        shim = self.root / "bin" / "srun"
        shim.parent.mkdir()
        shim.write_text(f'#!/bin/sh\nSLURM_CONF="{self.conf}" exec "{srun}" "$@"\n')
        shim.chmod(0o755)

    def command(self, *args: str) -> str:
        """Run a SLURM client command against this cluster; return its stdout."""
        proc = subprocess.run(args, env=self.env(), capture_output=True, text=True, timeout=30)
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} failed: {proc.stderr.strip()}")
        return proc.stdout

    def logs(self) -> str:
        """The tails of the daemon logs (for failure messages)."""
        out = []
        names = ("munged.stderr", "munge/munged.log", "slurmctld.stderr", "slurmctld.log",
                 "slurmd.stderr", "slurmd.log")  # fmt: skip
        for name in names:
            path = self.root / name
            if path.exists():
                out.append(f"--- {name}\n" + "\n".join(path.read_text().splitlines()[-15:]))
        return "\n".join(out)

    def _spawn(self, *args: str, user: str | None = None) -> None:
        ids = {} if user is None else {"user": user, "group": user, "extra_groups": []}
        cmd = [_which(args[0]) or args[0], *args[1:]]
        with open(self.root / f"{args[0]}.stderr", "w") as err:
            proc = subprocess.Popen(cmd, env=self.env(), stdin=subprocess.DEVNULL,
                                    stdout=subprocess.DEVNULL, stderr=err, **ids)  # fmt: skip
        self.procs.append(proc)

    def _wait_idle(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        state = ""
        while time.monotonic() < deadline:
            for proc in self.procs:
                if proc.poll() is not None:
                    raise RuntimeError(f"{proc.args} exited ({proc.returncode})\n{self.logs()}")
            try:
                state = self.command("sinfo", "-h", "-o", "%T").strip()
            except (RuntimeError, subprocess.TimeoutExpired):
                state = "no answer"
            if state == "idle":
                return
            time.sleep(0.5)
        raise RuntimeError(f"node not idle after {timeout} s (sinfo: {state!r})\n{self.logs()}")

    def stop(self) -> None:
        """Cancel this cluster's jobs, end its daemons (children of this process), clean up."""
        if any(p.poll() is None for p in self.procs):
            subprocess.run(["scancel", "--full", f"--partition={self.partition}"],
                           env=self.env(), capture_output=True, timeout=30)  # fmt: skip
        for proc in reversed(self.procs):  # slurmd, slurmctld, then munged
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        self.procs.clear()
        shutil.rmtree(self.root, ignore_errors=True)


def start_cluster(timeout: float = 60.0) -> SlurmCluster:
    """Start munged, slurmctld and slurmd in a fresh scratch directory; wait for an idle node.

    Raises :class:`SlurmUnavailable` where this machine cannot run them, RuntimeError (with
    the daemon logs) where they were started but did not come up.
    """
    reason = missing_requirements()
    if reason:
        raise SlurmUnavailable(reason)
    # Not under pytest's tmp (mode 0700): munged runs as 'munge' and must reach its files.
    root = Path(tempfile.mkdtemp(prefix="lmtflow-slurm-"))
    root.chmod(0o755)
    munge = pwd.getpwnam("munge")
    mdir = root / "munge"
    mdir.mkdir()
    mdir.chmod(0o755)  # munged: clients must reach the socket
    key = mdir / "munge.key"
    key.write_bytes(os.urandom(1024))
    key.chmod(0o600)
    for path in (mdir, key):
        os.chown(path, munge.pw_uid, munge.pw_gid)
    for sub in ("state", "spool"):
        (root / sub).mkdir()
    host = socket.gethostname().split(".")[0]
    cluster = SlurmCluster(root=root, cpus=os.cpu_count() or 1, mem_mb=_real_memory_mb())
    cluster.conf.write_text(_slurm_conf(root, host, cluster.cpus, cluster.mem_mb, _free_ports(2)))
    cluster._write_srun_shim()
    try:
        cluster._spawn(
            "munged", "--foreground", f"--socket={mdir}/munge.socket", f"--key-file={key}",
            f"--pid-file={mdir}/munged.pid", f"--log-file={mdir}/munged.log",
            f"--seed-file={mdir}/munged.seed", user="munge",
        )  # fmt: skip
        _wait_for(mdir / "munge.socket", 10, cluster)
        cluster._spawn("slurmctld", "-D", "-i")
        cluster._spawn("slurmd", "-D", "-N", host)
        cluster._wait_idle(timeout)
    except BaseException:
        cluster.stop()
        raise
    return cluster


def _wait_for(path: Path, timeout: float, cluster: SlurmCluster) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > deadline or any(p.poll() is not None for p in cluster.procs):
            raise RuntimeError(f"{path} did not appear\n{cluster.logs()}")
        time.sleep(0.1)


def write_test_profile(directory: Path, cluster: SlurmCluster) -> Path:
    """profiles/slurm with only the site settings replaced (partition, no account, squeue);
    returns ``directory/profile``."""
    import yaml

    from lmtflow.workflow import REPO

    profile = yaml.safe_load((REPO / "profiles" / "slurm" / "config.yaml").read_text())
    assert profile["executor"] == "slurm" and "slurm_partition" in profile["default-resources"]
    profile["default-resources"] = {"slurm_partition": cluster.partition, "runtime": 10,
                                    "mem_mb": 500}  # fmt: skip
    profile.update({
        "slurm-no-account": True,  # no accounting database on the test cluster
        "slurm-status-command": "squeue",  # sacct needs slurmdbd
        "slurm-init-seconds-before-status-checks": 2,
        "latency-wait": 10,
        "retries": 0,
    })  # fmt: skip
    (directory / "profile").mkdir()
    (directory / "profile" / "config.yaml").write_text(yaml.safe_dump(profile))
    return directory / "profile"


def start_workflows(small_sim, mosaic_sim, cluster: SlurmCluster,
                    tmp_path_factory) -> dict[str, StartedRun]:  # fmt: skip
    """Start tests/test_slurm.py's two cluster workflows together and return at once: the
    small map (``"map"``) and the first two tiles of the session's mosaic preset
    (``"mosaic"``). Most of a run's wall time is Snakemake waiting between squeue checks (the
    SLURM executor lengthens the wait by 10 s after every check that finds no job finished),
    so the runs overlap their waits with each other and with the tests that run meanwhile."""
    import yaml

    from lmtflow.sim import mosaic

    from .workflow_helpers import start

    runs = {}
    run_dir = tmp_path_factory.mktemp("slurm_map")
    profile = ["--profile", str(write_test_profile(run_dir, cluster))]
    runs["map"] = start(small_sim.data_lmt, run_dir, [small_sim.labels["map"]],
                        extra_args=profile, env=cluster.env())  # fmt: skip

    run_dir = tmp_path_factory.mktemp("slurm_mosaic")
    maps = mosaic.map_obsnums(2)  # the first two tiles: side by side in the first row
    assert mosaic.tile_layout(mosaic_sim.truth["mosaic"]["tiles"])[0] >= 2
    config = run_dir / "project.yaml"
    config.write_text(yaml.safe_dump(mosaic.mosaic_project(maps, mosaic_sim.data_lmt,
                                                           run_dir / "work")))  # fmt: skip
    profile = ["--profile", str(write_test_profile(run_dir, cluster))]
    runs["mosaic"] = start(mosaic_sim.data_lmt, run_dir, [], config, extra_args=profile,
                           targets=["science"], env=cluster.env())  # fmt: skip
    return runs
