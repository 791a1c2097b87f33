# Snakemake script: baselined RSR SDFITS of one or several ObsNums -> spectrum FITS + ASCII.
from lmtflow.pipeline.runner import read_params, setup_logging
from lmtflow.rsr.steps import make_spectrum

sm = snakemake  # noqa: F821 (injected by Snakemake)
setup_logging(sm.log[0])
base = sm.input.base  # one file (an ObsNum) or a list (a combination)
make_spectrum(
    [base] if isinstance(base, str) else list(base),
    read_params(sm.input.params),
    sm.output.fits,
    sm.output.ascii,
)
