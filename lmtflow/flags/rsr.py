"""RSR flag rules: bad lags (applied when the RSR data are read, through the badlags file)
and chassis/board/frequency blanking (applied at the RSR baseline, with BADCB, badcb and the
blanking file). Rules are taken in order; ``unflag`` clears what earlier rules set."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..rsr.constants import NBOARD, NCHASSIS, NLAG
from .resolve import step_rules


def _axis(intervals: list[list[int]] | None, n: int) -> NDArray[np.bool_]:
    sel = np.zeros(n, dtype=bool) if intervals is not None else np.ones(n, dtype=bool)
    for lo, hi in intervals or []:
        sel[max(lo, 0) : min(hi, n - 1) + 1] = True
    return sel


def _applies(rule: Mapping[str, Any], obsnum: int) -> bool:
    return any(lo <= obsnum <= hi for lo, hi in rule.get("obsnum", [[obsnum, obsnum]]))


def lag_mask(rules: Iterable[Mapping[str, Any]], obsnum: int) -> NDArray[np.bool_]:
    """(4 chassis, 6 boards, 256 lags): lags the rules flag for ``obsnum``."""
    mask = np.zeros((NCHASSIS, NBOARD, NLAG), dtype=bool)
    for r in rules:
        if not _applies(r, obsnum):
            continue
        sel = (_axis(r.get("chassis"), NCHASSIS)[:, None, None]
               & _axis(r.get("board"), NBOARD)[None, :, None]
               & _axis(r.get("lag"), NLAG)[None, None, :])  # fmt: skip
        mask = mask | sel if r["action"] == "flag" else mask & ~sel
    return mask


def lag_lines(params: Mapping[str, Any], obsnum: int) -> list[str]:
    """badlags-file lines (``c b lag # flag <reasons>``) of the lag rules in ``params``."""
    rules = step_rules(params)
    mask = lag_mask(rules, obsnum)
    reasons = ",".join(sorted({r["reason"] for r in rules if r["action"] == "flag"}))
    return [f"{c} {b} {lag} # flag {reasons}" for c, b, lag in zip(*np.nonzero(mask), strict=True)]


def board_mask(params: Mapping[str, Any], obsnum: int, freq_ghz: NDArray) -> NDArray[np.bool_]:
    """(4, 6, nchan) channels the chassis/board/freq_ghz rules of ``params`` blank
    (``freq_ghz`` (6, nchan): each board's channel frequencies)."""
    nchan = freq_ghz.shape[-1]
    mask = np.zeros((NCHASSIS, NBOARD, nchan), dtype=bool)
    for r in step_rules(params, obsnum):
        if not _applies(r, obsnum):
            continue
        chans = np.ones((NBOARD, nchan), dtype=bool)
        if "freq_ghz" in r:
            half = 0.5 * np.abs(np.median(np.diff(freq_ghz, axis=-1)))
            chans = np.zeros((NBOARD, nchan), dtype=bool)
            for lo, hi in r["freq_ghz"]:
                chans |= (freq_ghz + half >= lo) & (freq_ghz - half <= hi)
        sel = (_axis(r.get("chassis"), NCHASSIS)[:, None, None]
               & _axis(r.get("board"), NBOARD)[None, :, None] & chans[None])  # fmt: skip
        mask = mask | sel if r["action"] == "flag" else mask & ~sel
    return mask


def rsr_auto_rules(found: Any, obsnum: int) -> list[dict[str, Any]]:
    """The bad lags and bad chassis/boards of :func:`lmtflow.rsr.badlags.detect` (a
    ``Badlags``) as automatic flag rules with stable ids (``auto/<ObsNum>/0/rsr_badlags/
    c<c>b<b>l<lag>``, ``auto/<ObsNum>/0/rsr_badcb/c<c>b<b>``), to list and veto like the
    SEQUOIA detectors' (a board's lags are not listed once the whole board is flagged)."""
    boards = {(c, b) for o, c, b in found.badcb if o == obsnum}
    out: list[dict[str, Any]] = []
    for c, b, lag in np.argwhere(found.mask).tolist():
        if (c, b) not in boards:
            out.append({"action": "flag", "origin": "auto", "reason": "bad_lag",
                        "id": f"auto/{obsnum}/0/rsr_badlags/c{c}b{b}l{lag}",
                        "obsnum": [[obsnum, obsnum]], "chassis": [[c, c]], "board": [[b, b]],
                        "lag": [[lag, lag]]})  # fmt: skip
    for c, b in sorted(boards):
        out.append({"action": "flag", "origin": "auto", "reason": "bad_board",
                    "id": f"auto/{obsnum}/0/rsr_badcb/c{c}b{b}", "obsnum": [[obsnum, obsnum]],
                    "chassis": [[c, c]], "board": [[b, b]]})  # fmt: skip
    return out


def badlags_file_rules(path: str | Path, obsnum: int) -> list[dict[str, Any]]:
    """The bad lags and ``#BADCB`` lines of an RSR badlags file as rules of origin ``param``
    (what ``lmtflow flags show`` lists; the RSR steps read the file itself): one rule per
    chassis/board with its lags, one per bad chassis/board."""
    from ..rsr.badlags import read_badlags

    found = read_badlags(path)
    out: list[dict[str, Any]] = []
    for c in range(NCHASSIS):
        for b in range(NBOARD):
            lags = np.flatnonzero(found.mask[c, b])
            if lags.size:
                out.append({"action": "flag", "origin": "param", "reason": "badlags",
                            "obsnum": [[obsnum, obsnum]], "chassis": [[c, c]],
                            "board": [[b, b]], "lag": [[int(x), int(x)] for x in lags]})
    for o, c, b in found.badcb:
        out.append({"action": "flag", "origin": "param", "reason": "badcb",
                    "obsnum": [[o, o]], "chassis": [[c, c]], "board": [[b, b]]})
    return out
