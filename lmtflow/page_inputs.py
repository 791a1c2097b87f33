"""What the summary pages show: QA sections, project index rows, attempts pages, archives.

A *section* is one bank of an ObsNum or combination on its README.html: ``{"qa": QA numbers
file, "plots": {name: PNG}, "files": [product, intermediate and parameter files]}``, and for
a combination ``"members"`` (ObsNum -> its page). Each file comes from the directory of the
reduction that made it (the base's when an attempt does not change its step). The rules of
``rules/qa.smk`` pass these plain dicts to the page scripts (lmtflow.qa.pages renders them)
and list every file in them as the page's inputs.

Paths and the owner of each step come from :class:`lmtflow.rule_inputs.RuleInputs` (over
lmtflow.layout, lmtflow.targets and lmtflow.attempts); nothing here opens a file.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from . import layout
from .attempts import kind_of, name_of
from .qa.registry import plots_for
from .rule_inputs import RuleInputs
from .targets import Product

Section = dict[str, Any]


def flat(sections: Iterable[Section]) -> list[str]:
    """Every file the sections show or link to: QA numbers, plots, files (members aside)."""
    return [p for s in sections for p in (s["qa"], *s["plots"].values(), *s["files"])]


def attempt_title(attempt: str) -> str:
    """What a page title adds for an attempt (nothing for the base)."""
    return "" if not attempt else f"  (attempt {name_of(attempt)})"


class PageInputs:
    """Page contents and page inputs of the ObsNums and combinations ``inputs`` knows."""

    def __init__(self, inputs: RuleInputs) -> None:
        self.inputs = inputs
        self.work = inputs.work
        self.tree = inputs.tree
        self.plan = inputs.plan
        self.infos = inputs.infos
        self.combos = inputs.combos

    # --- one ObsNum

    def obs_sections(self, info: Any, attempt: str = "") -> list[Section]:
        """One section per bank of an ObsNum in ``attempt`` (maps, Ps/Bs spectra, RSR)."""
        if info.is_rsr:
            return self.rsr_sections(info, attempt)
        work, sections = self.work, []
        for bank in info.banks:
            f = self.tree.fields(info, bank, attempt)

            def at(step: str, f: dict = f, bank: int = bank) -> dict[str, Any]:
                return {**f, "attempt": self.plan.owner(attempt, info.obsnum, bank, step)}

            files = [work(layout.RAW_SDFITS, **{**f, "attempt": ""}),
                     self.inputs.tsys_path(info, bank, attempt),
                     work(layout.CAL_SDFITS, **at("calibrate")),
                     work(layout.BASE_SDFITS, **at("baseline"))]  # fmt: skip
            if info.is_map:
                files += [work(layout.CUBE, **f), work(layout.WEIGHT, **f)]
            files += self._srdp_files(info, bank, attempt)
            # the per-beam plots are the base's unless the attempt changes the spectra used
            plots = {p.name: work(layout.QA_PLOT, plot=p.name,
                                  **(at("select") if p.stage == "beams" else f))
                     for p in plots_for(kind_of(info))}  # fmt: skip
            sections.append({"qa": work(layout.QA_NUMBERS, **f), "plots": plots, "files": files})
        return sections

    def rsr_sections(self, info: Any, attempt: str = "") -> list[Section]:
        """The one section (pseudo-bank 0) of an RSR ObsNum: QA file, plots, product files."""
        work, f = self.work, self.tree.fields(info, 0, attempt)

        def at(step: str) -> dict[str, Any]:
            return {**f, "attempt": self.plan.owner(attempt, info.obsnum, 0, step)}

        files = [work(layout.RSR_CAL_SDFITS, **at("rsr_badlags")),
                 work(layout.RSR_BASE_SDFITS, **at("rsr_baseline")),
                 work(layout.RSR_BADLAGS, **at("rsr_badlags")),
                 work(layout.RSR_BLANKING, **{**f, "attempt": ""})]  # fmt: skip
        files += self._srdp_files(info, 0, attempt)
        return [{"qa": work(layout.QA_NUMBERS, **f), "files": files,
                 "plots": self.inputs.plot_paths(plots_for("rsr"), **f)}]  # fmt: skip

    def _srdp_files(self, info: Any, bank: int, attempt: str) -> list[str]:
        """The SRDP files of an ObsNum (lmtflow.targets), then its steps' parameter files."""
        srdp = [str(p) for p in self.tree.obs_files(info, bank, attempt)]
        return srdp + self.inputs.step_param_files(info, bank, attempt)

    def obs_page(self, info: Any, attempt: str = "") -> str:
        """README.html of an ObsNum in ``attempt`` (the base's when it changes nothing there)."""
        return self.work(layout.README, pid=info.pid, obsnum=info.obsnum,
                         attempt=self.plan.obs_owner(attempt, info.obsnum))  # fmt: skip

    def obs_page_inputs(self, obsnum: int | str, attempt: str = "") -> list[str]:
        """Everything an ObsNum's README.html shows or links to."""
        return flat(self.obs_sections(self.infos[int(obsnum)], attempt))

    def obs_title(self, obsnum: int | str, attempt: str = "") -> str:
        return f"{self.infos[int(obsnum)].header.source}  ObsNum {obsnum}{attempt_title(attempt)}"

    # --- combinations

    def combo_kind(self, name: str) -> str:
        """QA product kind of a combination (lmtflow.qa.registry): ``<kind>_combination``."""
        return f"{self.tree.combo_kind(name)}_combination"

    def _members(self, name: str) -> list[Any]:
        return sorted(self.combos[name], key=lambda i: i.obsnum)

    def combo_member_pages(self, name: str, attempt: str = "") -> dict[str, str]:
        """ObsNum -> README.html of every member of a combination (in ``attempt``)."""
        return {str(i.obsnum): self.obs_page(i, attempt) for i in self._members(name)}

    def combo_sections(self, name: str, attempt: str = "") -> list[Section]:
        """One section per bank of a combination (maps, Ps/Bs spectra, RSR): QA file, plots,
        product files (the SRDP of lmtflow.targets, a map's planes, parameter files) and the
        members' pages."""
        work, first, kind = self.work, self.tree.combo_first(name), self.combo_kind(name)
        sections = []
        for bank in self.plan.combo_banks([i.obsnum for i in self.combos[name]]):
            f = self.tree.combo_fields(name, bank, attempt)
            files = [str(p) for p in self.tree.combo_files(name, bank, attempt)]
            if first.is_map:
                files += list(self.inputs.plane_paths(layout.COMBO_PLANE, **f).values())
            files += self.inputs.combo_param_files(name, pid=first.pid, bank=bank,
                                                   attempt=f["attempt"])  # fmt: skip
            sections.append({"qa": work(layout.COMBO_QA_NUMBERS, **f), "files": files,
                             "plots": self.inputs.combo_plot_paths(plots_for(kind), **f),
                             "members": self.combo_member_pages(name, attempt)})  # fmt: skip
        return sections

    def combo_page_inputs(self, name: str, attempt: str = "") -> list[str]:
        """Everything a combination's README.html shows or links to."""
        pages = self.combo_member_pages(name, attempt).values()
        return flat(self.combo_sections(name, attempt)) + list(pages)

    def combo_title(self, name: str, attempt: str = "") -> str:
        nums = ", ".join(str(i.obsnum) for i in self._members(name))
        source = self.tree.combo_first(name).header.source
        return f"{source}  ObsNums {nums}{attempt_title(attempt)}"

    # --- project index (<pid>/index.html)

    def qa_infos(self, pid: str | None = None) -> list[Any]:
        """ObsNums with QA pages (maps, Ps/Bs spectra and RSR), of one project if given."""
        return [i for i in self.infos.values() if pid is None or i.pid == pid]

    def qa_combos(self, pid: str | None = None) -> list[str]:
        """Combinations with QA pages, of one project if given."""
        return sorted(c for c in self.combos if pid is None or self.tree.combo_first(c).pid == pid)

    def index_entries(self, pid: str) -> list[dict[str, Any]]:
        """The rows of a project index: its ObsNums, then its combinations (page, sections,
        attempts page when the config has attempts)."""
        attempts = bool(self.plan.names)
        rows = [{"page": self.obs_page(i), "sections": self.obs_sections(i),
                 "compare": self.work(layout.COMPARE, pid=pid, obsnum=i.obsnum)
                 if attempts else None} for i in self.qa_infos(pid)]  # fmt: skip
        rows += [{"page": self.work(layout.COMBO_README, pid=pid, combo=c, attempt=""),
                  "sections": self.combo_sections(c),
                  "compare": self.work(layout.COMBO_COMPARE, pid=pid, combo=c)
                  if attempts else None} for c in self.qa_combos(pid)]  # fmt: skip
        return rows

    def index_inputs(self, pid: str) -> list[str]:
        """Pages and shown files of a project's ObsNums and combinations (the index links them)."""
        out = []
        for e in self.index_entries(pid):
            out += [e["page"], *flat(e["sections"])] + ([e["compare"]] if e["compare"] else [])
        return out

    def all_reports(self) -> list[str]:
        """README.html of every ObsNum and combination (base and attempts), the project
        indexes, and with attempts configured, each attempt's archive and the attempts pages."""
        attempts = self.inputs.attempts
        out = {str(p.page) for a in attempts for p in self.tree.products(a)}
        out.update(self.work(layout.PROJECT_INDEX, pid=i.pid) for i in self.infos.values())
        if self.plan.names:
            out.update(str(p.archive) for a in attempts for p in self.tree.products(a))
            out.update(self.compare_pages())
        return sorted(out)

    # --- attempts pages (<label>/attempts.html) and archives (<label>_SRDP.zip)

    def compare_pages(self) -> list[str]:
        """The attempts page of every ObsNum and combination."""
        out = [self.work(layout.COMPARE, pid=i.pid, obsnum=i.obsnum) for i in self.infos.values()]
        return out + [self.work(layout.COMBO_COMPARE, pid=self.tree.combo_first(c).pid, combo=c)
                      for c in self.combos]  # fmt: skip

    def label_parts(self, label: str, attempt: str) -> list[tuple[Product, Section]]:
        """(lmtflow.targets.Product, section) per bank of an ObsNum or combination in
        ``attempt``."""
        if label in self.combos:
            banks = self.plan.combo_banks([i.obsnum for i in self.combos[label]])
            sections = self.combo_sections(label, attempt)
            return [(self.tree.combo_product(label, b, attempt), s)
                    for b, s in zip(banks, sections, strict=True)]  # fmt: skip
        info = self.infos[int(label)]
        sections = self.obs_sections(info, attempt)
        return [(self.tree.obs_product(info, b, attempt), s)
                for b, s in zip(info.banks, sections, strict=True)]  # fmt: skip

    def attempt_changes(self, label: str, attempt: str, bank: int) -> dict[str, Any]:
        """``{step: {key: [base, attempt]}}`` of an ObsNum or combination."""
        if label in self.combos:
            return self.plan.combo_changed(attempt, [i.obsnum for i in self.combos[label]], bank)
        return self.plan.changed(attempt, int(label), bank)

    def compare_columns(self, label: str) -> dict[int, list[dict[str, Any]]]:
        """Bank -> one column per attempt (base first) of an ObsNum or combination: its name,
        the parameters it changes, its QA section, its page and archive."""
        banks: dict[int, list[dict[str, Any]]] = {}
        for attempt in self.inputs.attempts:
            for product, section in self.label_parts(label, attempt):
                banks.setdefault(product.bank, []).append({
                    "name": name_of(attempt), "section": section, "page": str(product.page),
                    "changed": self.attempt_changes(label, attempt, product.bank),
                    "archive": str(product.archive)})  # fmt: skip
        return banks

    def compare_inputs(self, label: str) -> list[str]:
        """Everything an attempts page shows or links to."""
        out = set()
        for columns in self.compare_columns(label).values():
            for c in columns:
                out.update(flat([c["section"]]))
                out.update((c["page"], c["archive"]))
        return sorted(out)

    def archive_members(self, label: str, attempt: str) -> dict[str, str]:
        """``{name in the zip: file}`` of an ObsNum or combination in ``attempt``: the SRDP
        files, QA numbers and plots, and the parameter files of every bank."""
        from .pipeline.archive import archive_members as members

        groups: dict[str, list[str]] = {"srdp": [], "qa": [], "params": []}
        for product, section in self.label_parts(label, attempt):
            groups["srdp"] += [str(f) for f in product.files]
            groups["qa"] += [section["qa"], *section["plots"].values()]
            groups["params"] += [f for f in section["files"] if "/params/" in f]
        return members(f"{label}_{name_of(attempt)}", groups)
