# Snakemake script: combined cube + every member's baselined SDFITS -> map QA of a combination.
from lmtflow.pipeline.runner import setup_logging
from lmtflow.qa.run import map_stage

sm = snakemake  # noqa: F821 (injected by Snakemake)
setup_logging(sm.log[0])
planes = {k.removeprefix("plane_"): v for k, v in sm.output.items() if k.startswith("plane_")}
plots = {k: v for k, v in sm.output.items() if k != "numbers" and not k.startswith("plane_")}
map_stage(sm.input.cube, sm.input.weight, list(sm.input.base), sm.input.params, planes, plots,
          sm.output.numbers, kind="map_combination")  # fmt: skip
