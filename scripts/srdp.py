# Snakemake script: cube + weight -> SRDP directory (see lmtflow.pipeline.srdp).
from lmtflow.pipeline.runner import setup_logging
from lmtflow.pipeline.srdp import make_srdp

sm = snakemake  # noqa: F821 (injected by Snakemake)
setup_logging(sm.log[0])
make_srdp(sm.input.cube, sm.input.weight, sm.input.params, sm.output.cube, sm.output.weight,
          sm.output.params)  # fmt: skip
