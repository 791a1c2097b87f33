"""Merge the six boards onto the 31.25 MHz composite grid (reference §3.10-3.11)."""

from __future__ import annotations

import warnings

import numpy as np
from numpy.typing import NDArray

from .constants import CHAN_GHZ, MERGE_F0, MERGE_NCHAN, NBOARD


def merge_grid() -> NDArray[np.float64]:
    """The 1297 composite frequencies (GHz) from 71.71953125 GHz."""
    return MERGE_F0 + CHAN_GHZ * np.arange(MERGE_NCHAN)


def merge_boards(
    spectra: NDArray, freq: NDArray
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """(grid GHz, spectrum, composite sigma) of board spectra (6, 256) at ``freq`` (6, 256).

    Each board is linearly interpolated (NaN neighbours propagate, NaN outside it) onto the
    grid; rows are the unweighted mean of the finite boards. Composite sigma: sqrt of the mean
    of sigma_b^2 (std of the whole board) over boards whose range holds the row and whose
    nearest channel is finite.
    """
    grid = merge_grid()
    stack = np.full((NBOARD, grid.size), np.nan)
    sig2 = np.full((NBOARD, grid.size), np.nan)
    board_sigma = np.array([np.nanstd(s) if np.isfinite(s).any() else np.nan for s in spectra])
    for b in range(NBOARD):
        order = np.argsort(freq[b])
        f, y = freq[b][order], np.asarray(spectra[b], dtype=np.float64)[order]
        x1 = int(np.argmin(np.abs(grid - f[0])))
        x2 = min(x1 + f.size, grid.size)
        g = grid[x1:x2]
        stack[b, x1:x2] = np.interp(g, f, y, left=np.nan, right=np.nan)
        j = np.clip(np.searchsorted(f, g), 1, f.size - 1)
        nearest = np.where(np.abs(f[j - 1] - g) <= np.abs(f[j] - g), j - 1, j)
        inside = (g >= f[0]) & (g <= f[-1]) & np.isfinite(y[nearest])
        sig2[b, x1:x2] = np.where(inside, board_sigma[b] ** 2, np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows stay NaN
        merged = np.nanmean(stack, axis=0)
        compsigma = np.sqrt(np.nanmean(sig2, axis=0))
    return grid, merged, compsigma
