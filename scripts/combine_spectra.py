# Snakemake script: spectra of several ObsNums -> combined spectrum (1/rms^2 weights).
from lmtflow.pipeline.combine_spectra import combine_spectra
from lmtflow.pipeline.runner import read_params, setup_logging

sm = snakemake  # noqa: F821 (injected by Snakemake)
setup_logging(sm.log[0])
combine_spectra(list(sm.input.spectra), sm.output.fits, sm.output.ascii,
                read_params(sm.input.params))  # fmt: skip
