# Snakemake script: raw SDFITS + Tsys -> calibrated SDFITS (see lmtflow.pipeline.calibrate).
from lmtflow.pipeline.calibrate import calibrate
from lmtflow.pipeline.runner import read_params, setup_logging

sm = snakemake  # noqa: F821 (injected by Snakemake)
setup_logging(sm.log[0])
auto = sm.input.get("auto", [])  # the raw-count auto-flag file, when detectors are on
auto = [auto] if isinstance(auto, str) else list(auto)
calibrate(sm.input.raw, sm.input.tsys, sm.output[0], read_params(sm.input.params),
          auto_flags=auto[0] if auto else None)  # fmt: skip
