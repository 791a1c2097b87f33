"""Check that the workflow plans the same jobs as another git revision (dry runs, ~20 s CPU).

For refactorings of the rules and their input functions: simulate the ``small`` and ``rsr``
presets into one raw tree, and let this checkout's and the revision's Snakefile plan (dry run)
two configs: the base alone, and with combinations of maps, spectra and RSR ObsNums, two
attempts and automatic flags (which tools/same_products.py does not reduce). Every job's rule,
wildcards, input, output, params, log and resources must be the same.

    python tools/same_dag.py main
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml
from checkouts import HERE, revision_checkout  # tools/: the directory of this script

SOURCES = {  # the small preset's maps (one field), Ps + Bs, 1mm Ps; the rsr preset's Bs
    "S": {"obsnums": [79448, 79451], "combinations": [{"obsnums": [79451, 79448]}]},
    "P": {"obsnums": [79449, 79450, 82480], "combinations": [{"obsnums": [79449, 79450]}]},
    "I10565": {"obsnums": [33551, 33553], "combinations": [{"obsnums": [33553, 33551]}]},
}
ATTEMPTS = {
    "coarse": {"grid": {"resolution": 16}},
    "order1": {"baseline": {"b_order": 1}},
    "blo2": {"rsr": {"blo": 2}},
    "one": {"overrides": {"79451": {"grid": {"pix_list": "-3"}}}},
}
AUTO_FLAGS = {"auto": {k: {"policy": "apply"} for k in ("bad_beams", "spikes", "bad_time")}}


def dump_jobs(snakefile: Path, configfile: Path, work: Path, out: Path) -> int:
    """Plan the workflow (dry run) and write one sorted line per job; the number of jobs.

    Reads the planned jobs from Snakemake's internals (``Workflow.dag``): a tool, not a test.
    """
    from snakemake.api import SnakemakeApi
    from snakemake.settings.types import (
        ConfigSettings,
        DAGSettings,
        OutputSettings,
        Quietness,
        ResourceSettings,
    )

    with SnakemakeApi(OutputSettings(quiet={Quietness.ALL})) as api:
        wf = api.workflow(
            resource_settings=ResourceSettings(cores=1),
            config_settings=ConfigSettings(
                config={"work_lmt": str(work)}, configfiles=[configfile]
            ),  # fmt: skip
            snakefile=snakefile,
            workdir=work.parent,
        )
        wf.dag(DAGSettings()).execute_workflow(executor="dryrun")
        jobs = wf._workflow.dag.jobs
        lines = sorted(
            repr((job.rule.name, sorted(job.wildcards.items()), list(job.input),
                  list(job.output), sorted((k, repr(v)) for k, v in job.params.items()),
                  list(job.log), sorted((k, repr(v)) for k, v in job.resources.items())))
            for job in jobs
        )  # fmt: skip
    out.write_text("\n".join(lines) + "\n")
    return len(lines)


def plan_with(checkout: Path, configfile: Path, work: Path, out: Path) -> list[str]:
    """The job lines of ``checkout``'s Snakefile and library (in a subprocess)."""
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    cmd = [sys.executable, __file__, "--dump", str(checkout / "Snakefile"), str(configfile),
           str(work), str(out)]  # fmt: skip
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL)
    return out.read_text().splitlines()


def write_configs(root: Path, data_lmt: Path) -> dict[str, Path]:
    flags = root / "flags.yaml"
    flags.write_text(yaml.safe_dump(AUTO_FLAGS))
    configs = {
        "base": {"data_lmt": str(data_lmt), "sources": SOURCES},
        "attempts+flags": {
            "data_lmt": str(data_lmt),
            "sources": SOURCES,
            "attempts": ATTEMPTS,
            "flags": str(flags),
        },  # fmt: skip
    }
    paths = {}
    for name, cfg in configs.items():
        paths[name] = root / f"{name}.yaml"
        paths[name].write_text(yaml.safe_dump(cfg))
    return paths


def main() -> int:
    if sys.argv[1:2] == ["--dump"]:
        snakefile, configfile, work, out = map(Path, sys.argv[2:6])
        dump_jobs(snakefile, configfile, work, out)
        return 0
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("revision", help="git revision to compare with (e.g. main, HEAD~2)")
    p.add_argument("--keep", help="directory to keep the plans in (default: a temporary one)")
    args = p.parse_args()

    root = Path(args.keep or tempfile.mkdtemp(prefix="same_dag-")).resolve()
    with revision_checkout(root, args.revision, keep=bool(args.keep)) as old:
        sys.path.insert(0, str(HERE))
        from lmtflow.sim import simulate_preset

        data_lmt = root / "data_lmt"
        for preset in ("small", "rsr"):
            simulate_preset(preset, data_lmt, seed=1)
        found = 0
        for name, configfile in write_configs(root, data_lmt).items():
            work = root / name / "work"  # the same path for both: the plans are compared
            plans = [plan_with(c, configfile, work, root / f"{name}.{side}.txt")
                     for side, c in (("old", old), ("new", HERE))]  # fmt: skip
            gone = sorted(set(plans[0]) - set(plans[1]))
            new = sorted(set(plans[1]) - set(plans[0]))
            for line in gone[:5] + new[:5]:
                print(("- " if line in gone else "+ ") + line[:2000])
            print(f"{name}: {len(plans[1])} jobs, {len(gone)} only in {args.revision}, "
                  f"{len(new)} only in this checkout")  # fmt: skip
            found += len(gone) + len(new)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
