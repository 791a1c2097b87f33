"""What the workflow's jobs read: the input files and values of every rule, from the work tree.

``rules/common.smk`` makes one :class:`RuleInputs` over the scanned ObsNums, combinations and
attempt plan (a :class:`lmtflow.targets.WorkTree`) and hands its methods to the rules as input
functions. A method taking ``w`` takes Snakemake's wildcards, or any object with the same
attributes (``pid``, ``obsnum``, ``combo``, ``bank``, ``attempt``, ``step``, ``src``), so the
logic runs and is tested without Snakemake. Paths are strings, as Snakemake wants them; a
wildcard not given stays open for Snakemake to fill (``{attempt}`` too, unlike
:func:`lmtflow.layout.path`).

The QA pages, project indexes, attempts pages and archives: :mod:`lmtflow.page_inputs`.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from . import layout
from .attempts import kind_of, suffix
from .params import combination_params, merged_step
from .qa.registry import Plot
from .targets import QA_PLANES, WorkTree

InputFunction = Callable[[Any], Any]


def wildcard_fields(w: Any, **fields: Any) -> dict[str, Any]:
    """The wildcards ``w`` as a dict (Snakemake's or a namespace), ``fields`` overriding."""
    own = dict(w.items()) if hasattr(w, "items") else dict(vars(w))
    return {**own, **fields}


def params_text(values: Any) -> str:
    """The exact bytes of a parameter file (as lmtflow.io.atomic.write_json writes them)."""
    return json.dumps(values, sort_keys=True, indent=1) + "\n"


class RuleInputs:
    """Input files and values of the rules for the ObsNums and combinations of ``tree``;
    ``data_lmt`` is the raw tree (read only)."""

    def __init__(self, tree: WorkTree, data_lmt: str | Path) -> None:
        self.tree = tree
        self.plan = tree.plan
        self.infos = tree.infos
        self.combos = tree.combos
        self.data_lmt = data_lmt
        self.cal_headers = {info.cal.obsnum: info.cal for info in self.infos.values()}
        self.attempts = ["", *(suffix(n) for n in self.plan.names)]
        """``{attempt}`` values: the base, then each attempt of the config."""
        self._raw: dict[tuple[int, int], tuple[list[str], float]] = {}

    # --- paths

    def work(self, pattern: str, **fields: Any) -> str:
        """A path of the work tree: a layout pattern with some wildcards filled (the others,
        and ``{attempt}`` unless given, stay open)."""
        return str(layout.path(self.tree.work, pattern, **{"attempt": "{attempt}", **fields}))

    def at_step(self, pattern: str, owner_step: str, **fields: Any) -> InputFunction:
        """Input function: ``pattern`` in the directory owning ``owner_step``'s output in this
        attempt (the base's when the attempt changes neither that step nor one before it)."""

        def _input(w: Any) -> str:
            where = self.plan.owner(w.attempt, w.obsnum, w.bank, owner_step)
            return self.work(pattern, **wildcard_fields(w, attempt=where, **fields))

        return _input

    def at_base(self, pattern: str, **fields: Any) -> str:
        """A file every attempt shares with the base (raw SDFITS, the user's edit files)."""
        return self.work(pattern, attempt="", **fields)

    def plot_paths(self, plots: Iterable[Plot], **fields: Any) -> dict[str, str]:
        """Plot name -> PNG path of an ObsNum's QA plots."""
        return {p.name: self.work(layout.QA_PLOT, plot=p.name, **fields) for p in plots}

    def combo_plot_paths(self, plots: Iterable[Plot], **fields: Any) -> dict[str, str]:
        """Plot name -> PNG path of a combination's QA plots."""
        return {p.name: self.work(layout.COMBO_QA_PLOT, plot=p.name, **fields) for p in plots}

    def plane_paths(self, pattern: str, **fields: Any) -> dict[str, str]:
        """``plane_<name>`` -> path of each QA plane (mom0, peak, rms, ...) of ``pattern``."""
        return {f"plane_{n}": self.work(pattern, plane=n, **fields) for n in QA_PLANES}

    def all_products(self) -> list[str]:
        """Every SRDP file of every ObsNum and combination, in the base and every attempt."""
        return sorted({str(f) for a in self.attempts for p in self.tree.products(a)
                       for f in p.files})  # fmt: skip

    # --- raw data (read once per run: raw data do not change)

    def header_of(self, obsnum: int | str) -> Any:
        """The header of a science ObsNum, or of the Cal ObsNum of one."""
        obsnum = int(obsnum)
        return self.infos[obsnum].header if obsnum in self.infos else self.cal_headers[obsnum]

    def _raw_of(self, obsnum: int | str, bank: int | str) -> tuple[list[str], float]:
        from .io.roach import find_roach_files, roach_inputs_for_bank

        key = (int(obsnum), int(bank))
        if key not in self._raw:
            hdr = self.header_of(key[0])
            inputs = list(roach_inputs_for_bank(hdr.receiver, key[1]))
            roach = find_roach_files(self.data_lmt, key[0], inputs)
            files = [str(hdr.path)] + [str(p) for p in roach.values()]
            self._raw[key] = (files, sum(os.path.getsize(f) for f in files) / 1e6)
        return self._raw[key]

    def raw_files(self, w: Any) -> list[str]:
        """The raw netCDF files one ingest job reads (never written)."""
        return list(self._raw_of(w.obsnum, w.bank)[0])

    def raw_mb(self, w: Any) -> float:
        """Size (MB) of the raw files of this ObsNum and bank: what cluster jobs are sized by."""
        return self._raw_of(w.obsnum, w.bank)[1]

    def combo_raw_mb(self, w: Any) -> float:
        """Size (MB) of the raw files of every member of a combination (this bank)."""
        return sum(self._raw_of(i.obsnum, w.bank)[1] for i in self.combos[w.combo])

    # --- parameters

    def resolved_params(self, w: Any) -> dict[str, Any]:
        """Parameters of one step for one ObsNum, bank and attempt, resolved and derived."""
        return self.plan.params(w.attempt, w.obsnum, w.bank, w.step)

    def resolved_params_json(self, w: Any) -> str:
        return params_text(self.resolved_params(w))

    def combo_resolved_params(self, w: Any) -> dict[str, Any]:
        """Parameters of one step of a combination (its members in the configured order)."""
        headers = [i.header for i in self.combos[w.combo]]
        return combination_params(self.plan.config_of(w.attempt), headers, int(w.bank), w.step)

    def combo_resolved_params_json(self, w: Any) -> str:
        return params_text(self.combo_resolved_params(w))

    def step_param_files(self, info: Any, bank: int, attempt: str) -> list[str]:
        """The parameter file of every step of an ObsNum's products in ``attempt`` (each from
        the directory that owns the step)."""
        return [self.work(layout.PARAMS, pid=info.pid, obsnum=info.obsnum, bank=bank, step=s,
                          attempt=self.plan.owner(attempt, info.obsnum, bank, s))
                for s in layout.STEP_CHAINS[kind_of(info)]]  # fmt: skip

    def srdp_param_files(self, w: Any) -> list[str]:
        """The parameter files of every step that made an ObsNum's SRDP (map, spectrum, RSR)."""
        return self.step_param_files(self.infos[int(w.obsnum)], w.bank, w.attempt)

    # --- Tsys (made from the Cal ObsNum, with the calibrate step's tsys_* values)

    def tsys_path(self, info: Any, bank: int, attempt: str) -> str:
        cal = info.cal.obsnum
        return self.work(layout.TSYS, pid=info.cal_pid, obsnum=cal, bank=bank,
                         attempt=self.plan.tsys_owner(attempt, cal))  # fmt: skip

    def tsys_file(self, w: Any) -> str:
        """The Tsys spectra made from the Cal ObsNum of this science ObsNum."""
        return self.tsys_path(self.infos[int(w.obsnum)], w.bank, w.attempt)

    def tsys_params(self, w: Any) -> dict[str, Any]:
        p = merged_step(self.plan.config_of(w.attempt), int(w.obsnum), "calibrate")
        return {"bdrop": p["tsys_bdrop"], "edrop": p["tsys_edrop"]}

    # --- combinations of ObsNums

    def member_owner(self, attempt: str, name: str, obsnum: int, bank: int, step: str) -> str:
        """``{attempt}`` of a member's file: ``step`` ``"read"`` (what the combination reads),
        ``"final"`` (its products and QA), ``"base"`` or a step name."""
        if step == "base":
            return ""
        if step == "final":
            return self.plan.final_owner(attempt, obsnum, bank)
        if step == "read":
            return self.plan.member_owner(attempt, [i.obsnum for i in self.combos[name]],
                                          obsnum, bank)  # fmt: skip
        return self.plan.owner(attempt, obsnum, bank, step)

    def member_files(self, pattern: str, name: str, bank: Any, attempt: str,
                     owner_step: str = "read", **fields: Any) -> list[str]:  # fmt: skip
        """One file per member ObsNum of a combination (sorted), from its owning directory."""
        return [self.work(pattern, pid=i.pid, obsnum=i.obsnum, bank=bank, src=i.src,
                          attempt=self.member_owner(attempt, name, i.obsnum, bank, owner_step),
                          **fields)
                for i in sorted(self.combos[name], key=lambda i: i.obsnum)]  # fmt: skip

    def combo_inputs(self, pattern: str, owner_step: str = "read") -> InputFunction:
        """Input function: one file per member ObsNum of the combination (see member_owner)."""

        def _inputs(w: Any) -> list[str]:
            return self.member_files(pattern, w.combo, w.bank, w.attempt, owner_step)

        return _inputs

    def combo_product(self, pattern: str) -> InputFunction:
        """Input function: a product file of the combination (named by its first member's
        source)."""

        def _product(w: Any) -> str:
            src = self.tree.combo_first(w.combo).src
            return self.work(pattern, **wildcard_fields(w, src=src))

        return _product

    def combo_param_files(self, name: str, **fields: Any) -> list[str]:  # pid, bank, attempt
        """The combination's parameter files the QA reads: baseline + grid (maps), spectrum
        (Ps/Bs) or rsr_spectrum (RSR)."""
        first = self.tree.combo_first(name)
        steps = (("rsr_spectrum",) if first.is_rsr
                 else ("baseline", "grid") if first.is_map else ("spectrum",))  # fmt: skip
        return [self.work(layout.COMBO_PARAMS, combo=name, step=s, **fields) for s in steps]

    def combo_qa_params(self, w: Any) -> list[str]:
        return self.combo_param_files(w.combo, pid=w.pid, bank=w.bank, attempt=w.attempt)

    def combo_qa_parts(self, w: Any) -> list[str]:
        stage = "cube" if self.tree.combo_first(w.combo).is_map else "spectrum"
        return [self.work(layout.COMBO_QA_PART, **wildcard_fields(w, stage=stage))]

    # --- quality assessment of one ObsNum

    def obs_product(self, pattern: str) -> InputFunction:
        """Input function: an SRDP file of the ObsNum (named by its source)."""

        def _product(w: Any) -> str:
            src = self.infos[int(w.obsnum)].src
            return self.work(pattern, **wildcard_fields(w, src=src))

        return _product

    def qa_params(self, w: Any, steps: Iterable[str] | None = None) -> list[str]:
        """Parameter files the QA stages read: baseline, and grid (maps) or spectrum (Ps/Bs)."""
        info = self.infos[int(w.obsnum)]
        steps = steps or ("baseline", "grid" if info.is_map else "spectrum")
        return [self.work(layout.PARAMS, **wildcard_fields(w, step=s, attempt=self.plan.owner(
                    w.attempt, w.obsnum, w.bank, s)))
                for s in steps]  # fmt: skip

    def qa_beam_params(self, w: Any) -> list[str]:
        """The per-beam QA reads the baselines and which spectra are used (not the gridding)."""
        return self.qa_params(w, ("baseline", "select"))

    def qa_parts(self, w: Any) -> list[str]:
        """The per-stage QA numbers of one ObsNum and bank: the per-beam part from the
        directory that owns the spectra used (the ``select`` pseudo-step), the last its own."""
        last = "cube" if self.infos[int(w.obsnum)].is_map else "spectrum"
        select = self.plan.owner(w.attempt, w.obsnum, w.bank, "select")
        return [self.work(layout.QA_PART, **wildcard_fields(w, stage="beams", attempt=select)),
                self.work(layout.QA_PART, stage=last)]  # fmt: skip

    # --- RSR ObsNums (rules/rsr.smk)

    def rsr_calibration_inputs(self, w: Any) -> list[str]:
        from .io.rsr import calibration_inputs

        info = self.infos[int(w.obsnum)]
        return [str(p) for p in calibration_inputs(self.data_lmt, info.header, info.cal)]

    def rsr_chassis_files(self, w: Any) -> list[str]:
        from .io.rsr import chassis_files

        return [str(p) for p in chassis_files(self.data_lmt, int(w.obsnum)).values()]

    def rsr_spectrum_file(self, w: Any) -> str:
        """The spectrum of an RSR ObsNum (named by its source)."""
        return self.obs_product(layout.RSR_SPECTRUM)(w)

    def rsr_member_params(self, w: Any) -> list[str]:
        """The rsr_baseline parameter file (badcb) of every member of an RSR combination."""
        return self.member_files(layout.PARAMS, w.combo, w.bank, w.attempt, "rsr_baseline",
                                 step="rsr_baseline")  # fmt: skip

    def rsr_obsnum_regex(self) -> str:
        """Wildcard constraint matching the RSR ObsNums only (rsr_qa writes their QA numbers)."""
        return "|".join(str(o) for o, i in sorted(self.infos.items()) if i.is_rsr) or "(?!)"

    def rsr_combo_regex(self) -> str:
        """Wildcard constraint matching the RSR combinations only."""
        rsr = [re.escape(c) for c in sorted(self.combos) if self.tree.combo_first(c).is_rsr]
        return "|".join(rsr) or "(?!)"

    # --- automatic flags (rules/flags.smk, lmtflow.flags.auto)

    def _auto(self, w: Any, step: str) -> dict[str, Any]:
        p = self.plan.params(w.attempt, w.obsnum, w.bank, step)
        return (p.get("flags") or {}).get("auto", {})

    def auto_policies(self, w: Any) -> dict[str, Any]:
        """The detector policies of an ObsNum and bank (the select step's flags), {} if none."""
        return self._auto(w, "select")

    def auto_raw_policies(self, w: Any) -> dict[str, Any]:
        """The policies of the detectors that run on the raw counts (calibrate's flags), {}."""
        return self._auto(w, "calibrate")

    def auto_raw_input(self, w: Any) -> str | list[str]:
        """The raw-count auto-flag file a calibrate job applies ([] with no detector on)."""
        if not self.auto_raw_policies(w):
            return []
        return self.at_step(layout.AUTO_RAW_FLAGS, "calibrate")(w)

    def auto_flag_input(self, w: Any) -> str | list[str]:
        """The generated auto-flag file a grid or spectrum job applies ([] with no detector)."""
        if not self.auto_policies(w):
            return []
        return self.at_step(layout.AUTO_FLAGS, "select")(w)

    def combo_auto_flags(self, w: Any) -> list[str]:
        """The auto-flag file of every member of a map combination whose detectors are on (the
        joint grid applies each member's own automatic flags); [] with none."""
        members = sorted(self.combos[w.combo], key=lambda i: i.obsnum)
        files = self.member_files(layout.AUTO_FLAGS, w.combo, w.bank, w.attempt, "select")
        on = [(self.plan.params(w.attempt, i.obsnum, w.bank, "select").get("flags") or {})
              .get("auto") for i in members]  # fmt: skip
        return [f for f, auto in zip(files, on, strict=True) if auto]

    def qa_flag_inputs(self, w: Any) -> list[str]:
        """What the QA numbers read about flags: the baselined SDFITS (its FLG* keywords) and
        the auto-flag files; nothing when no flag rule or detector touches the ObsNum (the DAG
        stays as it was)."""
        info = self.infos[int(w.obsnum)]
        if info.is_rsr or not self.plan.config_of(w.attempt).get("flags"):
            return []
        steps = layout.STEP_CHAINS[kind_of(info)]
        if not any("flags" in self.plan.params(w.attempt, w.obsnum, w.bank, s) for s in steps):
            return []  # nothing touches this ObsNum, so its QA stays as it was
        base = self.at_step(layout.BASE_SDFITS, "baseline")(w)
        autos = [self.auto_raw_input(w)] if self.auto_raw_policies(w) else []
        return [base, *autos, *([self.auto_flag_input(w)] if self.auto_policies(w) else [])]
