"""SDFITS velocity keywords the GBT way (VFRAME, RVSYS, LST, OBSERVER) against the simulator."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import curve_fit

from lmtflow.constants import C_KMS, LMT_SITE_LONG_DEG
from lmtflow.io.sdfits_reader import SDFITSReader
from lmtflow.pipeline.ingest import ingest
from lmtflow.sidereal import lst_seconds
from lmtflow.sim import simulate
from lmtflow.sim.ifproc_writer import SIM_OPERATOR

from .conftest import make_tiny_config

TRACKING_BEAM = 10

C_MS = C_KMS * 1e3


def _gbt_lsr_radio_velocity_kms(crval1, cdelt1, crpix1, vframe, restfreq, channel):
    """LSR radio velocity of a (fractional, 0-based) channel the way gbtgridder/dysh do it:
    topocentric frequency from CRVAL1/CDELT1/CRPIX1, frame frequency f * sqrt((1+b)/(1-b))."""
    f_topo = crval1 + (channel + 1.0 - crpix1) * cdelt1
    b = vframe / C_MS
    f_frame = f_topo * np.sqrt((1.0 + b) / (1.0 - b))
    return C_KMS * (1.0 - f_frame / restfreq)


def _gauss(x, a, x0, s, c):
    return a * np.exp(-0.5 * ((x - x0) / s) ** 2) + c


@pytest.fixture(scope="module")
def quiet_ps(tmp_path_factory):
    """A tiny Cal + Ps whose tracking beam is 50x quieter than the radiometer equation, so that
    the line centre is measured to ~0.01 channel; its raw SDFITS made by the library's ingest."""
    cfg = make_tiny_config()
    session = cfg["sessions"][0]
    session["faults"] = {"noisy_beams": {TRACKING_BEAM: 0.02}}
    session["observations"] = session["observations"][:2]
    root = tmp_path_factory.mktemp("quiet_ps")
    sim = simulate(cfg, root / "data_lmt", seed=5)
    obsnum = sim.labels["ps"]
    return sim, ingest(sim.data_lmt, obsnum, 0, root / f"{obsnum}__0.raw.sdfits")


def test_vframe_puts_the_line_at_its_true_lsr_velocity(quiet_ps):
    sim, raw = quiet_ps
    obs = sim.obs("ps")
    bank = obs["banks"][0]
    line = bank["lines"][0]
    names = ["CRVAL1", "CDELT1", "CRPIX1", "VFRAME", "RVSYS", "VELOCITY", "RESTFREQ",
             "FDNUM", "BUFPOS", "OBSERVER", "VELDEF"]  # fmt: skip
    with SDFITSReader(raw) as r:
        cols = r.columns(names)
        data = r.data()
    # the ObsNum's own Doppler data (Header.Sky.ObsVel, km/s) in m/s on every row
    np.testing.assert_allclose(cols["VFRAME"], obs["obs_vel_kms"] * 1e3, rtol=0, atol=1e-6)
    assert abs(obs["obs_vel_kms"]) > 1.0  # a zero VFRAME would pass nothing below
    np.testing.assert_allclose(cols["RVSYS"], cols["VELOCITY"] + cols["VFRAME"], atol=1e-6)
    assert np.all(cols["VELDEF"] == "RADI-LSR")
    assert np.all(cols["OBSERVER"] == SIM_OPERATOR)
    # the line in the tracking beam: (ON - REF) / REF of the raw counts, fitted in channels
    beam = cols["FDNUM"] == TRACKING_BEAM
    on = data[beam & (cols["BUFPOS"] == 0)].mean(axis=0)
    ref = data[beam & (cols["BUFPOS"] == 1)].mean(axis=0)
    ratio = on / ref - 1.0
    x = np.arange(ratio.size, dtype=float)
    guess = (ratio.max(), float(np.argmax(ratio)), line["fwhm_channels"] / 2.3548, 0.0)
    (amp, x0, _, _), cov = curve_fit(_gauss, x, ratio, p0=guess)
    assert amp > 0 and np.sqrt(cov[1, 1]) < 0.02  # the centre is measured to < 0.02 channel
    row = np.flatnonzero(beam)[0]
    v = _gbt_lsr_radio_velocity_kms(cols["CRVAL1"][row], cols["CDELT1"][row],
                                    cols["CRPIX1"][row], cols["VFRAME"][row],
                                    cols["RESTFREQ"][row], x0)  # fmt: skip
    dv = abs(bank["dvdc_kms"])
    assert abs(v - line["vlsr_kms"]) < 0.1 * dv, (v, line["vlsr_kms"], dv)
    print("GBT-way LSR velocity", v, "true", line["vlsr_kms"], "channel", dv)
    # with VFRAME = 0 (the old files) the GBT tools put the line ObsVel away from it
    axis = (cols["CRVAL1"][row], cols["CDELT1"][row], cols["CRPIX1"][row])
    v0 = _gbt_lsr_radio_velocity_kms(*axis, 0.0, cols["RESTFREQ"][row], x0)
    assert abs(v0 - line["vlsr_kms"]) > 0.5 * abs(obs["obs_vel_kms"])


def test_later_stages_carry_the_velocity_keywords(small_sim, reduced):
    obs = small_sim.obs(reduced["obsnum"])
    for stage in ("cal", "base"):
        with SDFITSReader(reduced[stage]) as r:
            cols = r.columns(["VFRAME", "RVSYS", "VELOCITY", "LST", "UTCTIME"])
        np.testing.assert_allclose(cols["VFRAME"], obs["obs_vel_kms"] * 1e3, atol=1e-6)
        np.testing.assert_allclose(cols["RVSYS"], cols["VELOCITY"] + cols["VFRAME"], atol=1e-6)
        np.testing.assert_array_equal(cols["LST"], lst_seconds(cols["UTCTIME"]))


def test_lst_is_the_lmt_mean_sidereal_time(quiet_ps):
    import astropy.units as u
    from astropy.time import Time
    from astropy.utils import iers

    with SDFITSReader(quiet_ps[1]) as r:
        cols = r.columns(["UTCTIME", "LST"])
    t = cols["UTCTIME"][:: max(1, cols["UTCTIME"].size // 50)]
    lst = lst_seconds(t)
    np.testing.assert_array_equal(cols["LST"][:: max(1, cols["UTCTIME"].size // 50)], lst)
    assert np.all((lst >= 0) & (lst < 86400))
    with (
        iers.conf.set_temp("auto_download", False),
        iers.conf.set_temp("iers_degraded_accuracy", "ignore"),
    ):
        ref = Time(t, format="unix", scale="utc").sidereal_time(
            "mean", longitude=LMT_SITE_LONG_DEG * u.deg
        )
    diff = (lst - ref.to_value(u.hourangle) * 3600.0 + 43200.0) % 86400.0 - 43200.0
    assert np.max(np.abs(diff)) < 1.0  # seconds (UT1-UTC < 0.9 s is ignored)
