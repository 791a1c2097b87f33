"""The numbers behind the interactive views: a spectrum with its windows, a cube's channel
maps and the spectrum at one of its pixels. Files are read on demand (cubes memory-mapped);
nothing here knows about HTTP.
"""

from __future__ import annotations

import io
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from astropy.io import fits
from numpy.typing import NDArray

C_KMS = 299792.458
_REST = re.compile(r"rest frequency\s+([0-9.eE+-]+)\s*Hz")


def read_table_txt(path: Path) -> tuple[dict[str, NDArray], list[str]]:
    """Columns (by the names of the last ``#`` line) and comment lines of a ``.spec.txt``."""
    comments = []
    with open(path) as f:
        for line in f:
            if not line.startswith("#"):
                break
            comments.append(line[1:].strip())
    names = comments[-1].split() if comments else []
    data = np.loadtxt(path, comments="#", ndmin=2)
    if data.shape[1] != len(names):
        raise ValueError(f"{path}: {data.shape[1]} columns but {len(names)} names")
    return {n: data[:, i] for i, n in enumerate(names)}, comments[:-1]


def _regions(value: Any) -> list[list[float]]:
    if isinstance(value, str):  # "a,b,c,d" or RSR "f,w,f,w" lists are handled by callers
        value = [float(v) for v in value.split(",") if v.strip()]
    if not value:
        return []
    if isinstance(value[0], (int, float)):
        value = [value[i : i + 2] for i in range(0, len(value) - 1, 2)]
    return [[float(a), float(b)] for a, b in value]


def windows(params: dict[str, Any]) -> dict[str, list[list[float]]]:
    """Baseline and line windows of a product (km/s, or GHz for RSR) from its parameters:
    baseline windows are the fitted regions; line windows the rest of the slice between them."""
    base = params.get("baseline") or {}
    if "b_regions" in base:
        regions = sorted(_regions(base["b_regions"]))
        lo, hi = (base.get("slice") or [None, None])[:2]
        lines = [[a[1], b[0]] for a, b in zip(regions, regions[1:], strict=False) if b[0] > a[1]]
        if not regions and lo is not None:
            lines = [[float(lo), float(hi)]]
        return {"unit": "km/s", "baseline": regions, "line": lines}
    rsr = params.get("rsr_baseline") or params.get("rsr_spectrum") or {}
    xl = rsr.get("xlines")
    if xl:
        vals = [float(v) for v in str(xl).split(",") if v.strip()] if isinstance(xl, str) else xl
        return {"unit": "GHz", "baseline": [],
                "line": [[f - w, f + w] for f, w in zip(vals[::2], vals[1::2], strict=False)]}
    return {"unit": "", "baseline": [], "line": []}


def spectrum_payload(path: Path, params: dict[str, Any], restfreq_GHz: float | None) -> dict:
    """The spectrum file's columns and both axes (velocity and sky/rest frequency)."""
    cols, comments = read_table_txt(path)
    m = next((_REST.search(c) for c in comments if _REST.search(c)), None)
    rest = float(m.group(1)) / 1e9 if m else restfreq_GHz
    out: dict[str, Any] = {"columns": {k: v.tolist() for k, v in cols.items()},
                           "comments": comments, "restfreq_GHz": rest,
                           "windows": windows(params)}  # fmt: skip
    if "vlsr_kms" in cols:
        v = cols["vlsr_kms"]
        out["velocity"] = v.tolist()
        out["frequency"] = (rest * (1 - v / C_KMS)).tolist() if rest else None
        out["y"], out["yname"] = cols["ta_k"].tolist(), "Ta* (K)"
        out["extra"] = [k for k in cols if k not in ("vlsr_kms", "ta_k", "tsys_k")]
    else:  # RSR: a wideband spectrum on a frequency axis only
        out["velocity"], out["frequency"] = None, cols["freq_ghz"].tolist()
        out["y"], out["yname"] = cols["ta_k"].tolist(), "Ta* (K)"
        out["extra"] = []
    return out


class Cube:
    """A cube FITS file (VRAD axis 3) opened memory-mapped: its planes, axes and display range."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.hdul = fits.open(path, memmap=True, lazy_load_hdus=False)
        self.data = self.hdul[0].data  # (nchan, ny, nx)
        h = self.hdul[0].header
        self.header = h
        self.nchan, self.ny, self.nx = self.data.shape
        k = np.arange(self.nchan)
        scale = 1e-3 if h.get("CUNIT3", "m/s").strip() == "m/s" else 1.0
        self.velocity = (h["CRVAL3"] + (k + 1 - h["CRPIX3"]) * h["CDELT3"]) * scale
        rest = h.get("RESTFRQ") or h.get("RESTFREQ")
        self.restfreq_GHz = rest / 1e9 if rest else None
        sample = np.asarray(self.data[:: max(1, self.nchan // 32)], dtype=np.float64)
        finite = sample[np.isfinite(sample)]
        lo, hi = np.percentile(finite, [1.0, 99.9]) if finite.size else (0.0, 1.0)
        self.vmin, self.vmax = float(lo), float(max(hi, lo + 1e-6))

    def channel(self, k: int) -> NDArray:
        return np.asarray(self.data[k], dtype=np.float32)

    def pixel(self, x: int, y: int) -> NDArray:
        return np.asarray(self.data[:, y, x], dtype=np.float64)

    def frequency(self) -> list[float] | None:
        if not self.restfreq_GHz:
            return None
        return (self.restfreq_GHz * (1 - self.velocity / C_KMS)).tolist()


@lru_cache(maxsize=16)
def _open_cube(path: str, mtime_ns: int, size: int) -> Cube:
    return Cube(Path(path))


def open_cube(path: Path) -> Cube:
    """A cached :class:`Cube`; a rewritten file (new mtime or size) is opened afresh."""
    st = path.stat()
    return _open_cube(str(path), st.st_mtime_ns, st.st_size)


def png(image: NDArray, vmin: float | None = None, vmax: float | None = None,
        cmap: str = "viridis") -> bytes:  # fmt: skip
    """A PNG with one pixel per map pixel (north up: row 0 at the bottom), NaN in grey."""
    import matplotlib
    from matplotlib.colors import Normalize

    finite = image[np.isfinite(image)]
    if vmin is None or vmax is None:
        lo, hi = (np.percentile(finite, [1.0, 99.5]) if finite.size else (0.0, 1.0))
        vmin, vmax = float(lo), float(max(hi, lo + 1e-6))
    colours = matplotlib.colormaps[cmap].with_extremes(bad=(0.8, 0.8, 0.8, 1.0))
    rgba = colours(Normalize(vmin, vmax, clip=True)(np.ma.masked_invalid(image)), bytes=True)
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgba[::-1])).save(buf, format="PNG")
    return buf.getvalue()


def read_plane(path: Path) -> NDArray:
    """A 2-D map (moment or peak) of a product, squeezed to (ny, nx)."""
    with fits.open(path, memmap=False) as hdul:
        return np.squeeze(np.asarray(hdul[0].data, dtype=np.float32))
