# Snakemake script: baselined SDFITS -> spectrum FITS + ASCII (see lmtflow.pipeline.spectrum).
from lmtflow.pipeline.runner import read_params, setup_logging
from lmtflow.pipeline.spectrum import make_spectrum

sm = snakemake  # noqa: F821 (injected by Snakemake)
auto = sm.input.get("auto", [])  # the generated auto-flag file, when detectors are on
auto = [auto] if isinstance(auto, str) else list(auto)
setup_logging(sm.log[0])
make_spectrum(sm.input.base, sm.output.fits, sm.output.ascii, read_params(sm.input.params),
              auto_flags=auto)  # fmt: skip
