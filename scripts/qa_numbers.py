# Snakemake script: the QA parts of one ObsNum and bank + parameters -> its QA numbers file.
from lmtflow.qa.merge import merge_numbers

sm = snakemake  # noqa: F821 (injected by Snakemake)
merge_numbers(sm.input.parts, sm.input.params, sm.output[0], kind=sm.params.kind)
