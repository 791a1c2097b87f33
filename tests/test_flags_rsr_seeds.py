"""RSR bad lags and bad boards against the simulator's truth over 5 seeds: random bad lags
(noisy, spike, dead) and one bad board per seed; the detector (lmtflow.rsr.badlags, as
automatic flag rules) finds >= 90% of the bad lags and exactly the bad boards."""

from __future__ import annotations

import numpy as np

from lmtflow.flags.rsr import rsr_auto_rules
from lmtflow.rsr.badlags import BadlagsParams
from lmtflow.rsr.pipeline import badlags_obsnum
from lmtflow.sim.rsr import rsr_preset, simulate_rsr

SEEDS = (21, 22, 23, 24, 25)


def _faults(rng: np.random.Generator) -> dict:
    board = (int(rng.integers(4)), int(rng.integers(6)))
    lags, seen = [], {board}
    while len(lags) < 8:  # away from the short lags and the band end, one per board
        c, b = int(rng.integers(4)), int(rng.integers(6))
        if (c, b) in seen:
            continue
        seen.add((c, b))
        lags.append({"chassis": c, "board": b, "lag": int(rng.integers(40, 250)),
                     "kind": str(rng.choice(["noisy", "spike", "dead"]))})  # fmt: skip
    return {"bad_lags": lags, "bad_boards": [{"chassis": board[0], "board": board[1],
                                              "factor": 6.0}]}  # fmt: skip


def test_rsr_bad_lags_and_boards_over_seeds(tmp_path):
    hits = total = false_lags = 0
    for seed in SEEDS:
        cfg = rsr_preset()
        cfg["observations"] = [{**cfg["observations"][0], "nrepeats": 12}]
        faults = _faults(np.random.default_rng(seed))
        cfg["faults"] = {33551: faults}
        sim = simulate_rsr(cfg, tmp_path / f"s{seed}", seed=seed)
        rules = rsr_auto_rules(badlags_obsnum(sim.data_lmt, 33551, BadlagsParams()), 33551)
        boards = {(r["chassis"][0][0], r["board"][0][0]) for r in rules
                  if r["reason"] == "bad_board"}  # fmt: skip
        truth_board = {(b["chassis"], b["board"]) for b in faults["bad_boards"]}
        assert boards == truth_board, (seed, boards, truth_board)
        lags = {(r["chassis"][0][0], r["board"][0][0], r["lag"][0][0]) for r in rules
                if r["reason"] == "bad_lag"}  # fmt: skip
        truth = {(b["chassis"], b["board"], b["lag"]) for b in faults["bad_lags"]}
        hits += len(truth & lags)
        total += len(truth)
        false_lags += len(lags - truth)
        ids = [r["id"] for r in rules]
        assert len(ids) == len(set(ids)) and f"auto/33551/0/rsr_badcb/c{min(boards)[0]}b" \
            f"{min(boards)[1]}" in ids  # fmt: skip
    print(f"RSR bad lags: {hits}/{total} found, {false_lags} false lags; boards exact")
    assert hits >= 0.9 * total
    assert false_lags <= len(SEEDS)  # at most about one false lag per ObsNum
