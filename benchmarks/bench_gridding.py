"""Gridding benchmark at the size of the LMTOY SEQUOIA bench (79448): not a test.

89,600 spectra x 689 channels (16 beams x 5,600 dumps of an OTF raster over +-400") onto
147 x 147 cells of 5.5" with the default jinc kernel (resolution 11", rmax 3). Prints wall
time, CPU time, peak RSS (and how far it rose above the input and cube), spectra/s and
million channel-samples/s for 1 and 2 threads. ``--scale 4`` takes 4x the dumps on the same
raster (4x denser sampling); ``--chunk`` sets the spectra per product of a tile.

    python benchmarks/bench_gridding.py [--repeat 3] [--threads 1 2] [--scale 4] [--chunk N]
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np

from lmtflow.geometry import beam_offsets_sky
from lmtflow.gridding import DEFAULT_CHUNK, GridGeometry, grid_spectra

NPIX, NDUMP, NCHAN = 16, 5600, 689
RES, CELL, EXTENT = 11.0, 5.5, 400.0


def synthetic_otf(
    seed: int = 0, scale: int = 1
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Raster of 16-beam SEQUOIA footprints: rows along x, 0.7 x 16" apart, 10 Hz dumps
    (``scale`` times as many dumps per row)."""
    rng = np.random.default_rng(seed)
    nrow = 70
    per_row = NDUMP * scale // nrow
    xs = np.linspace(-360.0, 360.0, per_row)
    ys = np.linspace(-360.0, 360.0, nrow)
    mx = np.tile(xs, nrow)
    my = np.repeat(ys, per_row)
    gx, gy = beam_offsets_sky(np.radians(60.0), np.radians(20.0))
    x = (mx[None, :] - gx[:, None]).ravel() + rng.normal(0, 0.5, NPIX * mx.size)
    y = (my[None, :] - gy[:, None]).ravel() + rng.normal(0, 0.5, NPIX * mx.size)
    rms = rng.uniform(0.8, 1.2, x.size)
    spectra = rng.standard_normal((x.size, NCHAN), dtype=np.float32)
    spectra *= rms[:, None].astype(np.float32)
    return x, y, spectra, rms


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far (MiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def current_rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * resource.getpagesize() / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--scale", type=int, default=1, help="x the dumps (denser sampling)")
    parser.add_argument("--chunk", type=int, default=DEFAULT_CHUNK, help="spectra per product")
    args = parser.parse_args()

    x, y, spectra, rms = synthetic_otf(scale=args.scale)
    geom = GridGeometry.from_extent(EXTENT, CELL)
    nspec, nchan = spectra.shape
    print(f"input: {nspec} spectra x {nchan} channels ({spectra.nbytes / 2**20:.0f} MiB)")
    print(f'grid: {geom.nx} x {geom.ny} cells of {CELL}", resolution {RES}", jinc, rmax 3')
    cube_mb = nchan * geom.nx * geom.ny * 4 / 2**20
    setup = current_rss_mb()
    print(f"cube: {cube_mb:.0f} MiB; RSS after setup {setup:.0f} MiB; chunk {args.chunk}")
    w = 1 / rms[:2000] ** 2
    grid_spectra(x[:2000], y[:2000], spectra[:2000], w, geom, RES, threads=1)  # warm-up
    best = {}
    for threads in args.threads:
        walls, cpus = [], []
        for _ in range(args.repeat):
            t0, c0 = time.perf_counter(), time.process_time()
            res = grid_spectra(
                x, y, spectra, 1 / rms**2, geom, RES, threads=threads, chunk=args.chunk
            )
            walls.append(time.perf_counter() - t0)
            cpus.append(time.process_time() - c0)
            used, valid = res.n_used, int(res.valid.sum())
            del res
        k = int(np.argmin(walls))
        wall, cpu = walls[k], cpus[k]
        best[threads] = wall
        print(
            f"threads={threads}: wall {wall:.3f} s (best of {args.repeat}), CPU {cpu:.3f} s, "
            f"peak RSS {peak_rss_mb():.0f} MiB (setup + cube + "
            f"{peak_rss_mb() - setup - cube_mb:.0f}), {nspec / wall:,.0f} spectra/s, "
            f"{nspec * nchan / wall / 1e6:.1f} M channel-samples/s "
            f"({nspec * nchan / cpu / 1e6:.1f} per CPU-second); "
            f"{used} spectra used, {valid} valid cells"
        )
    if 1 in best and len(best) > 1:
        for threads, wall in best.items():
            if threads != 1:
                print(f"speed-up {threads} threads vs 1: {best[1] / wall:.2f}x")


if __name__ == "__main__":
    main()
