"""The README's main job: simulate a small SEQUOIA data set and reduce it with the workflow."""

from __future__ import annotations

import os
from pathlib import Path

import yaml

from .sim import simulate_preset
from .workflow import run_snakemake

DEMO_CONFIG = {"defaults": {"baseline": {"dv": 250, "dw": 150}}}
"""The demo's config: its galaxy's lines span about +-300 km/s around 460 km/s, wider than
LMTOY's dv = 100 km/s, so its line window is widened as a user would for such a galaxy."""


def run_demo(out: str | Path = "demo", cores: int | None = None, seed: int = 1) -> list[Path]:
    """Simulate the ``demo`` preset under ``out``, reduce every map in it, return the SRDP files."""
    out = Path(out).resolve()
    sim = simulate_preset("demo", out / "data_lmt", seed=seed)
    print(f"simulated raw data: {sim.data_lmt} (truth: {sim.truth_dir})")
    maps = sim.obsnums["Map"]
    cores = cores or os.cpu_count() or 2
    config = out / "demo_config.yaml"
    config.write_text(yaml.safe_dump(DEMO_CONFIG))
    print(f"reducing ObsNums {maps} with snakemake --cores {cores} (config {config}) ...")
    run_snakemake(sim.data_lmt, out / "work_lmt", maps, cores=cores, directory=out,
                  configfile=config)  # fmt: skip
    products = sorted((out / "work_lmt").glob("*/*/srdp/*"))
    products = [p for p in products if p.is_file()]
    print("science-ready products:")
    for p in products:
        print(f"  {p}")
    return products
