"""Shared fixtures.

``small_sim`` (session scope) simulates the ``small`` preset once per test session and returns
a :class:`lmtflow.sim.SimulationResult`:

* ``small_sim.data_lmt``  -- Path of the raw tree ($DATA_LMT: ifproc/, spectrometer/roach0..3/)
* ``small_sim.truth``     -- dict (truth.json, layout in :mod:`lmtflow.sim.truth`)
* ``small_sim.obsnums``   -- ObsNums by role: {"Cal": [79447, 82479], "Map": [79448],
                             "Ps": [79449, 82480], "Bs": [79450]}
* ``small_sim.labels``    -- {"cal": 79447, "map": 79448, "ps": 79449, "bs": 79450,
                             "cal_1mm": 82479, "ps_1mm": 82480}
* ``small_sim.obs(label)`` / ``small_sim.session(label)`` -- truth of one ObsNum / its session

Treat the tree as read-only: it is shared by every test of the session.
"""

from __future__ import annotations

import pytest

from lmtflow.sim import SimulationResult, simulate_preset

SMALL_SEED = 20181116


@pytest.fixture(scope="session")
def small_sim(tmp_path_factory: pytest.TempPathFactory) -> SimulationResult:
    root = tmp_path_factory.mktemp("small_sim")
    return simulate_preset("small", root / "data_lmt", seed=SMALL_SEED)
