# Snakemake script: calibrated SDFITS -> baselined SDFITS (see lmtflow.pipeline.baseline).
from lmtflow.pipeline.baseline import baseline
from lmtflow.pipeline.runner import read_params, setup_logging

sm = snakemake  # noqa: F821 (injected by Snakemake)
setup_logging(sm.log[0])
baseline(sm.input.cal, sm.output[0], read_params(sm.input.params))
