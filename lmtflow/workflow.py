"""Run the Snakemake workflow from Python (the demo, tests and benchmarks use this)."""

from __future__ import annotations

import json
import logging
import re
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .targets import Product

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
    targets: Sequence[str | Path] = (),
) -> list[str]:
    """The ``snakemake`` command line that reduces ``obsnums`` (or makes ``targets``)."""
    if not SNAKEFILE.exists():
        raise FileNotFoundError(f"{SNAKEFILE} not found: run lmtflow from a source checkout")
    cmd = [sys.executable, "-m", "snakemake", *map(str, targets)]  # first: options take lists
    cmd += ["-s", str(SNAKEFILE), "--cores", str(cores)]
    cmd += ["--rerun-incomplete"]  # a killed job's output is redone, as in profiles/
    if directory is not None:
        cmd += ["--directory", str(directory)]
    if configfile is not None:
        cmd += ["--configfile", str(configfile)]
    obs = "[" + ",".join(str(int(o)) for o in obsnums) + "]"
    cmd += list(extra_args)  # before --config, which takes every word after it
    return cmd + [
        "--config",
        f"data_lmt={Path(data_lmt).resolve()}",
        f"work_lmt={Path(work_lmt).resolve()}",
        f"obsnums={obs}",
        *extra_config,
    ]


def run_in_process(
    data_lmt: str | Path,
    work_lmt: str | Path,
    obsnums: Sequence[int],
    cores: int = 2,
    directory: str | Path | None = None,
    configfile: str | Path | None = None,
    targets: Sequence[str | Path] = (),
) -> dict[str, int]:
    """Run the workflow in this Python process through Snakemake's API; jobs run per rule.

    The same run as :func:`snakemake_command` (same Snakefile, config and targets; every job
    still its own process), without starting Snakemake: a session that re-runs the workflow
    after each parameter edit pays Snakemake's imports (~0.7 s) once, not per run. Snakemake
    runs in a helper thread, so it finds no running event loop (a notebook has one) and
    leaves the caller's signal handlers alone. Ctrl-C stops it the way SIGTERM stops the
    command line: the running jobs finish, no new job starts, then ``KeyboardInterrupt``.
    A failed run raises ``RuntimeError`` with the end of Snakemake's log.
    """
    from snakemake.api import SnakemakeApi
    from snakemake.logging import logger as snakemake_logger
    from snakemake.settings.types import (
        ConfigSettings,
        DAGSettings,
        OutputSettings,
        Quietness,
        ResourceSettings,
    )

    config = {
        "data_lmt": str(Path(data_lmt).resolve()),
        "work_lmt": str(Path(work_lmt).resolve()),
        "obsnums": [int(o) for o in obsnums],
    }
    configfiles = [] if configfile is None else [Path(configfile).resolve()]
    workdir = Path.cwd() if directory is None else Path(directory).resolve()
    lines: list[str] = []
    state: dict[str, Any] = {}

    class _Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            message = record.msg if isinstance(record.msg, str) else None
            if message:
                lines.append(record.getMessage())

    def execute() -> None:
        handler = _Collect()
        try:
            with SnakemakeApi(OutputSettings(quiet={Quietness.ALL})) as api:
                snakemake_logger.addHandler(handler)
                workflow = api.workflow(
                    resource_settings=ResourceSettings(cores=cores),
                    config_settings=ConfigSettings(config=config, configfiles=configfiles),
                    snakefile=SNAKEFILE,
                    workdir=workdir,
                )
                state["workflow"] = workflow
                dag = workflow.dag(
                    DAGSettings(targets={str(t) for t in targets}, force_incomplete=True)
                )
                dag.execute_workflow(executor="local")
        except BaseException as exc:  # noqa: BLE001 - handed to the calling thread
            state["error"] = exc
        finally:
            snakemake_logger.removeHandler(handler)
            done.set()

    # Wait on an Event, not on Thread.join: a join that Ctrl-C interrupts marks the thread
    # as stopped while it still runs (CPython < 3.13), and the session would not wait for it.
    done = threading.Event()
    thread = threading.Thread(target=execute, name="lmtflow-snakemake")
    thread.start()
    try:
        done.wait()
    except KeyboardInterrupt:
        # Snakemake's own graceful stop: no new job; running ones finish with their outputs
        scheduler = getattr(getattr(state.get("workflow"), "_workflow", None), "scheduler", None)
        if scheduler is not None:
            scheduler.exit_gracefully()
        done.wait()
        raise
    thread.join()
    error = state.get("error")
    if error is not None:
        log = "\n".join(lines[-60:])
        raise RuntimeError(f"snakemake failed ({type(error).__name__}: {error}):\n{log}") from error
    return dict(Counter(m for line in lines for m in _FINISHED.findall(line)))


_FINISHED = re.compile(r"Finished jobid: \d+ \(Rule: (\w+)\)")


def run_snakemake(*args, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
    """Run :func:`snakemake_command` and return the finished process (output captured)."""
    cmd = snakemake_command(*args, **kwargs)
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise RuntimeError(f"snakemake failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    return proc


@dataclass
class AttemptResult:
    """What :func:`run_attempt` made: per ObsNum/combination and bank, its products."""

    name: str
    products: list[Product]
    ran: dict[str, int]
    """How many jobs of each rule this run executed (shared steps done before: none)."""

    def qa(self, label: str | int, bank: int = 0) -> dict[str, Any]:
        """The QA numbers of one ObsNum or combination (``"79448_79451"``) and bank."""
        for p in self.products:
            if p.label == str(label) and p.bank == bank:
                return json.loads(p.qa.read_text())
        raise KeyError(f"attempt {self.name} has no product {label} bank {bank}")

    def files(self, label: str | int, bank: int = 0) -> list[Path]:
        """The product files (SRDP) of one ObsNum or combination and bank."""
        for p in self.products:
            if p.label == str(label) and p.bank == bank:
                return list(p.files)
        raise KeyError(f"attempt {self.name} has no product {label} bank {bank}")


def run_attempt(
    config: str | Path | dict[str, Any],
    name: str,
    overrides: dict[str, Any] | None = None,
    cores: int = 2,
) -> AttemptResult:
    """Reduce one attempt of a configuration and return its products and QA numbers.

    ``config`` is a config file or dict (with ``data_lmt``, ``work_lmt`` and the ObsNums);
    ``overrides`` (``{step: {key: value}}``, as under ``attempts:`` in the config) defines
    or replaces the attempt ``name``. Steps the attempt does not change are taken from the
    base reduction (made first if needed); its products land in ``.../attempts/<name>/``.
    ``name="base"`` reduces the base itself.
    """
    import yaml

    if isinstance(config, (str, Path)):
        config = yaml.safe_load(Path(config).read_text()) or {}
    raw = dict(config)
    if overrides is not None:
        raw["attempts"] = {**raw.get("attempts", {}), name: overrides}
    cfg, infos, products, targets = plan_attempt(raw, name)
    configfile = saved_config_path(cfg["work_lmt"], name, raw)
    configfile.parent.mkdir(parents=True, exist_ok=True)
    configfile.write_text(yaml.safe_dump(raw, sort_keys=False))
    ran = run_in_process(cfg["data_lmt"], cfg["work_lmt"], sorted(infos), cores=cores,
                         configfile=configfile, targets=targets)  # fmt: skip
    return AttemptResult(name, products, ran)


def plan_attempt(raw: dict[str, Any], name: str) -> tuple[dict, dict, list[Product], list[str]]:
    """Check a config holding attempt ``name`` and plan it: the validated config, the ObsNum
    infos (raw headers), the attempt's products and the Snakemake targets (pages, zips)."""
    from .attempts import BASE, AttemptPlan
    from .config import validate_config
    from .targets import WorkTree, scan_config

    cfg = validate_config(raw)
    if name != BASE and name not in cfg["attempts"]:
        raise ValueError(f"no attempt named {name!r}: give its overrides or name one of "
                         f"{sorted(cfg['attempts'])}")  # fmt: skip
    infos, combos = scan_config(cfg)
    tree = WorkTree(cfg["work_lmt"], infos, combos, AttemptPlan(cfg, infos))
    products = tree.products("" if name == BASE else name)
    targets = sorted({str(p) for prod in products for p in (prod.page, prod.archive)})
    return cfg, infos, products, targets


CONFIGS_DIR = Path(".lmtflow") / "configs"
"""Where :func:`run_attempt` and ``lmtflow run`` keep the configs they ran (under the work
tree); :mod:`lmtflow.recorded` reads attempts back from there."""


def saved_config_path(work_lmt: str | Path, stem: str, raw: dict[str, Any]) -> Path:
    """Where a run saves the config it hands to Snakemake: ``<stem>-<sha12>.yaml`` in
    :data:`CONFIGS_DIR`, ``stem`` the attempt name (:func:`run_attempt`) or ``run``.

    The file is named after a hash of the whole config, so two projects (or two configs)
    running at once in one work tree never overwrite each other's file; the same config run
    twice reuses its file."""
    import hashlib

    digest = hashlib.sha256(json.dumps(raw, sort_keys=True, default=str).encode()).hexdigest()
    return Path(work_lmt) / CONFIGS_DIR / f"{stem}-{digest[:12]}.yaml"
