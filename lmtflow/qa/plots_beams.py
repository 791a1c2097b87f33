"""Per-beam QA plots drawn from a :class:`~lmtflow.qa.beams.BeamSummary` (any spectral mode)."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from .beams import BeamSummary, sky_frequency_ghz
from .numbers import BIRDIE_SIGMA, birdie_scores
from .plotting import figure, label_panel, offset_axes, panel_grid, robust_limits
from .stats import nan_median


def _title(s: BeamSummary, what: str) -> str:
    h = s.header
    return f"{what}: {h.get('SRCNAME', '')}  ObsNum {h.get('OBSNUM')}  bank {h.get('BANK', 0)}"


def coverage(s: BeamSummary) -> Figure:
    """Sky coverage: every beam's track, first integration in red, beam numbers."""
    fig = figure(7.5, 7.0)
    ax = fig.add_subplot()
    colors = [f"C{i % 10}" for i in range(len(s.beams))]
    for i, label in enumerate(s.labels):
        ax.plot(s.x[:, i], s.y[:, i], ".", ms=1.5, color=colors[i], alpha=0.5)
        ax.annotate(label.removeprefix("beam "), (s.x[0, i], s.y[0, i]), fontsize="small",
                    xytext=(3, 3), textcoords="offset points")  # fmt: skip
    ax.plot(s.x[0], s.y[0], "o", color="red", ms=5, label="first integration")
    ax.legend(loc="upper right", fontsize="small")
    offset_axes(ax)
    ax.set_title(_title(s, "Sky coverage of all beams"))
    return fig


def tsys(s: BeamSummary) -> Figure:
    """Tsys spectrum of every beam (from the Cal ObsNum), median value in each panel."""
    if s.tsys_spectra is None:
        raise ValueError("tsys plot needs the Tsys spectra (attach_tsys)")
    nchan = s.tsys_spectra.shape[1]
    full_band = nchan == int(s.header.get("NCHAN0", -1))
    freq = sky_frequency_ghz(s) if full_band else np.arange(nchan)
    title = _title(s, f"Tsys per beam (Cal {s.header.get('CALOBSN')})")
    xlabel = "sky frequency (GHz)" if full_band else "channel"
    fig, axes = panel_grid(len(s.beams), title, xlabel, "Tsys (K)")
    lo, hi = robust_limits(s.tsys_spectra, 2, 98)
    for ax, spec, label, tsys_row in zip(axes, s.tsys_spectra, s.labels, s.tsys.T, strict=True):
        ax.plot(freq, spec, lw=0.6)
        label_panel(ax, f"{label}: {nan_median(tsys_row):.0f} K")
    axes[0].set_ylim(max(0.0, lo - 0.2 * (hi - lo)), hi + 0.3 * (hi - lo))
    return fig


def waterfall(s: BeamSummary) -> Figure:
    """Time-binned spectra of every beam (velocity x ON dump), one colour scale."""
    fig, axes = panel_grid(len(s.beams), _title(s, "Waterfall per beam"), "velocity (km/s)",
                           "ON dump number")  # fmt: skip
    lo, hi = robust_limits(s.waterfall, 1, 99.5)
    t = s.waterfall_dump
    for i, (ax, label) in enumerate(zip(axes, s.labels, strict=True)):
        im = ax.pcolormesh(s.velocity, t, s.waterfall[:, i], vmin=lo, vmax=hi, cmap="viridis",
                           shading="nearest", rasterized=True)  # fmt: skip
        label_panel(ax, label)
    fig.colorbar(im, ax=axes, label="Ta* (K)", shrink=0.6)
    return fig


def rms_time(s: BeamSummary) -> Figure:
    """RMS of every spectrum's baseline residuals vs time; spectra the gridder rejects in red."""
    fig, axes = panel_grid(len(s.beams), _title(s, "Baseline RMS vs time per beam"),
                           "time since start (s)", "RMS (K)")  # fmt: skip
    for i, (ax, label) in enumerate(zip(axes, s.labels, strict=True)):
        used = s.used[:, i]
        ax.plot(s.time_s[used], s.rms[used, i], ".", ms=1.5, color="C0")
        ax.plot(s.time_s[~used], s.rms[~used, i], ".", ms=3, color="red")
        label_panel(ax, f"{label}: {nan_median(s.rms[:, i]):.2f} K, {(~used).sum()} rejected")
    lo, hi = robust_limits(s.rms, 0.5, 99.5)
    axes[0].set_ylim(max(0.0, lo - 0.1 * (hi - lo)), hi + 0.4 * (hi - lo))
    return fig


def mean_spectra(s: BeamSummary) -> Figure:
    """Mean baselined spectrum of every beam with the baseline windows shaded."""
    fig, axes = panel_grid(len(s.beams), _title(s, "Mean spectrum per beam"), "velocity (km/s)",
                           "Ta* (K)")  # fmt: skip
    regions = s.params.get("b_regions") or []
    for ax, spec, label in zip(axes, s.mean_spectrum, s.labels, strict=True):
        for lo, hi in regions:
            ax.axvspan(lo, hi, color="0.9", zorder=0)
        ax.plot(s.velocity, spec, lw=0.6)
        ax.axhline(0.0, color="0.5", lw=0.5)
        label_panel(ax, label)
    return fig


def birdies(s: BeamSummary) -> Figure:
    """Birdie score per channel (largest over beams) with the detection threshold."""
    scores = birdie_scores(s.waterfall)
    fig = figure(9.0, 4.5)
    ax = fig.add_subplot()
    best = np.nanmax(np.nan_to_num(scores, nan=-np.inf), axis=0)
    ax.plot(s.channels, best, lw=0.7, label="largest over beams")
    ax.plot(s.channels, nan_median(scores, axis=0), lw=0.7, color="0.5", label="median")
    ax.axhline(BIRDIE_SIGMA, color="red", ls="--", lw=0.8, label=f"threshold {BIRDIE_SIGMA:g}σ")
    for c in s.channels[best > BIRDIE_SIGMA]:
        ax.annotate(str(c), (c, best[c - s.channels[0]]), color="red", fontsize="small")
    ax.set_xlabel("spectrometer channel")
    ax.set_ylabel("birdie score (robust σ)")
    ax.set_title(_title(s, "Narrow spikes per channel (birdies)"))
    ax.legend(loc="upper right", fontsize="small")
    return fig
