"""Attempts as configuration: overlays, the directory each step's output lives in, what differs."""

from __future__ import annotations

import pytest

from lmtflow.attempts import AttemptPlan, attempt_config, name_of, suffix
from lmtflow.config import validate_config
from lmtflow.errors import ConfigError
from lmtflow.scan import scan_obsnum

ATTEMPTS = {
    "coarse": {"grid": {"resolution": 16}},
    "order2": {"baseline": {"b_order": 2}},
    "same": {"grid": {"rmax": 3}},  # the default: changes nothing
    "one": {"overrides": {"79451": {"grid": {"pix_list": "-3"}}}},
}


@pytest.fixture(scope="module")
def plan(small_sim):
    cfg = validate_config({"data_lmt": str(small_sim.data_lmt), "attempts": ATTEMPTS,
                           "overrides": {"79448": {"baseline": {"b_order": 1}}}})  # fmt: skip
    nums = [small_sim.labels[k] for k in ("map", "map2", "ps")]
    return AttemptPlan(cfg, {n: scan_obsnum(small_sim.data_lmt, n) for n in nums})


def test_overlay_wins_over_defaults_and_overrides_and_only_sets_what_is_given():
    o2 = {"baseline": {"b_order": 2}, "overrides": {7: {"baseline": {"dw": 99}}}}
    cfg = validate_config({"defaults": {"baseline": {"b_order": 1, "dv": 80}},
                           "overrides": {"7": {"baseline": {"b_order": 3}}},
                           "attempts": {"o2": o2}})  # fmt: skip
    assert cfg["attempts"]["o2"] == {"baseline": {"b_order": 2},
                                     "overrides": {"7": {"baseline": {"dw": 99}}}}  # fmt: skip
    a = attempt_config(cfg, "o2")
    assert a["defaults"]["baseline"]["b_order"] == 2 and a["defaults"]["baseline"]["dv"] == 80
    assert a["overrides"]["7"]["baseline"] == {"b_order": 2, "dw": 99}
    assert cfg["overrides"]["7"]["baseline"] == {"b_order": 3}  # the base is untouched
    with pytest.raises(ConfigError, match="no attempt named 'o3'"):
        attempt_config(cfg, "o3")


def test_suffix_and_name_round_trip():
    assert suffix("base") == suffix("") == ""
    assert suffix("coarse") == "/attempts/coarse" and name_of("/attempts/coarse") == "coarse"
    assert name_of("") == "base"


def test_a_grid_attempt_shares_calibration_and_baselines(plan, small_sim):
    m = small_sim.labels["map"]
    assert [plan.owner("coarse", m, 0, s) for s in ("calibrate", "baseline", "grid")] == [
        "", "", "/attempts/coarse"]  # fmt: skip
    base = plan.params("", m, 0, "grid")
    # derived values follow: the cell is half the new resolution
    assert plan.changed("coarse", m, 0) == {"grid": {"resolution": [base["resolution"], 16],
                                                     "cell": [base["cell"], 8.0]}}  # fmt: skip


def test_a_baseline_attempt_owns_baseline_and_grid(plan, small_sim):
    m = small_sim.labels["map"]
    assert [plan.owner("order2", m, 0, s) for s in ("calibrate", "baseline", "grid")] == [
        "", "/attempts/order2", "/attempts/order2"]  # fmt: skip
    # the attempt's value wins over the base's per-ObsNum override (b_order 1)
    assert plan.changed("order2", m, 0) == {"baseline": {"b_order": [1, 2]}}


def test_an_attempt_that_changes_nothing_is_the_base(plan, small_sim):
    for n in (small_sim.labels["map"], small_sim.labels["ps"]):
        assert plan.final_owner("same", n, 0) == "" and plan.changed("same", n, 0) == {}
    # a grid attempt does not touch a Ps spectrum
    assert plan.final_owner("coarse", small_sim.labels["ps"], 0) == ""


def test_per_obsnum_attempt_values_and_combinations(plan, small_sim):
    m1, m2 = small_sim.labels["map"], small_sim.labels["map2"]
    assert plan.final_owner("one", m1, 0) == "" and plan.final_owner("one", m2, 0) != ""
    # a combination is the attempt's when any member's gridding parameters change
    assert plan.combo_owner("one", [m2, m1], 0) == "/attempts/one"
    assert plan.combo_owner("same", [m1, m2], 0) == ""
    assert plan.member_owner("order2", [m1, m2], m1, 0) == "/attempts/order2"
    assert plan.member_owner("coarse", [m1, m2], m1, 0) == ""  # the base's baselines
    assert plan.combo_owner("coarse", [m1, m2], 0) == "/attempts/coarse"
    assert "resolution" in plan.combo_changed("coarse", [m1, m2], 0)["grid"]


@pytest.mark.parametrize(("attempts", "message"), [
    ({"base": {}}, "name 'base' is not allowed"),
    ({"a/b": {}}, "name 'a/b' is not allowed"),
    ({"x": {"gird": {}}}, "unknown config key 'attempts.x.gird'; did you mean 'grid'"),
    ({"x": {"grid": {"resolutoin": 2}}}, "did you mean 'resolution'"),
    ({"x": {"baseline": {"b_order": 12}}}, "attempts.x.baseline.b_order"),
])  # fmt: skip
def test_attempts_are_validated_by_the_schema(attempts, message):
    with pytest.raises(ConfigError, match=message):
        validate_config({"attempts": attempts})
