"""One pass over a baselined SDFITS file: what the per-beam QA plots and numbers need.

Spectra are read in blocks of whole dumps and reduced to small arrays: per-dump RMS, Tsys and
positions of every feed (beam x polarisation), a time-binned waterfall, and the mean
spectrum. Memory stays bounded whatever
the length of the observation.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..grid_selection import grid_selection
from ..io.sdfits_reader import SDFITSReader
from ..pipeline.obsmeta import axis_from_keywords
from ..pipeline.tsys import read_tsys

MAX_WATERFALL_ROWS = 128
COLUMNS = ("FDNUM", "PLNUM", "RMS", "TSYS", "LMTXOFF", "LMTYOFF", "UTCTIME", "EXPOSURE")
HEADER_KEYS = ("PROJID", "SRCNAME", "OBSNUM", "CALOBSN", "OBSSTART", "INSTRUME", "OBSPGM",
               "BANK", "RESTFRQ", "SKYFREQ", "DUMPTIME", "VSOURCE", "DFDC", "VELO0", "DVDC",
               "CHAN0", "NCHAN0", "VELSYS", "LINEOFF", "NOFILEBM", "BADTSYBM")  # fmt: skip


@dataclass
class BeamSummary:
    """Per-feed summary of one ObsNum and bank; ``(ntime, nfeed)`` arrays are per dump."""

    header: dict[str, Any]
    beams: NDArray[np.int_]
    pols: NDArray[np.int_]
    time_s: NDArray[np.float64]
    x: NDArray[np.float64]
    y: NDArray[np.float64]
    rms: NDArray[np.float64]
    tsys: NDArray[np.float64]
    used: NDArray[np.bool_]
    velocity: NDArray[np.float64]
    waterfall_dump: NDArray[np.float64]
    waterfall: NDArray[np.float32]
    mean_spectrum: NDArray[np.float32]
    params: dict[str, Any]
    tsys_spectra: NDArray[np.float32] | None = None

    @property
    def labels(self) -> list[str]:
        """``beam N`` (with ``pol P`` when there are several polarisations)."""
        if len(set(self.pols.tolist())) > 1:
            return [f"beam {b} pol {p}" for b, p in zip(self.beams, self.pols, strict=True)]
        return [f"beam {b}" for b in self.beams]

    @property
    def channels(self) -> NDArray[np.int_]:
        """Original spectrometer channel of every channel of the sliced spectra."""
        return int(self.header.get("CHAN0", 0)) + np.arange(self.velocity.size)


def _dump_bins(ntime: int, max_rows: int) -> tuple[int, int]:
    per_bin = max(1, -(-ntime // max_rows))
    return per_bin, max(1, -(-ntime // per_bin))


def summarize(
    base_sdfits: str | Path,
    grid_params: dict[str, Any] | None = None,
    max_rows: int = MAX_WATERFALL_ROWS,
) -> BeamSummary:
    """Read ``base_sdfits`` once (in blocks) and summarise every feed."""
    with SDFITSReader(base_sdfits) as r:
        hdr = r.header
        ntime = r.ndumps
        nfeed = r.rows_per_dump
        nchan = r.nchan
        cols = r.columns([c for c in COLUMNS if c in r.column_names])
        per_bin, nbin = _dump_bins(ntime, max_rows)
        sums = np.zeros((nbin, nfeed, nchan))
        counts = np.zeros((nbin, nfeed, nchan))
        for block in r.iter_dumps(reuse_buffer=True):
            data = block.data.reshape(-1, nfeed, nchan)
            good = np.isfinite(data)
            bins = np.arange(block.dumps.start, block.dumps.stop) // per_bin
            starts = np.flatnonzero(np.r_[True, np.diff(bins) > 0])
            ids = bins[starts]
            sums[ids] += np.add.reduceat(np.where(good, data, 0.0), starts, axis=0)
            counts[ids] += np.add.reduceat(good, starts, axis=0)
        header = {k: _plain(hdr[k]) for k in HEADER_KEYS if k in hdr}
    shape = (ntime, nfeed)
    beams = cols["FDNUM"][:nfeed].astype(int)
    rms = cols["RMS"].astype(float)
    used = grid_selection(rms, cols["FDNUM"], grid_params or {}, header.get("OBSNUM"))
    utc = cols["UTCTIME"].reshape(shape)[:, 0]
    with np.errstate(invalid="ignore", divide="ignore"):
        waterfall = (sums / counts).astype(np.float32)
        mean_spectrum = (sums.sum(axis=0) / counts.sum(axis=0)).astype(np.float32)
    velocity = float(hdr["VELO0"]) + float(hdr["DVDC"]) * np.arange(nchan)
    dump_s = float(hdr.get("DUMPTIME", 0.0))
    exposure = cols.get("EXPOSURE", np.full(ntime * nfeed, dump_s)).reshape(shape)[:, 0]
    header["INTTIME"] = float(exposure.sum())
    time_s = utc - utc[0] if ntime else utc
    return BeamSummary(
        header=header,
        beams=beams,
        pols=cols["PLNUM"][:nfeed].astype(int) if "PLNUM" in cols else np.zeros(nfeed, int),
        time_s=time_s,
        x=cols["LMTXOFF"].reshape(shape),
        y=cols["LMTYOFF"].reshape(shape),
        rms=rms.reshape(shape),
        tsys=cols["TSYS"].astype(float).reshape(shape),
        used=used.reshape(shape),
        velocity=velocity,
        waterfall_dump=(np.arange(nbin) + 0.5) * per_bin,
        waterfall=waterfall,
        mean_spectrum=mean_spectrum,
        params=dict(grid_params or {}),
    )


def _plain(value: Any) -> Any:
    """A FITS keyword value as a JSON-ready Python scalar."""
    return value.item() if isinstance(value, np.generic) else value


def attach_tsys(summary: BeamSummary, tsys_path: str | Path) -> BeamSummary:
    """Add the Cal ObsNum's Tsys spectra ``(nfeed, nchan0)`` in the summary's feed order."""
    beams, spectra, _ = read_tsys(tsys_path)
    row = {int(b): i for i, b in enumerate(beams)}
    npol = spectra.shape[1]
    summary.tsys_spectra = np.stack(
        [spectra[row[int(b)], min(int(p), npol - 1)] for b, p in zip(summary.beams, summary.pols,
                                                                      strict=True)]
    )  # fmt: skip
    return summary


def sky_frequency_ghz(summary: BeamSummary) -> NDArray[np.float64]:
    """Topocentric sky frequency (GHz) of every full-band channel."""
    return axis_from_keywords(summary.header).sky_frequency() / 1e9
