"""Calibration: Tsys spectra from a HOT/SKY Cal ObsNum and Ta* of OTF ON dumps.

Follows lmtslr (`reference/sequoia_raw_and_algorithms.md` §4.1-4.3): channel-wise medians
of HOT and SKY, ``Tsys = 280 SKY/(HOT - SKY)``, despiking, and for maps (stype 2)
``Ta* = Tsys (ON - R)/R`` with R the mean of the two REF blocks bracketing each ON block.
All functions work on whole arrays with the channel axis last.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from .constants import T_AMBIENT_K, BufPos
from .qa.stats import nan_std


def tsys_spectrum(
    hot: NDArray, sky: NDArray, bdrop: int = 50, edrop: int = 100, nsections: int = 10
) -> tuple[NDArray[np.float32], NDArray[np.float64]]:
    """Tsys spectra (..., nchan) and scalar Tsys (...) from HOT/SKY dumps (ndump, ..., nchan).

    The scalar is the mean of the finite, positive channels in ``[bdrop, nchan - edrop)``; infinite,
    NaN and positive-spike channels are replaced by it, as lmtslr does, and so are
    non-positive channels (lmtslr keeps them).
    """
    hot_med = np.nanmedian(np.asarray(hot, dtype=np.float64), axis=0)  # flagged dumps are NaN
    sky_med = np.nanmedian(np.asarray(sky, dtype=np.float64), axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        tsys = T_AMBIENT_K * sky_med / (hot_med - sky_med)
    nchan = tsys.shape[-1]
    inner = tsys[..., bdrop : nchan - edrop]
    with np.errstate(invalid="ignore"):
        finite = np.isfinite(inner) & (inner > 0)
    with np.errstate(invalid="ignore"):
        scalar = np.where(
            finite.any(axis=-1),
            np.sum(np.where(finite, inner, 0.0), axis=-1) / np.maximum(finite.sum(axis=-1), 1),
            np.nan,
        )
    fill = scalar[..., None]
    tsys = np.where(np.isinf(tsys), fill, tsys)
    # Despike: in each of nsections, a channel higher than its right neighbour by > 4 sigma.
    edges = np.linspace(0, nchan, nsections + 1).astype(int)
    spikes = np.zeros(tsys.shape, dtype=bool)
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        d = tsys[..., lo : hi - 1] - tsys[..., lo + 1 : hi]
        sigma = nan_std(d, axis=-1, keepdims=True)  # NaN for a dead feed: no spikes there
        with np.errstate(invalid="ignore"):
            spikes[..., lo : hi - 1] |= d > 4 * sigma
    # lmtslr keeps non-positive channels; they are unphysical, so we patch them too.
    with np.errstate(invalid="ignore"):
        tsys = np.where(spikes | np.isnan(tsys) | (tsys <= 0), fill, tsys)
    return tsys.astype(np.float32), scalar


def contiguous_runs(mask: NDArray[np.bool_]) -> NDArray[np.int_]:
    """(first, last) index pairs of the runs of True in a 1-D mask, shape (nrun, 2)."""
    m = np.concatenate(([False], np.asarray(mask, bool), [False]))
    d = np.diff(m.astype(np.int8))
    starts = np.flatnonzero(d == 1)
    ends = np.flatnonzero(d == -1) - 1
    return np.stack([starts, ends], axis=1)


def is_on(bufpos: NDArray) -> NDArray[np.bool_]:
    """ON dumps: BufPos 0 or a map grid point (>= 100)."""
    b = np.asarray(bufpos)
    return (b == BufPos.ON) | (b >= 100)


@dataclass(frozen=True)
class RefPairing:
    """For each ON block, the REF blocks before and after it (indices into ref_runs)."""

    on_runs: NDArray[np.int_]
    ref_runs: NDArray[np.int_]
    before: NDArray[np.int_]
    after: NDArray[np.int_]


def pair_refs(bufpos: NDArray) -> RefPairing:
    """lmtslr's stype 2 pairing: REF block whose last dump is nearest before the ON block,
    and the REF block whose first dump is nearest after it (first on ties)."""
    on_runs = contiguous_runs(is_on(bufpos))
    ref_runs = contiguous_runs(np.asarray(bufpos) == BufPos.REF)
    if ref_runs.size == 0:
        empty = np.zeros(len(on_runs), dtype=int)
        return RefPairing(on_runs, ref_runs, empty - 1, empty - 1)
    before = np.argmin(np.abs(ref_runs[None, :, 1] - (on_runs[:, None, 0] - 1)), axis=1)
    after = np.argmin(np.abs(ref_runs[None, :, 0] - (on_runs[:, None, 1] + 1)), axis=1)
    return RefPairing(on_runs, ref_runs, before, after)


def calibrate_on(
    on: NDArray, ref: NDArray, tsys: NDArray, out: NDArray[np.float32] | None = None
) -> NDArray[np.float32]:
    """Ta* = Tsys (ON - REF)/REF, broadcasting ON (ndump, ..., nchan) against REF and Tsys.

    ``Tsys/REF`` is formed once (it is per beam and channel); ``out`` (may be ``on``) saves
    the allocation of the result.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        gain = (np.asarray(tsys, dtype=np.float64) / ref).astype(np.float32)
        out = np.subtract(on, np.asarray(ref, dtype=np.float32), out=out, dtype=np.float32)
        out *= gain
    return out
