"""Loading an RSR product for its QA (one ObsNum or a combination), everything once.

:func:`load` reads each member's baselined SDFITS (Ta* per chassis x repeat x board, its rms
and Tsys), badlags and blanking files, and the spectrum product (merged spectrum and the
BOARDS averages); for a single ObsNum :func:`load_raw` adds, from the raw files, badlags.py's
per-lag sigma and the Cal's Tsys spectra without and with the bad lags. The per-file averages
are recomputed with the pipeline's own functions (:func:`lmtflow.rsr.pipeline.average_obsnums`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from astropy.io import fits
from numpy.typing import NDArray

from ..io.rsr import chassis_files, corr_cal_dir, read_chassis, read_corr_cal
from ..io.sdfits import read_sdfits
from ..rsr.badlags import Badlags, BadlagsParams, lag_sigma, read_badlags
from ..rsr.blanking import blank_mask
from ..rsr.calibrate import cal_tsys
from ..rsr.constants import NBOARD, NCHASSIS, NLAG, USABLE
from ..rsr.merge import merge_grid
from ..rsr.pipeline import average_obsnums
from ..rsr.reduce import baseline_windows
from ..rsr.steps import read_rsr_sdfits


@dataclass
class Member:
    """One ObsNum of the product: baselined Ta* (4, nrep, 6, 256), rms (4, nrep, 6), Tsys (4, 6)."""

    obsnum: int
    calobsnum: int
    date_obs: str
    inttime_s: float
    ta: NDArray[np.float64]
    rms: NDArray[np.float64]
    tsys: NDArray[np.float64]
    flags: Badlags | None = None
    reasons: dict[tuple[int, int], str] = field(default_factory=dict)
    """Why a whole (chassis, board) holds no data: missing chassis, BADCB, badcb, blanking."""

    @property
    def nrep(self) -> int:
        return int(self.ta.shape[1])


@dataclass
class RawQA:
    """From the raw files of one ObsNum: lag sigma of the Bs dumps (badlags.py's metric) and
    the Cal's Tsys spectra without (``tsys0``) and with the bad lags, all (4, 6, 256)."""

    lag_sigma: NDArray[np.float64]
    tsys0: NDArray[np.float64]
    tsys: NDArray[np.float64]
    params: BadlagsParams


@dataclass
class RsrQA:
    """Everything the RSR plots and numbers need, loaded once."""

    source: str
    project: str
    members: list[Member]
    freq: NDArray[np.float64]  # (6, 256) GHz
    xlines: list[tuple[float, float]]  # (GHz, half-width GHz) kept out of the baseline fits
    rthr: float
    cthr: float
    files: NDArray[np.float64]  # (nfile, 6, 256) repeat averages, file = member x chassis
    fsig: NDArray[np.float64]  # (nfile, 6) their rms (K)
    board: NDArray[np.float64]  # (6, 256) final board averages (spectrum product)
    bsig: NDArray[np.float64]  # (6,) their rms (K)
    grid: NDArray[np.float64]  # (1297,) GHz
    spec: NDArray[np.float64]  # merged spectrum (K)
    raw: RawQA | None = None

    @property
    def obsnums(self) -> list[int]:
        return [m.obsnum for m in self.members]

    @property
    def window(self) -> NDArray[np.bool_]:
        """(6, 256) baseline-fit channels (outside the xlines windows)."""
        return baseline_windows(self.freq, [v for p in self.xlines for v in p])

    @property
    def file_labels(self) -> list[tuple[int, int]]:
        """(ObsNum, chassis) of each row of ``files``."""
        return [(m.obsnum, c) for m in self.members for c in range(NCHASSIS)]

    @property
    def title(self) -> str:
        name = "ObsNum" if len(self.members) == 1 else "ObsNums"
        return f"{self.source}  {name} {'+'.join(map(str, self.obsnums))}"


def _date(utc: NDArray) -> str:
    t = float(np.nanmin(utc))
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%S")


def blank_reasons(
    obsnum: int,
    freq: NDArray,
    tsys: NDArray,
    flags: Badlags | None,
    badcb: Sequence[str] = (),
    blanking: str | Path | None = None,
) -> dict[tuple[int, int], str]:
    """Why each wholly blanked (chassis, board) of ``obsnum`` is: the first source that blanks
    it (missing chassis, the badlags file's BADCB, the ``badcb`` parameter, the blanking file)."""
    sources = [
        ("BADCB in the badlags file", blank_mask(obsnum, freq, flags.badcb if flags else ())),
        ("badcb parameter", blank_mask(obsnum, freq, (), badcb)),
    ]
    if blanking is not None:
        sources.append(("blanking file", blank_mask(obsnum, freq, blanking=blanking)))
    out: dict[tuple[int, int], str] = {}
    for c in range(NCHASSIS):
        for b in range(NBOARD):
            if not np.isfinite(tsys[c]).any():
                out[(c, b)] = "chassis missing"
                continue
            for reason, mask in sources:
                if mask[c, b, USABLE].all():
                    out[(c, b)] = reason
                    break
    return out


def load_member(
    base_sdfits: str | Path,
    badlags: str | Path | None = None,
    blanking: str | Path | None = None,
    badcb: Sequence[str] = (),
) -> Member:
    """One baselined RSR SDFITS (and the flag files that made it)."""
    s = read_rsr_sdfits(base_sdfits)
    cols, _ = read_sdfits(base_sdfits)
    nrep = s.ta.shape[1]
    tsys = np.asarray(cols["TSYS"], np.float64).reshape(nrep, NCHASSIS, NBOARD)[0]
    flags = read_badlags(badlags) if badlags is not None else None
    return Member(
        obsnum=s.obsnum, calobsnum=int(s.keywords["CALOBSN"]), date_obs=_date(cols["UTCTIME"]),
        inttime_s=float(s.keywords["INTTIME"]), ta=s.ta, rms=s.rms, tsys=tsys, flags=flags,
        reasons=blank_reasons(s.obsnum, s.freq, tsys, flags, badcb, blanking),
    )  # fmt: skip


def load_raw(data_lmt: str | Path, obsnum: int, flags: Badlags, params: BadlagsParams) -> RawQA:
    """Per-lag sigma of the Bs dumps and Cal Tsys spectra (without and with ``flags.mask``)."""
    nan = np.full((NCHASSIS, NBOARD, NLAG), np.nan)
    sigma, tsys0, tsys = nan.copy(), nan.copy(), nan.copy()
    for c, path in chassis_files(data_lmt, obsnum).items():
        bs = read_chassis(path)
        sigma[c] = lag_sigma(bs.acc)
        cal = read_chassis(chassis_files(data_lmt, bs.cal_obsnum)[c])
        cc = read_corr_cal(corr_cal_dir(data_lmt), cal.corr_cal_id, c, cal.slots)
        tsys0[c] = cal_tsys(cal, cc)[0]
        tsys[c] = cal_tsys(cal, cc, flags.mask[c])[0]
    return RawQA(sigma, tsys0, tsys, params)


def load(
    base_sdfits: Sequence[str | Path],
    spectrum_fits: str | Path,
    params: dict[str, Any],
    badlags: Sequence[str | Path] | None = None,
    blanking: Sequence[str | Path] | None = None,
    badcb: Sequence[Sequence[str]] | None = None,
) -> RsrQA:
    """An RSR product from its members' baselined SDFITS (with their badlags and blanking files
    and ``badcb`` parameters, same order) and its spectrum FITS; ``params`` are those of its
    ``rsr_spectrum`` step."""
    n = len(base_sdfits)
    extra = [list(x) if x is not None else [None] * n for x in (badlags, blanking)]
    cbs = list(badcb) if badcb is not None else [()] * n
    members = sorted(
        (load_member(base, flags, blank, cb)
         for base, flags, blank, cb in zip(base_sdfits, *extra, cbs, strict=True)),
        key=lambda m: m.obsnum,
    )  # fmt: skip
    first = read_rsr_sdfits(base_sdfits[0])
    xl = [float(v) for v in params.get("xlines", [])]
    xlines = list(zip(xl[::2], xl[1::2], strict=True))
    window = baseline_windows(first.freq, xl)
    rthr, cthr = float(params["rthr"]), float(params["cthr"])
    _, _, files, fsig = average_obsnums(
        [m.ta for m in members], [m.rms for m in members], window, rthr, cthr
    )
    with fits.open(spectrum_fits) as hdul:
        spec = np.asarray(hdul[0].data, np.float64)
        t = hdul["BOARDS"].data
        board, bsig = np.asarray(t["TA_K"], np.float64), np.asarray(t["SIGMA_K"], np.float64)
    return RsrQA(
        source=first.source, project=first.project_id, members=members, freq=first.freq,
        xlines=xlines, rthr=rthr, cthr=cthr, files=files, fsig=fsig, board=board, bsig=bsig,
        grid=merge_grid()[: spec.size], spec=spec,
    )  # fmt: skip
