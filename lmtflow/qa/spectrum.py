"""QA of a Ps/Bs spectrum product: what its plots need, and its numbers (rms vs radiometer).

The expected noise follows the radiometer equation per beam, ``Tsys sqrt(1/(dnu t_on) +
1/(dnu t_ref))`` for every ON block and its REF (from the raw SDFITS ``BUFPOS``), averaged
over blocks, then combined over beams as :mod:`lmtflow.spectra` does (1/rms^2 weights; Bs
``0.5 (a - b)``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from astropy.io import fits
from numpy.typing import NDArray

from ..baseline import window_mask
from ..calibration import pair_refs
from ..io.sdfits_reader import SDFITSReader
from ..io.spectrum_fits import velocity_axis
from ..pipeline.tsys import read_tsys
from ..spectra import weighted_mean, window_rms
from .numbers import json_clean

HEADER_KEYS = ("OBJECT", "OBSNUMS", "OBSPGM", "BANK", "INSTRUME", "VLSR", "TSYS", "RMS", "RESTFRQ",
               "BEAMS", "DATE-OBS")  # fmt: skip


@dataclass
class SpectrumQA:
    """One spectrum product (ObsNum or combination) and its parts, velocities in km/s."""

    header: dict[str, Any]
    velocity: NDArray[np.float64]
    final: NDArray[np.float64]
    parts: dict[str, NDArray[np.float64]]  # label -> spectrum (beams, or member ObsNums)
    part_rms: dict[str, float]
    part_tsys: dict[str, float]
    blocks: NDArray[np.float64]  # (nblock, nchan); empty for combinations
    window: NDArray[np.bool_]  # baseline-window channels
    lines: list[tuple[float, float]]  # line windows (km/s), from b_regions
    tsys_spectra: dict[str, NDArray[np.float32]] | None = None

    @property
    def title(self) -> str:
        h = self.header
        which = "ObsNums" if "," in str(h.get("OBSNUMS")) else "ObsNum"
        return f"{h.get('OBJECT', '')}  {which} {h.get('OBSNUMS')}  bank {h.get('BANK', 0)}"


def line_windows(b_regions: list[list[float]]) -> list[tuple[float, float]]:
    """The gaps between sorted baseline windows (where the lines are)."""
    regions = sorted((min(r), max(r)) for r in b_regions)
    return [(a[1], b[0]) for a, b in zip(regions, regions[1:], strict=False) if b[0] > a[1]]


def read_spectrum(path: str | Path, b_regions: list[list[float]]) -> SpectrumQA:
    """A spectrum FITS file of :mod:`lmtflow.pipeline.spectrum` or a combination of them."""
    with fits.open(path) as hdul:
        h = hdul[0].header
        final = hdul[0].data.astype(np.float64)
        v = velocity_axis(h, final.size)
        parts, rms, tsys = {}, {}, {}
        blocks = np.empty((0, final.size))
        if "BEAMS" in hdul:
            t = hdul["BEAMS"].data
            for b, p, ts, r, s in zip(t["BEAM"], t["POL"], t["TSYS"], t["RMS"], t["SPECTRUM"],
                                      strict=True):  # fmt: skip
                key = f"beam {b} pol {p}"
                parts[key], rms[key], tsys[key] = s.astype(np.float64), float(r), float(ts)
            blocks = np.asarray(hdul["BLOCKS"].data["SPECTRUM"], dtype=np.float64)
        else:
            t = hdul["OBSNUMS"].data
            for o, r, s in zip(t["OBSNUM"], t["RMS"], t["SPECTRUM"], strict=True):
                parts[f"ObsNum {o}"], rms[f"ObsNum {o}"] = s.astype(np.float64), float(r)
        header = {k: h[k] for k in HEADER_KEYS if k in h}
    return SpectrumQA(header, v, final, parts, rms, tsys, blocks, window_mask(v, b_regions),
                      line_windows(b_regions))  # fmt: skip


def attach_cal_tsys(qa: SpectrumQA, tsys_path: str | Path) -> SpectrumQA:
    """Tsys spectra (Cal ObsNum) of the beams used, keyed like ``qa.parts``."""
    beams, spectra, _ = read_tsys(tsys_path)
    row = {int(b): i for i, b in enumerate(beams)}
    out = {}
    for key in qa.parts:
        _, b, _, p = key.split()
        out[key] = spectra[row[int(b)], min(int(p), spectra.shape[1] - 1)]
    qa.tsys_spectra = out
    return qa


def on_ref_times(raw_sdfits: str | Path) -> tuple[NDArray, NDArray, float, float, str]:
    """ON dumps and 1/REF dumps per ON block (REF as the calibration pairs it), dump time
    (s), channel width (Hz) and the Bs beams (``BSBEAMS``), from the raw SDFITS."""
    with SDFITSReader(raw_sdfits) as r:
        bufpos = r.column("BUFPOS")[:: r.rows_per_dump]
        dump_s = float(r.header["DUMPTIME"])
        dnu = abs(float(r.header["DFDC"]))
        bs_beams = str(r.header.get("BSBEAMS", ""))
    p = pair_refs(bufpos)
    n_on = p.on_runs[:, 1] - p.on_runs[:, 0] + 1
    n_ref_all = p.ref_runs[:, 1] - p.ref_runs[:, 0] + 1
    if len(n_ref_all) == len(n_on):  # paired by index
        inv_ref = 1.0 / n_ref_all
    else:  # mean of the REF blocks before and after
        nb, na = n_ref_all[p.before], n_ref_all[p.after]
        inv_ref = np.where(p.before == p.after, 1 / nb, 0.25 * (1 / nb + 1 / na))
    return n_on, inv_ref, dump_s, dnu, bs_beams


def radiometer_rms(qa: SpectrumQA, raw_sdfits: str | Path) -> tuple[float, dict[str, float]]:
    """Expected rms of the final spectrum and of each beam (K)."""
    n_on, inv_ref, dump_s, dnu, bs_text = on_ref_times(raw_sdfits)
    bs_beams = [int(x) for x in bs_text.split(",") if x.strip()]
    per_block_var = (1 / n_on + inv_ref) / (dnu * dump_s)
    factor = np.sqrt(per_block_var.sum()) / len(n_on)
    sig = {k: t * factor for k, t in qa.part_tsys.items()}
    keys = list(sig)
    s = np.array([sig[k] for k in keys])
    beams = np.array([int(k.split()[1]) for k in keys])
    if qa.header.get("OBSPGM") == "Bs" and len(bs_beams) == 2:
        a, b = (weighted_mean(s[beams == k], s[beams == k])[1] for k in bs_beams)
        return float(0.5 * np.hypot(a, b)), sig
    return float(weighted_mean(s, s)[1]), sig


def spectrum_numbers(qa: SpectrumQA, radiometer: float | None,
                     per_part: dict[str, float] | None = None) -> dict[str, Any]:  # fmt: skip
    """rms (measured in the baseline windows), radiometer expectation, ratio, peak, parts."""
    rms = window_rms(qa.final, qa.window)
    line = ~qa.window
    peak = qa.final[line] if line.any() else qa.final
    i = int(np.flatnonzero(line)[np.nanargmax(peak)]) if line.any() else int(np.nanargmax(peak))
    per_part = per_part or {}
    parts = [{"part": k, "rms_mK": 1e3 * qa.part_rms[k], "tsys_K": qa.part_tsys.get(k),
              "radiometer_mK": 1e3 * per_part[k] if k in per_part else None}
             for k in qa.parts]  # fmt: skip
    return json_clean({
        "rms_mK": 1e3 * rms,
        "radiometer_mK": 1e3 * radiometer if radiometer else None,
        "rms_radiometer_ratio": rms / radiometer if radiometer else None,
        "peak_K": float(qa.final[i]),
        "peak_velocity_kms": float(qa.velocity[i]),
        "nblock": int(qa.blocks.shape[0]),
        "parts": parts,
    })  # fmt: skip
