# Snakemake script: baselined SDFITS -> cube + weight map (see lmtflow.pipeline.grid).
from lmtflow.pipeline.grid import grid_products
from lmtflow.pipeline.runner import read_params, setup_logging

sm = snakemake  # noqa: F821 (injected by Snakemake)
setup_logging(sm.log[0])
grid_products([sm.input.base], sm.output.cube, sm.output.weight, read_params(sm.input.params),
              threads=sm.threads)  # fmt: skip
