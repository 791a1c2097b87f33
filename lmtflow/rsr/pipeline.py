"""One RSR ObsNum (or several) from raw chassis files to the merged spectrum, as library calls.

The workflow rules (``rules/rsr.smk``) and the tests call these functions; each returns whole
arrays: Ta* (4 chassis, nrepeat, 6 boards, 256 channels), Tsys (4, 6, 256), sigma per
(chassis, repeat, board).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from ..io.rsr import RsrFileError, chassis_files, corr_cal_dir, read_chassis, read_corr_cal
from .badlags import Badlags, BadlagsParams, detect, lag_sigma
from .calibrate import bs_spectra, cal_tsys
from .constants import NBOARD, NCHASSIS, NLAG, sky_freq_ghz
from .merge import merge_boards
from .reduce import average_files, average_repeats, baseline


@dataclass
class RsrCalibrated:
    """Ta* of one Bs ObsNum; chassis without a file are NaN."""

    obsnum: int
    cal_obsnum: int
    source: str
    project_id: str
    ra_deg: float
    dec_deg: float
    utdate: float
    start_unix: float
    tsamp: float
    freq: NDArray[np.float64]  # (6, 256) GHz
    ta: NDArray[np.float64]  # (4, nrep, 6, 256) K
    tsys: NDArray[np.float64]  # (4, 6, 256) K
    present: NDArray[np.bool_]  # (4,)
    int_time_s: float


def badlags_obsnum(data_lmt: str | Path, obsnum: int, p: BadlagsParams) -> Badlags:
    """badlags.py on the science files of ``obsnum``."""
    sig = {c: lag_sigma(read_chassis(f).acc) for c, f in chassis_files(data_lmt, obsnum).items()}
    return detect(sig, obsnum, p)


def calibrate_obsnum(
    data_lmt: str | Path, obsnum: int, bad: NDArray | None = None
) -> RsrCalibrated:
    """Tsys from each chassis' Cal and the Bs Ta* of every dump pair (bad lags masked)."""
    files = chassis_files(data_lmt, obsnum)
    bad = np.zeros((NCHASSIS, NBOARD, NLAG), bool) if bad is None else bad
    ta = tsys = None
    present = np.zeros(NCHASSIS, bool)
    first = None
    itime = []
    for c, path in files.items():
        bs = read_chassis(path)
        if bs.cal_obsnum <= 0:
            raise RsrFileError(f"{path}: CalObsNum is {bs.cal_obsnum}")
        cal_files = chassis_files(data_lmt, bs.cal_obsnum)
        if c not in cal_files:
            raise RsrFileError(f"ObsNum {obsnum}: no chassis {c} file of Cal {bs.cal_obsnum}")
        cal = read_chassis(cal_files[c])
        cc = read_corr_cal(corr_cal_dir(data_lmt), bs.corr_cal_id, c, bs.slots)
        ccal = cc if cal.corr_cal_id == bs.corr_cal_id else read_corr_cal(
            corr_cal_dir(data_lmt), cal.corr_cal_id, c, cal.slots)  # fmt: skip
        ts, g_norm = cal_tsys(cal, ccal, bad[c])
        spec = bs_spectra(bs, cc, ts, g_norm, bad[c])
        if ta is None:
            first = bs
            ta = np.full((NCHASSIS,) + spec.shape, np.nan)
            tsys = np.full((NCHASSIS, NBOARD, NLAG), np.nan)
        if spec.shape != ta.shape[1:]:
            raise RsrFileError(f"{path}: {spec.shape[0]} repeats, other chassis {ta.shape[1]}")
        ta[c], tsys[c], present[c] = spec, ts, True
        itime.append(bs.int_time_s)
    assert first is not None and ta is not None and tsys is not None
    return RsrCalibrated(
        obsnum=obsnum, cal_obsnum=first.cal_obsnum, source=first.source,
        project_id=first.project_id, ra_deg=float(np.degrees(first.ra_rad)),
        dec_deg=float(np.degrees(first.dec_rad)), utdate=first.utdate,
        start_unix=float(first.time[0]), tsamp=first.tsamp,
        freq=sky_freq_ghz(first.lo1, first.lo2), ta=ta, tsys=tsys, present=present,
        int_time_s=float(np.mean(itime)),
    )  # fmt: skip


def baseline_repeats(
    ta: NDArray, blank: NDArray, window: NDArray, order: int
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Blank (4, 6, 256) channels of Ta* (4, nrep, 6, 256), then baseline every repeat/board."""
    y = np.where(blank[:, None], np.nan, ta)
    return baseline(y, window, order)


def average_obsnums(
    spectra: Sequence[NDArray], sigma: Sequence[NDArray], window: NDArray, rthr: float, cthr: float
) -> tuple[NDArray, NDArray, NDArray, NDArray]:
    """Repeats per chassis (rthr), then all chassis x ObsNums per board (cthr).

    ``spectra`` / ``sigma``: per ObsNum (4, nrep, 6, 256) / (4, nrep, 6), in any order (the
    result does not depend on it). Returns (board spectra (6, 256), board sigma (6,),
    per-file spectra (nfile, 6, 256), per-file sigma (nfile, 6)).
    """
    files, fsig = [], []
    for spec, sig in zip(spectra, sigma, strict=True):
        for c in range(spec.shape[0]):
            avg, s = average_repeats(spec[c], sig[c], window, rthr)
            files.append(avg)
            fsig.append(s)
    fs, fg = np.stack(files), np.stack(fsig)
    board, bsig = average_files(fs, fg, window, cthr)
    return board, bsig, fs, fg


def merged(board: NDArray, freq: NDArray) -> tuple[NDArray, NDArray, NDArray]:
    """(GHz, K, sigma K) on the 1297-row composite grid."""
    return merge_boards(board, freq)
