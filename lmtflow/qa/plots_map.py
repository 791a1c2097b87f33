"""QA plots of a gridded map: weight, moments, peak, rms, radiometer, noise histogram, spectrum."""

from __future__ import annotations

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Circle, Rectangle

from .maps import INTERIOR_WEIGHT_FRACTION, MapQA, channel_masks, noise_snr
from .numbers import central_box
from .plotting import figure, offset_axes, robust_limits
from .stats import nan_median, sratio

FRAMES = {"GLON": "GALACTIC"}


def _title(q: MapQA, what: str) -> str:
    h = q.data.header
    obsnums = str(h.get("OBSNUMS", ""))
    which = "ObsNums" if "," in obsnums else "ObsNum"
    return f"{what}: {h.get('OBJECT', '')}  {which} {obsnums}  {q.label}"


def _frame(q: MapQA) -> str:
    return FRAMES.get(str(q.data.header["CTYPE1"])[:4], "RADEC")


def _image(fig: Figure, ax: Axes, q: MapQA, plane: np.ndarray, unit: str, cmap: str = "viridis",
           limits: tuple[float, float] | None = None) -> None:  # fmt: skip
    """A plane in offset coordinates with a colour bar and the beam in the lower-left corner."""
    lo, hi = limits or robust_limits(plane, 0.5, 99.8)
    im = ax.imshow(plane, origin="lower", extent=q.data.extent, cmap=cmap, vmin=lo, vmax=hi,
                   interpolation="nearest")  # fmt: skip
    fig.colorbar(im, ax=ax, label=unit, shrink=0.85)
    offset_axes(ax, _frame(q))
    bmaj = float(q.data.header.get("BMAJ", 0.0)) * 3600.0
    if bmaj > 0:
        x0, x1, y0, _ = q.data.extent
        cx, cy = x0 - np.sign(x0 - x1) * 0.8 * bmaj, y0 + 0.8 * bmaj
        ax.add_patch(Circle((cx, cy), bmaj / 2, fill=False, color="white", lw=1.2))
        ax.annotate("beam", (cx, cy + 0.6 * bmaj), color="white", ha="center", fontsize="x-small")


def _plane_figure(q: MapQA, name: str, what: str, unit: str, cmap: str = "viridis") -> Figure:
    fig = figure(7.5, 6.5)
    ax = fig.add_subplot()
    _image(fig, ax, q, q.planes[name], unit, cmap)
    ax.set_title(_title(q, what))
    return fig


def weight(q: MapQA) -> Figure:
    """Weight (coverage) map and the histogram of its filled cells."""
    fig = figure(12.0, 5.5)
    ax, hx = fig.subplots(1, 2, width_ratios=[1.3, 1])
    w = np.where(q.data.weight > 0, q.data.weight, np.nan)
    _image(fig, ax, q, w, "weight (K$^{-2}$)")
    ax.set_title("weight map")
    filled = w[np.isfinite(w)]
    hx.hist(filled, bins=40, color="C0")
    if filled.size:
        cut = INTERIOR_WEIGHT_FRACTION * float(np.median(filled))
        hx.axvline(cut, color="red", lw=1.0,
                   label=f"interior: ≥ {INTERIOR_WEIGHT_FRACTION:g} × median")  # fmt: skip
        hx.legend(loc="upper left", fontsize="small")
    hx.set_xlabel("weight (K$^{-2}$)")
    hx.set_ylabel("number of cells")
    hx.set_title("histogram of filled cells")
    fig.suptitle(_title(q, "Coverage"))
    return fig


def mom0(q: MapQA) -> Figure:
    """Integrated intensity over the line window."""
    return _plane_figure(q, "mom0", "Moment 0", "∫Ta* dv (K km/s)", "magma")


def mom1(q: MapQA) -> Figure:
    """Intensity-weighted velocity where the line is detected (S/N rule in lmtflow.qa.maps)."""
    return _plane_figure(q, "mom1", "Moment 1", "velocity (km/s)", "RdBu_r")


def mom2(q: MapQA) -> Figure:
    """Intensity-weighted velocity dispersion where the line is detected."""
    return _plane_figure(q, "mom2", "Moment 2", "dispersion (km/s)", "viridis")


def peak(q: MapQA) -> Figure:
    """Peak Ta* over the line window."""
    return _plane_figure(q, "peak", "Peak temperature", "peak Ta* (K)", "magma")


def rms(q: MapQA) -> Figure:
    """RMS over the baseline-window channels of each cell, central value in the title."""
    fig = _plane_figure(q, "rms", "RMS", "rms Ta* (K)")
    box = central_box(q.planes["rms"].shape)
    centre = 1e3 * nan_median(q.planes["rms"][box])
    fig.axes[0].set_title(_title(q, f"RMS (centre {centre:.0f} mK)"))
    return fig


def radiometer(q: MapQA) -> Figure:
    """Radiometer-equation noise and the ratio of the measured rms to it."""
    fig = figure(12.5, 5.5)
    a, b = fig.subplots(1, 2)
    _image(fig, a, q, q.planes["radiometer"], "expected rms (K)")
    a.set_title("radiometer noise Tsys/√(Δν t)")
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = q.planes["rms"] / q.planes["radiometer"]
    lo, hi = robust_limits(ratio, 1, 99)
    _image(fig, b, q, ratio, "rms / radiometer", "coolwarm", (min(lo, 0.8), max(hi, 1.2)))
    box = central_box(ratio.shape)
    b.set_title(f"measured / expected (centre median {nan_median(ratio[box]):.2f})")
    fig.suptitle(_title(q, "RMS vs radiometer equation"))
    return fig


SNR_RANGE = 6.0  # the S/N histogram spans +/- this; values beyond are counted in the legend


def noise_histogram(q: MapQA) -> Figure:
    """Histogram (log) of the noise S/N of the interior: baseline-window voxels over the
    expected noise of their cell, against a unit Gaussian. Values beyond the range are counted
    in the legend, not piled into the end bins."""
    snr = noise_snr(q.data, q.planes, q.b_regions)
    fig = figure(8.0, 5.5)
    ax = fig.add_subplot()
    edges = np.linspace(-SNR_RANGE, SNR_RANGE, 121)
    inside = np.abs(snr) <= SNR_RANGE
    outside = int(snr.size - inside.sum())
    label = f"baseline-window voxels, weight ≥ {INTERIOR_WEIGHT_FRACTION:g} × median"
    counts, _, _ = ax.hist(snr[inside], bins=edges, color="C0", label=label)
    x = 0.5 * (edges[1:] + edges[:-1])
    gauss = snr.size * np.diff(edges) / np.sqrt(2 * np.pi) * np.exp(-0.5 * x**2)
    ax.plot(x, gauss, color="red", label="unit Gaussian (radiometer equation)")
    if outside:
        ax.plot([], [], " ", label=f"{outside} voxels beyond ±{SNR_RANGE:g} (not shown)")
    ax.set_yscale("log")
    ax.set_ylim(0.5, max(counts.max() if counts.size else 1, 1) * 2)
    ax.set_xlabel("S/N = Ta* / expected noise of the cell")
    ax.set_ylabel("number of voxels")
    rms = float(np.std(snr)) if snr.size else float("nan")
    ax.set_title(_title(q, f"Noise S/N (rms {rms:.2f}, Sratio {sratio(snr):+.3f})"))
    ax.legend(loc="upper right", fontsize="small")
    return fig


def center_spectrum(q: MapQA) -> Figure:
    """Spectrum of the centre cell, native and 4-channel smoothed, baseline windows as ±1σ boxes."""
    row, col = q.data.center_pixel
    spec = q.data.cube[:, row, col]
    v = q.data.velocity
    window, _ = channel_masks(v, q.b_regions)
    sigma = float(np.nanstd(spec[window])) if window.any() else 0.0
    fig = figure(10.0, 5.0)
    ax = fig.add_subplot()
    for lo, hi in q.b_regions:
        ax.add_patch(Rectangle((min(lo, hi), -sigma), abs(hi - lo), 2 * sigma, color="0.85",
                               zorder=0))  # fmt: skip
    ax.plot(v, spec, lw=0.6, color="C0", label="native")
    smooth = np.convolve(np.nan_to_num(spec), np.ones(4) / 4, mode="same")
    ax.plot(v, smooth, lw=1.0, color="C1", label="4-channel smoothed")
    ax.axhline(0.0, color="0.4", lw=0.5)
    ax.set_xlabel("radio velocity (km/s)")
    ax.set_ylabel("Ta* (K)")
    ax.set_title(_title(q, f"Centre spectrum (grey: baseline windows ±1σ = {1e3 * sigma:.0f} mK)"))
    ax.legend(loc="upper right", fontsize="small")
    return fig


MAX_POINTS = 20000  # per member on the coverage plot


def members_coverage(q: MapQA) -> Figure:
    """Positions of the spectra each member ObsNum contributes (grey: rejected), map outline."""
    if q.inputs is None:
        raise ValueError("the coverage plot needs the gridded inputs (MapQA.inputs)")
    fig = figure(7.5, 7.0)
    ax = fig.add_subplot()
    t = q.inputs
    for k, obsnum in enumerate(np.unique(t.obsnum)):
        mine = t.obsnum == obsnum
        used, rejected = np.flatnonzero(mine & t.keep), np.flatnonzero(mine & ~t.keep)
        step = max(1, used.size // MAX_POINTS)
        ax.plot(t.x[used[::step]], t.y[used[::step]], ".", ms=1.5, alpha=0.4, color=f"C{k % 10}",
                label=f"ObsNum {obsnum}: {used.size} spectra used", rasterized=True)  # fmt: skip
        if rejected.size:
            r = rejected[:: max(1, rejected.size // MAX_POINTS)]
            ax.plot(t.x[r], t.y[r], "x", ms=2, color="0.5", alpha=0.5, rasterized=True)
    x0, x1, y0, y1 = q.data.extent
    ax.add_patch(Rectangle((min(x0, x1), y0), abs(x1 - x0), y1 - y0, fill=False, color="k",
                           lw=1.0, label="map"))  # fmt: skip
    offset_axes(ax, _frame(q))
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.09), ncol=3, fontsize="small",
              markerscale=6)  # fmt: skip
    ax.set_title(_title(q, "Coverage of the members (grey x: rejected)"))
    return fig
