"""Config validation: misspelt keys name the nearest valid key; bad values name the key."""

import pytest
import yaml

from lmtflow.config import SCHEMA_PATH, validate_config
from lmtflow.errors import ConfigError

BASE = yaml.safe_load((SCHEMA_PATH.parent / "config.yaml").read_text())


def _with(**sections):
    cfg = yaml.safe_load(yaml.safe_dump(BASE))
    for key, value in sections.items():
        cfg[key] = value
    return cfg


def test_shipped_config_is_valid_and_defaults_filled():
    cfg = validate_config(BASE)
    assert cfg["defaults"]["grid"]["otf_a"] == 1.1
    assert cfg["defaults"]["calibrate"]["tsys_bdrop"] == 50
    assert cfg["data_lmt"] and cfg["work_lmt"]


@pytest.mark.parametrize(
    ("cfg", "expected"),
    [
        (_with(obsnum=[1]), "unknown config key 'obsnum'; did you mean 'obsnums'?"),
        (
            _with(defaults={"baseline": {"b_ordr": 1}}),
            "unknown config key 'defaults.baseline.b_ordr'; did you mean 'b_order'?",
        ),
        (
            _with(overrides={79448: {"grid": {"resolutoin": 12}}}),
            "'overrides.79448.grid.resolutoin'; did you mean 'resolution'?",
        ),
    ],
)
def test_misspelt_key_names_key_and_nearest(cfg, expected):
    with pytest.raises(ConfigError) as err:
        validate_config(cfg)
    assert expected in str(err.value)


@pytest.mark.parametrize(
    ("cfg", "key"),
    [
        (_with(defaults={"grid": {"edge": 3}}), "defaults.grid.edge"),
        (_with(defaults={"baseline": {"b_order": "one"}}), "defaults.baseline.b_order"),
        (_with(defaults={"baseline": {"dv": -5}}), "defaults.baseline.dv"),
        (_with(obsnums=["abc"]), "obsnums.0"),
        (_with(defaults={"grid": {"pix_list": "0,x"}}), "defaults.grid.pix_list"),
    ],
)
def test_bad_value_names_key(cfg, key):
    with pytest.raises(ConfigError, match=f"config key {key}"):
        validate_config(cfg)


def test_project_example_is_valid_and_names_combinations():
    from lmtflow.combination import configured_combinations, configured_obsnums

    cfg = validate_config(yaml.safe_load((SCHEMA_PATH.parent / "project_example.yaml").read_text()))
    assert configured_obsnums(cfg) == [79448, 79449, 79450, 79451, 82480]
    assert configured_combinations(cfg) == [(79448, 79451), (79449, 79450)]


def test_combination_of_one_obsnum_is_an_error():
    from lmtflow.combination import configured_combinations

    cfg = validate_config(
        _with(sources={"S": {"combinations": [{"obsnums": [1, 2], "exclude": [2]}]}})
    )
    with pytest.raises(ConfigError, match="fewer than two ObsNums"):
        configured_combinations(cfg)
