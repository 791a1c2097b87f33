"""Run by tests/test_casa.py with CASA's Python: import a cube, report what CASA sees, as JSON.

Usage: ``python casa_check.py CUBE.fits WORKDIR``. CASA is configured by the caller
(``CASASITECONFIG``: measures from the ``casadata`` package, no auto-update, no log file).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def describe(image: str) -> dict:
    from casatasks import imstat
    from casatools import image as image_tool

    ia = image_tool()
    ia.open(image)
    try:
        cs = ia.coordsys()
        beam = ia.restoringbeam()
        out = {
            "shape": [int(n) for n in ia.shape()],
            "names": list(cs.names()),
            "units": list(cs.units()),
            "types": list(cs.axiscoordinatetypes()),
            "spectral_frame": cs.referencecode("spectral")[0],
            "restfreq_hz": float(cs.restfrequency()["value"][0]),
            "restfreq_unit": cs.restfrequency()["unit"],
            "direction_frame": cs.referencecode("direction")[0],
            "bunit": ia.brightnessunit(),
            "beam_major_arcsec": _arcsec(beam["major"]),
            "beam_minor_arcsec": _arcsec(beam["minor"]),
            "beam_pa_deg": float(beam["positionangle"]["value"]),
            "beam_pa_unit": beam["positionangle"]["unit"],
        }
        cs.done()
    finally:
        ia.close()
    stats = imstat(imagename=image)
    out["max"] = float(stats["max"][0])
    out["rms"] = float(stats["rms"][0])
    out["npts"] = int(stats["npts"][0])
    return out


def _arcsec(q: dict) -> float:
    from casatools import quanta

    return float(quanta().convert(q, "arcsec")["value"])


def main(cube: str, work: str) -> None:
    from casatasks import exportfits, importfits

    work_dir = Path(work)
    first = str(work_dir / "cube.im")
    importfits(fitsimage=cube, imagename=first, overwrite=True)
    result = {"import": describe(first)}
    exported = str(work_dir / "exported.fits")
    exportfits(imagename=first, fitsimage=exported, overwrite=True)
    second = str(work_dir / "reimported.im")
    importfits(fitsimage=exported, imagename=second, overwrite=True)
    result["reimport"] = describe(second)
    result["exported"] = exported
    print("CASA-RESULT " + json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
