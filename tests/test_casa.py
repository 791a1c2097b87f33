"""CASA reads the SRDP cube: axes, units, LSRK, rest frequency, beam, imstat, export + reimport.

CASA's wheels (casatools/casatasks) are not published for every Python, so CASA lives in its
own virtual environment made by ``install-test-deps.sh`` (``.venv-casa`` at the repository
root, or ``$LMTFLOW_CASA_VENV``) and ``tests/casa_check.py`` runs there in a subprocess. CASA is
configured to work offline: measures from the ``casadata`` package, no auto-update, no log
file, and a throw-away HOME so that nothing is written to ``~/.casa``. This test never skips:
without the environment it fails and says how to make it.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import numpy as np
from astropy.io import fits

from lmtflow.constants import C_KMS

REPO = Path(__file__).resolve().parents[1]
C_MS = C_KMS * 1e3
SITE_CONFIG = """\
import casadata
measurespath = casadata.datapath
datapath = [casadata.datapath]
measures_auto_update = False
data_auto_update = False
nologfile = True
nologger = True
nogui = True
log2term = False
agg = True
"""


def casa_python() -> Path:
    venv = Path(os.environ.get("LMTFLOW_CASA_VENV", REPO / ".venv-casa"))
    python = venv / "bin" / "python"
    if not python.exists():
        raise AssertionError(
            f"no CASA environment at {venv}: run `bash install-test-deps.sh` (it makes the "
            "virtual environment with envs/casa-test-requirements.txt)"
        )
    return python


def run_casa(cube: Path, tmp_path: Path) -> dict:
    home = tmp_path / "home"
    home.mkdir()
    site = tmp_path / "casasiteconfig.py"
    site.write_text(SITE_CONFIG)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "CASA"))}
    env.update(HOME=str(home), CASASITECONFIG=str(site), MPLBACKEND="Agg")
    proc = subprocess.run(
        [str(casa_python()), str(REPO / "tests" / "casa_check.py"), str(cube), str(tmp_path)],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600,
    )  # fmt: skip
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("CASA-RESULT ")]
    assert proc.returncode == 0 and lines, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert not (home / ".casa").exists() or not any((home / ".casa").rglob("*.log"))
    return json.loads(lines[-1].removeprefix("CASA-RESULT "))


def test_casa_reads_the_srdp_cube(reduced, tmp_path):
    cube = reduced["cube"]
    hdr = fits.getheader(cube)
    data = fits.getdata(cube).astype(np.float64)
    finite = data[np.isfinite(data)]
    our_max = float(finite.max())
    our_rms = float(np.sqrt(np.mean(finite**2)))  # imstat's rms: root mean square
    got = run_casa(cube, tmp_path)
    for key in ("import", "reimport"):
        im = got[key]
        assert im["shape"] == [hdr["NAXIS1"], hdr["NAXIS2"], hdr["NAXIS3"]]
        assert im["names"] == ["Right Ascension", "Declination", "Frequency"]
        assert im["units"] == ["rad", "rad", "Hz"]
        assert im["types"] == ["Direction", "Direction", "Spectral"]
        assert im["spectral_frame"] == "LSRK" == hdr["SPECSYS"]
        assert im["restfreq_hz"] == hdr["RESTFRQ"] and im["restfreq_unit"] == "Hz"
        assert im["bunit"] == hdr["BUNIT"] == "K"
        np.testing.assert_allclose(im["beam_major_arcsec"], hdr["BMAJ"] * 3600, rtol=1e-9)
        np.testing.assert_allclose(im["beam_minor_arcsec"], hdr["BMIN"] * 3600, rtol=1e-9)
        assert im["beam_pa_deg"] == hdr["BPA"]
        assert im["npts"] == finite.size  # blanked (NaN) cells are masked, not counted
        np.testing.assert_allclose(im["max"], our_max, rtol=1e-5)
        np.testing.assert_allclose(im["rms"], our_rms, rtol=1e-5)
    # CASA's own FITS export: same cells, same velocity/frequency axis
    exported = fits.getdata(got["exported"]).squeeze().astype(np.float64)
    assert exported.shape == data.shape
    np.testing.assert_allclose(exported, data, rtol=1e-6, equal_nan=True)
    ehdr = fits.getheader(got["exported"])
    assert ehdr["CTYPE3"] == "FREQ" and ehdr["SPECSYS"] == "LSRK"
    v = hdr["CRVAL3"] + (np.arange(hdr["NAXIS3"]) + 1 - hdr["CRPIX3"]) * hdr["CDELT3"]
    f = ehdr["CRVAL3"] + (np.arange(hdr["NAXIS3"]) + 1 - ehdr["CRPIX3"]) * ehdr["CDELT3"]
    np.testing.assert_allclose(f, hdr["RESTFRQ"] * (1 - v / C_MS), rtol=1e-10)  # radio velocity
