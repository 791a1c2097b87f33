"""Parameter resolution: pix_list forms, derived windows, resolution and cell."""

from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from lmtflow.config import SCHEMA_PATH, validate_config
from lmtflow.errors import ConfigError
from lmtflow.io.ifproc import IfProcHeader
from lmtflow.params import parse_pix_list, step_params

HEADER = IfProcHeader(
    path=Path("x.nc"), obsnum=79448, calobsnum=79447, obspgm="Map", obsgoal="Science",
    receiver="Sequoia", project_id="2018-S1-MU-8", source="IRC+10216", coordsys=1,
    ra_deg=146.99, dec_deg=13.28, glon_deg=0, glat_deg=0, vsource_kms=-20.0, velsys=0,
    az_deg=100, el_deg=60, obs_vel_kms=0, bary_vel_kms=0, integration_time_s=500,
    dump_time_s=0.1, tau=0.1, num_bands=1, num_pixels=16, tracking_beam=10,
    line_freq_ghz=(115.271204, 0.0), sky_freq_ghz=(115.26, 0.0), line_offset_ghz=(0.0, 0.0),
    sideband1_lo=(0, 0), bandwidth_ghz=(0.8, 0.0), map_x_length_arcsec=400.0,
    map_y_length_arcsec=400.0,
)  # fmt: skip


def config(**overrides):
    cfg = yaml.safe_load((SCHEMA_PATH.parent / "config.yaml").read_text())
    cfg["overrides"] = overrides
    return validate_config(cfg)


@pytest.mark.parametrize(
    ("spec", "beams"),
    [
        ("0..15", list(range(16))),
        ("-0,5", [b for b in range(16) if b not in (0, 5)]),
        ("1,3, 2", [1, 2, 3]),
        ([4, 4, 2], [2, 4]),
        ("0..3,8", [0, 1, 2, 3, 8]),
    ],
)
def test_pix_list_forms(spec, beams):
    assert parse_pix_list(spec) == beams


def test_pix_list_rejects_missing_beam():
    with pytest.raises(ConfigError, match="beams \\[16\\]"):
        parse_pix_list("15,16")


def test_baseline_windows_follow_lmtoy_bench():
    p = step_params(config(), HEADER, 0, "baseline")
    assert p["b_regions"] == [[-370.0, -120.0], [80.0, 330.0]]
    assert p["slice"] == [-370.0, 330.0]
    assert p["b_order"] == 0


def test_override_applies_to_one_obsnum_only():
    cfg = config(**{"79448": {"baseline": {"b_order": 2}}})
    assert step_params(cfg, HEADER, 0, "baseline")["b_order"] == 2
    other = replace(HEADER, obsnum=79449)
    assert step_params(cfg, other, 0, "baseline")["b_order"] == 0


def test_grid_derivations_match_lmtoy():
    p = step_params(config(), HEADER, 0, "grid")
    assert (p["resolution"], p["cell"], p["extent"]) == (11.0, 5.5, 400.0)
    assert p["pix_list"] == list(range(16))


def test_combination_keeps_each_members_selection():
    """A combination grids each member with its own pix_list and rms_cut (not the first's)."""
    import numpy as np

    from lmtflow.gridding import grid_selection
    from lmtflow.params import combination_params

    other = replace(HEADER, obsnum=79449)
    cfg = config(**{"79449": {"grid": {"pix_list": "-3", "rms_cut": 0.5}}})
    p = combination_params(cfg, [other, HEADER], 0, "grid")
    first = step_params(cfg, HEADER, 0, "grid")
    assert p["obsnum"] == [79448, 79449]
    assert p["rms_cut"] == {"79448": first["rms_cut"], "79449": 0.5}
    assert p["pix_list"] == {"79448": list(range(16)), "79449": [b for b in range(16) if b != 3]}
    rms = np.tile([0.2, 0.4, 0.6, 0.8], 8)
    beams = np.repeat(np.arange(8), 4)
    keep_a = grid_selection(rms, beams, p, 79448)
    keep_b = grid_selection(rms, beams, p, 79449)
    np.testing.assert_array_equal(keep_a, grid_selection(rms, beams, first, 79448))
    np.testing.assert_array_equal(keep_b, (rms <= 0.5) & (beams != 3))
