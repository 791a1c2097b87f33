# Snakemake script: Cal raw SDFITS -> Tsys spectra (see lmtflow.pipeline.tsys).
from lmtflow.pipeline.runner import setup_logging
from lmtflow.pipeline.tsys import make_tsys

sm = snakemake  # noqa: F821 (injected by Snakemake)
setup_logging(sm.log[0])
make_tsys(sm.input[0], sm.output[0], **sm.params.values)
