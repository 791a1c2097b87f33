"""Time the raw-data simulator: ``python benchmarks/bench_simulate.py [PRESET ...] [--keep]``.

Prints, per preset, the wall time, MB written, MB/s and the number of files. The output goes to
a temporary directory (removed afterwards unless --keep; then it is printed).
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from lmtflow.sim import simulate_preset


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("presets", nargs="*", default=["small", "demo", "bench"])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--keep", action="store_true", help="keep the written data")
    ap.add_argument("--dir", help="parent directory for the output (default: a temp dir)")
    args = ap.parse_args()
    parent = Path(args.dir or tempfile.mkdtemp(prefix="lmtflow_bench_"))
    print(f"{'preset':8s} {'seconds':>8s} {'MB':>9s} {'MB/s':>8s} {'files':>6s}")
    for name in args.presets:
        out = parent / name / "data_lmt"
        t0 = time.perf_counter()
        res = simulate_preset(name, out, seed=args.seed)
        dt = time.perf_counter() - t0
        mb = res.nbytes / 1e6
        print(f"{name:8s} {dt:8.2f} {mb:9.1f} {mb / dt:8.1f} {len(res.files):6d}", flush=True)
        if not args.keep:
            shutil.rmtree(parent / name)
    if args.keep:
        print(f"data kept under {parent}")
    elif not args.dir:
        shutil.rmtree(parent, ignore_errors=True)


if __name__ == "__main__":
    main()
