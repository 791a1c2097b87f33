"""Robust statistics for QA numbers (LMTOY's ``QAC_STATS`` and outlier tests)."""

from __future__ import annotations

import warnings

import numpy as np
from numpy.typing import ArrayLike, NDArray

MAD_TO_SIGMA = 1.4826


def robust_sigma(values: ArrayLike, axis: int | tuple[int, ...] | None = None) -> NDArray | float:
    """Standard deviation estimated from the median absolute deviation (NaNs ignored)."""
    v = np.asarray(values, dtype=float)
    if axis is None:  # all values (a cube's noise voxels): two in-place selections, no copies
        v = v[~np.isnan(v)] if np.isnan(v).any() else v.ravel()
        if v.size == 0:
            return np.nan
        dev = np.abs(v - np.median(v))
        return MAD_TO_SIGMA * float(np.median(dev, overwrite_input=True))
    med = np.nanmedian(v, axis=axis, keepdims=True)
    mad = np.nanmedian(np.abs(v - med), axis=axis)
    return MAD_TO_SIGMA * mad


def sratio(values: ArrayLike) -> float:
    """``sum(x) / sum(|x|)``: about 0 for pure noise, 1 when every value is positive."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    total = np.abs(v).sum()
    return float(v.sum() / total) if total > 0 else 0.0


def qac_stats(values: ArrayLike) -> dict[str, float | int]:
    """Mean, rms, robust rms, min, max, sum, S-ratio and count of the finite values."""
    v = np.asarray(values, dtype=float).ravel()
    v = v[np.isfinite(v)]
    if v.size == 0:
        return {"mean": np.nan, "rms": np.nan, "robust_rms": np.nan, "min": np.nan,
                "max": np.nan, "sum": 0.0, "sratio": 0.0, "n": 0}  # fmt: skip
    return {
        "mean": float(v.mean()),
        "rms": float(v.std()),
        "robust_rms": float(robust_sigma(v)),
        "min": float(v.min()),
        "max": float(v.max()),
        "sum": float(v.sum()),
        "sratio": sratio(v),
        "n": int(v.size),
    }


def qac_line(label: str, stats: dict[str, float | int]) -> str:
    """One ``QAC_STATS:`` text line (LMTOY's regression format) for ``stats``."""
    keys = ("mean", "rms", "min", "max", "sum", "sratio", "n")
    return "QAC_STATS: " + label + " " + " ".join(f"{stats[k]:.6g}" for k in keys)


def high_outliers(values: ArrayLike, nsigma: float) -> NDArray[np.bool_]:
    """Values above ``median + nsigma * robust_sigma`` (NaN counts as an outlier)."""
    v = np.asarray(values, dtype=float)
    finite = np.isfinite(v)
    if not finite.any():
        return ~finite
    med = np.median(v[finite])
    sigma = robust_sigma(v[finite])
    with np.errstate(invalid="ignore"):
        return ~finite | (v > med + nsigma * sigma)


def running_median(values: NDArray, width: int) -> NDArray:
    """Median over a window of ``width`` samples along the last axis (edges: shrunk window)."""
    from scipy.ndimage import median_filter

    size = [1] * (values.ndim - 1) + [int(width)]
    return median_filter(values, size=size, mode="nearest")


def neighbour_median(values: NDArray, width: int) -> NDArray:
    """Median of the ``width - 1`` neighbours of each sample along the last axis, the sample
    itself left out (``width`` odd; edges repeat the end values; NaNs ignored).

    A value minus its neighbours' median is a fair deviation: with the value inside the window
    the median follows it, so small deviations shrink, the distribution gets a sharp peak and
    heavy tails, and a MAD-based sigma of it is too small (robust z-scores of pure noise then
    pass 6 sigma in ~1 of 20,000 channels instead of 1 of 10**9).
    """
    half = int(width) // 2
    pad = [(0, 0)] * (values.ndim - 1) + [(half, half)]
    windows = np.lib.stride_tricks.sliding_window_view(np.pad(values, pad, mode="edge"),
                                                       2 * half + 1, axis=-1)  # fmt: skip
    around = np.delete(windows, half, axis=-1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN windows stay NaN
        return np.nanmedian(around, axis=-1)


def nan_std(
    values: ArrayLike, axis: int | tuple[int, ...] | None = None, ddof: int = 0,
    keepdims: bool = False,
) -> NDArray[np.float64] | float:  # fmt: skip
    """``np.nanstd`` without its "Degrees of freedom <= 0" warning: a slice with no more than
    ``ddof`` non-NaN values (a blank cube cell, a dead feed) has no defined spread, so it is
    NaN, silently; any infinite value makes its slice NaN too (an infinite spread is no rms).

    Blank slices are normal in our data (cells outside a map's coverage, flagged beams), so a
    warning about them says nothing; a caller that needs a count checks for NaN.
    """
    v = np.asarray(values)
    if not np.issubdtype(v.dtype, np.inexact):
        v = v.astype(np.float64)
    valid = ~np.isnan(v)
    n = valid.sum(axis=axis, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.sum(v, axis=axis, keepdims=True, dtype=np.float64, where=valid) / n
        dev = np.subtract(v, mean, where=valid, out=np.zeros(v.shape, np.float64))
        var = np.sum(dev * dev, axis=axis, keepdims=True) / (n - ddof)
        std = np.sqrt(np.where(n > ddof, var, np.nan))
    if axis is None:
        return std if keepdims else float(std.reshape(()))
    return std if keepdims else np.squeeze(std, axis=axis)


def nan_median(values: ArrayLike, axis: int | None = None) -> NDArray[np.float64] | float:
    """``np.nanmedian`` without its "All-NaN slice" warning: a slice with no value (a dead
    beam's column, a blank cell) has no median, so it is NaN, silently (see :func:`nan_std`)."""
    v = np.asarray(values, dtype=np.float64)
    has = ~np.isnan(v).all(axis=axis)
    if axis is None:
        return float(np.nanmedian(v)) if has else float("nan")
    out = np.full(has.shape, np.nan)
    out[has] = np.nanmedian(np.moveaxis(v, axis, -1)[has], axis=-1)
    return out
