# Snakemake script: an attempt's products, QA and parameters -> one zip (lmtflow.pipeline.archive).
from lmtflow.pipeline.archive import write_archive

sm = snakemake  # noqa: F821 (injected by Snakemake)
write_archive(sm.output[0], sm.params.members)
