"""RSR flag rules: bad lags (applied when the RSR data are read, through the badlags file)
and chassis/board/frequency blanking (applied at the RSR baseline, with BADCB, badcb and the
blanking file). Rules are taken in order; ``unflag`` clears what earlier rules set.

The automatic RSR detectors (LMTOY's badlags.py: bad lags, and bad chassis/boards, BADCB) run
at the ``rsr_badlags`` step, which writes the generated auto-flag file (every found item with
its id and policy) and the badlags file the later steps read (the applied items only). As in
LMTOY they are applied unless the flag file says otherwise (``auto: {rsr_badlags: suggest}``,
``off``), so a config without flags reduces as before; a guard demotes a detector to suggest
when it would flag more than 10% of the lags (of the boards kept) or half the chassis/boards.
Both are decided at that one step, so a veto by id (``{action: unflag, id: auto/33551/0/
rsr_badcb/c3b5}``) re-runs it and everything after it; the boards are still blanked at the
RSR baseline (from the ``#BADCB`` lines)."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..rsr.constants import NBOARD, NCHASSIS, NLAG
from .resolve import step_rules

log = logging.getLogger(__name__)

RSR_GUARD = {"rsr_badlags": 0.10, "rsr_badcb": 0.5}
"""Largest fraction of lags (of the boards kept) and of chassis/boards a detector may flag
before it is demoted to suggest."""


def _axis(intervals: list[list[int]] | None, n: int) -> NDArray[np.bool_]:
    sel = np.zeros(n, dtype=bool) if intervals is not None else np.ones(n, dtype=bool)
    for lo, hi in intervals or []:
        sel[max(lo, 0) : min(hi, n - 1) + 1] = True
    return sel


def _applies(rule: Mapping[str, Any], obsnum: int) -> bool:
    return any(lo <= obsnum <= hi for lo, hi in rule.get("obsnum", [[obsnum, obsnum]]))


def _masks(rule: Mapping[str, Any]) -> bool:
    """Whether a rule sets or clears the user/param mask: an ``unflag`` by id, or one that names
    ``origin: auto``, vetoes automatic flags only (:func:`rsr_auto_result`)."""
    return rule["action"] == "flag" or ("id" not in rule and rule.get("origin") != "auto")


def lag_mask(rules: Iterable[Mapping[str, Any]], obsnum: int) -> NDArray[np.bool_]:
    """(4 chassis, 6 boards, 256 lags): lags the rules flag for ``obsnum``."""
    mask = np.zeros((NCHASSIS, NBOARD, NLAG), dtype=bool)
    for r in rules:
        if not _applies(r, obsnum) or not _masks(r):
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
        if not _applies(r, obsnum) or not _masks(r):
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


def rsr_auto_rules(found: Any, obsnum: int, skip_boards: set[tuple[int, int]] | None = None
                   ) -> list[dict[str, Any]]:  # fmt: skip
    """The bad lags and bad chassis/boards of :func:`lmtflow.rsr.badlags.detect` (a
    ``Badlags``) as automatic flag rules with stable ids (``auto/<ObsNum>/0/rsr_badlags/
    c<c>b<b>l<lag>``, ``auto/<ObsNum>/0/rsr_badcb/c<c>b<b>``), to list and veto like the
    SEQUOIA detectors' (a board's lags are not listed while the whole board is flagged:
    ``skip_boards``, by default every bad board found)."""
    boards = {(c, b) for o, c, b in found.badcb if o == obsnum}
    skip = boards if skip_boards is None else skip_boards
    out: list[dict[str, Any]] = []
    for c, b, lag in np.argwhere(found.mask).tolist():
        if (c, b) not in skip:
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


def _vetoed(rule: Mapping[str, Any], vetoes: list[Mapping[str, Any]], obsnum: int) -> bool:
    """An automatic rule vetoed by an ``unflag`` rule: by id (glob patterns) or, with lag
    keys and origin auto or any, by the lags it selects."""
    import fnmatch

    for v in vetoes:
        if "id" in v:
            if fnmatch.fnmatchcase(rule["id"], v["id"]):
                return True
            continue
        if v.get("origin") == "user" or not _applies(v, obsnum) or "lag" not in rule:
            continue
        c, b, lag = rule["chassis"][0][0], rule["board"][0][0], rule["lag"][0][0]
        if (_axis(v.get("chassis"), NCHASSIS)[c] and _axis(v.get("board"), NBOARD)[b]
                and _axis(v.get("lag"), NLAG)[lag]):  # fmt: skip
            return True
    return False


def _guarded(name: str, policy: str, frac: float, warnings: list[str]) -> str:
    if policy == "apply" and frac > RSR_GUARD[name]:
        warnings.append(f"auto {name}: would flag {100 * frac:.1f}% "
                        f"(> {100 * RSR_GUARD[name]:g}%); demoted to suggest")  # fmt: skip
        return "suggest"
    return policy


def rsr_auto_result(found: Any, obsnum: int, flags: Mapping[str, Any] | None) -> dict[str, Any]:
    """The automatic flags of an RSR ObsNum as :func:`lmtflow.flags.auto.detect` returns them
    (``rules`` with their ``policy``, ``policy`` per detector, ``warnings``): policies from the
    flag file (``flags``: the ``rsr_badlags`` step's part; a detector it does not name is
    applied, as LMTOY does), the guard, and vetoes (rules vetoed get ``vetoed: true``)."""
    flags = flags or {}
    auto = flags.get("auto", {})
    policy = {d: auto.get(d, {}).get("policy", "apply") for d in ("rsr_badlags", "rsr_badcb")}
    vetoes = [r for r in flags.get("rules", []) if r["action"] == "unflag"]
    warnings: list[str] = []
    boards = [r for r in rsr_auto_rules(found, obsnum) if r["reason"] == "bad_board"]
    policy["rsr_badcb"] = _guarded("rsr_badcb", policy["rsr_badcb"],
                                   len(boards) / (NCHASSIS * NBOARD), warnings)  # fmt: skip
    if policy["rsr_badcb"] == "off":
        boards = []
    kept = {(r["chassis"][0][0], r["board"][0][0]) for r in boards
            if policy["rsr_badcb"] == "apply" and not _vetoed(r, vetoes, obsnum)}  # fmt: skip
    lags = [r for r in rsr_auto_rules(found, obsnum, kept) if r["reason"] == "bad_lag"]
    room = (NCHASSIS * NBOARD - len(kept)) * NLAG
    policy["rsr_badlags"] = _guarded("rsr_badlags", policy["rsr_badlags"],
                                     len(lags) / room if room else 0.0, warnings)  # fmt: skip
    if policy["rsr_badlags"] == "off":
        lags = []
    rules = []
    for r in [*lags, *boards]:
        name = r["id"].split("/")[3]
        out = {**r, "policy": policy[name]}
        if _vetoed(r, vetoes, obsnum):
            out["vetoed"] = True
        rules.append(out)
    for w in warnings:
        log.warning("ObsNum %d: %s", obsnum, w)
    return {"rules": rules, "policy": policy, "warnings": warnings}


def applied_badlags(found: Any, result: Mapping[str, Any]) -> Any:
    """The found ``Badlags`` reduced to what ``result`` (:func:`rsr_auto_result`) applies: the
    lines of applied lags and ``#BADCB`` lines of applied boards (the lags of an applied board
    stay, as LMTOY writes them), in the detector's order."""
    from ..rsr.badlags import Badlags

    def applied(r: Mapping[str, Any]) -> bool:
        return r["policy"] == "apply" and not r.get("vetoed")

    boards = {(r["chassis"][0][0], r["board"][0][0]) for r in result["rules"]
              if r["reason"] == "bad_board" and applied(r)}  # fmt: skip
    lags = {(r["chassis"][0][0], r["board"][0][0], r["lag"][0][0]) for r in result["rules"]
            if r["reason"] == "bad_lag" and applied(r)}  # fmt: skip
    out = Badlags(badcb=[t for t in found.badcb if (t[1], t[2]) in boards])
    for line in found.lines:
        if line.startswith("#BADCB"):
            c, b = (int(v) for v in line.split()[2:4])
            keep = (c, b) in boards
        else:
            c, b, lag = (int(v) for v in line.split()[:3])
            keep = (c, b) in boards or (c, b, lag) in lags
        if keep:
            out.lines.append(line)
            if not line.startswith("#"):
                out.mask[c, b, lag] = True
    return out


def blanking_file_rules(path: str | Path, obsnum: int) -> list[dict[str, Any]]:
    """The lines of an RSR blanking file that select ``obsnum`` as rules of origin ``param``
    (what ``lmtflow flags show`` and the QA list; the RSR baseline reads the file itself)."""
    from ..rsr.blanking import read_blanking

    out: list[dict[str, Any]] = []
    for e in read_blanking(path):
        if not e.selects(obsnum):
            continue
        rule: dict[str, Any] = {"action": "flag", "origin": "param", "reason": "blanking",
                                "obsnum": [[obsnum, obsnum]], "chassis": [[e.chassis, e.chassis]]}
        if e.board is not None:
            rule["board"] = [[e.board, e.board]]
        if e.ranges is not None:
            rule["freq_ghz"] = [[f1, f2] for f1, f2 in sorted(e.ranges)]
        out.append(dict(sorted(rule.items())))
    return out


def rsr_flag_keywords(badlags: Any, params: Mapping[str, Any], reasons: Mapping[str, NDArray],
                      nrep: int) -> dict[str, Any]:  # fmt: skip
    """Flag provenance of an RSR baselined file (``FLGSRSR`` sha256 of what was applied: the
    badlags file's bad lags and ``#BADCB`` lines, ``badcb``, the blanking file's and the flag
    file's board rules; ``FLGFRSR`` the fraction of channels blanked; ``FLGRRSR`` counts per
    reason: spectra channels blanked for each ``reasons`` mask (4, 6, nchan), bad lags)."""
    import hashlib
    import json

    applied = {"lags": np.argwhere(badlags.mask).tolist(), "badcb": sorted(badlags.badcb),
               "params": {k: params.get(k) for k in ("badcb", "flags") if params.get(k)},
               "blanking": {k: np.argwhere(m).tolist() for k, m in sorted(reasons.items())
                            if k == "blanking"}}  # fmt: skip
    text = json.dumps(applied, sort_keys=True, separators=(",", ":"), default=list)
    counts = {k: int(m.sum()) * nrep for k, m in sorted(reasons.items()) if m.any()}
    if badlags.mask.any():
        counts["bad_lag"] = int(badlags.mask.sum())
    union = np.zeros_like(next(iter(reasons.values()))) if reasons else np.zeros(1, bool)
    for m in reasons.values():
        union = union | m
    return {"FLGSRSR": hashlib.sha256(text.encode()).hexdigest(),
            "FLGFRSR": (round(float(union.mean()), 8), "fraction of RSR channels blanked"),
            "FLGRRSR": json.dumps(dict(sorted(counts.items())), separators=(",", ":"))}
