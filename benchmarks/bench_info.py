"""Time ``lmtflow info`` on a large raw tree: ``python benchmarks/bench_info.py [--n 2000]``.

The tree is "headers only": the ifproc files of the ``small`` preset (Cal, Map, Ps, Bs of
SEQUOIA and 1MM) are rewritten with one record of each time series (the header variables are
all there), then copied N times with their ObsNum, CalObsNum and start time patched in place,
so N ObsNums cost a few MB. Prints the time of :func:`lmtflow.inventory.read_inventory` (warm
page cache, best of ``--repeat``), that of the netCDF4 header reader on 200 files for
comparison, the wall and CPU time of the command ``lmtflow info DIR`` as a user runs it (a
fresh process, imports included; on a shared machine the CPU time is the steadier number) and
whether the target (2,000 ObsNums under 10 s) is
met. A damaged file is added to show that it is listed, not fatal.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import netCDF4
import numpy as np

from lmtflow.inventory import read_inventory
from lmtflow.io.ifproc import read_header
from lmtflow.io.nc3 import Nc3File
from lmtflow.sim import simulate_preset


def headers_only(src: Path, dst: Path) -> None:
    """Copy an ifproc file with every variable, the record (time) ones cut to one record."""
    with netCDF4.Dataset(src) as a, netCDF4.Dataset(dst, "w", format="NETCDF3_64BIT_OFFSET") as b:
        for name, dim in a.dimensions.items():
            b.createDimension(name, None if dim.isunlimited() else len(dim))
        for name, var in a.variables.items():
            out = b.createVariable(name, var.dtype, var.dimensions)
            var.set_auto_maskandscale(False)
            unlimited = any(a.dimensions[d].isunlimited() for d in var.dimensions)
            out[:] = var[:1] if unlimited else var[:]


def patch(path: Path, values: dict[str, float]) -> None:
    """Overwrite the first value of scalar/record variables in place (big-endian)."""
    with Nc3File.open(path) as nc:
        places = {n: (nc.var(n).begin, nc.var(n).dtype) for n in values}
    with open(path, "r+b") as f:
        for name, (begin, dtype) in places.items():
            f.seek(begin)
            f.write(np.array([values[name]], dtype).tobytes())


def make_tree(root: Path, n: int) -> Path:
    sim = simulate_preset("small", root / "sim", seed=1)
    templates = root / "templates"
    templates.mkdir()
    kinds = {}
    for src in sorted((sim.data_lmt / "ifproc").glob("*.nc")):
        dst = templates / src.name
        headers_only(src, dst)
        with netCDF4.Dataset(dst) as ds:
            pgm = bytes(ds["Header.Dcs.ObsPgm"][:].compressed()).decode().strip()
            rx = bytes(ds["Header.Dcs.Receiver"][:].compressed()).decode().strip()
        kinds.setdefault(rx, {})[pgm] = dst
    data = root / "data_lmt" / "ifproc"
    data.mkdir(parents=True)
    sequence = ["Cal", "Map", "Ps", "Bs"]
    rx_cycle = list(kinds)
    t0 = 1.6e9
    cal = 0
    for i in range(n):
        obsnum = 100000 + i
        rx = rx_cycle[(i // 40) % len(rx_cycle)]
        pgm = sequence[i % 4] if sequence[i % 4] in kinds[rx] else "Ps"
        if pgm == "Cal":
            cal = obsnum
        start = t0 + 300 * i
        day = time.strftime("%Y-%m-%d", time.gmtime(start))
        dst = data / f"ifproc_{day}_{obsnum:06d}_00_0001.nc"
        shutil.copyfile(kinds[rx][pgm], dst)
        patch(dst, {"Header.Dcs.ObsNum": obsnum, "Header.IfProc.CalObsNum": cal or obsnum,
                    "Data.TelescopeBackend.TelTime": start})  # fmt: skip
    (data / "ifproc_2020-01-01_099999_00_0001.nc").write_bytes(b"CDF\x02 damaged")
    return root / "data_lmt"


def _child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=2000, help="ObsNums in the tree (2000)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--dir", help="parent directory (default: a temporary one, removed)")
    args = ap.parse_args()
    root = Path(args.dir or tempfile.mkdtemp(prefix="lmtflow_bench_info_"))
    try:
        t = time.perf_counter()
        data = make_tree(root, args.n)
        size = sum(p.stat().st_size for p in (data / "ifproc").iterdir()) / 1e6
        print(f"tree: {args.n} ObsNums + 1 damaged file, {size:.1f} MB, made in "
              f"{time.perf_counter() - t:.1f} s")  # fmt: skip
        best = float("inf")
        for _ in range(args.repeat):
            t = time.perf_counter()
            inv = read_inventory(data)
            best = min(best, time.perf_counter() - t)
        print(
            f"read_inventory: {len(inv.entries)} ObsNums, {len(inv.unreadable)} unreadable, "
            f"best of {args.repeat}: {best:.2f} s ({1e3 * best / args.n:.2f} ms per ObsNum)"
        )
        sample = sorted((data / "ifproc").glob("ifproc_*_1*.nc"))[:200]
        t = time.perf_counter()
        for path in sample:
            read_header(path)
        per = (time.perf_counter() - t) / len(sample)
        print(f"the netCDF4 header reader (lmtflow.io.ifproc.read_header) on {len(sample)} "
              f"files: {1e3 * per:.2f} ms per ObsNum, {per * 2000:.1f} s for 2,000; this "
              f"listing is {per * args.n / best:.1f}x faster")  # fmt: skip
        t, cpu = time.perf_counter(), _child_cpu()
        proc = subprocess.run([sys.executable, "-m", "lmtflow.cli", "info", str(data)],
                              capture_output=True, text=True, check=True)  # fmt: skip
        wall, cpu = time.perf_counter() - t, _child_cpu() - cpu
        lines = proc.stdout.count("\n")
        print(f"lmtflow info (fresh process): {wall:.2f} s wall, {cpu:.2f} s CPU, {lines} lines")
        scaled = wall * 2000 / args.n
        print(
            f"target 2,000 ObsNums < 10 s: {'ok' if scaled < 10 else 'MISS'} "
            f"({scaled:.1f} s for 2,000)"
        )
    finally:
        if not args.dir:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
