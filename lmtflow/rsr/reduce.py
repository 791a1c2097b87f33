"""Baselines per board and repeat, averaging with 1/sigma^2 and thresholds (reference §3.6-3.8)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from ..baseline import fit_baselines
from .constants import NBOARD


def baseline_windows(freq: NDArray, xlines: Sequence[float] = ()) -> NDArray[np.bool_]:
    """(6, 256) fit windows: the whole board minus f +/- w of each (f, w) pair of ``xlines``."""
    pairs = np.asarray(xlines, dtype=float)
    if pairs.size % 2:
        raise ValueError(f"xlines needs (frequency, half-width) pairs in GHz, got {list(xlines)}")
    window = np.ones(freq.shape, dtype=bool)
    for f0, w in pairs.reshape(-1, 2):
        window &= np.abs(freq - f0) >= w
    return window


def baseline(
    spectra: NDArray, window: NDArray, order: int, subtract: bool = True
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Fit a polynomial of ``order`` per (spectrum, board) over ``window`` (6, 256).

    ``spectra`` (..., 6, 256). Returns (spectra, baseline-subtracted unless ``subtract`` is
    False; sigma (..., 6) = std of the residual in the window, NaN where nothing is usable).
    """
    y = np.asarray(spectra, dtype=np.float64)
    lead = y.shape[:-2]
    flat = y.reshape(-1, NBOARD, y.shape[-1])
    out = flat.copy()
    sigma = np.full(flat.shape[:2], np.nan)
    for b in range(NBOARD):
        win = window[b] & np.isfinite(flat[:, b]).any(axis=0)
        if not win.any():
            continue
        res = fit_baselines(flat[:, b], win, order)
        if subtract:
            out[:, b] = np.where(np.isfinite(flat[:, b]), res.spectra, np.nan)
        sigma[:, b] = res.rms
    return out.reshape(y.shape), sigma.reshape(lead + (NBOARD,))


def weighted_average(
    spectra: NDArray, sigma: NDArray, threshold: float, blank_any: bool
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Average (n, 6, 256) over axis 0 with weights 1/sigma^2 of (n, 6), sigma < ``threshold``.

    ``blank_any``: a channel that is NaN in any used spectrum is NaN (repeats, §3.7);
    otherwise each channel averages its finite values (files, §3.8). Returns the average and
    the weight sum (6, 256) (0 where nothing contributes).
    """
    s = np.asarray(sigma, dtype=np.float64)
    use = np.isfinite(s) & (s > 0) & (s < threshold)
    w = np.where(use, 1.0 / np.where(use, s, 1.0) ** 2, 0.0)[..., None]
    y = np.asarray(spectra, dtype=np.float64)
    finite = np.isfinite(y)
    wsum = np.sum(np.where(finite, w, 0.0), axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        avg = np.sum(np.where(finite, y * w, 0.0), axis=0) / wsum
    avg[wsum == 0] = np.nan
    if blank_any:
        avg[np.any(~finite & (w > 0), axis=0)] = np.nan
    return avg, wsum


def _average_with_sigma(
    spectra: NDArray, sigma: NDArray, window: NDArray, threshold: float, blank_any: bool
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    avg, _ = weighted_average(spectra, sigma, threshold, blank_any=blank_any)
    _, sig = baseline(avg, window, 0, subtract=False)
    return avg, sig


def average_repeats(
    spectra: NDArray, sigma: NDArray, window: NDArray, rthr: float
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """(6, 256) average of (nrep, 6, 256) repeats with sigma < rthr; sigma (6,) recomputed."""
    return _average_with_sigma(spectra, sigma, window, rthr, blank_any=True)


def average_files(
    spectra: NDArray, sigma: NDArray, window: NDArray, cthr: float
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """(6, 256) average of (nfile, 6, 256) chassis x ObsNum spectra with sigma < cthr."""
    return _average_with_sigma(spectra, sigma, window, cthr, blank_any=False)
