"""QA numbers of one product (LMTOY's rc results, ``QAC_STATS``, bad beams and birdies).

Everything returned is JSON-ready (plain floats, ints, lists and dicts).
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from ..baseline import window_mask
from ..grid_selection import for_obsnum
from .stats import (
    high_outliers,
    nan_median,
    neighbour_median,
    qac_line,
    qac_stats,
    robust_sigma,
    running_median,
)

if TYPE_CHECKING:  # the cube's numbers import lmtflow.qa.maps (scipy, the gridder) when called:
    # a job that only merges numbers (lmtflow.qa.combination) does without them
    from .beams import BeamSummary
    from .maps import CubeData

BAD_BEAM_SIGMA = 5.0
BIRDIE_SIGMA = 6.0  # the MAD-based scores have heavier tails than a Gaussian
MIN_BIRDIE_ROWS = 16
SPIKE_WIDTH = 5  # birdies up to 2 channels wide
SPIKE_CLIP = 5.0  # robust sigmas: samples beyond are clipped before a channel's time mean
BIRDIE_WIDTH = 9


def _num(value: Any) -> float | None:
    """A finite float, or None (JSON null) for NaN and infinities."""
    value = float(value)
    return value if np.isfinite(value) else None


def bad_beams(rms: NDArray, beams: NDArray, nsigma: float = BAD_BEAM_SIGMA) -> list[int]:
    """Beams with a feed whose median RMS (``rms`` is ``(ntime, nfeed)``) exceeds the feeds'
    median by ``nsigma`` robust sigmas, or that has no finite positive RMS at all (LMTOY's
    ``pix_list`` suggestion)."""
    with np.errstate(invalid="ignore"):
        rms = np.where(np.isfinite(rms) & (rms > 0), rms, np.nan)
    per_feed = nan_median(rms, axis=0)  # NaN for a feed with no RMS
    return sorted({int(b) for b in np.asarray(beams)[high_outliers(per_feed, nsigma)]})


def _zscore(values: NDArray) -> NDArray:
    """How far each channel stands above the median of its neighbours (itself left out), in
    robust sigmas of the whole row (per feed)."""
    excess = values - neighbour_median(values, BIRDIE_WIDTH)
    return excess / np.asarray(robust_sigma(excess, axis=-1))[..., None]


def birdie_scores(waterfall: NDArray, line_free: NDArray | None = None) -> NDArray:
    """Per feed and channel ``(nfeed, nchan)``: the larger of two robust z-scores of the
    waterfall ``(ntime, nfeed, nchan)`` minus its running median over ``SPIKE_WIDTH``
    channels (a broad line cancels, neighbours of a spike stay clean): its mean over time with
    samples beyond ``SPIKE_CLIP`` robust sigmas clipped (steady birdies; a spike in a few dumps
    does not make one) and its scatter over time (birdies that come and go).

    The scatter score is used only in ``line_free`` channels (the baseline windows) when given:
    inside the line window the sky itself changes as the beams scan across sources."""
    w = np.asarray(waterfall, dtype=float)
    hp = w - running_median(w, SPIKE_WIDTH)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # edge channels and dead feeds
        # spikes (a dump or two far off) clipped first: they would move a channel's mean
        sigma = np.asarray(robust_sigma(hp, axis=(0, 2)))[None, :, None]
        clipped = np.clip(hp, -SPIKE_CLIP * sigma, SPIKE_CLIP * sigma)
        steady = _zscore(np.nanmean(clipped, axis=0))  # positive spikes only
        varying = _zscore(np.asarray(robust_sigma(hp, axis=0)))
    if line_free is not None:
        varying = np.where(np.asarray(line_free, bool)[None, :], varying, np.nan)
    scores = np.fmax(steady, varying)
    edge = SPIKE_WIDTH // 2  # the running median is one-sided there
    scores[:, :edge] = scores[:, scores.shape[1] - edge :] = np.nan
    return scores


def find_birdies(
    waterfall: NDArray,
    channels: NDArray,
    beams: NDArray,
    nsigma: float = BIRDIE_SIGMA,
    line_free: NDArray | None = None,
) -> list[dict[str, Any]]:
    """Channels whose :func:`birdie_scores` exceed ``nsigma``: ``[{"channel", "beams"}]``.

    ``channels`` are the original channel numbers (what the ``birdies`` parameter takes).
    With fewer than ``MIN_BIRDIE_ROWS`` time rows nothing can be told and none are reported.
    """
    if waterfall.shape[0] < MIN_BIRDIE_ROWS:
        return []
    hit = np.nan_to_num(birdie_scores(waterfall, line_free)) > nsigma
    out = []
    for c in np.flatnonzero(hit.any(axis=0)):
        out.append({"channel": int(channels[c]),
                    "beams": sorted({int(b) for b in beams[hit[:, c]]})})  # fmt: skip
    return out


def spectra_numbers(summary: BeamSummary) -> dict[str, Any]:
    """How many spectra the gridder uses and rejects, in total and per feed."""
    rms, used = summary.rms, summary.used
    pix = for_obsnum(summary.params.get("pix_list", summary.beams), summary.header.get("OBSNUM"))
    in_list = np.isin(summary.beams, list(pix))
    finite = np.isfinite(rms) & (rms > 0)
    per_feed = []
    for i, label in enumerate(summary.labels):
        f = finite[:, i]
        per_feed.append({
            "feed": label, "beam": int(summary.beams[i]), "used": int(used[:, i].sum()),
            "rejected": int((~used[:, i]).sum()),
            "rms_median_K": _num(np.median(rms[f, i])) if f.any() else None,
            "tsys_median_K": _num(nan_median(summary.tsys[:, i])),
        })  # fmt: skip
    return {
        "total": int(used.size),
        "used": int(used.sum()),
        "rejected": int((~used).sum()),
        "rejected_pix_list": int((~in_list).sum() * rms.shape[0]),
        "rejected_nonfinite": int((~finite[:, in_list]).sum()),
        "rejected_rms_cut": int((finite[:, in_list] & ~used[:, in_list]).sum()),
        "per_feed": per_feed,
    }


def observation_numbers(summary: BeamSummary) -> dict[str, Any]:
    """The header-table values of one ObsNum and bank."""
    h = summary.header
    return {
        "project": h.get("PROJID"),
        "source": h.get("SRCNAME"),
        "obsnum": h.get("OBSNUM"),
        "calobsnum": h.get("CALOBSN"),
        "date_obs": h.get("OBSSTART"),
        "receiver": h.get("INSTRUME"),
        "mode": h.get("OBSPGM"),
        "bank": h.get("BANK"),
        "restfreq_GHz": _num(h.get("RESTFRQ", np.nan)) and h["RESTFRQ"] / 1e9,
        "skyfreq_GHz": _num(h.get("SKYFREQ", np.nan)) and h["SKYFREQ"] / 1e9,
        "vlsr_kms": _num(h.get("VSOURCE", np.nan)),
        "channel_kms": _num(abs(h.get("DVDC", np.nan))),
        "inttime_s": _num(h.get("INTTIME", np.nan)),
        "tsys_K": _num(np.nanmedian(summary.tsys)) if np.isfinite(summary.tsys).any() else None,
        "nfeed": len(summary.beams),
    }


def _line_free(summary: BeamSummary) -> NDArray | None:
    """The baseline-window channels of the summary's velocity axis (None if unknown)."""
    regions = summary.params.get("b_regions")
    return window_mask(summary.velocity, regions) if regions else None


def missing_beams(header: Any) -> list[dict[str, Any]]:
    """Beams of the bank that have no spectra in the products, and why (header keywords
    ``NOFILEBM`` from ingest, ``BADTSYBM`` from calibrate)."""
    reasons = {"NOFILEBM": "no roach file",
               "BADTSYBM": f"Tsys of Cal {header.get('CALOBSN', '?')} missing, zero, negative "
                           "or NaN"}  # fmt: skip
    out = []
    for key, reason in reasons.items():
        text = str(header.get(key, "")).strip()
        if text:
            out.append({"beams": [int(b) for b in text.split(",")], "reason": reason})
    return out


def beam_numbers(summary: BeamSummary) -> dict[str, Any]:
    """QA numbers from the spectra: observation, spectra used/rejected, missing and bad beams,
    birdies."""
    return {
        "observation": observation_numbers(summary),
        "spectra": spectra_numbers(summary),
        "missing_beams": missing_beams(summary.header),
        "bad_beams": bad_beams(summary.rms, summary.beams),
        "birdies": find_birdies(
            summary.waterfall, summary.channels, summary.beams, line_free=_line_free(summary)
        ),  # fmt: skip
    }


def central_box(shape: tuple[int, int]) -> tuple[slice, slice]:
    """The middle half of each axis of a plane (LMTOY's "central 50%")."""
    ny, nx = shape
    return slice(ny // 4, ny - ny // 4), slice(nx // 4, nx - nx // 4)


def _plane_max(plane: NDArray, cells: NDArray) -> tuple[float | None, tuple[int, int] | None]:
    """Largest finite value of ``plane`` over ``cells`` and its (row, column)."""
    values = np.where(cells & np.isfinite(plane), plane, -np.inf)
    if not np.isfinite(values).any():
        return None, None
    j, i = np.unravel_index(np.argmax(values), values.shape)
    return float(values[j, i]), (int(j), int(i))


def _median(plane: NDArray, cells: NDArray) -> float | None:
    values = plane[cells & np.isfinite(plane)]
    return _num(np.median(values)) if values.size else None


def cube_numbers(
    data: CubeData, planes: dict[str, NDArray], b_regions: Any, label: str
) -> dict[str, Any]:
    """Noise statistics of the cube (baseline-window channels), rms and radiometer noise,
    peak and its position: measured over the interior cells (weight >= INTERIOR_WEIGHT_FRACTION
    x the median weight), the edge cells reported separately; the noise S/N (value / expected
    noise of the cell) of the interior, whose rms is 1 for radiometric noise."""
    from .maps import INTERIOR_WEIGHT_FRACTION, channel_masks, interior_mask, noise_snr

    window, _ = channel_masks(data.velocity, b_regions)
    noise = data.cube[window]
    interior, edge = interior_mask(data.weight)
    box = np.zeros(interior.shape, bool)
    box[central_box(interior.shape)] = True
    centre_cells = box & interior
    full = qac_stats(noise)
    centre = qac_stats(noise[:, box])
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = planes["rms"] / planes["radiometer"]
    ratio_stats = qac_stats(ratio[centre_cells])
    snr = qac_stats(noise_snr(data, planes, b_regions))
    peak, at = _plane_max(planes["peak"], interior)
    peak_edge, _ = _plane_max(planes["peak"], edge)
    out: dict[str, Any] = {
        "interior_weight_fraction": INTERIOR_WEIGHT_FRACTION,
        "ncells_interior": int(interior.sum()),
        "ncells_edge": int(edge.sum()),
        "rms_center_mK": _median(1e3 * planes["rms"], centre_cells),
        "rms_center_pixel_mK": _num(1e3 * planes["rms"][data.center_pixel]),
        "radiometer_center_mK": _median(1e3 * planes["radiometer"], centre_cells),
        "rms_radiometer_ratio": _median(ratio, centre_cells),
        "rms_interior_mK": _median(1e3 * planes["rms"], interior),
        "rms_edge_mK": _median(1e3 * planes["rms"], edge),
        "noise_snr_rms": snr["rms"],
        "peak_K": peak,
        "peak_edge_K": peak_edge,
        "mom0_max_Kkms": _plane_max(planes["mom0"], interior)[0],
        "nspec_gridded": int(data.header.get("NSPEC", 0)),
        "qac_stats": {
            "cube": full,
            "center": centre,
            "rms_radiometer": ratio_stats,
            "noise_snr": snr,
        },
        "qac_lines": [
            qac_line(f"{label} cube", full),
            qac_line(f"{label} center", centre),
            qac_line(f"{label} rms/radiometer", ratio_stats),
        ],  # fmt: skip
    }
    if at is not None:
        out["peak_offset_arcsec"] = [float(data.geometry.x_offsets()[at[1]]),
                                     float(data.geometry.y_offsets()[at[0]])]  # fmt: skip
    return json_clean(out)


def json_clean(value: Any) -> Any:
    """``value`` with NaN and infinities replaced by None, recursively."""
    if isinstance(value, dict):
        return {k: json_clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_clean(v) for v in value]
    if isinstance(value, float | np.floating):
        return _num(value)
    if isinstance(value, np.integer):
        return int(value)
    return value
