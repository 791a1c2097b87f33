"""Flags applied at the step that must see them, on the small map's real products: data are
masked, never edited (DATA unchanged, FLAGS set, read by dysh as flags); REF dumps flagged
stay out of the calibration; channel flags stay out of the baseline fit and the cube; a beam
rule grids exactly what leaving the beam out of pix_list grids; no flags = the same file."""

from __future__ import annotations

import json

import numpy as np
import pytest
from astropy.io import fits

from lmtflow.flags.apply import flag_summary
from lmtflow.flags.rules import parse_flag_text, public
from lmtflow.io.sdfits_reader import SDFITSReader
from lmtflow.pipeline.baseline import baseline
from lmtflow.pipeline.calibrate import calibrate
from lmtflow.pipeline.grid import grid_products


def with_flags(params: dict, text: str) -> dict:
    return {**params, "flags": {"rules": [public(r) for r in parse_flag_text(text).rules]}}


@pytest.fixture(scope="module")
def steps(reduced, small_sim):
    d = reduced["dir"]
    cal = small_sim.labels["cal"]
    return {
        "raw": reduced["raw"], "cal": reduced["cal"], "base": reduced["base"],
        "tsys": d.parent / str(cal) / f"{cal}__0.tsys.fits",
        **{s: json.loads((d / "params" / f"{s}__0.json").read_text())
           for s in ("calibrate", "baseline", "grid")},
    }  # fmt: skip


def table(path):
    with fits.open(path) as h:
        return h[1].data.copy(), h[1].header.copy(), h[0].header.copy()


def same_but_date(new: bytes, old: bytes) -> bool:
    """Byte-identical files but for the primary header's creation date."""
    date = new.index(b"DATE    =")
    same = new[:date] == old[:date] and new[date + 80 :] == old[date + 80 :]
    return len(new) == len(old) and same


def test_no_flags_gives_the_same_files(steps, reduced, tmp_path):
    cal, base = tmp_path / "a.cal.sdfits", tmp_path / "a.base.sdfits"
    calibrate(steps["raw"], steps["tsys"], cal, steps["calibrate"])
    assert same_but_date(cal.read_bytes(), steps["cal"].read_bytes())
    baseline(steps["cal"], base, steps["baseline"])
    assert same_but_date(base.read_bytes(), steps["base"].read_bytes())
    cube = tmp_path / "c.fits"
    grid_products([steps["base"]], cube, tmp_path / "w.fits", steps["grid"])
    new, old = fits.open(cube), fits.open(reduced["dir"] / f"{reduced['obsnum']}__0.cube.fits")
    assert np.array_equal(new[0].data, old[0].data, equal_nan=True)
    differ = {k for k in new[0].header if new[0].header[k] != old[0].header.get(k)}
    assert differ <= {"DATE", "HISTORY"}, differ


def test_time_flags_mark_on_dumps_and_keep_ref_dumps_out(steps, tmp_path):
    ref, _, _ = table(steps["cal"])
    on = tmp_path / "on.cal.sdfits"
    calibrate(
        steps["raw"],
        steps["tsys"],
        on,
        with_flags(
            steps["calibrate"],
            "rules: [{reason: burst, beam: 5, dump: [[30, 40]], chan: [[100, 200]]}]",
        ),
    )
    t, hdr, _ = table(on)
    assert np.array_equal(t["DATA"], ref["DATA"])  # masked, never edited
    sel = (t["FDNUM"] == 5) & (t["INTNUM"] >= 30) & (t["INTNUM"] <= 40)
    assert np.array_equal(np.flatnonzero(t["FLAGS"].any(axis=1)), np.flatnonzero(sel))
    assert (t["FLAGS"][sel][:, 100:201] == 1).all() and t["FLAGS"].sum() == sel.sum() * 101
    assert json.loads(hdr["FLGRCAL"]) == {"burst": int(sel.sum()) * 101}
    assert len(hdr["FLGSCAL"]) == 64

    from dysh.fits import GBTFITSLoad

    mask = np.asarray(GBTFITSLoad(on)._sdf[0]._flagmask[0][:, :])
    assert np.array_equal(mask, t["FLAGS"] != 0)  # dysh reads our FLAGS as its flags

    # a REF dump flagged: only the ON spectra of that beam calibrated with it change
    refd = tmp_path / "ref.cal.sdfits"
    calibrate(
        steps["raw"],
        steps["tsys"],
        refd,
        with_flags(steps["calibrate"], "rules: [{reason: ref_rfi, beam: 5, dump: [[0, 18]]}]"),
    )
    t, _, _ = table(refd)
    changed = np.any(t["DATA"] != ref["DATA"], axis=1)
    assert changed.any() and set(t["FDNUM"][changed]) == {5}
    assert t["INTNUM"][changed].min() == t["INTNUM"].min()  # the first ON block


def test_channel_flags_leave_the_fit_and_the_cube(steps, tmp_path):
    ref, hdr, _ = table(steps["base"])
    c0 = int(hdr["CHAN0"])
    out = tmp_path / "c.base.sdfits"
    baseline(
        steps["cal"],
        out,
        with_flags(steps["baseline"], f"rules: [{{reason: birdie, chan: [{c0 + 5}, {c0 + 6}]}}]"),
    )
    t, h, _ = table(out)
    assert (
        np.unique(np.nonzero(t["FLAGS"])[1]).tolist() == [5, 6] and (t["FLAGS"][:, 5:7] == 1).all()
    )
    assert not np.array_equal(t["RMS"], ref["RMS"])  # the channels sit in a baseline window
    assert flag_summary(h)["baseline"]["by_reason"] == {"birdie": 2 * len(t)}
    cube_path = tmp_path / "c.fits"
    grid_products([out], cube_path, tmp_path / "w.fits", steps["grid"])
    cube = fits.getdata(cube_path)
    assert np.isnan(cube[5:7]).all() and np.isfinite(cube[7]).mean() > 0.5
    assert fits.getheader(cube_path)["FLGSBAS"] == h["FLGSBAS"]
    # fill: interpolate (the grid step's): the cube is linear in the spectra, so its flagged
    # channels lie on the line between channels 4 and 7 of the same pixel
    filled = tmp_path / "i.fits"
    grid_products([out], filled, tmp_path / "wi.fits", {**steps["grid"], "flags": {
        "rules": [], "fill": "interpolate"}})  # fmt: skip
    cube = fits.getdata(filled).astype(np.float64)
    ok = np.isfinite(cube[4]) & np.isfinite(cube[7])
    assert ok.mean() > 0.5 and np.isfinite(cube[5:7][:, ok]).all()
    for k, c in ((1, 5), (2, 6)):
        line = cube[4] + (cube[7] - cube[4]) * k / 3
        assert np.allclose(cube[c][ok], line[ok], rtol=0, atol=1e-5 * np.nanmax(abs(cube[4])))


def test_interpolate_flagged_against_a_known_spectrum():
    """Runs of flagged channels become the straight line between their neighbours; a run at
    an edge and a spectrum flagged whole become NaN (nothing to interpolate from)."""
    from lmtflow.flags.apply import blank_flagged, interpolate_flagged

    chan = np.arange(64, dtype=np.float32)
    line = 0.5 + 0.01 * chan  # a sloped baseline: interpolation is exact on it
    spectra = np.stack([line, line + 2.0, line]).astype(np.float32)
    spectra[:, 20:23] += 50.0  # a birdie
    spectra[:, 40] = -30.0  # a spike
    flags = np.zeros(spectra.shape, bool)
    flags[:, 20:23] = flags[:, 40] = True
    flags[1, :3] = True  # touches the first channel
    flags[2, :] = True  # the whole spectrum
    got = interpolate_flagged(spectra, flags)
    assert np.allclose(got[0], line, atol=1e-6) and np.allclose(got[1, 3:], line[3:] + 2, atol=1e-6)
    assert np.isnan(got[1, :3]).all() and np.isnan(got[2]).all()
    assert np.array_equal(got[:2, 23:40], spectra[:2, 23:40])  # unflagged channels untouched
    assert got.dtype == spectra.dtype and spectra[0, 21] == line[21] + 50  # input unchanged
    blank = blank_flagged(spectra, flags.astype(np.uint8))
    assert np.isnan(blank[0, 20:23]).all() and np.isnan(blank[0, 40])


def test_beam_rule_grids_what_pix_list_grids(steps, tmp_path):
    a, b = tmp_path / "a.fits", tmp_path / "b.fits"
    grid_products(
        [steps["base"]],
        a,
        tmp_path / "wa.fits",
        with_flags(steps["grid"], "rules: [{reason: dead, beam: 3}]"),
    )
    pix = [p for p in steps["grid"]["pix_list"] if p != 3]
    grid_products([steps["base"]], b, tmp_path / "wb.fits", {**steps["grid"], "pix_list": pix})
    assert np.array_equal(fits.getdata(a), fits.getdata(b), equal_nan=True)
    full = tmp_path / "full.fits"
    grid_products([steps["base"]], full, tmp_path / "wf.fits", steps["grid"])
    assert not np.array_equal(fits.getdata(a), fits.getdata(full), equal_nan=True)


def test_detectors_flag_nothing_on_clean_data(steps):
    """The small map (no faults, a bright line): no beam, no birdie (the line is none), spikes
    in under 0.1% of the spectra and bad time under 0.1% of the dumps."""
    from lmtflow.flags.auto import detect, detect_spikes

    params = {**steps["grid"], "b_regions": steps["baseline"]["b_regions"]}
    on = {k: {"policy": "apply"} for k in ("bad_beams", "birdies", "bad_time")}
    found = detect(steps["base"], on, params)
    assert found["warnings"] == [] and set(found["policy"]) == set(on)
    kinds = [r["reason"] for r in found["rules"]]
    assert "noisy_beam" not in kinds and "dead_beam" not in kinds and "birdie" not in kinds
    with SDFITSReader(steps["base"]) as r:
        ndump, nfeed = r.datadims[0], r.rows_per_dump
    bad = sum(r["dump"][0][1] - r["dump"][0][0] + 1 for r in found["rules"] if "dump" in r)
    assert bad < 0.001 * ndump * nfeed
    spikes = detect_spikes(steps["raw"], {"spikes": {"policy": "apply"}})["rules"]
    with SDFITSReader(steps["raw"]) as r:
        nspec = r.nrows
    assert len(spikes) < 0.001 * nspec  # under 0.1% false spectra


def test_ps_exposure_drops_by_exactly_the_flagged_time(small_sim, tmp_path):
    """A time rule on the Ps tracking beam: the spectrum's EXPOSURE drops by exactly the
    exposure of the flagged ON dumps (the flags reach the spectrum through FLAGS)."""
    import lmtflow

    obs = lmtflow.load(small_sim.labels["ps"], data_lmt=small_sim.data_lmt, work=tmp_path)
    beam = obs.ctx.params("spectrum", {})["pix_list"][0]
    cal = obs.calibrate()
    with SDFITSReader(cal.path) as r:
        per = r.rows_per_dump
        dumps = r.column("INTNUM")[::per]
        exposure = float(r.column("EXPOSURE")[0])
    plain = fits.getheader(cal.baseline().spectrum().path)  # (the next run writes there)
    assert "EXPOSURE" not in plain  # no flags: the product is as before
    obs.flag("burst", beam=beam, dump=[[int(dumps[2]), int(dumps[4])]])
    flagged = obs.calibrate().baseline().spectrum()
    on = len(dumps) * exposure
    assert fits.getheader(flagged.path)["EXPOSURE"] == pytest.approx(on - 3 * exposure, rel=1e-9)
