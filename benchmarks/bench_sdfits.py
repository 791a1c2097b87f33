"""Write and read an ObsNum-sized SDFITS file and print the throughput in MB/s.

    python benchmarks/bench_sdfits.py                       # 90k spectra x 2048 ch (~0.75 GB)
    python benchmarks/bench_sdfits.py --ndump 1000 --dir /scratch

Reads are timed twice: right after writing (the file is in the page cache) and again after
``posix_fadvise(DONTNEED)`` asks the kernel to drop it (cold, if the kernel obliges).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from lmtflow.io.sdfits import SDFITSReader, SDFITSWriter, obsmode


def make_block(d0: int, nd: int, nbeam: int, nchan: int, rng: np.random.Generator) -> tuple:
    """Columns and data of dumps ``d0 .. d0+nd-1`` (all beams)."""
    n = nd * nbeam
    dump = np.repeat(np.arange(d0, d0 + nd, dtype=np.int32), nbeam)
    beam = np.tile(np.arange(nbeam, dtype=np.int16), nd)
    t = 1.7e9 + dump * 0.1
    cols = {
        "TSYS": np.full(n, 180.0),
        "CRVAL2": 200.0 + np.linspace(0, 0.01, n),
        "CRVAL3": 47.0 + np.linspace(0, 0.01, n),
        "FDNUM": beam,
        "INTNUM": dump,
        "UTCTIME": t,
        "LST": (t % 86164.0),
        "AZIMUTH": np.full(n, 150.0),
        "ELEVATIO": np.full(n, 60.0),
        "LMTXOFF": np.linspace(-300, 300, n),
        "LMTYOFF": np.zeros(n),
        "BUFPOS": np.full(n, 100, dtype=np.int16),
    }
    data = rng.standard_normal((n, nchan), dtype=np.float32)
    return cols, data


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ndump", type=int, default=5625, help="dumps (x16 beams = spectra)")
    ap.add_argument("--nbeam", type=int, default=16)
    ap.add_argument("--nchan", type=int, default=2048)
    ap.add_argument("--block", type=int, default=256, help="dumps per appended block")
    ap.add_argument("--dir", default=None, help="directory for the file (default: a temp dir)")
    ap.add_argument("--keep", action="store_true", help="keep the file")
    args = ap.parse_args()

    constants = {
        "OBJECT": "M51",
        "DURATION": 0.1,
        "EXPOSURE": 0.1,
        "CRVAL1": 115.27e9,
        "CRPIX1": 1024.5,
        "CDELT1": -390625.0,
        "CRVAL4": -5,
        "SCAN": 123456,
        "OBSMODE": obsmode("Map", "cal"),
        "FRONTEND": "Sequoia",
        "VFRAME": 0.0,
        "RVSYS": 0.0,
        "OBSFREQ": 115.27e9,
        "RESTFREQ": 115.2712e9,
        "VELOCITY": 0.0,
        "SIDEBAND": "U",
        "IFNUM": 0,
        "PLNUM": 0,
    }
    nrows = args.ndump * args.nbeam
    rng = np.random.default_rng(0)
    # Pre-make one block and reuse it, so the timing measures I/O, not random numbers.
    cols, data = make_block(0, args.block, args.nbeam, args.nchan, rng)
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        path = Path(tmp) / "bench.sdfits"
        t0 = time.perf_counter()
        with SDFITSWriter(
            path,
            nrows,
            args.nchan,
            projid="bench",
            instrume="Sequoia",
            datadims=(args.ndump, args.nbeam, 1, 1, args.nchan),
            constants=constants,
        ) as w:
            for d0 in range(0, args.ndump, args.block):
                nd = min(args.block, args.ndump - d0)
                k = nd * args.nbeam
                w.append({key: v[:k] for key, v in cols.items()}, data[:k])
        t_write = time.perf_counter() - t0
        size = path.stat().st_size / 1e6
        print(f"file: {nrows} spectra x {args.nchan} ch = {size:.0f} MB")
        print(f"write: {t_write:6.2f} s  {size / t_write:7.0f} MB/s")

        def read_all(reuse: bool) -> float:
            t = time.perf_counter()
            total = 0.0
            with SDFITSReader(path) as r:
                cols = ("FDNUM", "INTNUM", "TSYS", "LMTXOFF")
                for blk in r.iter_dumps(columns=cols, reuse_buffer=reuse):
                    total += float(blk.data[:, 0, 0, 0, 0].sum())
            return time.perf_counter() - t

        for reuse in (False, True):
            t_warm = read_all(reuse)
            how = "reused buffer" if reuse else "new arrays"
            print(f"read (page cache, {how}): {t_warm:6.2f} s  {size / t_warm:7.0f} MB/s")
        if hasattr(os, "posix_fadvise"):
            with open(path, "rb") as f:
                os.fsync(f.fileno())
                os.posix_fadvise(f.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)
            t_cold = read_all(True)
            print(
                f"read (after DONTNEED, reused buffer): {t_cold:6.2f} s  {size / t_cold:7.0f} MB/s"
            )
        if args.keep:
            keep = Path(args.dir or ".") / "bench.sdfits"
            os.replace(path, keep)
            print(f"kept {keep}")


if __name__ == "__main__":
    main()
