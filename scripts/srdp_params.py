# Snakemake script: per-step parameter files -> one SRDP parameter file.
from lmtflow.pipeline.runner import setup_logging
from lmtflow.pipeline.srdp import write_srdp_params

sm = snakemake  # noqa: F821 (injected by Snakemake)
setup_logging(sm.log[0])
write_srdp_params(sm.input, sm.output[0])
