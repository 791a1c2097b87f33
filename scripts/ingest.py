# Snakemake script: raw netCDF -> raw SDFITS (see lmtflow.pipeline.ingest).
from lmtflow.pipeline.ingest import ingest
from lmtflow.pipeline.runner import setup_logging

sm = snakemake  # noqa: F821 (injected by Snakemake)
setup_logging(sm.log[0])
ingest(sm.params.data_lmt, int(sm.wildcards.obsnum), int(sm.wildcards.bank), sm.output[0])
