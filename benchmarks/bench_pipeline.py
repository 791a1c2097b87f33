"""Speed and memory of every workflow stage on the simulator's bench2 preset: not a test.

Simulates the ``bench2`` preset (shaped block by block like LMTOY's bench2, the real ObsNums
79447/79448: 16 beams x 2048 channels, float64, ~1.6 GB; ``--preset bench`` is the earlier,
float32 0.9 GB version that ``--scales`` can stretch) unless ``--data`` names an existing
tree, then measures

* the I/O floor: reading every raw netCDF file of the run once with netCDF4;
* a cold Snakemake run (all stages and products) and a re-run after a grid-parameter edit,
  from the command line and from this Python session (``run_in_process``);
* each stage alone, as the workflow runs it (a fresh Python process on the cold run's
  inputs): wall and CPU time, peak RSS as the OS reports it (``wait4``), and throughput
  (MB/s of raw data; spectra/s and channel-samples/s for gridding, 1 and 2 threads);

and prints the ratios and targets of the benchmark issue. Timings are noisy on a shared
machine: ``--repeat`` takes the best of several runs and prints the range.

    python benchmarks/bench_pipeline.py                    # bench2 preset
    python benchmarks/bench_pipeline.py --preset bench --scales 1 4   # 4x the dumps: scaling
    python benchmarks/bench_pipeline.py --quick            # small preset: a smoke run (~15 s)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

REFERENCE = {"mb_s": 30.0, "gridder_msamples_s": 30.0, "end_to_end_s": 28.0, "raw_gb": 0.8}
STAGES = ("ingest_cal", "tsys", "ingest", "calibrate", "baseline", "grid1", "grid2")
TO_BASELINED = ("ingest_cal", "tsys", "ingest", "calibrate", "baseline")
BLAS_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


# -- one stage in a child process ---------------------------------------------------------------


def _stage_main(name: str, spec: dict) -> None:
    """Run one stage in this (fresh) process; print its compute time as JSON."""
    t0 = time.perf_counter()
    from lmtflow.pipeline.runner import read_params

    if name.startswith("ingest"):
        from lmtflow.pipeline.ingest import ingest

        run = lambda: ingest(spec["data"], spec["obsnum"], spec["bank"], spec["out"])  # noqa: E731
    elif name == "tsys":
        from lmtflow.pipeline.tsys import make_tsys

        p = read_params(spec["params"])
        run = lambda: make_tsys(spec["raw"], spec["out"], p["tsys_bdrop"], p["tsys_edrop"])  # noqa: E731
    elif name == "calibrate":
        from lmtflow.pipeline.calibrate import calibrate

        run = lambda: calibrate(spec["raw"], spec["tsys"], spec["out"], read_params(spec["params"]))  # noqa: E731
    elif name == "baseline":
        from lmtflow.pipeline.baseline import baseline

        run = lambda: baseline(spec["cal"], spec["out"], read_params(spec["params"]))  # noqa: E731
    else:
        from lmtflow.pipeline.grid import grid_products

        p, threads = read_params(spec["params"]), int(name[-1])
        run = lambda: grid_products([spec["base"]], spec["out"], spec["wt"], p, threads=threads)  # noqa: E731
    t1 = time.perf_counter()
    run()
    t2 = time.perf_counter()
    print(json.dumps({"imports": t1 - t0, "compute": t2 - t1, "rss_mb": peak_rss_mb()}))


def peak_rss_mb() -> float:
    """Peak resident set of this process as the kernel reports it (``VmHWM``; MB).

    Not ``ru_maxrss`` of the child: Linux carries the parent's high-water mark across
    fork/exec into it, so a child would never look smaller than the benchmark process.
    """
    with open("/proc/self/status") as fh:
        kb = next(int(line.split()[1]) for line in fh if line.startswith("VmHWM:"))
    return kb / 1024


def run_stage(name: str, spec: dict, log: Path) -> dict:
    """Run a stage in a child process: wall, CPU (user+sys, ``wait4``), its peak RSS.

    The BLAS/OpenMP thread counts are the stage's threads, as Snakemake sets them for a job
    (otherwise idle OpenBLAS threads spin and inflate the CPU time of one-thread stages).
    """
    cmd = [sys.executable, __file__, "--stage", name, json.dumps(spec)]
    threads = name[-1] if name.startswith("grid") else "1"
    env = dict(os.environ, **{k: threads for k in BLAS_THREAD_VARS})
    t0 = time.perf_counter()
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
        _, status, ru = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"stage {name} failed:\n{log.read_text()[-3000:]}")
    inner = json.loads(log.read_text().strip().splitlines()[-1])
    return {"wall": wall, "cpu": ru.ru_utime + ru.ru_stime, **inner}


# -- helpers -----------------------------------------------------------------------------------


def io_floor(files: list[Path]) -> float:
    """Seconds to read every variable of the raw files once with netCDF4 (child process)."""
    code = (
        "import sys, netCDF4\n"
        "for f in sys.argv[1:]:\n"
        "    with netCDF4.Dataset(f) as ds:\n"
        "        for v in ds.variables.values():\n"
        "            v.set_auto_mask(False); v[...]\n"
    )
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", code, *map(str, files)], check=True)
    return time.perf_counter() - t0


def snakemake_run(data: Path, wdir: Path, obsnum: int, args, config: Path | None, targets):
    """Wall seconds of one Snakemake run (``targets``: files to make; [] = the default)."""
    from lmtflow.workflow import snakemake_command

    cmd = snakemake_command(
        data, wdir / "work", [obsnum], cores=args.cores, directory=wdir, configfile=config
    )
    k = cmd.index("--cores")
    cmd[k:k] = [str(t) for t in targets]  # before --config, whose values run to the end
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"snakemake failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    return time.perf_counter() - t0


def session_run(data: Path, wdir: Path, obsnum: int, args, config: Path, targets) -> float:
    """Wall seconds of one run from this Python process (``run_in_process``)."""
    from lmtflow.workflow import run_in_process

    t0 = time.perf_counter()
    run_in_process(data, wdir / "work", [obsnum], cores=args.cores, directory=wdir,
                   configfile=config, targets=targets)  # fmt: skip
    return time.perf_counter() - t0


def rule_seconds(work: Path) -> dict[str, tuple[float, float]]:
    """Wall seconds and peak RSS (MB) of each job of a run, from Snakemake's benchmark files."""
    out = {}
    for tsv in sorted(work.rglob("benchmarks/*.tsv")):
        lines = tsv.read_text().strip().splitlines()
        row = dict(zip(lines[0].split("\t"), lines[-1].split("\t"), strict=True))
        name = f"{tsv.stem} ({tsv.parent.parent.name})"
        out[name] = (float(row["s"]), float(row["max_rss"]) if row["max_rss"] != "NA" else 0.0)
    return out


def first_touch_mb_s(mb: int = 256) -> float:
    """MB/s at which a fresh process touches ``mb`` MB of new memory (child process): on
    virtual machines that return freed memory to the host this is far below memcpy speed,
    and every new page of a written file costs the same."""
    code = (
        "import numpy as np, time\n"
        f"t = time.perf_counter(); a = np.ones({mb} << 18, np.float32)\n"
        "print(time.perf_counter() - t)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return mb / float(out.stdout)


def best(runs: list[dict]) -> dict:
    """The run with the least wall time, with the wall range of all runs."""
    b = dict(min(runs, key=lambda r: r["wall"]))
    b["range"] = (min(r["wall"] for r in runs), max(r["wall"] for r in runs))
    return b


# -- one benchmark at one size -----------------------------------------------------------------


def simulated_data(root: Path, preset: str, scale: float, sim_config: Path | None):
    """The raw tree and map ObsNum of the preset (or simulator config), simulated once."""
    from lmtflow.sim import load_config, simulate, simulate_preset

    data, marker = root / "data_lmt", root / "sim.json"
    if not marker.exists():
        if sim_config is not None:
            res = simulate(load_config(sim_config), data, seed=0)
        else:
            res = simulate_preset(preset, data, seed=0, **({"scale": scale} if scale != 1 else {}))
        print(
            f"simulated {sim_config or preset} x{scale:g}: {res.nbytes / 1e6:.0f} MB "
            f"in {res.seconds:.1f} s"
        )
        marker.write_text(json.dumps({"map": res.obsnums["Map"][0]}))
    return data, json.loads(marker.read_text())["map"]


def bench_one(root: Path, args: argparse.Namespace, scale: float) -> dict:
    from lmtflow import layout
    from lmtflow.io.sdfits_reader import SDFITSReader
    from lmtflow.scan import scan_obsnum

    root.mkdir(parents=True, exist_ok=True)
    repeat = args.repeat
    if args.data is not None:
        data, obsnum = args.data, args.obsnum
    else:
        data, obsnum = simulated_data(root, args.preset, scale, args.sim_config)
    info = scan_obsnum(data, obsnum)
    cal = info.cal.obsnum
    bank = info.banks[0]
    tags = [f"_{n}_" for n in (obsnum, cal)] + [f"_{n:06d}_" for n in (obsnum, cal)]
    files = [p for p in sorted(data.rglob("*.nc")) if any(t in p.name for t in tags)]
    raw_mb = sum(p.stat().st_size for p in files) / 1e6
    floor = min(io_floor(files) for _ in range(repeat))
    print(
        f"raw files of ObsNum {obsnum} + Cal {cal}: {len(files)} files, {raw_mb:.0f} MB; "
        f"netCDF4 read of all of them (page cache warm): {floor:.2f} s "
        f"({raw_mb / floor:.0f} MB/s)"
    )

    # cold run, then an edit of a grid parameter; SRDP products only unless --all-products
    wdir = root / "wf"
    f = dict(pid=info.pid, obsnum=obsnum, bank=bank)
    srdp = dict(src=info.src, **f)
    targets = (
        []
        if args.all_products
        else [
            layout.path(wdir / "work", pat, **srdp)
            for pat in (layout.SRDP_CUBE, layout.SRDP_WEIGHT, layout.SRDP_PARAMS)
        ]
    )
    cold_runs, rerun_runs, jobs = [], [], []
    for i in range(repeat):
        shutil.rmtree(wdir, ignore_errors=True)
        wdir.mkdir()
        cold_runs.append(snakemake_run(data, wdir, obsnum, args, None, targets))
        jobs.append(rule_seconds(wdir / "work"))
        cfg = root / f"grid_edit_{i}.yaml"
        cfg.write_text(f"defaults:\n  grid:\n    resolution: {12.0 + 0.5 * i}\n")
        rerun_runs.append(snakemake_run(data, wdir, obsnum, args, cfg, targets))
    cold, rerun = min(cold_runs), min(rerun_runs)
    idle = min(snakemake_run(data, wdir, obsnum, args, cfg, targets) for _ in range(repeat))
    # the same edits from one Python session (Snakemake's API in process): imported once
    session_runs, session_grid = [], []
    for i in range(repeat + 1):  # the first call pays the imports: not counted
        cfg = root / f"grid_edit_session_{i}.yaml"
        cfg.write_text(f"defaults:\n  grid:\n    resolution: {13.0 + 0.5 * i}\n")
        t = session_run(data, wdir, obsnum, args, cfg, targets)
        if i:
            session_runs.append(t)
            session_grid.append(rule_seconds(wdir / "work")[f"grid__{bank} ({obsnum})"][0])

    work = wdir / "work"
    fc = dict(pid=info.cal_pid, obsnum=cal, bank=bank)
    p = lambda pattern, **kw: str(layout.path(work, pattern, **kw))  # noqa: E731
    out = root / "stages"
    out.mkdir(exist_ok=True)
    specs = {
        "ingest_cal": dict(data=str(data), obsnum=cal, bank=bank, out=str(out / "cal.raw.sdfits")),
        "tsys": dict(
            raw=p(layout.RAW_SDFITS, **fc),
            params=p(layout.PARAMS, step="calibrate", **f),
            out=str(out / "tsys.fits"),
        ),
        "ingest": dict(data=str(data), obsnum=obsnum, bank=bank, out=str(out / "raw.sdfits")),
        "calibrate": dict(
            raw=p(layout.RAW_SDFITS, **f),
            tsys=p(layout.TSYS, **fc),
            params=p(layout.PARAMS, step="calibrate", **f),
            out=str(out / "cal.sdfits"),
        ),
        "baseline": dict(
            cal=p(layout.CAL_SDFITS, **f),
            params=p(layout.PARAMS, step="baseline", **f),
            out=str(out / "base.sdfits"),
        ),
    }
    grid = dict(
        base=p(layout.BASE_SDFITS, **f),
        params=p(layout.PARAMS, step="grid", **f),
        out=str(out / "cube.fits"),
        wt=str(out / "wt.fits"),
    )
    specs["grid1"] = specs["grid2"] = grid
    runs: dict[str, list[dict]] = {name: [] for name in STAGES}
    for _ in range(repeat):  # round-robin: a busy spell of the machine hits every stage alike
        for name in STAGES:
            runs[name].append(run_stage(name, specs[name], out / f"{name}.log"))
    stages = {name: best(r) for name, r in runs.items()}
    with SDFITSReader(grid["base"]) as r:
        nspec, nchan = r.nrows, r.nchan
    return dict(
        raw_mb=raw_mb,
        floor=floor,
        cold=cold,
        cold_runs=cold_runs,
        jobs=jobs[cold_runs.index(cold)],
        idle=idle,
        rerun=rerun,
        rerun_runs=rerun_runs,
        session_runs=session_runs,
        session_grid=session_grid,
        stages=stages,
        nspec=nspec,
        nchan=nchan,
    )


def report(r: dict) -> dict:
    """Print the per-stage table, the ratios and the targets; return the headline numbers."""
    raw, st = r["raw_mb"], r["stages"]
    print(
        f"\n{'stage':<11}{'wall s':>8}{'(range)':>14}{'compute s':>11}{'CPU s':>8}"
        f"{'peak RSS MB':>13}  throughput"
    )
    for name, s in st.items():
        if name.startswith("grid"):
            thr = (
                f"{r['nspec'] / s['compute']:,.0f} spectra/s, "
                f"{r['nspec'] * r['nchan'] / s['compute'] / 1e6:.0f} M channel-samples/s"
            )
        else:
            thr = f"{raw / s['wall']:.0f} MB/s of raw data (compute only: {raw / s['compute']:.0f})"
        lo, hi = s["range"]
        print(
            f"{name:<11}{s['wall']:>8.2f}{f'({lo:.2f}-{hi:.2f})':>14}{s['compute']:>11.2f}"
            f"{s['cpu']:>8.2f}{s['rss_mb']:>13.0f}  {thr}"
        )
    to_base = sum(st[n]["wall"] for n in TO_BASELINED)
    to_base_c = sum(st[n]["compute"] for n in TO_BASELINED)
    grid1 = r["nspec"] * r["nchan"] / st["grid1"]["compute"] / 1e6
    grid2 = r["nspec"] * r["nchan"] / st["grid2"]["compute"] / 1e6
    peak = max(s["rss_mb"] for s in st.values())
    grid_wall = st["grid2"]["wall"]
    scaled_ref = REFERENCE["end_to_end_s"] * (raw / 1e3) / REFERENCE["raw_gb"]
    print(
        f"\nraw -> baselined SDFITS (5 processes): {to_base:.2f} s, {raw / to_base:.0f} MB/s "
        f"(compute only {to_base_c:.2f} s = {raw / to_base_c:.0f} MB/s)"
    )
    print(
        f"cold snakemake run, all stages to the products: {r['cold']:.2f} s "
        f"(runs {', '.join(f'{t:.2f}' for t in r['cold_runs'])})"
    )
    print(
        "  its jobs (Snakemake benchmark files; wall s, peak RSS MB): "
        + ", ".join(f"{k} {t:.2f} s {m:.0f} MB" for k, (t, m) in r["jobs"].items())
    )
    print(
        f"re-run after a grid edit: {r['rerun']:.2f} s "
        f"(runs {', '.join(f'{t:.2f}' for t in r['rerun_runs'])})"
    )
    print(f"Snakemake alone (the same command, nothing to do): {r['idle']:.2f} s")
    print(f"ratio end-to-end / netCDF4 read of the raw files: {r['cold'] / r['floor']:.1f}")
    print(
        f"ratio re-run after grid edit / grid step alone (process, 2 threads): "
        f"{r['rerun'] / grid_wall:.2f} (without Snakemake's own time: "
        f"{(r['rerun'] - r['idle']) / grid_wall:.2f})"
    )
    session = min(r["session_runs"])
    k = r["session_runs"].index(session)
    print(
        f"re-run after a grid edit from one Python session (run_in_process): {session:.2f} s "
        f"(runs {', '.join(f'{t:.2f}' for t in r['session_runs'])}); ratio to the grid step "
        f"alone {session / grid_wall:.2f}, to that run's own grid job "
        f"({r['session_grid'][k]:.2f} s) {session / r['session_grid'][k]:.2f}"
    )
    print(f"gridding 2 threads vs 1: {grid2 / grid1:.2f}x")
    checks = [
        ("raw -> baselined >= 150 MB/s", raw / to_base >= 150, f"{raw / to_base:.0f} MB/s"),
        ("gridding >= 30 M samples/s/core", grid1 >= 30, f"{grid1:.0f} (1 thread)"),
        ("gridding faster on 2 cores", grid2 > grid1, f"{grid2 / grid1:.2f}x"),
        ("peak RSS of every stage < raw/2", peak < raw / 2, f"{peak:.0f} vs {raw / 2:.0f} MB"),
        (
            "re-run <= 1.3 x grid step, command line",
            r["rerun"] <= 1.3 * grid_wall,
            f"{r['rerun'] / grid_wall:.2f}x",
        ),
        (
            "re-run <= 1.3 x grid step, Python session",
            session <= 1.3 * grid_wall,
            f"{session / grid_wall:.2f}x",
        ),
        (
            "end to end <= 1/4 of reference",
            r["cold"] <= scaled_ref / 4,
            f"{r['cold']:.1f} s vs {scaled_ref / 4:.1f} s (28 s x {raw / 800:.2f} / 4)",
        ),
    ]
    print("\ntargets (reference: lmtslr, 30 MB/s, 30 M samples/s, 28 s for 0.8 GB):")
    for label, ok, value in checks:
        print(f"  [{'ok' if ok else 'MISS'}] {label}: {value}")
    return {
        "wall": to_base,
        "cold": r["cold"],
        "grid": st["grid1"]["compute"],
        "rss": {n: s["rss_mb"] for n, s in st.items()},
        "time": {n: s["compute"] for n, s in st.items()},
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--stage", nargs=2, metavar=("NAME", "SPEC"), help=argparse.SUPPRESS)
    ap.add_argument("--preset", default="bench2")
    ap.add_argument("--scales", type=float, nargs="+", default=[1.0], help="x the bench dumps")
    ap.add_argument("--quick", action="store_true", help="small preset, one run: a smoke test")
    ap.add_argument("--dir", type=Path, default=None, help="work directory (default: temp)")
    ap.add_argument("--sim-config", type=Path, default=None, help="simulator YAML, not a preset")
    ap.add_argument("--data", type=Path, default=None, help="existing raw tree to reduce")
    ap.add_argument("--obsnum", type=int, default=None, help="its map ObsNum (with --data)")
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    ap.add_argument(
        "--all-products",
        action="store_true",
        help="time the default target (QA plots and pages too), not only the SRDP",
    )
    args = ap.parse_args()
    if args.stage:
        _stage_main(args.stage[0], json.loads(args.stage[1]))
        return
    if args.quick:
        args.repeat, args.scales = 1, [1.0]
        if args.preset == ap.get_default("preset"):
            args.preset = "small"
    if (args.data is None) != (args.obsnum is None):
        ap.error("--data and --obsnum go together")
    import tempfile

    root = args.dir or Path(tempfile.mkdtemp(prefix="bench_pipeline_"))
    print(
        f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}, new memory "
        f"first touched at {first_touch_mb_s():.0f} MB/s; dir {root}"
    )
    heads = {}
    try:
        for scale in args.scales:
            print(f"\n=== {args.preset} x{scale:g} ===")
            r = bench_one(root / f"x{scale:g}", args, scale)
            heads[scale] = report(r)
        if len(heads) > 1:
            s0 = args.scales[0]
            print(f"\nscaling (vs x{s0:g}): stage compute time ratio | peak RSS ratio")
            for scale in args.scales[1:]:
                for name in STAGES:
                    t = heads[scale]["time"][name] / heads[s0]["time"][name]
                    m = heads[scale]["rss"][name] / heads[s0]["rss"][name]
                    print(f"  x{scale:g} {name:<11} time {t:5.2f}  RSS {m:5.2f}")
                print(
                    f"  x{scale:g} end to end  time {heads[scale]['cold'] / heads[s0]['cold']:5.2f}"
                )
    finally:
        if not args.keep and args.dir is None:
            shutil.rmtree(root, ignore_errors=True)
    print(f"\nload average at the end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
