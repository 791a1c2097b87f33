"""The cube written strip by strip (lmtflow.io.cube_file) is the file write_cube writes, byte
for byte but the DATE card; it appears only when complete, and never after an error."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.io import fits

from lmtflow.io.cube import cube_header
from lmtflow.io.cube_file import cube_file

from . import test_cube_fits
from .test_cube_fits import DEC0, RA0, SPEC, write_example

gridded = pytest.fixture(test_cube_fits.gridded.__wrapped__)  # the writers' small cube


def _header(gridded):
    return cube_header(gridded.geometry, center_lon_deg=RA0, center_lat_deg=DEC0, spectral=SPEC,
                       beam_fwhm_arcsec=12.0, object_name="IRC+10216", obsnums=[79448],
                       params=gridded.params)  # fmt: skip


def _without_date(raw: bytes) -> bytes:
    cards = [raw[i : i + 80] for i in range(0, len(raw), 80)]
    return b"".join(c for c in cards if not c.startswith(b"DATE    ="))


def test_strips_in_any_order_give_write_cubes_bytes(tmp_path, gridded):
    cube = gridded.cube.copy()
    cube[3, 2, 5] = np.float32(1.0e-30)  # bits, not only values, must survive
    gridded.cube = cube
    whole = write_example(tmp_path / "whole.fits", gridded, beam_fwhm_arcsec=12.0,
                          instrument=None, date_obs=None, vlsr_kms=None, vsource_kms=None,
                          nchan0=None, chan0=None, obsnums=[79448], history=())  # fmt: skip
    target = tmp_path / "strips.fits"
    with cube_file(target, _header(gridded), cube.shape) as out:
        for j0, j1 in [(4, 9), (0, 2), (2, 4)]:  # 9 rows, out of order
            out.write_rows(j0, cube[:, j0:j1])
            assert not target.exists()
        np.testing.assert_array_equal(out.read_rows(1, 5), cube[:, 1:5])
    assert _without_date(target.read_bytes()) == _without_date(whole.read_bytes())
    assert target.stat().st_size % 2880 == 0
    with fits.open(target) as hdul:
        np.testing.assert_array_equal(hdul[0].data, cube)


def test_an_error_or_a_missing_strip_leaves_no_file(tmp_path, gridded):
    cube = gridded.cube
    target, header = tmp_path / "c.fits", _header(gridded)
    with (
        pytest.raises(RuntimeError, match=r"rows \[4, 5"),
        cube_file(target, header, cube.shape) as out,
    ):
        out.write_rows(0, cube[:, :4])
    with pytest.raises(KeyError), cube_file(target, header, cube.shape) as out:
        out.write_rows(0, cube)
        raise KeyError("the gridder failed")
    with (
        pytest.raises(ValueError, match="a strip must be"),
        cube_file(target, header, cube.shape) as out,
    ):
        out.write_rows(0, cube[:, :, :-1])
    assert list(tmp_path.iterdir()) == []
