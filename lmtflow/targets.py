"""The files a reduction makes for each ObsNum and combination, in the base or an attempt.

The workflow's ``rule all`` and :func:`lmtflow.workflow.run_attempt` both ask this module
which files to make, so a notebook run and a command-line run make the same things.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import layout
from .attempts import AttemptPlan, kind_of

QA_PLANES = ("mom0", "mom1", "mom2", "peak", "rms", "radiometer")
PRODUCTS = {  # (kind, combination?) -> the SRDP files
    ("map", False): (layout.SRDP_CUBE, layout.SRDP_WEIGHT),
    ("spectrum", False): (layout.SRDP_SPECTRUM, layout.SRDP_SPECTRUM_TXT),
    ("rsr", False): (layout.RSR_SPECTRUM, layout.RSR_SPECTRUM_TXT),
    ("map", True): (layout.COMBO_CUBE, layout.COMBO_WEIGHT),
    ("spectrum", True): (layout.COMBO_SPECTRUM, layout.COMBO_SPECTRUM_TXT),
    ("rsr", True): (layout.RSR_COMBO_SPECTRUM, layout.RSR_COMBO_SPECTRUM_TXT),
}


@dataclass(frozen=True)
class Product:
    """One ObsNum (``combo`` empty) or combination of one bank, in one attempt."""

    label: str
    bank: int
    kind: str
    files: tuple[Path, ...]
    qa: Path
    page: Path
    archive: Path


def scan_config(config: Mapping[str, Any]) -> tuple[dict[int, Any], dict[str, list[Any]]]:
    """ObsNum -> lmtflow.scan.ObsInfo of every ObsNum a validated config names, and combination
    name -> its members' infos (checked: one kind and receiver, a shared bank)."""
    from .combination import check_members, combo_name, configured_combinations, configured_obsnums
    from .header_cache import cached_reader
    from .io.ifproc import read_header
    from .scan import scan_obsnum

    missing = config["ingest"]["missing_roach"]
    cache = cached_reader(config.get("work_lmt"))  # large projects: headers read once
    read = cache.read if cache is not None else read_header
    infos = {n: scan_obsnum(config["data_lmt"], n, missing, read)
             for n in configured_obsnums(config)}  # fmt: skip
    if cache is not None:
        cache.save()
    combos = {combo_name(c): [infos[n] for n in c] for c in configured_combinations(config)}
    for name, members in combos.items():
        check_members(name, members)
    return infos, combos


class WorkTree:
    """Paths of the work tree for the scanned ObsNums (``infos``) and combinations."""

    def __init__(
        self,
        work: str | Path,
        infos: Mapping[int, Any],
        combos: Mapping[str, list[Any]],
        plan: AttemptPlan,
    ) -> None:
        self.work = Path(work)
        self.infos = infos
        self.combos = combos
        self.plan = plan

    def path(self, pattern: str, **fields: Any) -> Path:
        return layout.path(self.work, pattern, **fields)

    # --- single ObsNums

    def fields(self, info: Any, bank: int, attempt: str = "") -> dict[str, Any]:
        """Wildcards of an ObsNum's products in ``attempt`` (at the attempt's final owner)."""
        where = self.plan.final_owner(attempt, info.obsnum, bank) if attempt else ""
        return dict(pid=info.pid, obsnum=info.obsnum, bank=bank, src=info.src, attempt=where)

    def obs_files(self, info: Any, bank: int, attempt: str = "") -> list[Path]:
        """The SRDP files of one ObsNum and bank."""
        f = self.fields(info, bank, attempt)
        kind = kind_of(info)
        files = [self.path(p, **f) for p in (*PRODUCTS[kind, False], layout.SRDP_PARAMS)]
        if kind == "map":
            files += [self.path(layout.SRDP_PLANE, plane=p, **f) for p in QA_PLANES]
        return files

    def obs_product(self, info: Any, bank: int, attempt: str = "") -> Product:
        f = self.fields(info, bank, attempt)
        top = {**f, "attempt": self.plan.obs_owner(attempt, info.obsnum) if attempt else ""}
        return Product(
            label=str(info.obsnum), bank=bank, kind=kind_of(info),
            files=tuple(self.obs_files(info, bank, attempt)),
            qa=self.path(layout.QA_NUMBERS, **f), page=self.path(layout.README, **top),
            archive=self.path(layout.ARCHIVE, **top),
        )  # fmt: skip

    # --- combinations

    def combo_fields(self, name: str, bank: int, attempt: str = "") -> dict[str, Any]:
        first = self.combo_first(name)
        nums = [i.obsnum for i in self.combos[name]]
        where = self.plan.combo_owner(attempt, nums, bank) if attempt else ""
        return dict(pid=first.pid, combo=name, bank=bank, src=first.src, attempt=where)

    def combo_first(self, name: str) -> Any:
        """The first (lowest) member ObsNum of a combination: its project, source and kind."""
        return min(self.combos[name], key=lambda i: i.obsnum)

    def combo_kind(self, name: str) -> str:
        return kind_of(self.combo_first(name))

    def combo_files(self, name: str, bank: int, attempt: str = "") -> list[Path]:
        f = self.combo_fields(name, bank, attempt)
        return [self.path(p, **f) for p in PRODUCTS[self.combo_kind(name), True]]

    def combo_product(self, name: str, bank: int, attempt: str = "") -> Product:
        f = self.combo_fields(name, bank, attempt)
        nums = [i.obsnum for i in self.combos[name]]
        top = {**f, "attempt": self.plan.combo_level_owner(attempt, nums) if attempt else ""}
        return Product(
            label=name, bank=bank, kind=self.combo_kind(name),
            files=tuple(self.combo_files(name, bank, attempt)),
            qa=self.path(layout.COMBO_QA_NUMBERS, **f),
            page=self.path(layout.COMBO_README, **top),
            archive=self.path(layout.COMBO_ARCHIVE, **top),
        )  # fmt: skip

    # --- everything

    def products(self, attempt: str = "") -> list[Product]:
        """Every ObsNum and combination of every bank, in ``attempt`` (``""``: the base)."""
        out = [self.obs_product(i, b, attempt) for i in self.infos.values() for b in i.banks]
        for name, infos in self.combos.items():
            banks = self.plan.combo_banks([i.obsnum for i in infos])
            out += [self.combo_product(name, b, attempt) for b in banks]
        return out
