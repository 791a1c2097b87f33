"""The grid step cut into blocks of cells and strips of rows (bounded memory) gives the cube of
one block, bit for bit (each tile sums the same chunks of spectra in the same order), its blocks
cover the map once, and the low-weight cells are blanked in the written file as in memory."""

from __future__ import annotations

import functools

import numpy as np
from astropy.io import fits

from lmtflow.io.sdfits_reader import SDFITSReader
from lmtflow.pipeline import grid as grid_step
from lmtflow.pipeline import grid_read


def test_blocks_give_the_cube_of_one_block(reduced, tmp_path, monkeypatch):
    params = reduced["params"]
    # small chunks: the tiles' sums take several products, split alike in both runs
    monkeypatch.setattr(
        grid_step, "grid_spectra", functools.partial(grid_step.grid_spectra, chunk=50)
    )
    whole = [tmp_path / "one.cube.fits", tmp_path / "one.wt.fits"]
    grid_step.grid_products([reduced["base"]], *whole, params, threads=1)

    seen = []
    blocks = grid_step._blocks

    def spy(*args):
        out = blocks(*args)
        seen.append(out[0])
        return out

    with SDFITSReader(reduced["base"]) as r:
        nchan = r.nchan
    monkeypatch.setattr(grid_step, "BLOCK_BYTES", 300 * 4 * nchan)  # 300 spectra a block
    monkeypatch.setattr(grid_read, "GAP_ROWS", 3)
    monkeypatch.setattr(grid_step, "STRIP_BYTES", 1)  # strips one tile high
    blanked = []
    blank_rows = grid_step._blank_rows
    monkeypatch.setattr(grid_step, "_blank_rows", lambda *a: blanked.append(blank_rows(*a)))
    monkeypatch.setattr(grid_step, "_blocks", spy)
    parts = [tmp_path / "parts.cube.fits", tmp_path / "parts.wt.fits"]
    grid_step.grid_products([reduced["base"]], *parts, params, threads=2)

    (cells,) = seen
    assert any(i0 > 0 for _, _, i0, _ in cells) and any(j0 > 0 for j0, _, _, _ in cells)
    assert max(j1 - j0 for j0, j1, _, _ in cells) == grid_step.DEFAULT_TILE
    assert blanked[0] > 0  # min_weight blanked edge cells in the written file
    with fits.open(whole[0]) as a, fits.open(parts[0]) as b:
        ny, nx = a[0].data.shape[1:]
        np.testing.assert_array_equal(a[0].data, b[0].data)  # NaN where NaN, else equal bits
        assert np.isfinite(a[0].data).any()
        with fits.open(whole[1]) as wt:  # as the in-memory blanking of the same cube does
            cube = a[0].data.copy()
            edges = grid_step.low_weight_cells(np.isfinite(cube).any(axis=0), wt[0].data,
                                               params["min_weight"])  # fmt: skip
            assert not np.isfinite(cube[:, edges]).any()
    cover = np.zeros((ny, nx), int)
    for j0, j1, i0, i1 in cells:
        cover[j0:j1, i0:i1] += 1
    assert (cover == 1).all()
    with fits.open(whole[1]) as a, fits.open(parts[1]) as b:
        np.testing.assert_array_equal(a[0].data, b[0].data)
