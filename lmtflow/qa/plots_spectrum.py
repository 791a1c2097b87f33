"""QA plots of a Ps/Bs spectrum or a spectrum combination (:class:`SpectrumQA`)."""

from __future__ import annotations

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from .plotting import figure, label_panel, panel_grid, robust_limits
from .spectrum import SpectrumQA

VLABEL = "radio velocity (km/s)"
TLABEL = "Ta* (K)"


def _windows(ax: Axes, qa: SpectrumQA) -> None:
    """Shade the line windows (outside the baseline windows)."""
    for lo, hi in qa.lines:
        ax.axvspan(lo, hi, color="orange", alpha=0.15, lw=0)


def final(qa: SpectrumQA) -> Figure:
    """The final spectrum over the whole band, line windows shaded, rms noted."""
    fig = figure(9.0, 4.5)
    ax = fig.add_subplot()
    _windows(ax, qa)
    ax.step(qa.velocity, qa.final, where="mid", lw=0.7, color="k")
    ax.axhline(0, color="grey", lw=0.5)
    ax.set_xlabel(VLABEL)
    ax.set_ylabel(TLABEL)
    rms = qa.header.get("RMS")
    note = f"  rms {1e3 * rms:.1f} mK" if rms is not None else ""
    ax.set_title(f"Final spectrum: {qa.title}{note}")
    return fig


def zoom_range(qa: SpectrumQA) -> tuple[float, float]:
    """±3 line widths (FWHM about the strongest feature in the line windows) around it."""
    line = ~qa.window if (~qa.window).any() else np.ones(qa.final.size, bool)
    spec = np.where(line & np.isfinite(qa.final), qa.final, -np.inf)
    k = int(np.argmax(spec))
    above = spec > 0.5 * spec[k]
    lo, hi = k, k
    while lo > 0 and above[lo - 1]:
        lo -= 1
    while hi < spec.size - 1 and above[hi + 1]:
        hi += 1
    dv = abs(float(qa.velocity[1] - qa.velocity[0]))
    width = max((hi - lo + 1) * dv, 10 * dv)
    return float(qa.velocity[k]) - 3 * width, float(qa.velocity[k]) + 3 * width


def zoom(qa: SpectrumQA) -> Figure:
    """The final spectrum around the line, each part (beam or ObsNum) underneath."""
    lo, hi = zoom_range(qa)
    sel = (qa.velocity >= lo) & (qa.velocity <= hi)
    fig = figure(8.0, 5.0)
    ax = fig.add_subplot()
    _windows(ax, qa)
    for i, (key, spec) in enumerate(qa.parts.items()):
        ax.step(qa.velocity[sel], spec[sel], where="mid", lw=0.6, alpha=0.6, color=f"C{i}",
                label=key)  # fmt: skip
    ax.step(qa.velocity[sel], qa.final[sel], where="mid", lw=1.2, color="k", label="final")
    ax.axhline(0, color="grey", lw=0.5)
    ax.legend(fontsize="small", loc="upper right")
    ax.set_xlim(lo, hi)
    ax.set_xlabel(VLABEL)
    ax.set_ylabel(TLABEL)
    ax.set_title(f"Line zoom: {qa.title}")
    return fig


def parts(qa: SpectrumQA) -> Figure:
    """One panel per beam and polarisation (or member ObsNum), rms in each panel."""
    fig, axes = panel_grid(len(qa.parts), f"Spectra used\n{qa.title}", VLABEL, TLABEL)
    lo, hi = robust_limits(np.stack(list(qa.parts.values())), 0.5, 99.9)
    for ax, (key, spec) in zip(axes, qa.parts.items(), strict=True):
        _windows(ax, qa)
        ax.step(qa.velocity, spec, where="mid", lw=0.5)
        label_panel(ax, f"{key}: rms {1e3 * qa.part_rms[key]:.1f} mK")
    axes[0].set_ylim(lo - 0.2 * (hi - lo), hi + 0.2 * (hi - lo))
    return fig


def blocks(qa: SpectrumQA) -> Figure:
    """The final spectrum of every ON block, offset vertically, block numbers labelled."""
    fig = figure(8.0, 2.0 + 0.6 * max(1, len(qa.blocks)))
    ax = fig.add_subplot()
    lo, hi = robust_limits(qa.blocks, 0.5, 99.5)
    step = max(hi - lo, 1e-3)
    for k, spec in enumerate(qa.blocks):
        ax.step(qa.velocity, spec + k * step, where="mid", lw=0.5, color=f"C{k % 10}")
        ax.text(qa.velocity[0], k * step, f"block {k}", fontsize="small", va="bottom")
    ax.set_xlabel(VLABEL)
    ax.set_ylabel(f"{TLABEL} + block x {step:.2f} K")
    ax.set_title(f"Spectrum per ON block: {qa.title}")
    return fig


def tsys(qa: SpectrumQA) -> Figure:
    """Tsys spectrum (Cal ObsNum) of every beam used, with its mean value."""
    spectra = qa.tsys_spectra or {}
    if not spectra:
        raise ValueError("tsys plot needs the Tsys spectra (attach_cal_tsys)")
    fig, axes = panel_grid(len(spectra), f"Tsys of the beams used\n{qa.title}", "channel",
                           "Tsys (K)")  # fmt: skip
    for ax, (key, spec) in zip(axes, spectra.items(), strict=True):
        ax.plot(np.arange(spec.size), spec, lw=0.6)
        label_panel(ax, f"{key}: {qa.part_tsys[key]:.0f} K")
    lo, hi = robust_limits(np.stack(list(spectra.values())), 2, 98)
    axes[0].set_ylim(max(0.0, lo - 0.2 * (hi - lo)), hi + 0.3 * (hi - lo))
    return fig
