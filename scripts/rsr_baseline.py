# Snakemake script: calibrated RSR SDFITS + badlags -> blanked, baselined SDFITS.
from lmtflow.pipeline.runner import read_params, setup_logging
from lmtflow.rsr.steps import baseline_file

sm = snakemake  # noqa: F821 (injected by Snakemake)
setup_logging(sm.log[0])
baseline_file(sm.input.cal, sm.input.badlags, read_params(sm.input.params), sm.output[0],
              sm.input.blanking)  # fmt: skip
