# Snakemake script: spectrum FITS + Tsys + raw SDFITS -> spectrum QA plots and numbers.
from lmtflow.pipeline.runner import setup_logging
from lmtflow.qa.run import spectrum_stage

sm = snakemake  # noqa: F821 (injected by Snakemake)
setup_logging(sm.log[0])
plots = {k: v for k, v in sm.output.items() if k != "numbers"}
spectrum_stage(sm.input.spectrum, sm.input.tsys, sm.input.raw, sm.input.params, plots,
               sm.output.numbers)  # fmt: skip
