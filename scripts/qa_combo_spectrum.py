# Snakemake script: combined spectrum + members' QA numbers -> spectrum QA of a combination.
from lmtflow.pipeline.runner import setup_logging
from lmtflow.qa.combination import spectrum_stage

sm = snakemake  # noqa: F821 (injected by Snakemake)
setup_logging(sm.log[0])
plots = {k: v for k, v in sm.output.items() if k != "numbers"}
spectrum_stage(sm.input.spectrum, list(sm.input.members), sm.input.params, plots,
               sm.output.numbers)  # fmt: skip
