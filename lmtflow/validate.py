"""Checks of raw data that span several files: roach dump clocks against each other and the
ifproc series, and NaN/Inf counts in the spectra.

Each check raises :class:`RawDataError` naming the file at fault, or returns what it flagged
so that the caller can say how much.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from .errors import RawDataError
from .io.ifproc import IfProcHeader, IfProcSeries
from .io.roach import RoachFile

MIN_COVERAGE = 0.8
"""Dumps of the best board inside the ifproc time range / the dumps its blocks hold."""
BLOCK_GAP_SAMPLES = 10
"""A step between ifproc samples longer than this many median steps is a slew: no samples, and
the spectrometer need not dump (the real Cal 79447 holds ~60 dumps in its 7.7 s span, its
two blocks 5.3 s)."""
COUNT_TOLERANCE = 0.02
"""Boards may differ by this fraction (at least 5 dumps): they start and stop independently."""


def check_dump_clocks(header: IfProcHeader, series: IfProcSeries, boards: list[RoachFile]) -> None:
    """The roach files of one bank must cover the ifproc time range and agree on dump counts."""
    t0, t1 = float(series.time[0]), float(series.time[-1])
    inside = [int(np.count_nonzero((b.dump_time >= t0) & (b.dump_time <= t1))) for b in boards]
    for b, n in zip(boards, inside, strict=True):
        if n == 0:
            raise RawDataError(
                b.path,
                f"none of its {b.ndump} dumps ({b.dump_time[0]:.1f}..{b.dump_time[-1]:.1f} s) "
                f"falls in the time range {t0:.1f}..{t1:.1f} s of {header.path.name}: "
                "a roach file of another ObsNum?",
            )
    best = max(inside)
    tolerance = max(5, COUNT_TOLERANCE * best)
    for b, n in zip(boards, inside, strict=True):
        if best - n > tolerance:
            other = boards[inside.index(best)]
            raise RawDataError(
                b.path,
                f"{n} dumps in the ifproc time range but {other.path.name} has {best}: "
                "the roach files of this bank do not match",
            )
    cadence = min(float(np.median(np.diff(b.dump_time))) if b.ndump > 1 else np.inf for b in boards)
    step = np.diff(series.time)
    sampled = float(step[step <= BLOCK_GAP_SAMPLES * np.median(step)].sum()) if step.size else 0.0
    expected = sampled / cadence
    if best < MIN_COVERAGE * expected:
        raise RawDataError(
            header.path,
            f"its blocks hold {sampled:.1f} s of samples ({expected:.0f} dumps of "
            f"{cadence:.3f} s) but the roach files hold at most {best} dumps in its time "
            "range: they do not match",
        )


def flag_nonfinite(spectra: NDArray[np.floating]) -> NDArray[np.bool_]:
    """Set every spectrum (last axis) holding NaN or Inf wholly to NaN; return which were."""
    bad = ~np.isfinite(spectra).all(axis=-1)  # exact, and faster than a float64 sum
    if bad.any():
        spectra[bad] = np.nan
    return bad
