"""Calibrate: raw SDFITS of a map + Tsys spectra of its Cal -> Ta* of every ON dump.

REF spectra are block means computed first (small); ON dumps then stream through in blocks.
stype 2 (LMTOY's default) uses the mean of the REF blocks just before and after each ON
block, stype 1 the mean of all REF dumps, stype 0 the channel median of all dumps.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from ..calibration import calibrate_on, is_on, pair_refs
from ..errors import ObsNumError
from ..io.sdfits_columns import obsmode
from ..io.sdfits_reader import SDFITSReader
from ..io.sdfits_writer import SDFITSWriter
from .obsmeta import carried_keywords
from .sdfits_copy import carry_columns, per_dump
from .tsys import read_tsys

log = logging.getLogger(__name__)

BLOCK_DUMPS = 256


def _mean_dumps(r: SDFITSReader, d0: int, d1: int) -> np.ndarray:
    """Mean spectrum over dumps d0..d1 inclusive, shape (nbeam, npol, nband, nchan)."""
    per = r.rows_per_dump
    acc = np.zeros(r.datadims[1:], dtype=np.float64)
    for s in range(d0, d1 + 1, BLOCK_DUMPS):
        e = min(s + BLOCK_DUMPS, d1 + 1)
        acc += r.data(s * per, e * per).reshape((e - s, *r.datadims[1:])).sum(axis=0)
    return acc / (d1 - d0 + 1)


def _tsys_for_beams(tsys_path: str | Path, beams: np.ndarray, obsnum: int):
    cal_beams, spectra, scalar = read_tsys(tsys_path)
    index = {b: i for i, b in enumerate(cal_beams)}
    missing = [int(b) for b in beams if b not in index]
    if missing:
        raise ObsNumError(obsnum, f"Cal {tsys_path} has no Tsys for beams {missing}")
    take = [index[b] for b in beams]
    spectra, scalar = spectra[take], scalar[take]
    bad = ~np.isfinite(scalar) | (scalar <= 0)
    if bad.any():
        which = sorted({int(beams[i]) for i in np.nonzero(bad)[0]})
        raise ObsNumError(obsnum, f"Tsys is zero, negative or NaN for beams {which}")
    return spectra, scalar


def calibrate(raw_sdfits: str | Path, tsys_path: str | Path, out: str | Path, params: dict) -> Path:
    """Write the calibrated SDFITS (Ta*, K) of the ON dumps of a map ObsNum."""
    stype = int(params.get("stype", 2))
    with SDFITSReader(raw_sdfits) as r:
        hdr = r.header
        obsnum = int(hdr["OBSNUM"])
        per = r.rows_per_dump
        ntime, nbeam, npol, nband, nchan = r.datadims
        bufpos = per_dump(r.column("BUFPOS"), per)
        beams = r.column("FDNUM")[:per].reshape(nbeam, npol * nband)[:, 0]
        tsys_spec, tsys_scalar = _tsys_for_beams(tsys_path, beams, obsnum)
        tsys_b = tsys_spec[:, :, None, :]  # (nbeam, npol, nband, nchan)
        pairing = pair_refs(bufpos)
        on_runs = pairing.on_runs
        if len(on_runs) == 0:
            raise ObsNumError(obsnum, "has no ON dumps inside the ifproc BufPos runs")
        if stype == 2 and len(pairing.ref_runs) == 0:
            raise ObsNumError(obsnum, "has no REF dumps; stype 2 needs REF blocks around ON")
        ref_means = [_mean_dumps(r, a, b) for a, b in pairing.ref_runs]
        if stype == 1:
            n = [b - a + 1 for a, b in pairing.ref_runs]
            all_ref = sum(m * k for m, k in zip(ref_means, n, strict=True)) / sum(n)
        elif stype == 0:
            all_ref = np.median(r.data().reshape(r.datadims), axis=0)
        non = int(np.count_nonzero(is_on(bufpos)))
        log.info("ObsNum %d: %d ON dumps in %d blocks, %d REF blocks, stype %d", obsnum, non,
                 len(on_runs), len(pairing.ref_runs), stype)  # fmt: skip
        scalar_rows = np.broadcast_to(tsys_scalar[:, :, None], (nbeam, npol, nband)).reshape(-1)
        keywords = carried_keywords(hdr)
        with SDFITSWriter(
            out,
            non * per,
            nchan,
            projid=hdr["PROJID"],
            instrume=hdr["INSTRUME"],
            datadims=(non, nbeam, npol, nband, nchan),
            tscale="Ta*",
            header=keywords,
            params=params,
            constants={"OBSMODE": obsmode(str(hdr["OBSPGM"]), "cal")},
        ) as w:
            for k, (a, b) in enumerate(on_runs):
                if stype == 2:
                    ref = 0.5 * (ref_means[pairing.before[k]] + ref_means[pairing.after[k]])
                else:
                    ref = all_ref
                for s in range(a, b + 1, BLOCK_DUMPS):
                    e = min(s + BLOCK_DUMPS, b + 1)
                    on = r.data(s * per, e * per).reshape((e - s, nbeam, npol, nband, nchan))
                    ta = calibrate_on(on, ref.astype(np.float32), tsys_b)
                    cols = carry_columns(r.columns(None, s * per, e * per), slice(None),
                                         drop=("OBSMODE",))  # fmt: skip
                    cols["TSYS"] = np.tile(scalar_rows, e - s)
                    w.append(cols, ta)
    if stype == 2 and np.any(pairing.before == pairing.after):
        log.warning("ObsNum %d: an ON block has the same REF block before and after", obsnum)
    return Path(out)
