# Snakemake script: write the editable (all-comment) RSR blanking file of an ObsNum.
from lmtflow.pipeline.runner import setup_logging
from lmtflow.rsr.blanking import write_template

sm = snakemake  # noqa: F821 (injected by Snakemake)
setup_logging(sm.log[0])
write_template(sm.output[0], int(sm.wildcards.obsnum))
