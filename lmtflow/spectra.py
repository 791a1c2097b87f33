"""Averaging baselined spectra into one Ps or Bs spectrum (whole arrays, weights 1/RMS^2).

Ps: every selected beam and polarisation is averaged over its dumps, then the beams are
averaged. Bs (reference §4.10): with beam ``a`` on source during ON and beam ``b`` during
REF, both calibrated as (ON - REF)/REF, the result is ``0.5 (S_a - S_b)``, a positive line.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray


def weighted_mean(
    spectra: NDArray, rms: NDArray, axis: int = 0
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """1/RMS^2-weighted mean along ``axis`` and its expected RMS (NaN rows get no weight)."""
    w = np.where(np.isfinite(rms) & (rms > 0), 1.0 / np.square(rms, dtype=np.float64), 0.0)
    wb = np.expand_dims(w, tuple(range(w.ndim, spectra.ndim)))
    finite = np.isfinite(spectra)
    num = np.sum(np.where(finite, spectra * wb, 0.0), axis=axis)
    den = np.sum(np.where(finite, wb, 0.0), axis=axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        return num / den, 1.0 / np.sqrt(np.sum(w, axis=axis))


def window_rms(spectrum: NDArray, window: NDArray[np.bool_]) -> float:
    """RMS about zero of a (baselined) spectrum over the baseline-window channels."""
    values = spectrum[..., window]
    return float(np.sqrt(np.nanmean(np.square(values))))


@dataclass(frozen=True)
class BeamSpectra:
    """Per-(beam, pol) spectra averaged over dumps, and per ON block."""

    beams: NDArray[np.int_]  # (nbp,)
    pols: NDArray[np.int_]
    spectra: NDArray[np.float64]  # (nbp, nchan)
    rms: NDArray[np.float64]  # (nbp,) expected from the dump RMS
    blocks: NDArray[np.float64]  # (nblock, nbp, nchan)
    block_rms: NDArray[np.float64]  # (nblock, nbp)


def on_blocks(intnum: NDArray[np.int_]) -> NDArray[np.int_]:
    """ON-block index of each dump, from gaps in the raw dump numbers."""
    return np.concatenate(([0], np.cumsum(np.diff(intnum) > 1)))


def beam_spectra(
    data: NDArray, rms: NDArray, beams: NDArray, pols: NDArray, block: NDArray, chosen: list[int]
) -> BeamSpectra:
    """Average rows (ndump * nbp, nchan) of the chosen beams over dumps and per block."""
    nbp = beams.size
    nchan = data.shape[-1]
    d = data.reshape(-1, nbp, nchan)
    r = rms.reshape(-1, nbp)
    keep = np.isin(beams, chosen)
    d, r = d[:, keep], r[:, keep]
    spectra, srms = weighted_mean(d, r)
    nblock = int(block.max()) + 1
    blocks = np.empty((nblock, keep.sum(), nchan))
    brms = np.empty((nblock, keep.sum()))
    for k in range(nblock):
        sel = block == k
        blocks[k], brms[k] = weighted_mean(d[sel], r[sel])
    return BeamSpectra(beams[keep], pols[keep], spectra, srms, blocks, brms)


def combine_beams(
    bs: BeamSpectra, obspgm: str, bs_beams: tuple[int, int] | None
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Final spectrum and final spectra per block (nblock, nchan) of a Ps or Bs ObsNum."""
    if obspgm != "Bs":
        final, _ = weighted_mean(bs.spectra, bs.rms)
        per_block = np.stack([weighted_mean(b, r)[0] for b, r in zip(bs.blocks, bs.block_rms,
                                                                     strict=True)])  # fmt: skip
        return final, per_block
    if bs_beams is None or not all(b in bs.beams for b in bs_beams):
        raise ValueError(f"Bs needs both beams {bs_beams} among the selected {bs.beams.tolist()}")
    on, off = (bs.beams == bs_beams[0]), (bs.beams == bs_beams[1])

    def difference(spectra: NDArray, rms: NDArray) -> NDArray:
        a, _ = weighted_mean(spectra[on], rms[on])
        b, _ = weighted_mean(spectra[off], rms[off])
        return 0.5 * (a - b)

    per_block = np.stack([difference(b, r) for b, r in zip(bs.blocks, bs.block_rms, strict=True)])
    return difference(bs.spectra, bs.rms), per_block
