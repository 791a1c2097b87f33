# Snakemake script: baselined SDFITS + Tsys -> per-beam QA plots and numbers (lmtflow.qa.run).
from lmtflow.pipeline.runner import setup_logging
from lmtflow.qa.run import beam_stage

sm = snakemake  # noqa: F821 (injected by Snakemake)
setup_logging(sm.log[0])
plots = {k: v for k, v in sm.output.items() if k != "numbers"}
beam_stage(sm.input.base, sm.input.tsys, sm.input.params, plots, sm.output.numbers)
