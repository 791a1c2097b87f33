# Snakemake script: cube -> moment/peak/rms/radiometer FITS, map plots, numbers (lmtflow.qa.run).
from lmtflow.pipeline.runner import setup_logging
from lmtflow.qa.run import map_stage

sm = snakemake  # noqa: F821 (injected by Snakemake)
setup_logging(sm.log[0])
planes = {k.removeprefix("plane_"): v for k, v in sm.output.items() if k.startswith("plane_")}
plots = {k: v for k, v in sm.output.items() if k != "numbers" and not k.startswith("plane_")}
map_stage(sm.input.cube, sm.input.weight, sm.input.base, sm.input.params, planes, plots,
          sm.output.numbers)  # fmt: skip
