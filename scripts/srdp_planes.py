# Snakemake script: moment/peak/rms/radiometer maps -> the SRDP directory (hard links or copies).
from lmtflow.pipeline.srdp import copy_product

sm = snakemake  # noqa: F821 (injected by Snakemake)
for name, path in sm.output.items():
    copy_product(sm.input[name], path)
