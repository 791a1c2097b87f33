"""Survey-size projects: a mosaic of 1, 8 and 64 small OTF maps and their joint cube: not a test.

For each size N it simulates the ``mosaic`` preset (N tiles of 60", each with its Cal; ~50 MB
a tile; kept in ``--dir`` and reused), reduces the project cold with ``snakemake --cores 2``
(``--target science``: the science products, the default; ``all``: with QA plots and pages)
and measures

* Snakemake's time from start to its first job, its controller CPU (the snakemake process
  itself: DAG, scheduling, job bookkeeping; polled with psutil) per job and as a share of
  all CPU of the run (controller + every job process);
* wall and CPU time per ObsNum and per spectrum (rows of the baselined SDFITS);
* the joint grid of the combination (the single map's grid at N = 1), re-run alone in a
  fresh process: its time and peak RSS (``VmHWM``);
* with ``--cluster N``: the project through profiles/slurm on the private single-node SLURM
  cluster of tests/slurm_cluster.py (root): cluster jobs (one per ObsNum: rule groups) and the
  controller's CPU and wall;
* at the largest size, dry runs: the unchanged project, one more tile (its chain and the
  combination only?) and an edit of the combination's own grid values.

It prints every number with its ratio to the 1-ObsNum run, the targets of issue 19 and the
load average (the machine may be shared: run it with ``nice``).

    nice python benchmarks/bench_scale.py --dir /tmp/bench_scale            # 1, 8, 64
    nice python benchmarks/bench_scale.py --sizes 1 2 --dir /tmp/b --quick  # smoke run
    nice python benchmarks/bench_scale.py --cluster 8 --dir /tmp/bench_scale  # SLURM (root)
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
SNAKEFILE = ROOT / "Snakefile"
JOB_START = re.compile(r"^\s*(?:local)?rule \w+:$|^\s*\[.*\] Group job ")
JOB = re.compile(r"^\s*(?:local)?rule (\w+):$", re.M)
FINISHED = re.compile(r"Finished jobid: \d+ \(Rule: (\w+)\)")
OBSNUM = re.compile(r"obsnum=(\d+)")


# -- the joint grid in a fresh process ------------------------------------------------------


def _grid_child(spec: dict) -> None:
    """Grid ``spec["base"]`` with ``spec["params"]`` into a scratch directory; print JSON."""
    t0 = time.perf_counter()
    from lmtflow.pipeline.grid import grid_products
    from lmtflow.pipeline.runner import read_params

    params = read_params(spec["params"])
    out = Path(spec["out"])
    t1 = time.perf_counter()
    grid_products(spec["base"], out / "cube.fits", out / "wt.fits", params, threads=2)
    t2 = time.perf_counter()
    with open("/proc/self/status") as fh:
        kb = next(int(line.split()[1]) for line in fh if line.startswith("VmHWM:"))
    print(json.dumps({"imports": t1 - t0, "grid_s": t2 - t1, "rss_mb": kb / 1024}))


def grid_alone(base: list[str], params: Path, scratch: Path) -> dict:
    scratch.mkdir(parents=True, exist_ok=True)
    spec = {"base": base, "params": str(params), "out": str(scratch)}
    env = dict(os.environ, OMP_NUM_THREADS="2", OPENBLAS_NUM_THREADS="2")
    proc = subprocess.run([sys.executable, __file__, "--grid-child", json.dumps(spec)],
                          capture_output=True, text=True, env=env)  # fmt: skip
    if proc.returncode != 0:
        raise RuntimeError(f"grid failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# -- a Snakemake run, watched ---------------------------------------------------------------


def snakemake(
    config: Path, target: str, cores: int, extra: list[str] = (), env: dict | None = None
) -> dict:
    """Run Snakemake; wall, start-to-first-job, controller and total CPU, jobs, output."""
    import psutil

    cmd = [sys.executable, "-m", "snakemake", target, "-s", str(SNAKEFILE), "--cores",
           str(cores), "--configfile", str(config), *extra]  # fmt: skip
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            cwd=config.parent, env=env)  # fmt: skip
    ps, state, lines, controller = psutil.Process(proc.pid), {}, [], 0.0

    def read() -> None:  # the output, and when the first job starts
        for line in proc.stdout:
            if "first" not in state and JOB_START.match(line.rstrip("\n")):
                state["first"] = time.perf_counter() - t0
            lines.append(line)

    reader = threading.Thread(target=read)
    reader.start()
    while proc.poll() is None:
        try:
            cpu = ps.cpu_times()
            controller = cpu.user + cpu.system
        except psutil.Error:
            pass
        time.sleep(0.1)
    reader.join()
    first = state.get("first")
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    total = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    text = "".join(lines)
    if proc.returncode != 0:
        raise RuntimeError(f"snakemake failed ({proc.returncode}):\n{text[-4000:]}")
    ran = Counter(FINISHED.findall(text))
    ran.pop("all", None)
    ran.pop("science", None)
    return {"wall": wall, "first_job": first if first is not None else wall,
            "controller_cpu": controller, "total_cpu": total, "jobs": sum(ran.values()),
            "ran": ran, "text": text}  # fmt: skip


def dry_run(config: Path, target: str) -> dict:
    r = snakemake(config, target, 2, ["-n"])
    rules = Counter(JOB.findall(r["text"]))
    return {"wall": r["wall"], "cpu": r["total_cpu"], "rules": dict(rules),
            "obsnums": sorted({int(n) for n in OBSNUM.findall(r["text"])})}  # fmt: skip


# -- one size -------------------------------------------------------------------------------


def simulated(root: Path, tiles: int, seed: int):
    """The mosaic of ``tiles`` under ``root`` (simulated once, then reused)."""
    from lmtflow.sim.mosaic import simulate_mosaic

    truth = root / "data_lmt_truth" / "truth.json"
    if truth.exists() and json.loads(truth.read_text()).get("mosaic", {}).get("tiles") == tiles:
        return json.loads(truth.read_text()), 0.0
    shutil.rmtree(root, ignore_errors=True)
    res = simulate_mosaic(root / "data_lmt", tiles=tiles, seed=seed)
    return res.truth, res.seconds


def write_config(root: Path, maps: list[int], grid: dict | None = None, name="project.yaml"):
    from lmtflow.sim.mosaic import SOURCE_NAME, mosaic_project

    project = mosaic_project(maps, root / "data_lmt", root / "work")
    if grid and len(maps) > 1:
        project["sources"][SOURCE_NAME]["combinations"][0]["grid"] = grid
    path = root / name
    path.write_text(yaml.safe_dump(project))
    return path


def spectra_of(work: Path) -> int:
    from lmtflow.io.sdfits_reader import SDFITSReader

    total = 0
    for path in work.rglob("*.base.sdfits"):
        with SDFITSReader(path) as r:
            total += r.nrows
    return total


def grid_inputs(work: Path, maps: list[int]) -> tuple[list[str], Path]:
    """Baselined SDFITS of the maps and the grid parameters of their combination (or map)."""
    base = sorted(str(p) for p in work.rglob("*.base.sdfits"))
    if len(maps) == 1:
        return base, next(work.rglob(f"{maps[0]}/params/grid__0.json"))
    return base, next(p for p in work.rglob("params/grid__0.json") if "_" in p.parent.parent.name)


def extra_tile(root: Path, tiles: int, seed: int) -> int:
    """Simulate the next tile of a ``tiles + 1`` mosaic into the same raw tree; its Map."""
    from lmtflow.sim import simulate
    from lmtflow.sim.mosaic import map_obsnums, mosaic_config

    new = map_obsnums(tiles + 1)[-1]
    if not list((root / "data_lmt" / "ifproc").glob(f"*_{new:06d}_*.nc")):
        cfg = mosaic_config(tiles + 1)
        cfg["sessions"] = cfg["sessions"][-1:]
        simulate(cfg, root / "data_lmt", seed=seed + 1, truth_dir=root / "extra_truth")
    return new


def bench_size(base: Path, tiles: int, args) -> dict:
    from lmtflow.sim.mosaic import map_obsnums

    root = base / f"tiles{tiles}"
    truth, sim_s = simulated(root, tiles, args.seed)
    maps = map_obsnums(tiles)
    config = write_config(root, maps)
    shutil.rmtree(root / "work", ignore_errors=True)
    shutil.rmtree(root / ".snakemake", ignore_errors=True)
    run = snakemake(config, args.target, args.cores)
    out = {"tiles": tiles, "sim_s": sim_s, **{k: v for k, v in run.items() if k != "text"}}
    out["spectra"] = spectra_of(root / "work")
    base_files, params = grid_inputs(root / "work", maps)
    out["grid"] = grid_alone(base_files, params, root / "grid_scratch")
    if tiles == max(args.sizes) and not args.quick:
        out["dry_unchanged"] = dry_run(config, args.target)
        new = extra_tile(root, tiles, args.seed)
        out["new_map"] = new
        out["dry_added"] = dry_run(write_config(root, [*maps, new], name="plus1.yaml"),
                                   args.target)  # fmt: skip
        out["dry_grid_edit"] = dry_run(write_config(root, maps, {"resolution": 14.0}, "edit.yaml"),
                                       args.target)  # fmt: skip
    return out


# -- the cluster path -----------------------------------------------------------------------


SUBMITTED = re.compile(r"submitted with SLURM jobid (\d+) \(log: .*/((?:group|rule)_[^/]+)/")


def cluster_profile(root: Path, partition: str) -> Path:
    """profiles/slurm with the private cluster's site settings (as tests/test_slurm.py)."""
    profile = yaml.safe_load((ROOT / "profiles" / "slurm" / "config.yaml").read_text())
    profile["default-resources"] = {"slurm_partition": partition, "runtime": 30, "mem_mb": 500}
    profile.update({"slurm-no-account": True, "slurm-status-command": "squeue",
                    "slurm-init-seconds-before-status-checks": 2, "latency-wait": 10,
                    "retries": 0})  # fmt: skip
    (root / "profile").mkdir(parents=True, exist_ok=True)
    (root / "profile" / "config.yaml").write_text(yaml.safe_dump(profile))
    return root / "profile"


def bench_cluster(base: Path, tiles: int, args) -> dict:
    """The project of ``tiles`` through profiles/slurm on the private single-node cluster of
    tests/slurm_cluster.py: SLURM jobs, controller CPU and wall."""
    sys.path.insert(0, str(ROOT))
    from lmtflow.sim.mosaic import map_obsnums
    from tests.slurm_cluster import missing_requirements, start_cluster

    reason = missing_requirements()
    if reason:
        raise SystemExit(f"no SLURM cluster here: {reason}")
    root = base / f"tiles{tiles}"
    simulated(root, tiles, args.seed)
    config = write_config(root, map_obsnums(tiles), name="cluster.yaml")
    cfg = yaml.safe_load(config.read_text())
    cfg["work_lmt"] = str(root / "work_slurm")
    config.write_text(yaml.safe_dump(cfg))
    shutil.rmtree(root / "work_slurm", ignore_errors=True)
    cluster = start_cluster()
    try:
        profile = cluster_profile(root, cluster.partition)
        run = snakemake(config, args.target, args.cores, ["--profile", str(profile)],
                        env=cluster.env())  # fmt: skip
    finally:
        cluster.stop()
    names = [name for _, name in SUBMITTED.findall(run["text"])]
    return {"tiles": tiles, "wall": run["wall"], "first_job": run["first_job"],
            "controller_cpu": run["controller_cpu"], "rule_jobs": run["jobs"],
            "cluster_jobs": len(names),
            "grouped": sum(n.startswith("group_") for n in names)}  # fmt: skip


# -- report ---------------------------------------------------------------------------------


def report(results: list[dict], args) -> None:
    one = results[0]
    print(f"\nmosaic of N tiles (60\" OTF maps, SEQUOIA 16 beams x 2048 ch), snakemake "
          f"--cores {args.cores}, target '{args.target}'; load average "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")  # fmt: skip
    head = ("N", "jobs", "wall s", "1st job s", "ctl cpu s", "ms/job", "ctl %", "s/ObsNum",
            "cpu s/ObsNum", "us/spec", "cpu us/spec", "grid s", "grid MB")  # fmt: skip
    print(" ".join(f"{h:>12}" for h in head))
    for r in results:
        n = r["tiles"]
        r["per_obsnum"], r["cpu_per_obsnum"] = r["wall"] / n, r["total_cpu"] / n
        r["per_spectrum"] = r["wall"] / r["spectra"] * 1e6
        r["cpu_per_spectrum"] = r["total_cpu"] / r["spectra"] * 1e6
        r["ctl_share"] = r["controller_cpu"] / max(r["total_cpu"], 1e-9)
        r["ms_per_job"] = 1e3 * r["controller_cpu"] / max(r["jobs"], 1)
        row = (n, r["jobs"], r["wall"], r["first_job"], r["controller_cpu"], r["ms_per_job"],
               100 * r["ctl_share"], r["per_obsnum"], r["cpu_per_obsnum"], r["per_spectrum"],
               r["cpu_per_spectrum"], r["grid"]["grid_s"], r["grid"]["rss_mb"])  # fmt: skip
        print(" ".join(f"{v:>12.2f}" if isinstance(v, float) else f"{v:>12}" for v in row))
    print("\nratios to the 1-ObsNum run (grid: the joint grid vs the single map's grid)")
    keys = ("first_job", "ms_per_job", "per_obsnum", "cpu_per_obsnum", "per_spectrum",
            "cpu_per_spectrum")  # fmt: skip
    for r in results[1:]:
        parts = [f"{k} {r[k] / one[k]:.2f}x" for k in keys]
        parts += [f"grid_s {r['grid']['grid_s'] / one['grid']['grid_s']:.2f}x",
                  f"grid_rss {r['grid']['rss_mb'] / one['grid']['rss_mb']:.2f}x"]  # fmt: skip
        print(f"  N={r['tiles']}: " + ", ".join(parts))
    big = results[-1]
    mid = next((r for r in results if r["tiles"] == 8), None)
    print("\ntargets (issue 19)")
    print(f"  controller (DAG + scheduling) share of all CPU at N={big['tiles']}: "
          f"{100 * big['ctl_share']:.1f}% (< 10%)")  # fmt: skip
    print(f"  joint grid peak RSS at N={big['tiles']}: {big['grid']['rss_mb']:.0f} MB (< 1000)"
          + (f", {big['grid']['rss_mb'] / mid['grid']['rss_mb']:.2f}x N=8 (< 1.2x)" if mid
             and mid is not big else ""))  # fmt: skip
    print(f"  time per spectrum at N={big['tiles']} vs N=1: wall "
          f"{big['per_spectrum'] / one['per_spectrum']:.2f}x, CPU "
          f"{big['cpu_per_spectrum'] / one['cpu_per_spectrum']:.2f}x (< 1.15x)")  # fmt: skip
    for key, what in (("dry_unchanged", "dry run, unchanged project"),
                      ("dry_added", f"dry run, + ObsNum {big.get('new_map')}"),
                      ("dry_grid_edit", "dry run, combination grid edit")):  # fmt: skip
        if key in big:
            d = big[key]
            new = big.get("new_map", 0)
            others = [n for n in d["obsnums"] if n not in (new, new - 1)]
            print(f"  {what}: {d['wall']:.1f} s wall ({d['cpu']:.1f} s CPU), jobs {d['rules']}, "
                  f"ObsNums {d['obsnums'] if len(d['obsnums']) < 5 else len(d['obsnums'])}"
                  f"{'' if not others or key == 'dry_unchanged' else ' (others!)'}")  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--grid-child", help=argparse.SUPPRESS)
    ap.add_argument("--sizes", type=int, nargs="+", default=[1, 8, 64])
    ap.add_argument("--dir", type=Path, required=False, default=Path("bench_scale"))
    ap.add_argument("--target", default="science", choices=["science", "all"])
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--seed", type=int, default=64)
    ap.add_argument("--quick", action="store_true", help="no dry runs at the largest size")
    ap.add_argument("--json", type=Path, help="write the numbers here too")
    ap.add_argument("--cluster", type=int, metavar="N",
                    help="instead: N tiles through profiles/slurm on a private SLURM cluster")
    args = ap.parse_args()
    if args.grid_child:
        _grid_child(json.loads(args.grid_child))
        return
    if args.cluster:
        r = bench_cluster(args.dir.resolve(), args.cluster, args)
        print(f"SLURM (private single-node cluster), N={r['tiles']} tiles, target "
              f"'{args.target}': {r['cluster_jobs']} cluster jobs ({r['grouped']} grouped per "
              f"ObsNum) for {r['rule_jobs']} rule jobs; wall {r['wall']:.0f} s, first "
              f"submission at {r['first_job']:.1f} s; controller CPU {r['controller_cpu']:.1f} s "
              f"({r['controller_cpu'] / max(r['cluster_jobs'], 1):.2f} s per cluster job); load "
              f"average {' '.join(f'{x:.1f}' for x in os.getloadavg())}")  # fmt: skip
        return
    args.sizes = sorted(set(args.sizes))
    results = []
    for n in args.sizes:
        t0 = time.perf_counter()
        results.append(bench_size(args.dir.resolve(), n, args))
        print(f"N={n}: {time.perf_counter() - t0:.0f} s (simulation {results[-1]['sim_s']:.0f} s)",
              flush=True)  # fmt: skip
    report(results, args)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, default=dict))


if __name__ == "__main__":
    main()
