# Snakemake script: RSR chassis files + corr_cal + badlags -> calibrated SDFITS.
from lmtflow.pipeline.runner import setup_logging
from lmtflow.rsr.steps import ingest

sm = snakemake  # noqa: F821 (injected by Snakemake)
setup_logging(sm.log[0])
ingest(sm.params.data_lmt, int(sm.wildcards.obsnum), sm.input.badlags, sm.output[0])
