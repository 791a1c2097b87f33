"""Attempts: named sets of parameters reduced side by side with the base reduction.

An attempt is an overlay on the configuration, ``attempts: {name: {step: {key: value}},
overrides: {ObsNum: {step: {...}}}}``. Its values win over ``defaults`` and the per-ObsNum
``overrides`` of the base, and its own ``overrides`` win over its step values.

Each step's output lives in the directory of the *first* reduction that needs it: a step is
the base's (``<work>/<pid>/<ObsNum>/``) when its parameters and those of every step before it
are the base's, else the attempt's (``<work>/<pid>/<ObsNum>/attempts/<name>/``). So an attempt
that only changes gridding reads the base's baselined SDFITS, and the base is never redone.

In the work-tree patterns (lmtflow.layout) the attempt is the ``{attempt}`` wildcard after the
ObsNum or combination: ``""`` for the base and ``"/attempts/<name>"`` for an attempt.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Mapping
from typing import Any

from .errors import ConfigError
from .layout import STEP_CHAINS
from .params import combination_params, merged_step, step_params

BASE = "base"
"""The name the pages give the base reduction (never a valid attempt name)."""
ATTEMPTS_DIR = "attempts"

COMBO_STEP = {"map": "grid", "spectrum": "spectrum", "rsr": "rsr_spectrum"}
"""The step a combination of ObsNums of each kind runs itself."""
COMBO_READS = {"map": "baseline", "spectrum": "spectrum", "rsr": "rsr_baseline"}
"""The member step whose output a combination reads (baselined SDFITS, spectra, repeats)."""


def suffix(name: str) -> str:
    """The ``{attempt}`` wildcard value of an attempt (``""`` for the base)."""
    return "" if name in ("", BASE) else f"/{ATTEMPTS_DIR}/{name}"


def name_of(attempt: str) -> str:
    """The attempt name of an ``{attempt}`` wildcard value (``"base"`` for ``""``); a name is
    returned as it is."""
    return attempt.rsplit("/", 1)[-1] if attempt else BASE


def attempt_names(config: Mapping[str, Any]) -> list[str]:
    """The attempts the config names, in the config's order."""
    return list(config.get("attempts", {}))


def _overlay(target: dict, steps: Mapping[str, Any]) -> None:
    for step, values in steps.items():
        if step not in ("overrides", "flags"):
            target.setdefault(step, {}).update(copy.deepcopy(values))


def attempt_config(config: Mapping[str, Any], name: str) -> dict[str, Any]:
    """The config an attempt reduces with: its overlay applied over defaults and overrides."""
    if name in ("", BASE):
        return dict(config)
    attempts = config.get("attempts", {})
    if name not in attempts:
        raise ConfigError(f"no attempt named {name!r}; attempts: {sorted(attempts) or 'none'}")
    overlay = attempts[name]
    cfg = copy.deepcopy(dict(config))
    if "flags" in overlay:  # an attempt may reduce with its own flag file
        cfg["flags"] = overlay["flags"]
    _overlay(cfg.setdefault("defaults", {}), overlay)
    for per_obsnum in cfg.setdefault("overrides", {}).values():
        _overlay(per_obsnum, overlay)
    for obsnum, steps in overlay.get("overrides", {}).items():
        _overlay(cfg["overrides"].setdefault(str(obsnum), {}), steps)
    return cfg


def kind_of(info: Any) -> str:
    """Product kind of an ObsNum (lmtflow.scan.ObsInfo): map, spectrum or rsr."""
    return "rsr" if info.is_rsr else "map" if info.is_map else "spectrum"


def differences(base: Mapping[str, Any], other: Mapping[str, Any]) -> dict[str, list[Any]]:
    """``{key: [base value, other value]}`` for every key whose value differs."""
    keys = sorted(set(base) | set(other))
    return {k: [base.get(k), other.get(k)] for k in keys if base.get(k) != other.get(k)}


class AttemptPlan:
    """Parameters and directory owners of every step, ObsNum, bank and attempt of a config.

    ``infos`` maps ObsNum -> lmtflow.scan.ObsInfo. Results are cached: the workflow asks the
    same questions for every job while it builds its DAG.
    """

    def __init__(self, config: Mapping[str, Any], infos: Mapping[int, Any]) -> None:
        self.config = config
        self.infos = infos
        self.names = attempt_names(config)
        self._configs = {n: attempt_config(config, n) for n in self.names}
        self._configs[BASE] = dict(config)
        self._cache: dict[tuple[str, int, int, str], str] = {}

    def tsys_owner(self, attempt: str, cal_obsnum: int) -> str:
        """``{attempt}`` value of the Tsys of a Cal ObsNum (its own calibrate values)."""
        own = suffix(name_of(attempt))
        keys = ("tsys_bdrop", "tsys_edrop")
        steps = [merged_step(self.config_of(a), int(cal_obsnum), "calibrate") for a in (own, "")]
        values = [{k: step.get(k) for k in keys} for step in steps]
        return "" if values[0] == values[1] else own

    def config_of(self, attempt: str) -> dict[str, Any]:
        """The whole config ``attempt`` (name or ``{attempt}`` value) reduces with."""
        name = name_of(attempt)
        if name not in self._configs:
            raise ConfigError(f"no attempt named {name!r}; attempts: {self.names or 'none'}")
        return self._configs[name]

    def _params(self, attempt: str, obsnum: int, bank: int, step: str) -> str:
        key = (name_of(attempt), obsnum, bank, step)
        if key not in self._cache:
            p = step_params(self.config_of(attempt), self.infos[obsnum].header, bank, step)
            self._cache[key] = json.dumps(p, sort_keys=True)
        return self._cache[key]

    def params(self, attempt: str, obsnum: int, bank: int, step: str) -> dict[str, Any]:
        """Resolved parameters of ``step`` for one ObsNum and bank in ``attempt``."""
        return json.loads(self._params(attempt, int(obsnum), int(bank), step))

    def _upstream(self, obsnum: int, step: str) -> tuple[str, ...]:
        chain = STEP_CHAINS[kind_of(self.infos[obsnum])]
        if step == "select":  # the spectra a product uses: after the baselines
            return (*chain[: chain.index("baseline") + 1], "select")
        if step not in chain:
            raise ValueError(f"step {step!r} is not a step of {chain}")
        return chain[: chain.index(step) + 1]

    def owner(self, attempt: str, obsnum: int, bank: int, step: str) -> str:
        """``{attempt}`` value of the directory holding ``step``'s output for this attempt."""
        obsnum, bank = int(obsnum), int(bank)
        own = suffix(name_of(attempt))
        if not own:
            return ""
        for s in self._upstream(obsnum, step):
            if self._params(own, obsnum, bank, s) != self._params("", obsnum, bank, s):
                return own
        return ""

    def final_owner(self, attempt: str, obsnum: int, bank: int) -> str:
        """Where an attempt's products of this ObsNum and bank live (its last step's owner)."""
        last = STEP_CHAINS[kind_of(self.infos[int(obsnum)])][-1]
        return self.owner(attempt, obsnum, bank, last)

    def obs_owner(self, attempt: str, obsnum: int) -> str:
        """Where an attempt's page and archive of an ObsNum live: the attempt's directory if
        it changes any bank's products, else the base's."""
        banks = self.infos[int(obsnum)].banks
        return max((self.final_owner(attempt, obsnum, b) for b in banks), default="")

    def changed(self, attempt: str, obsnum: int, bank: int) -> dict[str, dict[str, list[Any]]]:
        """``{step: {key: [base, attempt]}}`` of the parameters the attempt changes."""
        out = {}
        for step in STEP_CHAINS[kind_of(self.infos[int(obsnum)])]:
            diff = differences(self.params("", obsnum, bank, step),
                               self.params(attempt, obsnum, bank, step))  # fmt: skip
            if diff:
                out[step] = diff
        return out

    # Combinations: the combination's step (COMBO_STEP) is the attempt's when its own
    # parameters differ or any member's input to it (COMBO_READS) is the attempt's.

    def combo_kind(self, obsnums: Iterable[int]) -> str:
        return kind_of(self.infos[min(int(n) for n in obsnums)])

    def combo_params(self, attempt: str, obsnums: Iterable[int], bank: int) -> dict[str, Any]:
        """Resolved parameters of a combination's own step in ``attempt``."""
        nums = sorted(int(n) for n in obsnums)
        headers = [self.infos[n].header for n in nums]
        step = COMBO_STEP[self.combo_kind(nums)]
        return combination_params(self.config_of(attempt), headers, int(bank), step)

    def member_owner(self, attempt: str, obsnums: Iterable[int], obsnum: int, bank: int) -> str:
        """``{attempt}`` value of the member file a combination reads for ``obsnum``."""
        return self.owner(attempt, obsnum, bank, COMBO_READS[self.combo_kind(obsnums)])

    def combo_owner(self, attempt: str, obsnums: Iterable[int], bank: int) -> str:
        """``{attempt}`` value of the directory holding a combination's products."""
        nums = sorted(int(n) for n in obsnums)
        own = suffix(name_of(attempt))
        if not own:
            return ""
        if any(self.member_owner(own, nums, n, bank) for n in nums):
            return own
        same = self.combo_params(own, nums, bank) == self.combo_params("", nums, bank)
        return "" if same else own

    def combo_banks(self, obsnums: Iterable[int]) -> list[int]:
        return sorted(set.intersection(*(set(self.infos[int(n)].banks) for n in obsnums)))

    def combo_level_owner(self, attempt: str, obsnums: Iterable[int]) -> str:
        """Where an attempt's page and archive of a combination live (as obs_owner)."""
        nums = sorted(int(n) for n in obsnums)
        return max((self.combo_owner(attempt, nums, b) for b in self.combo_banks(nums)), default="")

    def combo_changed(self, attempt: str, obsnums: Iterable[int], bank: int) -> dict:
        """``{step: {key: [base, attempt]}}`` of a combination: its members' and its own."""
        nums = sorted(int(n) for n in obsnums)
        step = COMBO_STEP[self.combo_kind(nums)]
        out: dict[str, dict[str, list[Any]]] = {}
        for n in nums:
            for s, diff in self.changed(attempt, n, bank).items():
                if s != step:
                    out.setdefault(s, {}).update({k: v for k, v in diff.items()
                                                  if k not in ("obsnum", "bank")})  # fmt: skip
        base, other = self.combo_params("", nums, bank), self.combo_params(attempt, nums, bank)
        diff = differences(base, other)
        if diff:
            out[step] = diff
        return out
