"""Run the Snakemake workflow from Python (the demo, tests and benchmarks use this)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SNAKEFILE = REPO / "Snakefile"


def snakemake_command(
    data_lmt: str | Path,
    work_lmt: str | Path,
    obsnums: Sequence[int],
    cores: int = 2,
    directory: str | Path | None = None,
    extra_config: Sequence[str] = (),
    extra_args: Sequence[str] = (),
    configfile: str | Path | None = None,
) -> list[str]:
    """The ``snakemake`` command line that reduces ``obsnums``."""
    if not SNAKEFILE.exists():
        raise FileNotFoundError(f"{SNAKEFILE} not found: run lmtflow from a source checkout")
    cmd = [sys.executable, "-m", "snakemake", "-s", str(SNAKEFILE), "--cores", str(cores)]
    cmd += ["--rerun-incomplete"]  # a killed job's output is redone, as in profiles/
    if directory is not None:
        cmd += ["--directory", str(directory)]
    if configfile is not None:
        cmd += ["--configfile", str(configfile)]
    obs = "[" + ",".join(str(int(o)) for o in obsnums) + "]"
    cmd += ["--config", f"data_lmt={Path(data_lmt).resolve()}",
            f"work_lmt={Path(work_lmt).resolve()}", f"obsnums={obs}", *extra_config]  # fmt: skip
    return cmd + list(extra_args)


def run_snakemake(*args, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
    """Run :func:`snakemake_command` and return the finished process (output captured)."""
    cmd = snakemake_command(*args, **kwargs)
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise RuntimeError(f"snakemake failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    return proc
