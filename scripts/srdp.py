# Snakemake script: cube + weight -> SRDP directory (see lmtflow.pipeline.srdp).
from lmtflow.pipeline.runner import setup_logging
from lmtflow.pipeline.srdp import copy_product

sm = snakemake  # noqa: F821 (injected by Snakemake)
setup_logging(sm.log[0])
copy_product(sm.input.cube, sm.output.cube)
copy_product(sm.input.weight, sm.output.weight)
