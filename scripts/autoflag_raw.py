# Snakemake script: raw SDFITS -> generated auto-flag file of spikes (lmtflow.flags.auto).
from lmtflow.flags.auto import detect_spikes, write_auto_file
from lmtflow.pipeline.runner import setup_logging

sm = snakemake  # noqa: F821 (injected by Snakemake)
setup_logging(sm.log[0])
write_auto_file(detect_spikes(sm.input.raw, sm.params.auto), sm.output[0], str(sm.input.raw))
