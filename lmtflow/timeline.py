"""Match roach dumps to the ifproc time series (reference §3.3).

A dump is kept only if it lies strictly inside one constant-BufPos run of ifproc samples;
dumps in slews, switches or outside the ifproc range are dropped. The roach boards of one
bank share the telescope's dump clock but their files start and stop independently, so the
first board's dumps are the master timeline and the other boards' dumps are matched to it by
nearest time (within half a dump). A master dump is kept only when every board has a match
and all of them fall inside the same BufPos run. Positions and angles are interpolated
linearly at each board's own dump times.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from .errors import RawDataError
from .io.ifproc import IfProcSeries
from .io.roach import RoachFile


@dataclass(frozen=True)
class BufPosRuns:
    """Contiguous runs of constant BufPos in the ifproc series."""

    t_start: NDArray[np.float64]
    t_end: NDArray[np.float64]
    code: NDArray[np.int_]

    @classmethod
    def from_series(cls, time: NDArray, bufpos: NDArray) -> BufPosRuns:
        change = np.flatnonzero(np.diff(bufpos) != 0) + 1
        first = np.concatenate(([0], change))
        last = np.concatenate((change - 1, [bufpos.size - 1]))
        return cls(time[first], time[last], bufpos[first])

    def locate(self, t: NDArray) -> NDArray[np.int_]:
        """Run index holding each time strictly inside it, or -1."""
        k = np.searchsorted(self.t_start, t, side="left") - 1
        valid = k >= 0
        kk = np.where(valid, k, 0)
        inside = valid & (t > self.t_start[kk]) & (t < self.t_end[kk])
        return np.where(inside, k, -1)


@dataclass(frozen=True)
class Timeline:
    """The kept dumps of one bank: per-board dump indices, times, BufPos and offsets."""

    dumps: NDArray[np.int_]  # (ndump, nboard) dump index within each roach file
    time: NDArray[np.float64]  # (ndump, nboard) time each board's dump represents
    bufpos: NDArray[np.int_]  # (ndump,)
    run: NDArray[np.int_]  # (ndump,) index of the ifproc BufPos run
    x: NDArray[np.float64]  # (ndump, nboard) tracking offsets, arcsec
    y: NDArray[np.float64]
    angle: NDArray[np.float64]  # (ndump, nboard) parallactic (+ galactic) angle, rad

    @property
    def ndump(self) -> int:
        return self.bufpos.size


def _match(master: NDArray, other: NDArray, tolerance: float) -> NDArray[np.int_]:
    """Index of the nearest ``other`` time for each master time, or -1 beyond tolerance."""
    j = np.clip(np.searchsorted(other, master), 1, max(other.size - 1, 1))
    left = np.clip(j - 1, 0, other.size - 1)
    right = np.clip(j, 0, other.size - 1)
    pick = np.where(np.abs(other[left] - master) <= np.abs(other[right] - master), left, right)
    return np.where(np.abs(other[pick] - master) <= tolerance, pick, -1)


def build_timeline(
    series: IfProcSeries,
    boards: list[RoachFile],
    map_coord: int,
    dump_time_s: float,
) -> Timeline:
    """Keep the dumps that match the ifproc series and interpolate their positions."""
    if not boards:
        raise RawDataError(None, "no roach files to match against the ifproc series")
    runs = BufPosRuns.from_series(series.time, series.bufpos)
    master = boards[0].dump_time
    idx = [np.arange(master.size)]
    for board in boards[1:]:
        idx.append(_match(master, board.dump_time, 0.5 * dump_time_s))
    dumps = np.stack(idx, axis=1)
    ok = np.all(dumps >= 0, axis=1)
    times = np.stack(
        [b.dump_time[np.where(d >= 0, d, 0)] for b, d in zip(boards, dumps.T, strict=True)],
        axis=1,
    )
    run = np.stack([runs.locate(times[:, i]) for i in range(len(boards))], axis=1)
    ok &= np.all(run >= 0, axis=1) & np.all(run == run[:, :1], axis=1)
    dumps, times, run = dumps[ok], times[ok], run[ok, 0]
    xs, ys = series.map_offsets(map_coord)
    angle = series.par_ang + (series.gal_ang if map_coord == 2 else 0.0)
    return Timeline(
        dumps=dumps,
        time=times,
        bufpos=runs.code[run],
        run=run,
        x=np.interp(times, series.time, xs),
        y=np.interp(times, series.time, ys),
        angle=np.interp(times, series.time, angle),
    )
