"""Baseline: calibrated SDFITS -> velocity-sliced, birdie-patched, baselined SDFITS with RMS."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..baseline import SliceSpec, birdie_runs, fit_baselines, patch_birdies, window_mask
from ..flags.apply import flag_keywords, has_flags, input_flags, step_mask
from ..io.sdfits_columns import spectral_axis_columns
from ..io.sdfits_reader import SDFITSReader
from ..io.sdfits_writer import SDFITSWriter
from .obsmeta import axis_from_keywords, carried_keywords
from .sdfits_copy import carry_columns

BLOCK_ROWS = 1024  # ~8 MB of 2048-channel rows: blocks stay in cache through the fit


def baseline(cal_sdfits: str | Path, out: str | Path, params: dict) -> Path:
    """Write the baselined SDFITS; ``params`` holds slice, b_regions, b_order, birdies."""
    with SDFITSReader(cal_sdfits) as r:
        hdr = r.header
        axis = axis_from_keywords(hdr)
        sl = SliceSpec.from_velocities(axis, *params["slice"])
        velocity = axis.velocity(np.arange(sl.c0, sl.c1))
        window = window_mask(velocity, params["b_regions"])
        if window.sum() <= max(int(params["b_order"]), 0):
            raise ValueError(
                f"baseline windows {params['b_regions']} hold {window.sum()} channels of the "
                f"slice {params['slice']}: too few for order {params['b_order']}"
            )
        runs = birdie_runs(params.get("birdies", []), sl.c0, sl.c1)
        axis_cols = spectral_axis_columns(axis, chan0=sl.c0, nchan=sl.nchan)
        ntime, nbeam, npol, nband, _ = r.datadims
        keywords = carried_keywords(hdr, CHAN0=sl.c0)
        keywords["VELO0"] = (float(velocity[0]), "[km/s] velocity of DATA channel 0")
        keywords["DVDC"] = (axis.dvdc, "[km/s] velocity step per channel")
        flags = step_mask(params, r)  # channel flags (None: no rules)
        keywords |= flag_keywords(hdr, flags, "baseline")
        flagged = flags is not None or has_flags(r)  # then: FLAGS out, flags out of the fits
        with SDFITSWriter(
            out,
            r.nrows,
            sl.nchan,
            projid=hdr["PROJID"],
            instrume=hdr["INSTRUME"],
            datadims=(ntime, nbeam, npol, nband, sl.nchan),
            tscale="Ta*",
            header=keywords,
            params=params,
            constants={k: v for k, v in axis_cols.items() if np.ndim(v) == 0},
            flags=flagged,
        ) as w:
            chans = slice(sl.c0, sl.c1)
            buf = np.empty((min(BLOCK_ROWS, r.nrows), sl.nchan), dtype=np.float32)
            for s in range(0, r.nrows, BLOCK_ROWS):
                e = min(s + BLOCK_ROWS, r.nrows)
                spectra = r.data(s, e, out=buf[: e - s], chans=chans)
                patch_birdies(spectra, runs, sl.c0)
                bits = _block_flags(r, flags, s, e, chans) if flagged else None
                exclude = None if bits is None else bits != 0
                fit = fit_baselines(spectra, window, int(params["b_order"]), exclude)
                raw = r.columns(None, s, e, raw=True)
                cols = carry_columns(
                    raw, slice(None), drop=("CRVAL1", "CRPIX1", "CDELT1", "OBSFREQ", "RMS")
                )
                cols["DATE-OBS"] = raw["DATE-OBS"]  # as stored: no re-formatting
                cols["RMS"] = fit.rms
                w.append(cols, fit.spectra, bits)
    return Path(out)


def _block_flags(r: SDFITSReader, flags, s: int, e: int, chans: slice) -> np.ndarray:
    """FLAGS of rows ``s:e`` in the slice: the input's ORed with this step's own."""
    bits = input_flags(r, s, e, chans)
    if bits is None:
        bits = np.zeros((e - s, chans.stop - chans.start), dtype=np.uint8)
    if flags is not None:
        bits = bits | flags.rows(s, e)[:, chans]
    return bits
