# Snakemake script: baselined SDFITS -> generated auto-flag file (see lmtflow.flags.auto).
from lmtflow.flags.auto import detect, write_auto_file
from lmtflow.pipeline.runner import read_params, setup_logging

sm = snakemake  # noqa: F821 (injected by Snakemake)
setup_logging(sm.log[0])
params = read_params(sm.input.params)
params["b_regions"] = read_params(sm.input.baseline)["b_regions"]  # line-free channels
result = detect(sm.input.base, sm.params.auto, params, raw_sdfits=sm.input.raw)
write_auto_file(result, sm.output[0], str(sm.input.base))
