"""Where every file of the work tree lives (LMTOY-like: ``<work>/<ProjectId>/<ObsNum>/``).

The Snakefile and the interactive API both take their paths from here. Intermediate files
are named by ObsNum and bank only, so that a path follows from the ObsNum alone; the SRDP
files carry the source name as LMTOY's do (``SRC_OBSNUM__BANK``).
"""

from __future__ import annotations

from pathlib import Path

# Patterns with Snakemake-style wildcards, relative to the work tree. ``{attempt}`` is empty
# for the base reduction and ``/attempts/<name>`` for an attempt (lmtflow.attempts).
OBSDIR = "{pid}/{obsnum}{attempt}"
PARAMS = OBSDIR + "/params/{step}__{bank}.json"
AUTO_FLAGS = OBSDIR + "/flags/auto__{bank}.yaml"  # generated automatic flags (lmtflow.flags.auto)
AUTO_RAW_FLAGS = OBSDIR + "/flags/auto_raw__{bank}.yaml"  # ... found in the raw counts (spikes)
RAW_SDFITS = OBSDIR + "/{obsnum}__{bank}.raw.sdfits"
TSYS = OBSDIR + "/{obsnum}__{bank}.tsys.fits"
CAL_SDFITS = OBSDIR + "/{obsnum}__{bank}.cal.sdfits"
BASE_SDFITS = OBSDIR + "/{obsnum}__{bank}.base.sdfits"
CUBE = OBSDIR + "/{obsnum}__{bank}.cube.fits"
WEIGHT = OBSDIR + "/{obsnum}__{bank}.wt.fits"
SRDP_DIR = OBSDIR + "/srdp"
SRDP_CUBE = SRDP_DIR + "/{src}_{obsnum}__{bank}.fits"
SRDP_WEIGHT = SRDP_DIR + "/{src}_{obsnum}__{bank}.wt.fits"
SRDP_PARAMS = SRDP_DIR + "/{src}_{obsnum}__{bank}.params.json"
SRDP_SPECTRUM = SRDP_DIR + "/{src}_{obsnum}__{bank}.spec.fits"
SRDP_SPECTRUM_TXT = SRDP_DIR + "/{src}_{obsnum}__{bank}.spec.txt"
SRDP_PLANE = SRDP_DIR + "/{src}_{obsnum}__{bank}.{plane}.fits"  # mom0, mom1, peak, rms, ...

# Quality assessment (lmtflow.qa): maps, plots, numbers, summary pages.
PLANE = OBSDIR + "/{obsnum}__{bank}.{plane}.fits"
QA_DIR = OBSDIR + "/qa"
QA_PLOT = QA_DIR + "/{obsnum}__{bank}.{plot}.png"
QA_PART = QA_DIR + "/{obsnum}__{bank}.{stage}.json"
QA_NUMBERS = QA_DIR + "/{obsnum}__{bank}.qa.json"
README = OBSDIR + "/README.html"
ARCHIVE = OBSDIR + "/{obsnum}_SRDP.zip"  # the products, QA and parameters of one attempt
COMPARE = "{pid}/{obsnum}/attempts.html"  # every attempt side by side
PROJECT_INDEX = "{pid}/index.html"

# Combinations of ObsNums: a directory named by the sorted set (lmtflow.combination.combo_name).
COMBO_DIR = "{pid}/{combo}{attempt}"
COMBO_PARAMS = COMBO_DIR + "/params/{step}__{bank}.json"
COMBO_CUBE = COMBO_DIR + "/{src}_{combo}__{bank}.fits"
COMBO_WEIGHT = COMBO_DIR + "/{src}_{combo}__{bank}.wt.fits"
COMBO_SPECTRUM = COMBO_DIR + "/{src}_{combo}__{bank}.spec.fits"
COMBO_SPECTRUM_TXT = COMBO_DIR + "/{src}_{combo}__{bank}.spec.txt"
COMBO_README = COMBO_DIR + "/README.html"
COMBO_ARCHIVE = COMBO_DIR + "/{combo}_SRDP.zip"
COMBO_COMPARE = "{pid}/{combo}/attempts.html"
COMBO_QA_DIR = COMBO_DIR + "/qa"
COMBO_QA_PLOT = COMBO_QA_DIR + "/{combo}__{bank}.{plot}.png"
COMBO_QA_PART = COMBO_QA_DIR + "/{combo}__{bank}.{stage}.json"
COMBO_QA_NUMBERS = COMBO_QA_DIR + "/{combo}__{bank}.qa.json"
COMBO_PLANE = COMBO_QA_DIR + "/{combo}__{bank}.{plane}.fits"  # mom0, mom1, peak, rms, ...

# RSR ObsNums (rules/rsr.smk): one pseudo-bank 0 holds every chassis (FDNUM) and board (IFNUM).
RSR_BADLAGS = OBSDIR + "/{obsnum}.badlags"  # written once, then the user's to edit
RSR_AUTO_FLAGS = OBSDIR + "/flags/rsr_auto.yaml"  # RSR automatic flags (lmtflow.flags.rsr)
RSR_BLANKING = OBSDIR + "/{obsnum}.blanking"  # a commented template, the user's to edit
RSR_CAL_SDFITS = OBSDIR + "/{obsnum}__{bank}.rsr.cal.sdfits"
RSR_BASE_SDFITS = OBSDIR + "/{obsnum}__{bank}.rsr.base.sdfits"
RSR_SPECTRUM = SRDP_DIR + "/{src}_{obsnum}__{bank}.rsr.spec.fits"
RSR_SPECTRUM_TXT = SRDP_DIR + "/{src}_{obsnum}__{bank}.rsr.spec.txt"
RSR_COMBO_SPECTRUM = COMBO_DIR + "/{src}_{combo}__{bank}.rsr.spec.fits"
RSR_COMBO_SPECTRUM_TXT = COMBO_DIR + "/{src}_{combo}__{bank}.rsr.spec.txt"

MAP_STEPS = ("calibrate", "baseline", "grid")
RSR_STEPS = ("rsr_badlags", "rsr_baseline", "rsr_spectrum")
SPECTRUM_STEPS = ("calibrate", "baseline", "spectrum")
STEP_CHAINS = {"map": MAP_STEPS, "spectrum": SPECTRUM_STEPS, "rsr": RSR_STEPS}
"""The parameter steps of each product kind, in the order their outputs feed each other."""


def safe_source(name: str) -> str:
    """A source name fit for a file name (blanks and slashes become underscores)."""
    return "".join(c if c.isalnum() or c in "+-._" else "_" for c in name.strip()) or "unknown"


class _KeepMissing(dict):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def path(work: str | Path, pattern: str, **fields: object) -> Path:
    """Fill ``pattern`` and place it under the work tree; unfilled wildcards stay as they are,
    except ``attempt``, which is the base's (empty) unless given."""
    return Path(work) / pattern.format_map(_KeepMissing({"attempt": "", **fields}))
