"""The RSR workflow steps (rules/rsr.smk) as library calls, file in -> file out.

badlags (raw -> editable ``O.badlags``) -> ingest (raw + corr_cal + badlags -> calibrated
SDFITS: one row per repeat x chassis x board, chassis = FDNUM, board = IFNUM, Ta*) ->
baseline (blanking from BADCB / badcb, xlines windows, order blo -> baselined SDFITS with the
rms of every row) -> spectrum (one or several ObsNums: repeats (rthr), chassis x ObsNums
(cthr), boards merged onto the 31.25 MHz grid -> FITS with a FREQ axis + ASCII table).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from astropy.io import fits
from numpy.typing import NDArray

from ..io.sdfits import SDFITSWriter, channel_frequencies, obsmode, read_sdfits
from ..io.spectrum_fits import spectrum_header, write_spectrum_fits, write_table_ascii
from .badlags import BadlagsParams, read_badlags, write_badlags
from .blanking import blank_mask
from .constants import CHAN_GHZ, NBOARD, NCHASSIS, NLAG, USABLE
from .pipeline import average_obsnums, badlags_obsnum, baseline_repeats, calibrate_obsnum, merged
from .reduce import baseline_windows


def _own(params: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in params.items() if k not in ("obsnum", "bank")}


def make_badlags(
    data_lmt: str | Path, obsnum: int, params: dict[str, Any], out: str | Path,
    auto_out: str | Path | None = None,
) -> Path:  # fmt: skip
    """badlags.py on the raw files of ``obsnum`` -> the badlags file the later steps read: the
    found bad lags and boards the flag file's policies apply and its vetoes keep (all of them
    without a flag file, as LMTOY) and its lag rules; ``auto_out``: the generated auto-flag
    file listing every found item with its id and policy (lmtflow.flags.rsr)."""
    from ..flags.rsr import applied_badlags, lag_lines, rsr_auto_result

    own = _own(params)
    flags = own.pop("flags", None)
    p = BadlagsParams(**{**own, **_auto_thresholds(flags)})
    found = badlags_obsnum(data_lmt, obsnum, p)
    result = rsr_auto_result(found, obsnum, flags)
    found = applied_badlags(found, result)
    if flags:  # lag flag rules (lmtflow.flags) join the found bad lags
        found.lines += lag_lines({"flags": flags}, obsnum)
    if auto_out is not None:
        from ..flags.auto import write_auto_file

        write_auto_file(result, auto_out, f"the raw chassis files of ObsNum {obsnum}")
    return write_badlags(out, found, obsnum, p)


def _auto_thresholds(flags: dict[str, Any] | None) -> dict[str, Any]:
    """Thresholds the flag file's ``auto: {rsr_badlags: {...}, rsr_badcb: {...}}`` sets
    (badlags.py's, checked by lmtflow.flags.rules), over the ``rsr`` parameters."""
    return {k: v for setting in ((flags or {}).get("auto") or {}).values()
            for k, v in setting.items() if k != "policy"}  # fmt: skip


def ingest(data_lmt: str | Path, obsnum: int, badlags: str | Path, out: str | Path) -> Path:
    """Calibrated SDFITS of one Bs ObsNum, the bad lags of the ``badlags`` file masked."""
    cal = calibrate_obsnum(data_lmt, obsnum, read_badlags(badlags).mask)
    nrep = cal.ta.shape[1]
    rep, chassis, board = np.meshgrid(
        np.arange(nrep), np.arange(NCHASSIS), np.arange(NBOARD), indexing="ij"
    )
    rep, chassis, board = rep.ravel(), chassis.ravel(), board.ravel()
    fhz = cal.freq * 1e9
    with np.errstate(invalid="ignore"):
        tsys = np.nanmean(np.where(USABLE, cal.tsys, np.nan), axis=-1)  # (4, 6)
    constants = {
        "OBJECT": cal.source, "SCAN": obsnum, "OBSMODE": obsmode("Bs", "cal"),
        "FRONTEND": "RSR", "DURATION": cal.tsamp, "EXPOSURE": cal.tsamp, "CRVAL2": cal.ra_deg,
        "CRVAL3": cal.dec_deg, "CRVAL4": -5, "RESTFREQ": 0.0, "VELOCITY": 0.0, "VFRAME": 0.0,
        "RVSYS": 0.0, "LST": 0.0, "AZIMUTH": 0.0, "ELEVATIO": 0.0, "SIDEBAND": "U",
        "PLNUM": 0, "BUFPOS": 0, "LMTXOFF": 0.0, "LMTYOFF": 0.0, "CRPIX1": 1.0,
    }  # fmt: skip
    keywords = {"CALOBSN": cal.cal_obsnum, "INTTIME": cal.int_time_s, "UTDATE": cal.utdate}
    columns = {
        "UTCTIME": cal.start_unix + rep * 2 * cal.tsamp,
        "INTNUM": rep.astype(np.int32),
        "FDNUM": chassis.astype(np.int16),
        "IFNUM": board.astype(np.int16),
        "CRVAL1": fhz[board, 0],
        "CDELT1": fhz[board, 1] - fhz[board, 0],
        "OBSFREQ": fhz[board].mean(axis=-1),
        "TSYS": tsys[chassis, board],
    }
    with SDFITSWriter(
        out, rep.size, NLAG, projid=cal.project_id, instrume="RSR",
        datadims=(nrep, NCHASSIS, 1, NBOARD, NLAG), tscale="Ta*", constants=constants,
        header=keywords, backend="RSR",
    ) as writer:  # fmt: skip
        writer.append(columns, cal.ta.transpose(1, 0, 2, 3).reshape(-1, NLAG))
    return Path(out)


@dataclass
class RsrSpectra:
    """An RSR SDFITS file as arrays: Ta* (4, nrep, 6, 256), rms (4, nrep, 6), freq (6, 256)."""

    obsnum: int
    source: str
    project_id: str
    ta: NDArray[np.float64]
    rms: NDArray[np.float64]
    freq: NDArray[np.float64]
    keywords: fits.Header


def read_rsr_sdfits(path: str | Path) -> RsrSpectra:
    cols, data = read_sdfits(path)
    nrep = data.shape[0] // (NCHASSIS * NBOARD)
    shape = (nrep, NCHASSIS, NBOARD)
    ta = np.asarray(data, np.float64).reshape(*shape, -1).transpose(1, 0, 2, 3)
    rms = np.asarray(cols["RMS"], np.float64).reshape(shape).transpose(1, 0, 2)
    first = slice(0, NBOARD)  # repeat 0, chassis 0: one row per board
    axis = [np.asarray(cols[k][first], np.float64)[:, None] for k in ("CRVAL1", "CDELT1", "CRPIX1")]
    freq = channel_frequencies(*axis, ta.shape[-1]) / 1e9
    head = fits.getheader(path, 1)
    source = str(np.char.decode(cols["OBJECT"][0]) if isinstance(cols["OBJECT"][0], bytes)
                 else cols["OBJECT"][0]).strip()  # fmt: skip
    return RsrSpectra(int(cols["SCAN"][0]), source, str(head["PROJID"]), ta, rms, freq, head)


def baseline_file(
    cal_sdfits: str | Path,
    badlags: str | Path,
    params: dict[str, Any],
    out: str | Path,
    blanking: str | Path | None = None,
) -> Path:
    """Blank (BADCB lines of ``badlags``, ``badcb``, the blanking file), fit order ``blo``
    outside ``xlines``."""
    from ..flags.rsr import board_mask, rsr_flag_keywords

    s = read_rsr_sdfits(cal_sdfits)
    flags = read_badlags(badlags)
    reasons = {"BADCB": blank_mask(s.obsnum, s.freq, flags.badcb),  # the badlags file's
               "badcb": blank_mask(s.obsnum, s.freq, (), params["badcb"]),
               "blanking": (blank_mask(s.obsnum, s.freq, blanking=blanking) if blanking
                            else np.zeros_like(s.ta[:, 0], dtype=bool))}  # fmt: skip
    if params.get("flags"):  # chassis/board/frequency flag rules (lmtflow.flags)
        reasons["flag_rules"] = board_mask(params, s.obsnum, s.freq)
    blank = np.logical_or.reduce(list(reasons.values()))
    window = baseline_windows(s.freq, params["xlines"])
    spec, sig = baseline_repeats(s.ta, blank, window, int(params["blo"]))
    _rewrite(cal_sdfits, out, spec, sig, params,
             rsr_flag_keywords(flags, params, reasons, s.ta.shape[1]))  # fmt: skip
    return Path(out)


def _rewrite(src: str | Path, out: str | Path, ta: NDArray, rms: NDArray, params: dict,
             extra: dict[str, Any] | None = None) -> None:  # fmt: skip
    """Copy ``src`` with new DATA (4, nrep, 6, 256) and RMS (4, nrep, 6) (``extra``: more
    header keywords, the flag provenance)."""
    cols, _ = read_sdfits(src)
    head = fits.getheader(src, 1)
    nrep = ta.shape[1]
    keep = {k: v for k, v in cols.items() if k not in ("DATE-OBS", "FEED", "BANDWID", "FREQRES",
                                                     "TSCALE", "TUNIT7", "RMS")}  # fmt: skip
    keep["RMS"] = rms.transpose(1, 0, 2).ravel()
    keywords = {k: head[k] for k in ("CALOBSN", "INTTIME", "UTDATE")} | (extra or {})
    with SDFITSWriter(
        out, ta.size // ta.shape[-1], ta.shape[-1], projid=str(head["PROJID"]), instrume="RSR",
        datadims=(nrep, NCHASSIS, 1, NBOARD, ta.shape[-1]), tscale="Ta*", header=keywords,
        params=params, backend="RSR",
    ) as writer:  # fmt: skip
        writer.append(keep, ta.transpose(1, 0, 2, 3).reshape(-1, ta.shape[-1]))


def make_spectrum(
    base_sdfits: Sequence[str | Path], params: dict[str, Any], out_fits: str | Path,
    out_txt: str | Path,
) -> tuple[NDArray, NDArray, NDArray]:  # fmt: skip
    """Average one or several baselined ObsNums (any order) and merge the boards.

    Writes the FITS spectrum (FREQ axis, Hz; extension BOARDS with each board's spectrum and
    frequencies) and the ASCII spectrum (freq GHz, Ta* K, sigma K) and returns them.
    """
    files = sorted((read_rsr_sdfits(p) for p in base_sdfits), key=lambda s: s.obsnum)
    freq = files[0].freq
    window = baseline_windows(freq, params["xlines"])
    board, bsig, _, _ = average_obsnums(
        [s.ta for s in files], [s.rms for s in files], window, params["rthr"], params["cthr"]
    )
    grid, spec, sigma = merged(board, freq)
    inttime = sum(float(s.keywords["INTTIME"]) for s in files)
    obsnums = [s.obsnum for s in files]
    extra = {"OBJECT": files[0].source, "OBSNUM": obsnums[0], "NOBSNUM": len(obsnums),
             "INTTIME": (inttime, "s"), "INSTRUME": "RSR",
             "PROJID": files[0].project_id}  # fmt: skip
    extra |= {k: files[0].keywords[k] for k in ("FLGSRSR", "FLGFRSR", "FLGRRSR")
              if k in files[0].keywords}  # the (first) ObsNum's flag provenance
    header = spectrum_header(grid[0] * 1e9, CHAN_GHZ * 1e9, 0.0, "TOPOCENT", extra,
                             freq_axis=True)  # fmt: skip
    tables = {"BOARDS": {"FREQ_GHZ": freq, "TA_K": board, "SIGMA_K": bsig}}
    write_spectrum_fits(out_fits, spec, header, tables, params)
    comments = [f"RSR spectrum of {files[0].source}, ObsNums {obsnums}, {inttime:.1f} s",
                "topocentric sky frequency; blanked channels are nan"]  # fmt: skip
    write_table_ascii(out_txt, {"freq_ghz": grid, "ta_k": spec, "sigma_k": sigma}, comments)
    return grid, spec, sigma
