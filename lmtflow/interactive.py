"""Load and go: reduce an ObsNum from Python with the same steps the workflow runs.

>>> obs = lmtflow.load(79448, data_lmt="data_lmt")      # raw counts, data[ntime, nbeam, ...]
>>> cal = obs.calibrate(); base = cal.baseline(b_order=1); cube = base.grid(resolution=12)
>>> base.to_sdfits("79448.sdfits"); cube.plot()

Each step writes the same file the Snakemake rule writes (in a scratch work tree unless
``work`` is given) by calling the same library function with parameters resolved by
:func:`lmtflow.params.step_params`; the returned objects read those files back.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from astropy.io import fits

from . import layout
from .config import SCHEMA_PATH, load_config
from .flags.rules import normalise_rule
from .flags.steps import with_rules
from .io.sdfits_reader import SDFITSReader
from .params import step_params
from .pipeline.baseline import baseline as run_baseline
from .pipeline.calibrate import calibrate as run_calibrate
from .pipeline.grid import grid_products
from .pipeline.ingest import ingest
from .pipeline.spectrum import make_spectrum
from .pipeline.tsys import make_tsys
from .scan import ObsInfo, scan_obsnum

if TYPE_CHECKING:
    from matplotlib.axes import Axes

DEFAULT_CONFIG = SCHEMA_PATH.parent / "config.yaml"


@dataclass
class _Context:
    info: ObsInfo
    bank: int
    data_lmt: Path
    work: Path
    config: dict
    flags: list = field(default_factory=list)  # rules added by SpectraSet.flag()

    def path(self, pattern: str, **fields: Any) -> Path:
        values = dict(pid=self.info.pid, obsnum=self.info.obsnum, bank=self.bank)
        values.update(fields)
        p = layout.path(self.work, pattern, **values)
        p.parent.mkdir(parents=True, exist_ok=True)
        return p

    def params(self, step: str, overrides: dict[str, Any]) -> dict[str, Any]:
        cfg = dict(self.config)
        merged = {**cfg["defaults"].get(step, {}), **overrides}
        cfg["defaults"] = {**cfg["defaults"], step: merged}
        p = step_params(cfg, self.info.header, self.bank, step)
        return with_rules(p, self.flags, self.info, self.bank, step)


@dataclass
class SpectraSet:
    """Spectra of one step in an SDFITS file; ``data`` is (ntime, nbeam, npol, nband, nchan)."""

    path: Path
    ctx: _Context = field(repr=False)
    params: dict[str, Any] = field(default_factory=dict)

    def _reader(self) -> SDFITSReader:
        return SDFITSReader(self.path)

    @property
    def data(self) -> np.ndarray:
        """All spectra as a 5-D float32 array (loaded into memory)."""
        with self._reader() as r:
            return r.data().reshape(r.datadims)

    def column(self, name: str) -> np.ndarray:
        """One SDFITS column, one value per row."""
        with self._reader() as r:
            return r.column(name)

    @property
    def header(self) -> fits.Header:
        with self._reader() as r:
            return r.header.copy()

    def flag(self, reason: str, **keys: Any) -> SpectraSet:
        """Add a flag rule (the flag-file keys, e.g. ``beam=3`` or ``chan=[[1000, 1002]]``,
        ``time_s=[10, 20]``); the steps run after this apply it where it belongs (a time rule
        at calibration, a channel rule at the baseline, a beam rule at gridding)."""
        self.ctx.flags.append(normalise_rule({"reason": reason, **keys}))
        return self

    def to_sdfits(self, path: str | Path) -> Path:
        """Copy the spectra to an SDFITS file of your choice."""
        shutil.copyfile(self.path, path)
        return Path(path)


class Observation(SpectraSet):
    """Raw counts of one ObsNum and bank (ingested from the raw netCDF files)."""

    def calibrate(self, **overrides: Any) -> Calibrated:
        """Ta* of the ON dumps (Tsys from the Cal ObsNum); overrides e.g. ``stype=1``."""
        ctx = self.ctx
        cal = ctx.info.cal
        cal_raw = ctx.path(layout.RAW_SDFITS, pid=ctx.info.cal_pid, obsnum=cal.obsnum)
        ingest(ctx.data_lmt, cal.obsnum, ctx.bank, cal_raw)
        p = ctx.params("calibrate", overrides)
        tsys = make_tsys(cal_raw, ctx.path(layout.TSYS, pid=ctx.info.cal_pid, obsnum=cal.obsnum),
                         p["tsys_bdrop"], p["tsys_edrop"])  # fmt: skip
        out = run_calibrate(self.path, tsys, ctx.path(layout.CAL_SDFITS), p)
        return Calibrated(out, ctx, p)


class Calibrated(SpectraSet):
    """Calibrated Ta* spectra of the ON dumps."""

    def baseline(self, **overrides: Any) -> Baselined:
        """Slice, patch birdies, fit baselines; overrides e.g. ``b_order=1, dv=80``."""
        p = self.ctx.params("baseline", overrides)
        out = run_baseline(self.path, self.ctx.path(layout.BASE_SDFITS), p)
        return Baselined(out, self.ctx, p)


class Baselined(SpectraSet):
    """Baselined spectra with an RMS per spectrum."""

    def spectrum(self, **overrides: Any) -> Spectrum:
        """Average a Ps/Bs ObsNum into its spectrum; overrides e.g. ``pix_list=[10, 11]``."""
        p = self.ctx.params("spectrum", overrides)
        out = self.ctx.path(layout.SRDP_SPECTRUM, src=self.ctx.info.src)
        txt = self.ctx.path(layout.SRDP_SPECTRUM_TXT, src=self.ctx.info.src)
        make_spectrum(self.path, out, txt, p)
        return Spectrum(out, txt, p)

    def grid(self, threads: int | None = None, **overrides: Any) -> Cube:
        """Grid into a cube; overrides e.g. ``resolution=12, pix_list="-0,5"``."""
        p = self.ctx.params("grid", overrides)
        cube, weight = grid_products([self.path], self.ctx.path(layout.CUBE),
                                     self.ctx.path(layout.WEIGHT), p, threads)  # fmt: skip
        return Cube(cube, weight, p)


class _FitsProduct:
    """A product in a FITS file: its data and primary header."""

    path: Path

    @property
    def data(self) -> np.ndarray:
        return fits.getdata(self.path)

    @property
    def header(self) -> fits.Header:
        return fits.getheader(self.path)


@dataclass
class Spectrum(_FitsProduct):
    """A Ps/Bs spectrum (FITS with a VRAD axis) and its ASCII table."""

    path: Path
    table_path: Path
    params: dict[str, Any]

    @property
    def velocity(self) -> np.ndarray:
        """Velocity (km/s) of every channel."""
        from .io.spectrum_fits import velocity_axis

        return velocity_axis(self.header, self.data.size)

    def plot(self, ax: Axes | None = None) -> Axes:
        """The spectrum against velocity (matplotlib)."""
        import matplotlib.pyplot as plt

        ax = ax or plt.figure().add_subplot()
        ax.step(self.velocity, self.data, where="mid")
        ax.set_xlabel("VRAD (km/s)")
        ax.set_ylabel("Ta* (K)")
        ax.set_title(f"{self.header.get('OBJECT', '')} ObsNum {self.header.get('OBSNUMS', '')}")
        return ax


@dataclass
class Cube(_FitsProduct):
    """A gridded cube and its weight map."""

    path: Path
    weight_path: Path
    params: dict[str, Any]

    def plot(self, ax: Axes | None = None) -> Axes:
        """Peak-intensity map with the WCS axes (matplotlib)."""
        import matplotlib.pyplot as plt
        from astropy.wcs import WCS

        wcs = WCS(self.header).celestial
        if ax is None:
            ax = plt.figure().add_subplot(projection=wcs)
        filled = np.isfinite(self.data).any(axis=0)  # blank cells stay NaN, without a warning
        peak = np.full(filled.shape, np.nan, dtype=np.float32)
        peak[filled] = np.nanmax(self.data[:, filled], axis=0)
        lo, hi = np.nanpercentile(peak, [1, 99.5]) if np.isfinite(peak).any() else (0, 1)
        im = ax.imshow(peak, origin="lower", vmin=lo, vmax=hi)
        ax.set_xlabel("RA")
        ax.set_ylabel("Dec")
        ax.set_title(f"{self.header.get('OBJECT', '')} peak Ta* (K)")
        plt.colorbar(im, ax=ax, label="K")
        return ax


def load(
    obsnum: int,
    data_lmt: str | Path | None = None,
    bank: int | None = None,
    work: str | Path | None = None,
    config: str | Path | dict | None = None,
) -> Observation:
    """Ingest ``obsnum`` (one bank, the first by default) and return its raw spectra."""
    if isinstance(config, dict):
        from .config import validate_config

        cfg = validate_config(config)
    else:
        cfg = load_config(config or DEFAULT_CONFIG)
    data_lmt = Path(data_lmt or cfg["data_lmt"])
    info = scan_obsnum(data_lmt, obsnum)
    bank = info.banks[0] if bank is None else bank
    work = Path(work) if work else Path(tempfile.mkdtemp(prefix="lmtflow-"))
    ctx = _Context(info, bank, data_lmt, work, cfg)
    raw = ingest(data_lmt, obsnum, bank, ctx.path(layout.RAW_SDFITS))
    return Observation(raw, ctx)
