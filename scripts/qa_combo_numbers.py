# Snakemake script: a combination's QA parts + members' QA + parameters -> its QA numbers file.
from lmtflow.qa.combination import merge_numbers

sm = snakemake  # noqa: F821 (injected by Snakemake)
merge_numbers(sm.input.parts, sm.input.members, sm.input.params, sm.output[0],
              kind=sm.params.kind)  # fmt: skip
