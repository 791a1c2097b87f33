"""Memory and run time a workflow step asks a cluster for, sized from the raw data it reduces.

Every intermediate of an ObsNum and bank (raw, calibrated and baselined SDFITS, cube) is at
most about as large as its raw netCDF files, so each step is sized from those: a fixed base
(the Python process, imports, a cluster's slow start) plus a factor per MB or GB of raw data,
times the attempt number, so that a job resubmitted by ``--retries`` asks for more.

Factors are about 1.5 x the peak RSS and 10 x the run time measured with the ``bench`` preset
(a 0.8 GB map: calibrate and baseline peak near 1.35 x the raw size, grid near 1.8 x the
baselined size; every step runs at more than 60 MB/s on one core).
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Sizing:
    """``mem_mb = mem_base + mem_per_mb * raw_mb``; ``runtime = minutes + min_per_gb * raw_gb``."""

    mem_base: int
    mem_per_mb: float
    minutes: int
    min_per_gb: float


SIZING: dict[str, Sizing] = {
    "ingest": Sizing(500, 0.5, 10, 2.0),  # streams the netCDF files block by block
    "tsys": Sizing(500, 2.0, 10, 1.0),
    "calibrate": Sizing(500, 2.0, 10, 3.0),
    "baseline": Sizing(500, 2.0, 10, 3.0),
    "grid": Sizing(500, 2.5, 10, 5.0),
    "spectrum": Sizing(500, 1.0, 10, 1.0),
    "srdp": Sizing(500, 1.0, 10, 1.0),
    "qa_beams": Sizing(500, 2.0, 10, 2.0),  # reads the baselined SDFITS
    "qa_maps": Sizing(500, 2.0, 10, 2.0),  # reads the cube and the baselined SDFITS
}


def _sizing(step: str) -> Sizing:
    try:
        return SIZING[step]
    except KeyError:
        raise KeyError(f"no resource sizing for step {step!r}; known: {sorted(SIZING)}") from None


def mem_mb(step: str, raw_mb: float, attempt: int = 1) -> int:
    """Memory (MB) for ``step`` on an ObsNum/bank whose raw files total ``raw_mb`` MB."""
    s = _sizing(step)
    return math.ceil((s.mem_base + s.mem_per_mb * raw_mb) * attempt)


def runtime(step: str, raw_mb: float, attempt: int = 1) -> int:
    """Wall-clock limit (minutes) for ``step`` on ``raw_mb`` MB of raw files."""
    s = _sizing(step)
    return math.ceil((s.minutes + s.min_per_gb * raw_mb / 1000.0) * attempt)
