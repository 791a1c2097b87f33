"""Which QA plots each product kind has, which stage draws them, and what they show.

A stage is one workflow rule that loads its data once and draws its plots: ``beams`` (the
baselined SDFITS, any spectral mode) and ``cube`` (a gridded map). A new product kind
(``spectrum`` for Ps/Bs, ``rsr``) registers its plots with :func:`register`; the rules,
pages and index pick them up by name. Drawing functions are named as ``module:function`` so
that reading the registry (the Snakefile does) does not import matplotlib.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Plot:
    """One QA plot: file tag ``name`` (``OBSNUM__BANK.name.png``), drawing stage, caption."""

    name: str
    stage: str
    caption: str
    draw: str

    def function(self) -> Callable[[Any], Any]:
        """The drawing function: data of the stage -> matplotlib Figure."""
        module, func = self.draw.split(":")
        return getattr(importlib.import_module(module), func)


_BEAMS = "lmtflow.qa.plots_beams:"
_MAP = "lmtflow.qa.plots_map:"

BEAM_PLOTS = (
    Plot("coverage", "beams", "Sky coverage of all beams (first integration in red)",
         _BEAMS + "coverage"),
    Plot("tsys", "beams", "Tsys spectrum per beam, from the Cal ObsNum", _BEAMS + "tsys"),
    Plot("waterfall", "beams", "Waterfall per beam (time-binned baselined spectra)",
         _BEAMS + "waterfall"),
    Plot("rms_time", "beams", "Baseline RMS vs time per beam (red: rejected by rms_cut)",
         _BEAMS + "rms_time"),
    Plot("mean_spectra", "beams", "Mean spectrum per beam (grey: baseline windows)",
         _BEAMS + "mean_spectra"),
    Plot("birdies", "beams", "Birdie score per channel", _BEAMS + "birdies"),
)  # fmt: skip

MAP_PLOTS = (
    Plot("weight", "cube", "Weight map and its histogram", _MAP + "weight"),
    Plot("mom0", "cube", "Moment 0 over the line window", _MAP + "mom0"),
    Plot("mom1", "cube", "Moment 1 where the line is detected", _MAP + "mom1"),
    Plot("mom2", "cube", "Moment 2 where the line is detected", _MAP + "mom2"),
    Plot("peak", "cube", "Peak temperature over the line window", _MAP + "peak"),
    Plot("rms", "cube", "RMS over the baseline windows", _MAP + "rms"),
    Plot("radiometer", "cube", "Radiometer noise and measured/expected RMS",
         _MAP + "radiometer"),
    Plot("noise_hist", "cube", "Noise S/N histogram of the interior with a unit Gaussian",
         _MAP + "noise_histogram"),
    Plot("center_spectrum", "cube", "Centre spectrum with the baseline windows",
         _MAP + "center_spectrum"),
)  # fmt: skip

_SPEC = "lmtflow.qa.plots_spectrum:"

SPECTRUM_PLOTS = (
    Plot("final", "spectrum", "Final spectrum (orange: line windows)", _SPEC + "final"),
    Plot("zoom", "spectrum", "Zoom on the line: final spectrum and each beam", _SPEC + "zoom"),
    Plot("beam_spectra", "spectrum", "Spectrum of every beam and polarisation used",
         _SPEC + "parts"),
    Plot("blocks", "spectrum", "Final spectrum of every ON block", _SPEC + "blocks"),
    Plot("tsys_used", "spectrum", "Tsys spectrum of the beams used, from the Cal ObsNum",
         _SPEC + "tsys"),
)  # fmt: skip

KINDS: dict[str, list[Plot]] = {"map": [*BEAM_PLOTS, *MAP_PLOTS]}
THUMBNAIL: dict[str, str] = {"map": "mom0"}


def register(kind: str, plots: list[Plot], thumbnail: str) -> None:
    """Declare the plots (page order) of a product kind and the one its index row shows."""
    KINDS[kind] = list(plots)
    THUMBNAIL[kind] = thumbnail


def plots_for(kind: str, stage: str | None = None) -> list[Plot]:
    """The plots of ``kind`` (of one stage if given)."""
    if kind not in KINDS:
        raise KeyError(f"no QA plots registered for product kind {kind!r}; kinds: {sorted(KINDS)}")
    return [p for p in KINDS[kind] if stage is None or p.stage == stage]


register("spectrum", [*SPECTRUM_PLOTS, *(p for p in BEAM_PLOTS if p.name != "coverage")], "final")


# Combinations of ObsNums: the cube plots of the jointly gridded map with the members'
# coverage, and the combined spectrum with each member's spectrum.
COMBINATION_MAP_PLOTS = (
    Plot("coverage", "cube", "Sky coverage of every member ObsNum (grey: rejected spectra)",
         _MAP + "members_coverage"),
    *MAP_PLOTS,
)  # fmt: skip
COMBINATION_SPECTRUM_PLOTS = (
    Plot("final", "spectrum", "Combined spectrum (orange: line windows)", _SPEC + "final"),
    Plot("zoom", "spectrum", "Zoom on the line: combined spectrum and each member ObsNum",
         _SPEC + "zoom"),
    Plot("members", "spectrum", "Spectrum of every member ObsNum (1/rms² weights)",
         _SPEC + "parts"),
)  # fmt: skip
register("map_combination", list(COMBINATION_MAP_PLOTS), "mom0")
register("spectrum_combination", list(COMBINATION_SPECTRUM_PLOTS), "final")


# RSR (lmtflow.qa.rsr, stage "rsr"): an ObsNum has every plot, a combination the first four
# (its members' pages show their Tsys, badlags and waterfalls). Names carry "rsr_" so that they
# never match the outputs of the map and Ps/Bs stages.
_RSR = "lmtflow.qa.plots_rsr:"
RSR_PLOTS = (
    Plot("rsr_final", "rsr", "Final spectrum, boards merged on the 31.25 MHz grid (orange: "
         "xlines windows)", _RSR + "final"),
    Plot("rsr_bands", "rsr", "Final average of each board on a noise scale (lines clipped)",
         _RSR + "bands"),
    Plot("rsr_boards", "rsr", "Spectrum of every board per chassis (ObsNum) or per member "
         "ObsNum (combination); grey: blanked", _RSR + "board_spectra"),
    Plot("rsr_repeats", "rsr", "Baseline rms of every repeat per chassis and board "
         "(x: above rthr, dropped; grey: blanked)", _RSR + "repeats"),
    Plot("rsr_waterfall", "rsr", "Waterfall: every repeat of every chassis", _RSR + "waterfall"),
    Plot("rsr_tsys", "rsr", "Tsys per chassis and board from the Cal ObsNum, without and with "
         "the bad lags", _RSR + "tsys"),
    Plot("rsr_badlags", "rsr", "badlags: sigma of every lag per chassis and board (x: flagged "
         "lags; dark: BADCB)", _RSR + "badlags"),
)  # fmt: skip
register("rsr", list(RSR_PLOTS), "rsr_final")
register("rsr_combination", list(RSR_PLOTS[:4]), "rsr_final")
