"""Flag files: the format, its errors, and resolution into masks over
data[time, beam, pol, band, chan] on a synthetic ObsNum whose answers are known."""

from __future__ import annotations

import numpy as np
import pytest

from lmtflow.flags.resolve import RowMeta, flags_sha256, resolve
from lmtflow.flags.rules import FlagFileError, load_flag_file, parse_flag_text
from lmtflow.flags.steps import rule_step, step_flags

T0 = 1542361200.0  # 2018-11-16T09:40:00Z
EXAMPLE = """
version: 1
auto:
  bad_beams: {policy: apply, nsigma: 5}
  birdies:   {policy: suggest, nsigma: 6, grow: 1}
fill: blank
rules:
  - {reason: dead_pixel_2024, beam: 3, obsnum: "110000-119999"}
  - {reason: noisy_pol, obsnum: 82480, bank: 1, pol: 1}
  - {reason: all_but, obsnum: 79448, beam: "-0,5"}
  - reason: rfi_burst
    obsnum: 79448
    beam: [5, 6]
    time: [["2018-11-16T09:41:10", "2018-11-16T09:41:55"]]
  - {reason: ramp, obsnum: 79448, time_s: [[0, 12.5]]}
  - {reason: glitch, obsnum: 79448, beam: 7, dump: [[1830, 1840]], chan: [[900, 920]]}
  - {reason: birdie, bank: 0, chan: [1187, [2045, 2051]]}
  - {reason: lo_spur, sky_ghz: [[115.602, 115.604]]}
  - {reason: cloud_line, obsnum: [79448, 79451], vlsr_kms: [[-5, 5]]}
  - {reason: high_tsys, where: {tsys_k: [400, null], elevation_deg: [null, 20]}}
  - {reason: bad_board, obsnum: 33551, chassis: 3, board: 5}
  - {reason: bad_lags, chassis: 0, board: 0, lag: [40, 93, [250, 255]]}
  - {reason: rfi, obsnum: [33551, 33553], chassis: [2, 3], board: 3, freq_ghz: [[95.5, 97.0]]}
  - {action: unflag, reason: beam5_ok, id: "auto/79448/0/bad_beams/b5"}
  - {action: unflag, reason: maser_not_birdie, origin: auto, chan: [[1500, 1502]]}
"""


def meta(ntime=20, nbeam=4, npol=2, nchan=64, chan0=0) -> RowMeta:
    """Dumps 1 s apart from T0 (dump index 100+), channels 1 MHz apart from 100 GHz, velocity
    -32..+31 km/s, Tsys 200 K but beam 2 pol 1 at 500 K, elevation 30 -> 11 deg."""
    tsys = np.full((ntime, nbeam, npol, 1), 200.0)
    tsys[:, 2, 1] = 500.0
    return RowMeta(
        obsnum=79448, bank=0, dump=np.arange(100, 100 + ntime), utc=T0 + np.arange(ntime),
        beam=np.arange(nbeam), pol=np.arange(npol), chan=np.arange(chan0, chan0 + nchan),
        t0=T0 - 100.0, sky_hz=100e9 + 1e6 * np.arange(nchan),
        vlsr_kms=np.arange(nchan) - 32.0, tsys=tsys, elevation=np.linspace(30, 11, ntime),
    )  # fmt: skip


def rules(text: str) -> list[dict]:
    return parse_flag_text(text).rules


def test_example_file_validates_and_classifies():
    f = parse_flag_text(EXAMPLE, "flags.yaml")
    assert len(f.rules) == 15 and f.auto["birdies"]["policy"] == "suggest"
    steps = [rule_step(r, "map") for r in f.rules]
    assert steps[:10] == ["select", "select", "select", "calibrate", "calibrate", "calibrate",
                          "baseline", "baseline", "baseline", "select"]  # fmt: skip
    assert steps[10:13] == [None, None, None]  # RSR rules never reach SEQUOIA steps
    assert [rule_step(r, "rsr") for r in f.rules[10:13]] == ["rsr_baseline", "rsr_badlags",
                                                               "rsr_baseline"]  # fmt: skip
    assert steps[13] == "select" and steps[14] == "baseline"  # veto goes where its flag is
    assert f.rules[2]["beam"] == [[1, 4], [6, 15]]  # "-0,5": all but 0 and 5
    assert f.rules[0]["obsnum"] == [[110000, 119999]]
    assert parse_flag_text("").rules == [] and parse_flag_text("# only a comment\n").rules == []


@pytest.mark.parametrize(
    "text, expected",
    [
        (
            "rules:\n  - {reason: a, beem: 3}\n",
            "flags.yaml:2: rule 1 (a): unknown key 'beem'; did you mean 'beam'?",
        ),
        ("rules:\n  - {beam: 3}\n", "flags.yaml:2: rule 1: reason None"),
        ("rules:\n  - {reason: has space, beam: 3}\n", "no spaces"),
        ("rules:\n - {reason: a}\n - {reason: b, chan: [[9, 3]]}\n", "flags.yaml:3: rule 2 (b)"),
        ("rule:\n  - {reason: a}\n", "unknown key 'rule'; did you mean 'rules'?"),
        ("auto:\n  birdie: {policy: apply}\n", "detector 'birdie'; did you mean 'birdies'?"),
        ("auto:\n  spikes: {policy: yes}\n", "policy True"),
        ("auto:\n  birdies: {nsgima: 5}\n", "auto.birdies: unknown key 'nsgima'; did you mean"),
        ("auto:\n  rsr_badlags: {bc_high: 3}\n", "did you mean 'bc_hi'?"),
        ('rules:\n  - {reason: a, time: [["noon", "1pm"]]}\n', "not a UTC ISO date"),
        ("rules:\n  - {reason: a, where: {tsys: [1, 2]}}\n", "did you mean 'tsys_k'?"),
        ("rules:\n  - {action: unflag, reason: a}\n", "would veto every flag"),
    ],
)
def test_errors_name_file_rule_and_nearest_key(text, expected):
    with pytest.raises(FlagFileError) as err:
        parse_flag_text(text, "flags.yaml")
    assert expected in str(err.value)


def test_missing_file_is_named(tmp_path):
    with pytest.raises(FlagFileError, match="nofile.yaml"):
        load_flag_file(tmp_path / "nofile.yaml")


def test_and_within_a_rule_or_between_rules():
    m = resolve(rules("rules:\n - {reason: a, beam: 1, pol: 0, chan: [[10, 12]]}\n"
                      " - {reason: b, beam: 3}\n"), meta()).dense()  # fmt: skip
    expected = np.zeros((20, 4, 2, 1, 64), dtype=bool)
    expected[:, 1, 0, :, 10:13] = True
    expected[:, 3] = True
    assert np.array_equal(m, expected)


def test_time_time_s_and_dump_give_identical_masks():
    a = resolve(rules('rules: [{reason: a, time: ["2018-11-16T09:40:05", "2018-11-16T09:40:08"]}]'),
                meta()).dense()  # fmt: skip
    b = resolve(rules("rules: [{reason: a, time_s: [105, 108]}]"), meta()).dense()
    c = resolve(rules("rules: [{reason: a, dump: [[105, 108]]}]"), meta()).dense()
    assert a.any() and np.array_equal(a, b) and np.array_equal(a, c)
    assert np.flatnonzero(a.any(axis=(1, 2, 3, 4))).tolist() == [5, 6, 7, 8]


def test_units_hit_the_expected_channels():
    sky = resolve(rules("rules: [{reason: a, sky_ghz: [100.0102, 100.0121]}]"), meta()).dense()
    assert np.flatnonzero(sky[0, 0, 0, 0]).tolist() == [10, 11, 12]  # every channel it overlaps
    vel = resolve(rules("rules: [{reason: a, vlsr_kms: [[-2, 2]]}]"), meta()).dense()
    assert np.flatnonzero(vel[0, 0, 0, 0]).tolist() == [30, 31, 32, 33, 34]
    # a velocity slice keeps its original channel numbers (CHAN0)
    sliced = resolve(rules("rules: [{reason: a, chan: [1000]}]"), meta(chan0=990)).dense()
    assert np.flatnonzero(sliced[0, 0, 0, 0]).tolist() == [10]


def test_sky_frequency_follows_doppler_drift_per_dump():
    m = meta()
    m.sky_hz = 100e9 + 1e6 * np.arange(64)[None, :] + 0.4e6 * np.arange(20)[:, None]
    mask = resolve(rules("rules: [{reason: a, sky_ghz: [100.0100, 100.0100]}]"), m).dense()
    first, last = np.flatnonzero(mask[0, 0, 0, 0]), np.flatnonzero(mask[19, 0, 0, 0])
    assert first.tolist() == [10] and last.tolist() == [2]  # drifted 7.6 channels


def test_where_on_tsys_and_elevation():
    m = resolve(rules("rules: [{reason: hot, where: {tsys_k: [400, null]}}]"), meta()).dense()
    assert m[:, 2, 1].all() and m.sum() == m[:, 2, 1].sum()
    low = resolve(rules("rules: [{reason: low, where: {elevation_deg: [null, 20]}}]"), meta())
    dumps = np.flatnonzero(low.dense().any(axis=(1, 2, 3, 4)))
    assert dumps.tolist() == list(range(10, 20))  # elevation 30 -> 11 over 20 dumps


def test_unflag_order_origin_and_id_vetoes():
    auto = [{"action": "flag", "origin": "auto", "reason": "noisy_beam", "beam": [[2, 2]],
             "id": "auto/79448/0/bad_beams/b2"},
            {"action": "flag", "origin": "auto", "reason": "birdie", "chan": [[5, 6]],
             "id": "auto/79448/0/birdies/c5"}]  # fmt: skip
    user = rules(
        "rules:\n - {reason: a, beam: 1}\n"
        " - {action: unflag, reason: ok, origin: auto, chan: [6]}\n"
        " - {action: unflag, reason: late, beam: 1, pol: 1}\n"
        " - {reason: b, beam: 1, pol: 1, dump: 100}\n"
        " - {action: unflag, reason: keep, id: 'auto/79448/0/bad_beams/*'}\n"
    )
    fm = resolve(auto + user, meta())
    m = fm.dense()
    assert not m[:, 2, :, :, 10].any()  # the beam-2 auto flag is vetoed by id
    assert [v["id"] for v in fm.vetoed] == ["auto/79448/0/bad_beams/b2"]
    assert m[:, 0, :, :, 5].all() and not m[:, 0, :, :, 6].any()  # origin veto: chan 6 back
    assert m[:, 1, 0].all() and not m[1:, 1, 1].any()  # a later unflag clears pol 1 ...
    assert m[0, 1, 1].all()  # ... and a flag after it sets dump 100 again
    user_only = fm.dense(origins=["user"])
    assert not user_only[:, 0].any()


def test_rule_matching_nothing_is_named(caplog):
    fm = resolve(rules("rules: [{reason: nowhere, beam: 9}, {reason: other_obs, obsnum: 1}]"),
                 meta())  # fmt: skip
    assert fm.unmatched == ["flag rule 'nowhere' (<flags>:1)", "flag rule 'other_obs' (<flags>:1)"]
    assert "nowhere" in caplog.text


def test_counts_per_reason_and_sha256():
    r = rules("rules: [{reason: a, beam: 1}, {reason: b, beam: [[1, 2]], pol: 0}]")
    c = resolve(r, meta()).counts(block=7)
    per_beam = 20 * 2 * 64
    assert c["flagged"] == per_beam + per_beam // 2 and c["size"] == 4 * per_beam
    assert c["by_reason"] == {"a": per_beam, "b": per_beam}
    assert flags_sha256(r) == flags_sha256(
        rules("rules: [{reason: a, beam: [1]}, {reason: b, beam: '1,2', pol: [0]}]")
    )


def test_step_subsets_only_when_flags_apply(tmp_path):
    f = tmp_path / "flags.yaml"
    f.write_text(EXAMPLE)
    cfg = {"flags": str(f)}
    grid = step_flags(cfg, 79448, 0, "map", "grid")
    assert [r["reason"] for r in grid["rules"]] == [
        "all_but",
        "high_tsys",
        "beam5_ok",
        "maser_not_birdie",
    ]
    # auto flags apply where the products are made: their policies and vetoes go there
    assert grid["auto"] == {
        "bad_beams": {"nsigma": 5, "policy": "apply"},
        "birdies": {"grow": 1, "nsigma": 6, "policy": "suggest"},
    }
    cal = step_flags(cfg, 79448, 0, "map", "calibrate")
    assert [r["reason"] for r in cal["rules"]] == ["rfi_burst", "ramp", "glitch"]
    assert step_flags(cfg, 79448, 1, "map", "calibrate") is not None  # no bank key: both
    assert step_flags({"flags": None}, 79448, 0, "map", "grid") is None
    rsr = step_flags(cfg, 33551, 0, "rsr", "rsr_baseline")
    assert [r["reason"] for r in rsr["rules"]] == ["bad_board", "rfi"]
    # fill: where the products fill flagged channels (grid/spectrum), even with no rule there
    f.write_text("fill: interpolate\nrules: [{reason: b, obsnum: 1, chan: 5}]\n")
    assert step_flags(cfg, 79448, 0, "map", "grid") == {"rules": [], "fill": "interpolate"}
    assert step_flags(cfg, 79448, 0, "map", "baseline") is None
    assert step_flags(cfg, 1, 0, "spectrum", "baseline")["rules"][0]["chan"] == [[5, 5]]


def test_rsr_lag_and_board_rules():
    from lmtflow.flags.rsr import board_mask, lag_lines, lag_mask

    r = rules("rules:\n - {reason: bad_lags, chassis: 0, board: 0, lag: [40, 93, [250, 255]]}\n"
              " - {reason: other, obsnum: 1, chassis: 1, lag: 5}\n"
              " - {action: unflag, reason: ok, chassis: 0, board: 0, lag: 93}\n")  # fmt: skip
    m = lag_mask(r, 33551)
    assert np.flatnonzero(m[0, 0]).tolist() == [40, 250, 251, 252, 253, 254, 255]
    assert m.sum() == 7  # the rule of ObsNum 1 does not apply; lag 93 vetoed
    lines = lag_lines({"flags": {"rules": r}}, 33551)
    assert lines[0] == "0 0 40 # flag bad_lags,other" and len(lines) == 7
    freq = 73.0 + 6.0 * np.arange(6)[:, None] + 0.03125 * np.arange(256)[None, :]
    b = rules(
        "rules: [{reason: rfi, obsnum: [33551, 33553], chassis: [2, 3], board: 3, "
        "freq_ghz: [[91.5, 92.0]]}, {reason: bad_board, obsnum: 33551, chassis: 0, board: 5}]"
    )
    mask = board_mask({"flags": {"rules": b}}, 33551, freq)
    hit = np.flatnonzero(mask[2, 3])
    assert freq[3, hit].min() <= 91.5 + 0.016 and freq[3, hit].max() >= 92.0 - 0.016
    assert mask[3, 3].sum() == hit.size and mask[0, 5].all() and mask.sum() == 2 * hit.size + 256
    assert not board_mask({"flags": {"rules": b}}, 33552, freq).any()
