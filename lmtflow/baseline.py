"""Velocity slice, birdie patching, polynomial baselines and RMS for many spectra at once.

Follows lmtslr (`reference/sequoia_raw_and_algorithms.md` §4.5) with two conscious changes:
baseline windows include both ends whatever the sign of the channel step (lmtslr's bounds
depend on it, quirk 9), and NaN channels get zero weight in the fit of their own spectrum
instead of being dropped for all. Fits are one batched weighted least-squares solve for the
whole block, on a channel coordinate scaled to [-1, 1] for conditioning.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .spectral import SpectralAxis


@dataclass(frozen=True)
class SliceSpec:
    """Channel range ``[c0, c1)`` of the original spectrum kept by the velocity slice."""

    c0: int
    c1: int

    @property
    def nchan(self) -> int:
        return self.c1 - self.c0

    @classmethod
    def from_velocities(cls, axis: SpectralAxis, v_lo: float, v_hi: float) -> SliceSpec:
        c0, c1 = (int(c) for c in axis.v2c([v_lo, v_hi]))
        if c0 > c1:
            c0, c1 = c1, c0
        c0, c1 = max(c0, 0), min(c1, axis.nchan)
        if c1 - c0 < 2:
            raise ValueError(f"velocity slice [{v_lo}, {v_hi}] km/s keeps fewer than 2 channels")
        return cls(c0, c1)


def window_mask(velocity: NDArray, regions: ArrayLike) -> NDArray[np.bool_]:
    """Channels whose velocity lies in any of the ``[[lo, hi], ...]`` regions (inclusive)."""
    mask = np.zeros(velocity.shape, dtype=bool)
    for lo, hi in np.atleast_2d(np.asarray(regions, dtype=float)):
        a, b = min(lo, hi), max(lo, hi)
        mask |= (velocity >= a) & (velocity <= b)
    return mask


def birdie_runs(birdies: ArrayLike, c0: int, c1: int) -> list[tuple[int, int]]:
    """Runs of consecutive birdie channels that lie strictly inside the slice (original chans)."""
    chans = sorted({int(c) for c in np.atleast_1d(np.asarray(birdies, dtype=int))})
    runs: list[tuple[int, int]] = []
    for c in chans:
        if runs and c == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], c)
        else:
            runs.append((c, c))
    return [(a, b) for a, b in runs if a > c0 and b < c1 - 1]


def patch_birdies(spectra: NDArray, runs: list[tuple[int, int]], c0: int) -> NDArray:
    """Replace each birdie run by the mean of its two neighbours (in place, sliced spectra)."""
    for a, b in runs:
        i, j = a - c0, b - c0
        spectra[..., i : j + 1] = 0.5 * (spectra[..., i - 1 : i] + spectra[..., j + 1 : j + 2])
    return spectra


@dataclass(frozen=True)
class BaselineResult:
    spectra: NDArray[np.float32]
    rms: NDArray[np.float32]
    nwindow: NDArray[np.int_]


def fit_baselines(
    spectra: NDArray, window: NDArray[np.bool_], order: int, exclude: NDArray | None = None
) -> BaselineResult:
    """Subtract a polynomial of ``order`` fitted over ``window`` channels from each spectrum.

    ``spectra`` is (nspec, nchan). RMS is the population RMS of the residuals in the window.
    ``order < 0`` subtracts nothing and reports the RMS of the window about zero. Spectra whose
    window channels are all finite share one normal matrix (one ``gemm`` for the block); the
    others get their own weighted fit. ``exclude`` (nspec, nchan), true = flagged: those
    channels stay out of the fit and the RMS but are baselined like the others.
    """
    y = np.asarray(spectra)
    nchan = y.shape[-1]
    idx = np.flatnonzero(window)
    yw = y[:, idx].astype(np.float64)  # (nspec, nwin): only the window enters the fit
    finite = np.isfinite(yw)
    if exclude is not None:
        finite &= ~np.asarray(exclude, dtype=bool)[:, idx]
    nwin = finite.sum(axis=1)
    out = np.array(y, dtype=np.float32)
    resid = yw
    if order >= 0:
        basis = np.vander(np.linspace(-1.0, 1.0, nchan), order + 1, increasing=True)  # (nchan, k)
        bw = basis[idx]
        coef = np.zeros((y.shape[0], order + 1))
        ok = nwin > order
        clean = ok & (nwin == idx.size)
        if clean.any() and order == 0:  # the window mean; no BLAS call
            coef[clean, 0] = yw[clean].mean(axis=1)
        elif clean.any():
            coef[clean] = np.linalg.solve(bw.T @ bw, bw.T @ yw[clean].T).T
        dirty = ok & ~clean
        if dirty.any():
            w = finite[dirty].astype(np.float64)
            lhs = np.einsum("nc,ck,cl->nkl", w, bw, bw)
            rhs = (w * np.where(finite[dirty], yw[dirty], 0.0)) @ bw
            coef[dirty] = np.linalg.solve(lhs, rhs[..., None])[..., 0]
        if order == 0:  # the basis is ones: the same numbers without (nspec, nchan) products
            out -= coef[:, :1].astype(np.float32)
            resid = yw - coef[:, :1]
        else:
            out -= (coef @ basis.T).astype(np.float32)
            resid = yw - coef @ bw.T
        out[~ok] = np.nan
    resid = np.where(finite, resid, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        rms = np.sqrt(np.square(resid).sum(axis=1) / nwin)
    if order >= 0:
        rms[~ok] = np.nan
    return BaselineResult(out, rms.astype(np.float32), nwin.astype(int))
