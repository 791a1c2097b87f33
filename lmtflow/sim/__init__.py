"""Raw-data simulator: SEQUOIA / 1MM ifproc + roach netCDF files from a known sky model.

Entry points::

    from lmtflow.sim import simulate_preset, simulate
    res = simulate_preset("small", "work/data_lmt", seed=1)   # truth in work/data_lmt_truth/
    res.data_lmt, res.truth_path, res.obsnums["Map"], res.labels["map"], res.obs("map")

Modules: skymodel (sources, beam), instrument (roach inputs, Tsys, gains, faults), scan
(BufPos sequences, paths, beam positions), observation (one ObsNum), physics (counts),
ifproc_writer / roach_writer (files), truth (truth.json), presets, simulate (driver).
"""

from .presets import EXAMPLE_YAML, PRESETS, example_config, preset_config, simulate_preset
from .simulate import SimulationResult, default_truth_dir, load_config, simulate

__all__ = [
    "EXAMPLE_YAML",
    "PRESETS",
    "SimulationResult",
    "default_truth_dir",
    "example_config",
    "load_config",
    "preset_config",
    "simulate",
    "simulate_preset",
]
