"""Calibrate: raw SDFITS of a map + Tsys spectra of its Cal -> Ta* of every ON dump.

REF spectra are block means computed first (small); ON dumps then stream through in blocks.
stype 2 (LMTOY's default) uses, for maps, the mean of the REF blocks just before and after
each ON block and, for position and beam switching (Ps, Bs), the REF block of the same index
as the ON block (lmtslr's pairing; the counts must agree); stype 1 the mean of all REF dumps,
stype 0 the channel median of all dumps. For Bs both beams are calibrated the same way, so
the beam that is on source during REF shows the line negative (reference §4.10).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from ..calibration import calibrate_on, is_on, pair_refs
from ..errors import ObsNumError
from ..flags.apply import applied_auto_rules, flag_keywords, step_mask
from ..io.sdfits_columns import obsmode
from ..io.sdfits_reader import SDFITSReader
from ..io.sdfits_writer import SDFITSWriter
from .obsmeta import carried_keywords
from .sdfits_copy import carry_columns, per_dump
from .tsys import read_tsys

log = logging.getLogger(__name__)

BLOCK_DUMPS = 32  # ~4 MB of SEQUOIA rows: the block stays in cache through every step


def _mean_dumps(r: SDFITSReader, d0: int, d1: int) -> np.ndarray:
    """Mean spectrum over dumps d0..d1 inclusive, shape (nbeam, npol, nband, nchan)."""
    per = r.rows_per_dump
    acc = np.zeros(r.datadims[1:], dtype=np.float64)
    for s in range(d0, d1 + 1, BLOCK_DUMPS):
        e = min(s + BLOCK_DUMPS, d1 + 1)
        acc += r.data(s * per, e * per).reshape((e - s, *r.datadims[1:])).sum(axis=0)
    mean = acc / (d1 - d0 + 1)
    return mean if np.isfinite(mean).all() else _nanmean_dumps(r, d0, d1)


def _nanmean_dumps(r: SDFITSReader, d0: int, d1: int, flags=None) -> np.ndarray:
    """:func:`_mean_dumps` without the spectra flagged NaN at ingest (NaN/Inf raw counts) and,
    given ``flags`` (lmtflow.flags.resolve.FlagMask), without the flagged spectra and channels:
    a burst of interference in a REF dump stays out of every ON dump it calibrates."""
    per = r.rows_per_dump
    acc = np.zeros(r.datadims[1:], dtype=np.float64)
    n = np.zeros(r.datadims[1:], dtype=np.int64)
    for s in range(d0, d1 + 1, BLOCK_DUMPS):
        e = min(s + BLOCK_DUMPS, d1 + 1)
        block = r.data(s * per, e * per).reshape((e - s, *r.datadims[1:]))
        finite = np.isfinite(block)
        if flags is not None:
            finite &= flags.block(s, e) == 0
        acc += np.where(finite, block, 0.0).sum(axis=0)
        n += finite.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return acc / n


def _tsys_for_beams(tsys_path: str | Path, beams: np.ndarray, obsnum: int, policy: str):
    """Tsys spectra and scalars of the usable beams and which beams those are (a mask).

    A beam without a Tsys in the Cal, or with a zero, negative or NaN Tsys, is dropped with a
    warning (``policy="drop"``) or stops the step (``"fail"``); no usable beam stops it too.
    """
    cal_beams, spectra, scalar = read_tsys(tsys_path)
    index = {b: i for i, b in enumerate(cal_beams)}
    take = np.array([index.get(int(b), -1) for b in beams])
    spectra, scalar = spectra[take], scalar[take]
    bad = (take < 0) | (~np.isfinite(scalar) | (scalar <= 0)).any(axis=1)
    if bad.any():
        which = [int(b) for b in beams[bad]]
        problem = f"Tsys of beams {which} in {tsys_path} is missing, zero, negative or NaN"
        if policy == "fail" or bad.all():
            left = "no beam is left; " if bad.all() else ""
            raise ObsNumError(obsnum, f"{problem}; {left}calibrate: bad_tsys: {policy}")
        log.warning("ObsNum %d: %s; these beams are dropped", obsnum, problem)
    return spectra[~bad], scalar[~bad], ~bad


def calibrate(
    raw_sdfits: str | Path, tsys_path: str | Path, out: str | Path, params: dict,
    auto_flags: str | Path | None = None,
) -> Path:
    """Write the calibrated SDFITS (Ta*, K) of the ON dumps of a map ObsNum (``auto_flags``:
    the generated raw-count auto-flag file, lmtflow.flags.auto)."""
    stype = int(params.get("stype", 2))
    with SDFITSReader(raw_sdfits) as r:
        hdr = r.header
        obsnum = int(hdr["OBSNUM"])
        per = r.rows_per_dump
        ntime, nbeam, npol, nband, nchan = r.datadims
        bufpos = per_dump(r.column("BUFPOS"), per)
        beams = r.column("FDNUM", 0, per).reshape(nbeam, npol * nband)[:, 0]  # first dump
        policy = str(params.get("bad_tsys", "drop"))
        tsys_spec, tsys_scalar, keep = _tsys_for_beams(tsys_path, beams, obsnum, policy)
        nkeep = int(keep.sum())
        keep_rows = np.repeat(keep, npol * nband)  # one dump's rows of the kept beams
        tsys_b = tsys_spec[:, :, None, :]  # (nbeam, npol, nband, nchan)
        pairing = pair_refs(bufpos)
        on_runs = pairing.on_runs
        if len(on_runs) == 0:
            raise ObsNumError(obsnum, "has no ON dumps inside the ifproc BufPos runs")
        if stype == 2 and len(pairing.ref_runs) == 0:
            raise ObsNumError(obsnum, "has no REF dumps; stype 2 needs REF blocks around ON")
        by_index = str(hdr["OBSPGM"]).strip() in ("Ps", "Bs")
        if stype == 2 and by_index and len(pairing.ref_runs) != len(on_runs):
            raise ObsNumError(
                obsnum,
                f"has {len(on_runs)} ON and {len(pairing.ref_runs)} REF blocks; "
                "stype 2 pairs them by index and needs equal numbers",
            )
        # time/dump flags and spikes, REF dumps included (None: no rules)
        flags = step_mask(params, r, extra=applied_auto_rules(auto_flags))
        if flags is None:
            ref_means = [_mean_dumps(r, a, b) for a, b in pairing.ref_runs]
        else:
            ref_means = [_nanmean_dumps(r, a, b, flags) for a, b in pairing.ref_runs]
        if stype == 1:
            n = [b - a + 1 for a, b in pairing.ref_runs]
            all_ref = sum(m * k for m, k in zip(ref_means, n, strict=True)) / sum(n)
        elif stype == 0:
            all_ref = np.median(r.data().reshape(r.datadims), axis=0)
        non = int(np.count_nonzero(is_on(bufpos)))
        log.info("ObsNum %d: %d ON dumps in %d blocks, %d REF blocks, stype %d", obsnum, non,
                 len(on_runs), len(pairing.ref_runs), stype)  # fmt: skip
        scalar_rows = np.broadcast_to(tsys_scalar[:, :, None], (nkeep, npol, nband)).reshape(-1)
        keywords = carried_keywords(hdr) | flag_keywords(hdr, flags, "calibrate")
        if nkeep < nbeam:
            dropped = ",".join(str(int(b)) for b in beams[~keep])
            keywords["BADTSYBM"] = (dropped, "beams dropped: bad Tsys in the Cal")
        with SDFITSWriter(
            out,
            non * nkeep * npol * nband,
            nchan,
            projid=hdr["PROJID"],
            instrume=hdr["INSTRUME"],
            datadims=(non, nkeep, npol, nband, nchan),
            tscale="Ta*",
            header=keywords,
            params=params,
            constants={"OBSMODE": obsmode(str(hdr["OBSPGM"]), "cal")},
            flags=flags is not None,
        ) as w:
            buf = np.empty((min(BLOCK_DUMPS, ntime) * per, nchan), dtype=np.float32)
            for k, (a, b) in enumerate(on_runs):
                if stype == 2 and by_index:
                    ref = ref_means[k]
                elif stype == 2:
                    ref = 0.5 * (ref_means[pairing.before[k]] + ref_means[pairing.after[k]])
                else:
                    ref = all_ref
                for s in range(a, b + 1, BLOCK_DUMPS):
                    e = min(s + BLOCK_DUMPS, b + 1)
                    on = r.data(s * per, e * per, out=buf[: (e - s) * per])
                    on = on.reshape((e - s, nbeam, npol, nband, nchan))
                    rows = slice(None) if nkeep == nbeam else np.tile(keep_rows, e - s)
                    if nkeep < nbeam:  # beams dropped for bad Tsys
                        on = on[:, keep]
                    ta = calibrate_on(on, ref if nkeep == nbeam else ref[keep], tsys_b, out=on)
                    raw = r.columns(None, s * per, e * per, raw=True)
                    cols = carry_columns(raw, rows, drop=("OBSMODE",))
                    cols["DATE-OBS"] = raw["DATE-OBS"][rows]  # as stored: no re-formatting
                    cols["TSYS"] = np.tile(scalar_rows, e - s)
                    bits = None if flags is None else flags.block(s, e)[:, keep]
                    w.append(cols, ta, bits)
    if stype == 2 and not by_index and np.any(pairing.before == pairing.after):
        log.warning("ObsNum %d: an ON block has the same REF block before and after", obsnum)
    return Path(out)
