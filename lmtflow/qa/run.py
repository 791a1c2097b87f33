"""The QA stages the workflow rules call: load once, draw the registered plots, write numbers."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..io.atomic import write_json
from .beams import attach_tsys, summarize
from .merge import read_steps
from .numbers import beam_numbers, cube_numbers, json_clean
from .plotting import save
from .registry import Plot, plots_for

log = logging.getLogger(__name__)


def draw(plots: Sequence[Plot], data: Any, paths: Mapping[str, str | Path]) -> None:
    """Draw every plot of ``plots`` from ``data`` into ``paths[plot.name]``."""
    for plot in plots:
        save(plot.function()(data), paths[plot.name])
        log.info("wrote %s", paths[plot.name])


def beam_stage(
    base_sdfits: str | Path,
    tsys: str | Path,
    param_files: Sequence[str | Path],
    plot_paths: Mapping[str, str | Path],
    numbers_out: str | Path,
    kind: str = "map",
) -> None:
    """Per-beam plots and numbers of one ObsNum and bank from its baselined SDFITS."""
    steps = read_steps(param_files)
    summary = summarize(base_sdfits, steps.get("select", steps.get("grid", {})))
    summary.params["b_regions"] = steps.get("baseline", {}).get("b_regions", [])
    attach_tsys(summary, tsys)
    draw(plots_for(kind, "beams"), summary, plot_paths)
    write_json(numbers_out, json_clean(beam_numbers(summary)))


def map_stage(
    cube: str | Path,
    weight: str | Path,
    base_sdfits: str | Path | Sequence[str | Path],
    param_files: Sequence[str | Path],
    plane_paths: Mapping[str, str | Path],
    plot_paths: Mapping[str, str | Path],
    numbers_out: str | Path,
    kind: str = "map",
) -> None:
    """Moment, peak, rms and radiometer maps (FITS), map plots and cube numbers.

    A combination (``kind="map_combination"``) passes every member's baselined SDFITS and the
    combination's grid parameters; its numbers add the spectra used per member.
    """
    # imported here: the cube's modules (scipy, the gridder) are not for the other stages' jobs
    from .maps import (
        MapQA,
        gridded_inputs,
        moment_planes,
        radiometer_plane,
        read_cube,
        selection_numbers,
        write_planes,
    )

    steps = read_steps(param_files)
    regions = steps["baseline"]["b_regions"]
    data = read_cube(cube, weight)
    planes = moment_planes(data, regions)
    inputs = gridded_inputs(base_sdfits, steps["grid"])
    planes["radiometer"] = radiometer_plane(inputs, steps["grid"], data.geometry)
    write_planes(data, planes, plane_paths)
    bank = int(steps["grid"].get("bank", 0))
    qa = MapQA(data, planes, regions, f"bank {bank}", inputs)
    draw(plots_for(kind, "cube"), qa, plot_paths)
    label = Path(cube).name.removesuffix(".fits").removesuffix(".cube")
    numbers: dict[str, Any] = {"cube": cube_numbers(data, planes, regions, label)}
    if kind != "map":  # the beams stage counts the spectra of a single ObsNum
        numbers["spectra"] = selection_numbers(inputs, steps["grid"])
    write_json(numbers_out, numbers)


def spectrum_stage(
    spectrum: str | Path,
    tsys: str | Path,
    raw_sdfits: str | Path,
    param_files: Sequence[str | Path],
    plot_paths: Mapping[str, str | Path],
    numbers_out: str | Path,
) -> None:
    """Spectrum plots and numbers (rms vs radiometer) of one Ps/Bs ObsNum and bank."""
    from .spectrum import attach_cal_tsys, radiometer_rms, read_spectrum, spectrum_numbers

    steps = read_steps(param_files)
    qa = attach_cal_tsys(read_spectrum(spectrum, steps["baseline"]["b_regions"]), tsys)
    expected, per_beam = radiometer_rms(qa, raw_sdfits)
    draw(plots_for("spectrum", "spectrum"), qa, plot_paths)
    numbers = {"spectrum": spectrum_numbers(qa, expected, per_beam)}
    from .advice import smoothing_advice  # S/N advice from the product's own numbers

    rms_k = (numbers["spectrum"].get("rms_mK") or 0.0) / 1e3
    advice = smoothing_advice(qa.final, rms_k, float(abs(qa.velocity[1] - qa.velocity[0])))
    if advice:
        numbers["advice"] = [advice]
    write_json(numbers_out, numbers)


def rsr_stage(
    base_sdfits: Sequence[str | Path],
    badlags: Sequence[str | Path],
    blanking: Sequence[str | Path],
    member_params: Sequence[str | Path],
    spectrum: str | Path,
    param_files: Sequence[str | Path],
    plot_paths: Mapping[str, str | Path],
    numbers_out: str | Path,
    kind: str = "rsr",
    data_lmt: str | Path | None = None,
    auto_flags: str | Path | None = None,
) -> None:
    """Plots and the QA file (numbers and parameters) of an RSR ObsNum or combination
    (``kind`` "rsr_combination"): one baselined SDFITS, badlags, blanking and ``rsr_baseline``
    parameter file per member; ``param_files`` those of the product (``rsr_spectrum``; an
    ObsNum all three steps). ``data_lmt`` (an ObsNum): the Tsys and badlags plots from its raw
    files; ``auto_flags`` its generated auto-flag file, whose flags the QA lists with the
    parameter rules, lmtflow.flags.qa). Draws the RSR plots named in ``plot_paths``."""
    from ..rsr.badlags import BadlagsParams
    from .rsr import rsr_numbers
    from .rsr_load import load, load_raw

    steps = read_steps(param_files)
    badcb = [json.loads(Path(p).read_text()).get("badcb", []) for p in member_params]
    qa = load(base_sdfits, spectrum, steps["rsr_spectrum"], badlags, blanking, badcb)
    if data_lmt is not None:
        own = steps.get("rsr_badlags", {})
        p = BadlagsParams(**{k: v for k, v in own.items() if k in BadlagsParams.__annotations__})
        m = qa.members[0]
        qa.raw = load_raw(data_lmt, m.obsnum, m.flags, p)
    draw([p for p in plots_for("rsr", "rsr") if p.name in plot_paths], qa, plot_paths)
    numbers = {"kind": kind, **rsr_numbers(qa), "params": steps}
    if auto_flags is not None:  # every applied, suggested and vetoed flag (lmtflow.flags.qa)
        from ..flags.qa import flag_numbers
        from ..flags.rsr import blanking_file_rules

        obsnum = qa.members[0].obsnum
        extra = [("rsr_baseline", r) for f in blanking for r in blanking_file_rules(f, obsnum)]
        from astropy.io import fits

        header = fits.getheader(base_sdfits[0], 1)  # FLG*RSR: what the baseline blanked
        numbers["flags"] = flag_numbers(steps, [auto_flags], header, extra=extra)
    write_json(numbers_out, numbers)
