# Snakemake script: the QA parts of one ObsNum and bank + parameters -> its QA numbers file.
from lmtflow.qa.merge import merge_numbers

sm = snakemake  # noqa: F821 (injected by Snakemake)
flags = sm.input.get("flags", [])  # with a flag file configured (lmtflow.flags.qa)
merge_numbers(sm.input.parts, sm.input.params, sm.output[0], kind=sm.params.kind,
              flag_files=[flags] if isinstance(flags, str) else list(flags))  # fmt: skip
