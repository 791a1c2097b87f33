"""Which spectra an OTF map is gridded from (beams of ``pix_list``, finite positive RMS, and
lmtslr's robust RMS cut); a combination keeps each member's own values."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray


def rms_threshold(rms: ArrayLike, pixel: ArrayLike, rms_cut: float) -> NDArray[np.bool_]:
    """Keep mask of lmtslr's robust RMS selection (``C/Stats.c:rms_stats``).

    Per pixel: sort its RMS values, ``Q1 = v[k//4]``, ``Q3 = v[3k//4]``, keep values within
    ``[Q1 - 1.5 IQR, Q3 + 1.5 IQR]``, and take their mean and population std. Threshold =
    ``mean + |rms_cut| std`` for ``rms_cut < 0``, ``rms_cut`` itself for ``rms_cut > 0``;
    spectra with ``RMS > threshold`` (or non-finite RMS) are rejected. ``rms_cut == 0`` keeps
    every finite RMS.
    """
    rms = np.asarray(rms, dtype=float)
    pixel = np.asarray(pixel)
    finite = np.isfinite(rms)
    if rms_cut == 0:
        return finite
    if rms_cut > 0:
        return finite & (rms <= rms_cut)
    keep = np.zeros(rms.shape, dtype=bool)
    idx = np.flatnonzero(finite)
    if idx.size == 0:
        return keep
    groups, inverse = np.unique(pixel[idx], return_inverse=True)
    order = np.lexsort((rms[idx], inverse))
    g = inverse[order]
    v = rms[idx][order]
    counts = np.bincount(g, minlength=groups.size)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    q1 = v[starts + counts // 4]
    q3 = v[starts + (3 * counts) // 4]
    iqr = q3 - q1
    inlier = (v >= (q1 - 1.5 * iqr)[g]) & (v <= (q3 + 1.5 * iqr)[g])
    n_in = np.bincount(g, weights=inlier, minlength=groups.size)
    mean = np.bincount(g, weights=v * inlier, minlength=groups.size) / n_in
    var = np.bincount(g, weights=((v - mean[g]) ** 2) * inlier, minlength=groups.size) / n_in
    threshold = mean + abs(rms_cut) * np.sqrt(var)
    keep[idx[order]] = v <= threshold[g]
    return keep


def for_obsnum(value: Any, obsnum: int | None) -> Any:
    """A selection parameter's value for one ObsNum: ``value``, or its entry when a combination
    keeps one per member (``{"ObsNum": value}``, :func:`lmtflow.params.combination_params`)."""
    return value[str(obsnum)] if isinstance(value, dict) else value


def grid_selection(
    rms: NDArray, beams: NDArray, grid_params: dict, obsnum: int | None = None
) -> NDArray:
    """Spectra the gridder uses: beam in ``pix_list``, finite positive RMS, robust RMS cut
    (:func:`rms_threshold`); each value is one for all or ``{ObsNum: value}``
    (a combination keeps each member's own)."""
    pix = for_obsnum(grid_params.get("pix_list", np.unique(beams)), obsnum)
    keep = np.isin(beams, list(pix))
    keep &= rms_threshold(rms, beams, float(for_obsnum(grid_params.get("rms_cut", 0.0), obsnum)))
    with np.errstate(invalid="ignore"):
        keep &= np.isfinite(rms) & (rms > 0)
    return keep
