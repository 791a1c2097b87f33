"""Tsys and g_norm from a Cal ObsNum; beam-switched Ta* of a Bs ObsNum (reference §3.3-3.4)."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from ..io.rsr import ChassisData, RsrFileError
from .constants import demod_sign, diffsat_factor, sky_freq_ghz
from .lags import makespectrum

NONLIN = 1.3e6
G_NORM_BOARD1_FROM_2 = 2015.0 + 334.0 / 365.0
"""Cal dates (UTDate) after 2015-12-01: chassis 0 board 1 takes board 2's g_norm (§3.3)."""


def corr_acf(acf: NDArray) -> NDArray[np.float64]:
    """Correlator nonlinearity correction of a total-power ACF (lags 0..2 counted x3)."""
    x = np.array(acf, dtype=np.float64)
    x[..., :3] *= 3.0
    x = x * (1.0 + np.abs(x) / NONLIN)
    x[..., :3] /= 3.0
    return x


def cal_tsys(
    cal: ChassisData, corr_cal: NDArray, bad: NDArray | None = None
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """(Tsys (6, 256) K with the diffsat correction, g_norm (6, 256)) of one chassis' Cal."""
    if cal.obspgm != "Cal" or cal.acc.shape[0] != 6:
        raise RsrFileError(
            f"{cal.path}: ObsNum {cal.obsnum} is not a single-file Cal with 6 dumps "
            f"(ObsPgm {cal.obspgm!r}, {cal.acc.shape[0]} dumps)"
        )
    hot = makespectrum(cal.acc[0], corr_cal, bad)
    sky = makespectrum(cal.acc[1], corr_cal, bad)
    with np.errstate(invalid="ignore", divide="ignore"):
        tsys = cal.tamb * sky / (hot - sky)
    freq = sky_freq_ghz(cal.lo1, cal.lo2)
    tsys *= diffsat_factor(cal.chassis, freq)
    tsys[~np.isfinite(tsys)] = np.nan
    w, x, y, z = (corr_acf(cal.acc[i]) for i in range(2, 6))
    blank = 0.25 * (w - x - y + z)
    if bad is not None:
        blank[bad] = np.nan
    with np.errstate(invalid="ignore", divide="ignore"):
        g_norm = np.nanmean(blank, axis=-1, keepdims=True) / blank
    if cal.chassis == 0 and cal.utdate > G_NORM_BOARD1_FROM_2:
        g_norm[1] = g_norm[2]
    return tsys, g_norm


def bs_pairs(bufpos: NDArray, path: object) -> tuple[NDArray[np.int_], NDArray[np.int_]]:
    """Indices of the BufPos-0 ("pos") and BufPos-1 ("neg") dump of each consecutive pair."""
    bp = np.asarray(bufpos)
    if bp.size % 2:
        raise RsrFileError(f"{path}: odd number of Bs dumps ({bp.size})")
    pairs = bp.reshape(-1, 2)
    ok = np.sort(pairs, axis=1).tolist() == [[0, 1]] * len(pairs)
    if not ok:
        raise RsrFileError(f"{path}: BufPos pairs must be (0,1) or (1,0), got {pairs.tolist()}")
    first_pos = pairs[:, 0] == 0
    i = 2 * np.arange(len(pairs))
    return np.where(first_pos, i, i + 1), np.where(first_pos, i + 1, i)


def bs_spectra(
    bs: ChassisData, corr_cal: NDArray, tsys: NDArray, g_norm: NDArray, bad: NDArray | None = None
) -> NDArray[np.float64]:
    """(nrepeat, 6, 256) Ta* (K): sign_c (2P/(T-P) - 2N/(T'-N)) Tsys / 2 per dump pair."""
    if bs.obspgm != "Bs":
        raise RsrFileError(f"{bs.path}: ObsNum {bs.obsnum} has ObsPgm {bs.obspgm!r}, not Bs")
    pos, neg = bs_pairs(bs.bufpos, bs.path)
    p = makespectrum(bs.acc[pos], corr_cal, bad, g_norm)
    t = makespectrum(bs.ref[pos], corr_cal, bad)
    n = makespectrum(bs.acc[neg], corr_cal, bad, g_norm)
    t2 = makespectrum(bs.ref[neg], corr_cal, bad)
    with np.errstate(invalid="ignore", divide="ignore"):
        return demod_sign(bs.chassis) * (2 * p / (t - p) - 2 * n / (t2 - n)) * tsys / 2.0
