# Snakemake script: RSR raw chassis files -> badlags file + auto-flag file (lmtflow.rsr.steps).
from lmtflow.pipeline.runner import read_params, setup_logging
from lmtflow.rsr.steps import make_badlags

sm = snakemake  # noqa: F821 (injected by Snakemake)
setup_logging(sm.log[0])
make_badlags(sm.params.data_lmt, int(sm.wildcards.obsnum), read_params(sm.input.params),
             sm.output[0], sm.output.auto)  # fmt: skip
