"""QA numbers of an RSR product (one ObsNum or a combination) loaded by
:mod:`lmtflow.qa.rsr_load`: spectra used, expected noise, bad boards, flagged lags.

Expected noise: one repeat (a dump pair, ``t_rep`` = integration time / repeats) of a chassis
and board has ``2 Tsys / sqrt(dnu t_rep)`` (dnu = 31.25 MHz); repeat and file averages combine
it with the pipeline's weights 1/sigma^2 (only repeats below rthr, files below cthr).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..rsr.badlags import Badlags, rmsdiff
from ..rsr.constants import CHAN_GHZ, FREQ_ORDER, NBOARD, NCHASSIS, USABLE
from ..rsr.reduce import average_files
from .numbers import json_clean
from .rsr_load import RsrQA
from .stats import nan_median, qac_line, qac_stats

DNU_HZ = CHAN_GHZ * 1e9
TSYS_JITTER_K = 25.0
"""rsr_tsys.py: a board whose Tsys jumps by more than this from channel to channel is suspect."""
LMTOY_TSYS_K = 100.0
"""LMTOY's RSR "expected noise" assumes Tsys = 100 K: 100 K / sqrt(31.25 MHz x inttime)."""


# --- which spectra the product uses, and the expected noise


def _below(sigma: NDArray, threshold: float) -> NDArray[np.bool_]:
    """Where the pipeline's weighted averages use a spectrum of rms ``sigma``."""
    with np.errstate(invalid="ignore"):
        return np.isfinite(sigma) & (sigma > 0) & (sigma < threshold)


@dataclass
class Usage:
    """Per member (4, nrep, 6): blanked (no finite channel), rejected by rthr, used; per file
    (nfile, 6): used by cthr."""

    blanked: list[NDArray[np.bool_]]
    rthr: list[NDArray[np.bool_]]
    repeat_used: list[NDArray[np.bool_]]
    file_used: NDArray[np.bool_]


def usage(qa: RsrQA) -> Usage:
    """Which spectra the product's averages use (the pipeline's rules, from the data)."""
    blanked, rthr, used = [], [], []
    for m in qa.members:
        empty = ~np.isfinite(m.ta[..., USABLE]).any(axis=-1) | ~np.isfinite(m.rms)
        ok = _below(m.rms, qa.rthr) & ~empty
        blanked.append(empty)
        rthr.append(~empty & ~ok)
        used.append(ok)
    return Usage(blanked, rthr, used, _below(qa.fsig, qa.cthr))


def file_radiometer(qa: RsrQA, use: Usage) -> NDArray[np.float64]:
    """Expected rms (K) of every file (member x chassis) repeat average (nfile, 6); NaN where
    no repeat is used."""
    out = []
    for m, ok in zip(qa.members, use.repeat_used, strict=True):
        per_rep = 2 * m.tsys / np.sqrt(DNU_HZ * m.inttime_s / m.nrep)  # (4, 6)
        with np.errstate(invalid="ignore", divide="ignore"):
            w = np.where(ok, 1 / np.where(ok, m.rms, 1.0) ** 2, 0.0)  # (4, nrep, 6)
            out.append(per_rep * np.sqrt((w**2).sum(axis=1)) / w.sum(axis=1))
    return np.concatenate(out)


def board_radiometer(fsig: NDArray, fexp: NDArray, used: NDArray) -> NDArray[np.float64]:
    """Expected rms (6,) of the files' average with the pipeline's weights 1/fsig^2."""
    ok = used & np.isfinite(fexp)
    with np.errstate(invalid="ignore", divide="ignore"):
        w = np.where(ok, 1 / np.where(ok, fsig, 1.0) ** 2, 0.0)
        return np.sqrt(((w * np.where(ok, fexp, 0.0)) ** 2).sum(axis=0)) / w.sum(axis=0)


def radiometer(qa: RsrQA, use: Usage) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Expected rms (K) of every file average (nfile, 6) and of every final board (6,)."""
    fexp = file_radiometer(qa, use)
    return fexp, board_radiometer(qa.fsig, fexp, use.file_used)


def tsys_jitter(tsys: NDArray) -> NDArray[np.float64]:
    """rsr_tsys.py's jitter (4, 6): std of the channel-to-channel Tsys differences (K)."""
    d = np.diff(np.where(USABLE, tsys, np.nan), axis=-1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a missing chassis is all NaN
        return np.nanstd(d, axis=-1)


# --- numbers


def _quad_mean(values: NDArray) -> float:
    v = np.asarray(values, float)
    v = v[np.isfinite(v)]
    return float(np.sqrt(np.mean(v**2))) if v.size else np.nan


def observation_numbers(qa: RsrQA) -> dict[str, Any]:
    """The header-table values (a combination: lists of ObsNums and CalObsNums, summed time)."""
    single = len(qa.members) == 1
    m0 = qa.members[0]
    dates = sorted({m.date_obs for m in qa.members})
    tsys = np.concatenate([m.tsys[np.isfinite(m.tsys)] for m in qa.members])
    return {
        "project": qa.project,
        "source": qa.source,
        "obsnum": m0.obsnum if single else qa.obsnums,
        "calobsnum": m0.calobsnum if single else sorted({m.calobsnum for m in qa.members}),
        "date_obs": dates[0] if len(dates) == 1 else f"{dates[0]} – {dates[-1]}",
        "receiver": "RSR",
        "mode": "Bs",
        "bank": 0,
        "restfreq_GHz": None,
        "skyfreq_GHz": [float(np.nanmin(qa.freq)), float(np.nanmax(qa.freq))],
        "inttime_s": float(sum(m.inttime_s for m in qa.members)),
        "tsys_K": float(np.median(tsys)) if tsys.size else None,
        "nrepeats": [m.nrep for m in qa.members] if not single else m0.nrep,
    }


def _lag_kinds(flags: Badlags) -> dict[tuple[int, int, int], str]:
    out = {}
    for line in flags.lines:
        if line.startswith("#"):
            continue
        c, b, lag = (int(v) for v in line.split("#")[0].split()[:3])
        out[(c, b, lag)] = line.split("#")[1].strip() if "#" in line else "user"
    return out


def flagged_lag_numbers(qa: RsrQA) -> dict[str, Any]:
    """The bad lags of every member's (possibly edited) badlags file, counted per board."""
    lags, per_board = [], []
    for m in qa.members:
        if m.flags is None:
            continue
        kinds = _lag_kinds(m.flags)
        for c, b, lag in np.argwhere(m.flags.mask):
            lags.append({"obsnum": m.obsnum, "chassis": int(c), "board": int(b), "lag": int(lag),
                         "kind": kinds.get((int(c), int(b), int(lag)), "user")})  # fmt: skip
        for c, b in np.argwhere(m.flags.mask.any(axis=-1)):
            per_board.append({"obsnum": m.obsnum, "chassis": int(c), "board": int(b),
                              "n": int(m.flags.mask[c, b].sum())})  # fmt: skip
    return {"total": len(lags), "per_board": per_board, "lags": lags}


def chassis_board_numbers(
    qa: RsrQA, use: Usage, fexp: NDArray
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """One row per member, chassis and board (Tsys, rms vs radiometer, repeats used, flags),
    and the (member, chassis, board) the product does not use, with why."""
    rows, bad = [], []
    jitter = tsys_jitter(qa.raw.tsys) if qa.raw is not None else None
    for i, (obsnum, c) in enumerate(qa.file_labels):
        k = i // NCHASSIS
        m = qa.members[k]
        for b in range(NBOARD):
            blanked = bool(use.blanked[k][c, :, b].all())
            if blanked:
                why = m.reasons.get((c, b), "blanked")
            elif not use.file_used[i, b]:
                why = "rms above cthr" if np.isfinite(qa.fsig[i, b]) else "every repeat above rthr"
            if blanked or not use.file_used[i, b]:
                bad.append({"obsnum": obsnum, "chassis": c, "board": b, "reason": why})
            row = {
                "obsnum": obsnum, "chassis": c, "board": b, "tsys_K": m.tsys[c, b],
                "rms_mK": 1e3 * qa.fsig[i, b], "radiometer_mK": 1e3 * fexp[i, b],
                "rms_radiometer_ratio": qa.fsig[i, b] / fexp[i, b],
                "repeats_used": int(use.repeat_used[k][c, :, b].sum()),
                "repeats_rthr": int(use.rthr[k][c, :, b].sum()),
                "blanked": blanked, "used": bool(use.file_used[i, b]),
                "blanked_channels": int((~np.isfinite(qa.files[i, b, USABLE])).sum()),
                "flagged_lags": int(m.flags.mask[c, b].sum()) if m.flags else None,
            }  # fmt: skip
            if qa.raw is not None and jitter is not None:
                row["tsys_jitter_K"] = jitter[c, b]
                row["lag_rms0"] = rmsdiff(qa.raw.lag_sigma[c, b])
            rows.append(row)
    return rows, bad


def board_numbers(qa: RsrQA, use: Usage, bexp: NDArray) -> list[dict[str, Any]]:
    """The final average of every board (frequency order): range, rms vs radiometer."""
    out = []
    for b in FREQ_ORDER:
        f = qa.freq[b, USABLE]
        out.append({
            "board": int(b), "freq_GHz": [float(f.min()), float(f.max())],
            "rms_mK": 1e3 * qa.bsig[b], "radiometer_mK": 1e3 * bexp[b],
            "rms_radiometer_ratio": qa.bsig[b] / bexp[b],
            "files_used": int(use.file_used[:, b].sum()),
            "blanked_channels": int((~np.isfinite(qa.board[b, USABLE])).sum()),
        })  # fmt: skip
    return out


def spectra_numbers(use: Usage) -> dict[str, Any]:
    """Spectra (repeat x chassis x board) used, and dropped by blanking, rthr and cthr."""
    total = sum(u.size for u in use.blanked)
    nblank = sum(int(u.sum()) for u in use.blanked)
    nrthr = sum(int(u.sum()) for u in use.rthr)
    nused = sum(int((ok & use.file_used[NCHASSIS * k : NCHASSIS * (k + 1), None, :]).sum())
                for k, ok in enumerate(use.repeat_used))  # fmt: skip
    return {"unit": "repeat x chassis x board", "total": total, "used": nused,
            "rejected": total - nused, "rejected_blanked": nblank, "rejected_rthr": nrthr,
            "rejected_cthr": total - nused - nblank - nrthr}  # fmt: skip


def rsr_numbers(qa: RsrQA) -> dict[str, Any]:
    """QA numbers of an RSR product (JSON-ready; see the module docstring for the noise)."""
    use = usage(qa)
    fexp, bexp = radiometer(qa, use)
    rows, bad = chassis_board_numbers(qa, use, fexp)
    suggested = []
    if qa.raw is not None:
        jitter = tsys_jitter(qa.raw.tsys)
        suggested = [{"chassis": int(c), "board": int(b), "reason": "Tsys jitter",
                      "tsys_jitter_K": float(jitter[c, b])}
                     for c, b in np.argwhere(jitter > TSYS_JITTER_K)]  # fmt: skip
    multi = len(qa.members) > 1
    label = f"{qa.source}_{'_'.join(map(str, qa.obsnums))}"
    return json_clean({
        **({"members": member_numbers(qa, use, fexp)} if multi else {}),
        "obsnums": qa.obsnums,
        "observation": observation_numbers(qa),
        "spectrum": spectrum_numbers(qa, bexp),
        "spectra": spectra_numbers(use),
        "bad_boards": bad,
        "bad_chassis_boards": [(f"{x['obsnum']} " if multi else "") +
                               f"c{x['chassis']}/b{x['board']}" for x in bad],
        "suggested_bad_boards": suggested,
        "flagged_lags": flagged_lag_numbers(qa),
        "boards": board_numbers(qa, use, bexp),
        "chassis_boards": rows,
        "qac_lines": [qac_line(f"{label} rsr spectrum", qac_stats(qa.spec))],
    })  # fmt: skip


def member_numbers(qa: RsrQA, use: Usage, fexp: NDArray) -> list[dict[str, Any]]:
    """Per member of a combination: its header values and the noise of its own board averages
    (its chassis averaged with cthr, as its own spectrum has them)."""
    rows = []
    for k, m in enumerate(qa.members):
        sl = slice(NCHASSIS * k, NCHASSIS * (k + 1))
        _, bsig = average_files(qa.files[sl], qa.fsig[sl], qa.window, qa.cthr)
        bexp = board_radiometer(qa.fsig[sl], fexp[sl], use.file_used[sl])
        ok = np.isfinite(bsig) & np.isfinite(bexp)
        rms, rad = _quad_mean(bsig[ok]), _quad_mean(bexp[ok])
        bad = [f"c{c}/b{b}" for c, b in np.argwhere(~use.file_used[sl])]
        rows.append({
            "obsnum": m.obsnum, "calobsnum": m.calobsnum, "date_obs": m.date_obs,
            "inttime_s": m.inttime_s, "tsys_K": nan_median(m.tsys),
            "rms_mK": 1e3 * rms, "radiometer_mK": 1e3 * rad,
            "rms_radiometer_ratio": rms / rad if rad > 0 else None, "bad_chassis_boards": bad,
        })  # fmt: skip
    return rows


def line_free(qa: RsrQA) -> NDArray[np.bool_]:
    """Composite-grid rows outside every xlines window."""
    out = np.ones(qa.grid.size, bool)
    for f0, w in qa.xlines:
        out &= np.abs(qa.grid - f0) >= w
    return out


def spectrum_numbers(qa: RsrQA, bexp: NDArray) -> dict[str, Any]:
    """rms and radiometer (quadratic mean over the boards used), peak, merged-spectrum rms."""
    finite = np.isfinite(qa.spec)
    lines = ~line_free(qa) & finite
    pick = lines if lines.any() else finite
    i = int(np.flatnonzero(pick)[np.argmax(qa.spec[pick])])
    inttime = sum(m.inttime_s for m in qa.members)
    used = np.isfinite(qa.bsig) & np.isfinite(bexp)
    rms, rad = _quad_mean(qa.bsig[used]), _quad_mean(bexp[used])
    free = line_free(qa) & finite
    return {
        "rms_mK": 1e3 * rms,
        "radiometer_mK": 1e3 * rad,
        "rms_radiometer_ratio": rms / rad if rad > 0 else None,
        "rms_merged_mK": 1e3 * float(np.std(qa.spec[free])) if free.any() else None,
        "radiometer_100K_mK": 1e3 * LMTOY_TSYS_K / np.sqrt(DNU_HZ * inttime),
        "peak_K": float(qa.spec[i]),
        "peak_freq_GHz": float(qa.grid[i]),
        "nchan": int(qa.spec.size),
        "nchan_finite": int(finite.sum()),
    }
