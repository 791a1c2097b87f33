"""QA plots of an RSR ObsNum or combination (:class:`lmtflow.qa.rsr_load.RsrQA`).

Spectra are drawn in mK against sky frequency (GHz, topocentric); boards are named by their
index (0-5, as in the badlags and blanking files) and drawn in frequency order.
"""

from __future__ import annotations

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ..rsr.constants import FREQ_ORDER, NBOARD, NCHASSIS, USABLE
from ..rsr.reduce import average_files
from .plotting import figure, robust_limits
from .rsr import radiometer, spectrum_numbers, usage
from .rsr_load import RsrQA

FLABEL = "sky frequency (GHz)"
TLABEL = "Ta* (mK)"
BLANK_COLOUR = "0.75"


def _xlines(ax: Axes, qa: RsrQA) -> None:
    """Shade the xlines windows (kept out of the baseline fits: where the lines are)."""
    for f0, w in qa.xlines:
        ax.axvspan(f0 - w, f0 + w, color="orange", alpha=0.2, lw=0)


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(first, last) index of each run of True in a 1-D mask."""
    d = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1) - 1, strict=True))


def _blanked(ax: Axes, freq: np.ndarray, spec: np.ndarray) -> None:
    """Grey spans over the usable channels that hold no data (blanked)."""
    step = abs(freq[1] - freq[0]) / 2
    for i, j in _runs(USABLE & ~np.isfinite(spec)):
        lo, hi = sorted((freq[i], freq[j]))
        ax.axvspan(lo - step, hi + step, color=BLANK_COLOUR, alpha=0.6, lw=0)


def _grid(
    width: float, height: float, nrow: int, ncol: int, sharex: bool
) -> tuple[Figure, np.ndarray]:
    """A figure of nrow x ncol panels with a fixed layout (the constrained layout of many
    panels costs seconds)."""
    fig = Figure(figsize=(width, height))
    axes = fig.subplots(nrow, ncol, sharex=sharex, sharey=True, squeeze=False)
    top = 1 - 0.55 / height
    fig.subplots_adjust(left=0.85 / width, right=1 - 0.1 / width, bottom=0.55 / height, top=top,
                        wspace=0.12, hspace=0.45)  # fmt: skip
    return fig, axes


def _limits(values: np.ndarray, pad: float = 0.15) -> tuple[float, float]:
    lo, hi = robust_limits(values, 0.5, 99.8)
    return lo - pad * (hi - lo), hi + pad * (hi - lo)


def final(qa: RsrQA) -> Figure:
    """The merged 73-111 GHz spectrum, xlines windows shaded, board ranges along the top."""
    s = spectrum_numbers(qa, radiometer(qa, usage(qa))[1])
    fig = figure(10.0, 4.5)
    ax = fig.add_subplot()
    _xlines(ax, qa)
    ax.step(qa.grid, 1e3 * qa.spec, where="mid", lw=0.6, color="k")
    ax.axhline(0, color="grey", lw=0.5)
    lo, hi = _limits(1e3 * qa.spec)
    ax.set_ylim(lo, hi + 0.15 * (hi - lo))
    for k, b in enumerate(FREQ_ORDER):
        f = qa.freq[b, USABLE]
        y = 0.97 - 0.05 * (k % 2)
        ax.annotate("", (f.min(), y), (f.max(), y), xycoords=("data", "axes fraction"),
                    arrowprops={"arrowstyle": "<->", "color": f"C{b}", "lw": 0.8})  # fmt: skip
        ax.text(f.mean(), y, f"board {b}", transform=ax.get_xaxis_transform(), ha="center",
                va="bottom", fontsize="x-small", color=f"C{b}")  # fmt: skip
    ax.set_xlim(qa.grid[0], qa.grid[-1])
    ax.set_xlabel(FLABEL)
    ax.set_ylabel(TLABEL)
    ratio = s["rms_radiometer_ratio"]
    note = f"rms {s['rms_mK']:.3g} mK" + (f" ({ratio:.2f} x radiometer)" if ratio else "")
    time = sum(m.inttime_s for m in qa.members)
    ax.set_title(f"{qa.title}: final spectrum, {time:.0f} s, {note}")
    return fig


def bands(qa: RsrQA) -> Figure:
    """Each board's final average (all chassis, all ObsNums), one row per board, on a scale
    of its noise (lines clipped) so that baseline ripples and spikes show."""
    fig = figure(10.0, 10.0)
    axes = fig.subplots(NBOARD, 1)
    scale = 1e3 * np.nanmax(qa.bsig) if np.isfinite(qa.bsig).any() else 1.0
    for ax, b in zip(axes, FREQ_ORDER, strict=True):
        f, y = qa.freq[b], 1e3 * qa.board[b]
        _xlines(ax, qa)
        _blanked(ax, f, qa.board[b])
        ax.step(f[USABLE], y[USABLE], where="mid", lw=0.6, color=f"C{b}")
        ax.axhline(0, color="grey", lw=0.5)
        ax.set_xlim(f[USABLE].min(), f[USABLE].max())
        ax.set_ylim(-6 * scale, 10 * scale)
        box = {"facecolor": "white", "alpha": 0.8, "lw": 0}
        ax.text(0.005, 0.93, f"board {b}: rms {1e3 * qa.bsig[b]:.3g} mK", transform=ax.transAxes,
                va="top", fontsize="small", bbox=box)  # fmt: skip
    fig.suptitle(f"{qa.title}: average of each board, noise scale (lines clipped; orange: "
                 "xlines, grey: blanked)")  # fmt: skip
    fig.supxlabel(FLABEL)
    fig.supylabel(TLABEL)
    return fig


def _rows(qa: RsrQA) -> list[tuple[str, np.ndarray, np.ndarray, list[str]]]:
    """Rows of the per-board grid: (label, spectra (6, 256), rms (6,), note per board). A single
    ObsNum: its chassis (repeat averages); a combination: its ObsNums (chassis averages, cthr)."""
    use = usage(qa)
    out = []
    if len(qa.members) == 1:
        m = qa.members[0]
        for c in range(NCHASSIS):
            notes = []
            for b in range(NBOARD):
                if use.blanked[0][c, :, b].all():
                    notes.append(f"blanked: {m.reasons.get((c, b), '?')}")
                elif not use.file_used[c, b]:
                    notes.append("rejected: rms above cthr")
                else:
                    nrej = int(use.rthr[0][c, :, b].sum())
                    notes.append(f"repeats above rthr: {nrej}" if nrej else "")
            out.append((f"chassis {c}", qa.files[c], qa.fsig[c], notes))
        return out
    for k, m in enumerate(qa.members):
        sl = slice(NCHASSIS * k, NCHASSIS * (k + 1))
        spec, sig = average_files(qa.files[sl], qa.fsig[sl], qa.window, qa.cthr)
        notes = [f"{int(use.file_used[sl, b].sum())}/4 chassis used" for b in range(NBOARD)]
        out.append((f"ObsNum {m.obsnum}", spec, sig, notes))
    return out


def board_spectra(qa: RsrQA) -> Figure:
    """Spectrum of every chassis (ObsNum) or member (combination) and board, blanked grey."""
    rows = _rows(qa)
    fig, axes = _grid(2.6 * NBOARD, 1.7 * len(rows) + 1.2, len(rows), NBOARD, sharex=False)
    lo, hi = _limits(1e3 * np.stack([r[1][:, USABLE] for r in rows]))
    for i, (label, spec, rms, notes) in enumerate(rows):
        for j, b in enumerate(FREQ_ORDER):
            ax, f = axes[i, j], qa.freq[b]
            _xlines(ax, qa)
            _blanked(ax, f, spec[b])
            ax.step(f[USABLE], 1e3 * spec[b, USABLE], where="mid", lw=0.5, color=f"C{b}")
            ax.set_xlim(f[USABLE].min(), f[USABLE].max())
            ax.set_ylim(lo, hi)
            ax.set_title(f"{label}, board {b}", fontsize="small")
            if np.isfinite(rms[b]):
                ax.text(0.02, 0.95, f"rms {1e3 * rms[b]:.2f} mK", transform=ax.transAxes,
                        va="top", fontsize="x-small")  # fmt: skip
            if notes[b]:
                bad = notes[b].startswith(("blanked", "rejected"))
                colour = "darkred" if bad else "k"
                x, y, ha = (0.5, 0.5, "center") if bad else (0.98, 0.95, "right")
                ax.text(x, y, notes[b], transform=ax.transAxes, ha=ha, va="top",
                        fontsize="x-small", color=colour)  # fmt: skip
            ax.tick_params(labelsize="x-small")
    fig.suptitle(f"{qa.title}: spectrum of every board (grey: blanked, orange: xlines)")
    fig.supxlabel(FLABEL)
    fig.supylabel(TLABEL)
    return fig


def repeats(qa: RsrQA) -> Figure:
    """Baseline rms of every repeat (colour), per chassis and board; rthr rejections marked."""
    use = usage(qa)
    img = np.concatenate([m.rms.transpose(0, 2, 1).reshape(NCHASSIS * NBOARD, -1)
                          for m in qa.members], axis=1)  # fmt: skip
    rej = np.concatenate([u.transpose(0, 2, 1).reshape(NCHASSIS * NBOARD, -1)
                          for u in use.rthr], axis=1)  # fmt: skip
    fig = figure(10.0, 6.5)
    ax = fig.add_subplot()
    vals = 1e3 * img
    lo, hi = robust_limits(vals, 1, 99)
    im = ax.imshow(vals, aspect="auto", interpolation="nearest", origin="lower", cmap="viridis",
                   vmin=lo, vmax=hi)  # fmt: skip
    im.cmap.set_bad(BLANK_COLOUR)
    y, x = np.nonzero(rej)
    ax.plot(x, y, "x", color="red", ms=4, label=f"rms above rthr = {1e3 * qa.rthr:g} mK")
    edges = np.cumsum([m.nrep for m in qa.members])
    for e, m in zip(edges, qa.members, strict=True):
        ax.axvline(e - 0.5, color="w", lw=1.5)
        ax.text(e - m.nrep / 2, NCHASSIS * NBOARD - 0.4, f"ObsNum {m.obsnum}", ha="center",
                va="bottom", fontsize="small")  # fmt: skip
    for c in range(1, NCHASSIS):
        ax.axhline(c * NBOARD - 0.5, color="w", lw=1)
    ax.set_yticks(range(NCHASSIS * NBOARD),
                  [f"c{c} b{b}" for c in range(NCHASSIS) for b in range(NBOARD)],
                  fontsize="x-small")  # fmt: skip
    ax.set_xlabel("repeat (dump pair)" + (", ObsNums one after another" if len(qa.members) > 1
                                          else ""))  # fmt: skip
    ax.set_ylabel("chassis, board")
    fig.colorbar(im, ax=ax, label="baseline rms (mK)")
    if rej.any():
        ax.legend(loc="upper right", fontsize="small")
    ax.set_title(f"{qa.title}: rms of every repeat (grey: blanked); {int(rej.sum())} above rthr "
                 f"= {1e3 * qa.rthr:g} mK", pad=14)  # fmt: skip
    return fig


def waterfall(qa: RsrQA) -> Figure:
    """Every repeat of every chassis against frequency (the boards side by side), mK."""
    m = qa.members[0]
    fig = figure(10.0, 8.0)
    axes = fig.subplots(NCHASSIS, 1, sharex=True, squeeze=False)[:, 0]
    lo, hi = robust_limits(1e3 * m.ta[..., USABLE], 1, 99)
    lim = max(abs(lo), abs(hi))
    im = None
    for c, ax in enumerate(axes):
        for b in FREQ_ORDER:
            f = qa.freq[b, USABLE]
            data = 1e3 * m.ta[c, :, b][:, USABLE]
            if f[0] > f[-1]:
                f, data = f[::-1], data[:, ::-1]
            im = ax.imshow(data, aspect="auto", origin="lower", cmap="RdBu_r", vmin=-lim,
                           vmax=lim, interpolation="nearest",
                           extent=(f[0], f[-1], -0.5, m.nrep - 0.5))  # fmt: skip
            im.cmap.set_bad(BLANK_COLOUR)
        ax.set_ylabel(f"chassis {c}\nrepeat")
        ax.set_xlim(qa.freq[:, USABLE].min(), qa.freq[:, USABLE].max())
    axes[-1].set_xlabel(FLABEL)
    if im is not None:
        fig.colorbar(im, ax=list(axes), label=TLABEL, shrink=0.6)
    fig.suptitle(f"{qa.title}: waterfall of every chassis (grey: blanked)")
    return fig


def tsys(qa: RsrQA) -> Figure:
    """Tsys of every chassis and board from the Cal, without and with the bad lags."""
    if qa.raw is None:
        raise ValueError("the Tsys plot needs the raw files (lmtflow.qa.rsr_load.load_raw)")
    fig = figure(10.0, 7.0)
    axes = fig.subplots(2, 1, sharex=True, sharey=True)
    what_of = ("every lag (bad lags included)", "bad lags masked")
    for ax, data, what in zip(axes, (qa.raw.tsys0, qa.raw.tsys), what_of, strict=True):
        for c in range(NCHASSIS):
            for b in range(NBOARD):
                f, t = qa.freq[b, USABLE], data[c, b, USABLE]
                ax.plot(f, t, lw=0.7, color=f"C{c}", label=f"chassis {c}" if b == 0 else None)
        ax.set_title(f"Tsys {what} (Cal ObsNum {qa.members[0].calobsnum})", fontsize="medium")
        ax.set_ylabel("Tsys (K)")
        for k, b in enumerate(FREQ_ORDER):
            ax.text(
                qa.freq[b, USABLE].mean(),
                0.02 + 0.06 * (k % 2),
                f"board {b}",
                transform=ax.get_xaxis_transform(),
                ha="center",
                fontsize="x-small",
            )
    lo, hi = robust_limits(qa.raw.tsys[..., USABLE], 0.5, 99.5)
    axes[0].set_ylim(min(40.0, lo - 10), max(310.0, hi + 10) if hi > 300 else max(hi * 1.3, 200.0))
    axes[0].legend(fontsize="small", ncol=4, loc="upper center")
    axes[1].set_xlabel(FLABEL)
    fig.suptitle(f"{qa.title}: Tsys per chassis and board")
    return fig


def badlags(qa: RsrQA) -> Figure:
    """badlags.py's metric: per-lag sigma of every chassis and board, flagged lags marked,
    whole chassis/boards flagged (BADCB) dark."""
    if qa.raw is None:
        raise ValueError("the badlags plot needs the raw files (lmtflow.qa.rsr_load.load_raw)")
    m, p = qa.members[0], qa.raw.params
    flags = m.flags.mask if m.flags is not None else np.zeros(qa.raw.lag_sigma.shape, bool)
    badcb = {(c, b) for o, c, b in (m.flags.badcb if m.flags else []) if o in (m.obsnum, -1)}
    fig, axes = _grid(2.4 * NBOARD, 1.8 * NCHASSIS + 1.2, NCHASSIS, NBOARD, sharex=True)
    lags = np.arange(qa.raw.lag_sigma.shape[-1])
    top = p.bc_hi * 1.1
    for c in range(NCHASSIS):
        for b in range(NBOARD):
            ax, s = axes[c, b], qa.raw.lag_sigma[c, b]
            ax.plot(lags, np.minimum(s, top), lw=0.5, color="k" if (c, b) not in badcb else "w")
            bad = flags[c, b]
            ax.plot(lags[bad], np.minimum(s[bad], top * 0.98), "x", color="red", ms=5)
            ax.axhline(p.bc_hi, color="C1", lw=0.6, ls="--")
            title = f"c{c} b{b}: bad lags {int(bad.sum())}"
            if (c, b) in badcb:
                ax.set_facecolor("0.15")
                title += ", BADCB"
            ax.set_title(title, fontsize="small", color="red" if (c, b) in badcb else "k")
            ax.tick_params(labelsize="x-small")
    axes[0, 0].set_ylim(0, top)
    fig.suptitle(f"{qa.title}: lag sigma over all dumps (x: flagged lags, dashed: bc_hi = "
                 f"{p.bc_hi:g}; values above drawn at the top)")  # fmt: skip
    fig.supxlabel("lag")
    fig.supylabel("sigma of normalised ACF")
    return fig
