"""Bad-lag and bad chassis/board detection and the editable badlags file (reference §3.13).

File format (LMTOY ``rsr.OBSNUM.badlags``): ``#`` comments; data lines
``chassis board lag obsnum metric  # max|min`` or ``chassis board lag obsnum sigma ratio  # spike``;
``#BADCB obsnum chassis board rms0 nbad`` for a whole bad chassis/board. Users may edit it:
delete a line to keep a lag, add ``c b lag`` lines, add or remove ``#BADCB`` lines.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from ..io.atomic import atomic_path
from ..io.rsr import RsrFileError
from .constants import NBOARD, NCHASSIS, NLAG


@dataclass(frozen=True)
class BadlagsParams:
    """Thresholds of badlags.py (defaults as in LMTOY)."""

    bc_hi: float = 2.5
    bc_lo: float = 0.01
    spike: float = 3.0
    min_chan: int = 32
    rms_min: float = 0.01
    rms_max: float = 0.2
    short_min: int = 256
    short_hi: float = 2.5


@dataclass
class Badlags:
    """Flags of one or more ObsNums: ``mask`` (4, 6, 256) bad lags, ``badcb`` (obsnum, c, b)."""

    mask: NDArray[np.bool_] = field(
        default_factory=lambda: np.zeros((NCHASSIS, NBOARD, NLAG), bool)
    )
    lines: list[str] = field(default_factory=list)
    badcb: list[tuple[int, int, int]] = field(default_factory=list)


def lag_sigma(acc: NDArray) -> NDArray[np.float64]:
    """(6, 256) std over all dumps (ddof 0) of a chassis' normalised AccData (ndump, 6, 256)."""
    return np.asarray(acc, dtype=np.float64).std(axis=0)


def rmsdiff(sigma: NDArray) -> float:
    """Robust neighbour-difference rms: values in [Q1 - 2 IQR, Q3 + 2 IQR], std(diff)/sqrt 2."""
    q1, q3 = np.percentile(sigma, [25, 75])
    iqr = q3 - q1
    kept = sigma[(sigma >= q1 - 2 * iqr) & (sigma <= q3 + 2 * iqr)]
    return float(np.std(np.diff(kept)) / 1.41421) if kept.size > 2 else 0.0


def detect(sigma: dict[int, NDArray], obsnum: int, p: BadlagsParams = BadlagsParams()) -> Badlags:
    """Flag lags (max / min / spike) and chassis/boards (BADCB) from per-chassis lag sigmas.

    A chassis absent from ``sigma`` has sigma 0 and so six BADCBs.
    """
    out = Badlags()
    j = np.arange(NLAG)
    for c in range(NCHASSIS):
        s = sigma.get(c, np.zeros((NBOARD, NLAG)))
        for b in range(NBOARD):
            sb = s[b]
            nb = np.empty(NLAG)
            nb[1:-1] = 0.5 * (sb[:-2] + sb[2:])
            nb[-1] = sb[-2]
            nb[0] = np.inf
            with np.errstate(invalid="ignore", divide="ignore"):
                ratio = sb / nb
            short_ok = (j < p.short_min) & (sb < p.short_hi)
            is_max = (sb > p.bc_hi) & ~short_ok
            is_min = ~is_max & (sb < p.bc_lo)
            is_spike = ~is_max & ~is_min & (p.spike > 0) & (ratio > p.spike)
            is_spike &= (j > p.min_chan + 1) & (j < 254)
            for lag in np.flatnonzero(is_max | is_min):
                kind = "max" if is_max[lag] else "min"
                out.lines.append(f"{c} {b} {lag:3d} {obsnum} {sb[lag]:.4f}  # {kind}")
            for lag in np.flatnonzero(is_spike):
                out.lines.append(
                    f"{c} {b} {lag:3d} {obsnum} {sb[lag]:.4f} {ratio[lag]:.2f}  # spike"
                )
            out.mask[c, b] = is_max | is_min | is_spike
            rms0 = rmsdiff(sb)
            if not p.rms_min <= rms0 <= p.rms_max:
                out.badcb.append((obsnum, c, b))
                out.lines.append(f"#BADCB {obsnum} {c} {b} {rms0:.4f} {int(out.mask[c, b].sum())}")
    return out


def write_badlags(path: str | Path, result: Badlags, obsnum: int, p: BadlagsParams) -> Path:
    """Write the editable badlags file of ``obsnum``."""
    head = [
        f"# badlags of ObsNum {obsnum} (lmtflow); edit freely: 'c b lag' lines are bad lags,",
        "# '#BADCB obsnum c b' lines blank a whole chassis/board.",
        f"# bc_hi={p.bc_hi} bc_lo={p.bc_lo} spike={p.spike} min_chan={p.min_chan} "
        f"rms_min={p.rms_min} rms_max={p.rms_max} short_min={p.short_min} short_hi={p.short_hi}",
    ]
    nlag = sum(not ln.startswith("#") for ln in result.lines)
    tail = f"# Found {nlag} bad lags and {len(result.badcb)} bad chassis/boards"
    with atomic_path(path) as tmp:
        tmp.write_text("\n".join([*head, *result.lines, tail]) + "\n")
    return Path(path)


def read_badlags(path: str | Path) -> Badlags:
    """Parse a badlags file (one or several ObsNums concatenated)."""
    out = Badlags()
    for n, raw in enumerate(Path(path).read_text().splitlines(), 1):
        line = raw.strip()
        if not line:
            continue
        try:
            if line.startswith("#BADCB"):
                o, c, b = (int(v) for v in line.split()[1:4])
                out.badcb.append((o, c, b))
            elif not line.startswith("#"):
                c, b, lag = (int(v) for v in line.split("#")[0].split()[:3])
                out.mask[c, b, lag] = True
            else:
                continue
        except (ValueError, IndexError) as exc:
            raise RsrFileError(f"{path}:{n}: cannot parse {raw!r} ({exc})") from exc
        out.lines.append(line)
    return out
