"""lmtflow.treediff: two work trees compared product by product (DATE cards aside)."""

from __future__ import annotations

import shutil
import zipfile

import numpy as np
from astropy.io import fits

from lmtflow.treediff import diff_trees, main


def test_copy_is_equal_and_date_is_ignored(reduced, tmp_path):
    a = reduced["dir"]
    b = tmp_path / "copy"
    shutil.copytree(a, b)
    assert diff_trees(a, b) == []
    cube = b / reduced["cube"].relative_to(a)
    with fits.open(cube, mode="update") as h:
        h[0].header["DATE"] = "2000-01-01T00:00:00"
    assert diff_trees(a, b) == []
    assert main([str(a), str(b)]) == 0


def test_a_changed_value_header_or_missing_file_is_named(reduced, tmp_path):
    a = reduced["dir"]
    b = tmp_path / "copy"
    shutil.copytree(a, b)
    rel = reduced["cube"].relative_to(a).as_posix()
    with fits.open(b / rel, mode="update") as h:
        i = np.argwhere(np.isfinite(h[0].data))[0]
        h[0].data[tuple(i)] += 1e-3
    (b / reduced["base"].name).unlink()
    with fits.open(b / reduced["cal"].name, mode="update") as h:
        h[1].header["TELESCOP"] = "GBT"
    found = diff_trees(a, b)
    assert f"{rel}: HDU 0 data differ" in found
    assert f"{reduced['base'].name}: only in {a}" in found
    assert any(x.startswith(reduced["cal"].name) and "TELESCOP" in x for x in found)
    assert main([str(a), str(b)]) == 1


def test_zip_members_compared_by_content_not_time(reduced, tmp_path):
    cube = reduced["cube"]
    for name, when in (("a", (2020, 1, 1, 0, 0, 0)), ("b", (2024, 5, 6, 7, 8, 10))):
        (tmp_path / name).mkdir()
        with zipfile.ZipFile(tmp_path / name / "x.zip", "w") as z:
            z.writestr(zipfile.ZipInfo(cube.name, date_time=when), cube.read_bytes())
    assert diff_trees(tmp_path / "a", tmp_path / "b") == []
    with zipfile.ZipFile(tmp_path / "b" / "x.zip", "a") as z:
        z.writestr("extra.txt", "x")
    assert diff_trees(tmp_path / "a", tmp_path / "b") == [
        "x.zip: member extra.txt only in the second"
    ]
