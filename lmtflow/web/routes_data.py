"""The interactive views and their data: a spectrum (Ps, Bs, RSR, or one pixel of a map) as
JSON for plotly, and a cube's channel maps and moment maps as PNG images, one image pixel per
map pixel. The pages work without JavaScript except for the plotted spectrum.
"""

from __future__ import annotations

from pathlib import Path as FilePath
from typing import Annotated

import numpy as np
from fastapi import APIRouter, HTTPException, Path, Query, Request
from fastapi.responses import JSONResponse, Response

from ..attempts import BASE
from . import catalog, science
from .access import Db, ProjectAccess
from .memo import Memo
from .routes_pages import ATTEMPT_QUERY, product_files
from .templating import render

router = APIRouter()
PLANES = ("mom0", "peak", "mom1", "rms")
Label = Annotated[str, Path(pattern=catalog.LABEL.pattern, max_length=catalog.MAX_LABEL)]
Bank = Annotated[int, Query(ge=0, le=64)]
BankPath = Annotated[int, Path(ge=0, le=64)]
Attempt = Annotated[str, Query(pattern=ATTEMPT_QUERY)]
Pixel = Annotated[int | None, Query(ge=0, le=100000)]
PlaneName = Annotated[str, Query(pattern="^(mom0|peak|mom1|rms)$")]
PNG_HEADERS = {"Cache-Control": "private, max-age=300"}
IMAGES: Memo[bytes] = Memo(max_items=1024, max_bytes=4 << 20, size=len)
"""Channel and plane PNGs (a few kB each), kept while their FITS file is unchanged."""
SPECTRA: Memo[bytes] = Memo(max_items=64, max_bytes=4 << 20, size=len)
"""spectrum.json bodies (~50 kB for a cube of 800 channels), kept while the spectrum (or
cube), the parameters and qa.json are. Small bounds: these save the repeated views (a reload,
the centre pixel, a slider moved back), and the server's memory must stay flat."""


def _cube(files: catalog.ProductFiles) -> science.Cube:
    path = files.cube()
    if path is None:
        raise HTTPException(404, "this product has no cube")
    return science.open_cube(path)


def _pixel(cube: science.Cube, x: int, y: int) -> None:
    if not (0 <= x < cube.nx and 0 <= y < cube.ny):
        raise HTTPException(404, f"pixel ({x}, {y}) is outside the {cube.nx} x {cube.ny} map")


@router.get("/p/{pid}/o/{label}/spectrum")
def spectrum_page(request: Request, label: Label, project: ProjectAccess, db: Db,
                  bank: Bank = 0, attempt: Attempt = BASE, x: Pixel = None,
                  y: Pixel = None) -> Response:  # fmt: skip
    files, _ = product_files(request, db, project, label, bank, attempt)
    if files.row.kind == "map" and (x is None or y is None):
        cube = _cube(files)
        x, y = cube.nx // 2, cube.ny // 2
    return render(request, "spectrum.html", project=project, files=files, row=files.row,
                  x=x, y=y)  # fmt: skip


@router.get("/p/{pid}/o/{label}/spectrum.json")
def spectrum_json(request: Request, label: Label, project: ProjectAccess, db: Db,
                  bank: Bank = 0, attempt: Attempt = BASE, x: Pixel = None,
                  y: Pixel = None) -> Response:  # fmt: skip
    """The spectrum of a Ps/Bs/RSR product (its .spec.txt columns), or of map pixel (x, y)."""
    files, _ = product_files(request, db, project, label, bank, attempt)
    if files.row.kind != "map":
        path = files.spectrum_txt()
        if path is None:
            raise HTTPException(404, "this product has no spectrum file")
    else:
        path = files.cube()
        if path is None:
            raise HTTPException(404, "this product has no cube")
        if x is None or y is None:
            raise HTTPException(404, "a map's spectrum needs the pixel: ?x=&y=")
    sources = (path, files.params_file(), files.qa())
    body = SPECTRA.get(sources, (files.row.source, label, bank, attempt, x, y),
                       lambda: _spectrum_body(files, path, label, bank, attempt, x, y))  # fmt: skip
    return Response(body, media_type="application/json")


def _spectrum_body(files: catalog.ProductFiles, path: FilePath, label: str, bank: int,
                   attempt: str, x: int | None, y: int | None) -> bytes:  # fmt: skip
    params = files.params()
    if files.row.kind != "map":
        data = science.spectrum_payload(path, params, files.row.restfreq_GHz)
        data["title"] = f"{files.row.source} {label} bank {bank} ({attempt})"
        return JSONResponse(data).body
    cube = science.open_cube(path)
    _pixel(cube, x, y)
    spec = cube.pixel(x, y)
    finite = np.where(np.isfinite(spec), spec, None).tolist()
    return JSONResponse({
        "title": f"{files.row.source} {label} bank {bank} ({attempt}) pixel ({x}, {y})",
        "velocity": cube.velocity.tolist(), "frequency": cube.frequency(),
        "y": finite, "yname": "Ta* (K)", "columns": {}, "extra": [],
        "restfreq_GHz": cube.restfreq_GHz, "windows": science.windows(params),
        "pixel": [x, y], "nx": cube.nx, "ny": cube.ny,
    }).body  # fmt: skip


@router.get("/p/{pid}/o/{label}/cube")
def cube_page(request: Request, label: Label, project: ProjectAccess, db: Db,
              bank: Bank = 0, attempt: Attempt = BASE, chan: Pixel = None, x: Pixel = None,
              y: Pixel = None, plane: PlaneName = "mom0") -> Response:  # fmt: skip
    files, _ = product_files(request, db, project, label, bank, attempt)
    cube = _cube(files)
    if chan is None:  # start at the brightest channel of the centre
        centre = cube.pixel(cube.nx // 2, cube.ny // 2)
        chan = int(np.nanargmax(centre)) if np.isfinite(centre).any() else cube.nchan // 2
    chan = min(chan, cube.nchan - 1)
    x = cube.nx // 2 if x is None else min(x, cube.nx - 1)
    y = cube.ny // 2 if y is None else min(y, cube.ny - 1)
    planes = [p for p in PLANES if files.plane(p) is not None]
    return render(request, "cube.html", project=project, files=files, row=files.row, cube=cube,
                  chan=chan, x=x, y=y, plane=plane if plane in planes else None,
                  planes=planes, velocities=cube.velocity.tolist())  # fmt: skip


@router.get("/p/{pid}/o/{label}/cube/{bank}/chan/{k}.png")
def channel_png(request: Request, k: int, label: Label, bank: BankPath,
                project: ProjectAccess, db: Db, attempt: Attempt = BASE) -> Response:  # fmt: skip
    """Channel ``k`` of the cube, on the colour scale of the whole cube."""
    files, _ = product_files(request, db, project, label, bank, attempt)
    cube = _cube(files)
    if not 0 <= k < cube.nchan:
        raise HTTPException(404, f"channel {k} is outside 0..{cube.nchan - 1}")
    image = IMAGES.get((cube.path,), ("chan", k),
                       lambda: science.png(cube.channel(k), cube.vmin, cube.vmax))  # fmt: skip
    return Response(image, media_type="image/png", headers=PNG_HEADERS)


@router.get("/p/{pid}/o/{label}/cube/{bank}/{plane}.png")
def plane_png(request: Request, plane: Annotated[str, Path(pattern="^(mom0|peak|mom1|rms)$")],
              label: Label, bank: BankPath, project: ProjectAccess, db: Db,
              attempt: Attempt = BASE) -> Response:  # fmt: skip
    """A moment, peak or RMS map of the product, one image pixel per map pixel."""
    files, _ = product_files(request, db, project, label, bank, attempt)
    path = files.plane(plane)
    if path is None:
        raise HTTPException(404, f"this product has no {plane} map")
    cmap = "RdBu_r" if plane == "mom1" else "viridis"
    image = IMAGES.get((path,), ("plane", cmap),
                       lambda: science.png(science.read_plane(path), cmap=cmap))  # fmt: skip
    return Response(image, media_type="image/png", headers=PNG_HEADERS)
