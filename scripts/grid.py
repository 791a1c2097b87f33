# Snakemake script: baselined SDFITS (one ObsNum or a combination) -> cube + weight map.
from lmtflow.pipeline.grid import grid_products
from lmtflow.pipeline.runner import read_params, setup_logging

sm = snakemake  # noqa: F821 (injected by Snakemake)
auto = sm.input.get("auto", [])  # the generated auto-flag file, when detectors are on
auto = [auto] if isinstance(auto, str) else list(auto)
setup_logging(sm.log[0])
base = [sm.input.base] if isinstance(sm.input.base, str) else list(sm.input.base)
grid_products(base, sm.output.cube, sm.output.weight, read_params(sm.input.params),
              threads=sm.threads, auto_flags=auto)  # fmt: skip
