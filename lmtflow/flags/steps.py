"""Which step applies a flag rule, and the rules of one step, ObsNum and bank.

Each class of flag is applied at the first step that must see it, no earlier:

=================  =====================================================================
step               rules (by their keys)
=================  =====================================================================
``calibrate``      ``time``, ``time_s`` or ``dump``: bad dumps, REF dumps included
``baseline``       ``chan``, ``sky_ghz`` or ``vlsr_kms`` (no time key): channels
``select``         only ``beam``, ``pol``, ``where``, ``bank``, ``obsnum``: whole spectra,
                   applied where a map is gridded (``grid``) or a spectrum averaged
                   (``spectrum``)
``rsr_badlags``    RSR ``lag`` (applied to the ACFs when the RSR data are read)
``rsr_baseline``   RSR ``chassis``, ``board``, ``freq_ghz`` (no ``lag``)
=================  =====================================================================

The rules of one step, ObsNum and bank, in file order and canonical form, are what that
step's parameter file holds under ``flags`` (lmtflow.params.step_params): editing a rule
re-runs exactly the steps whose subset changed, for the ObsNums it selects; comments,
reordering unrelated rules or rules of other ObsNums change no file and re-run nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .rules import FlagFile, load_flag_file, public

TIME_KEYS = ("time", "time_s", "dump")
CHANNEL_KEYS = ("chan", "sky_ghz", "vlsr_kms")
RSR_KEYS = ("chassis", "board", "lag", "freq_ghz")
SEQUOIA_KEYS = ("beam", "pol", *TIME_KEYS, *CHANNEL_KEYS)
DETECTOR_STEP = {  # spikes are found in the raw counts (REF dumps too): applied at calibrate;
    # the others need baselined spectra: their flags apply where the products are made
    "spikes": "calibrate",
    "bad_time": "select",
    "birdies": "select",
    "bad_beams": "select",
    "rsr_badlags": "rsr_badlags",
    "rsr_badcb": "rsr_badlags",  # found with the bad lags, decided there (lmtflow.flags.rsr);
    # the boards are blanked at the RSR baseline from the badlags file's #BADCB lines
}
"""The step whose flags each automatic detector makes."""
SELECT_STEP = {"map": "grid", "spectrum": "spectrum"}


def rule_step(rule: Mapping[str, Any], kind: str) -> str | None:
    """The step class of a rule for an ObsNum of ``kind`` (map, spectrum, rsr); None if the
    rule cannot apply to that kind (RSR keys on SEQUOIA data and the other way round)."""
    keys = set(rule)
    if kind == "rsr":  # where (Tsys, elevation) selects SEQUOIA/1MM spectra only
        if keys & {*SEQUOIA_KEYS, "where"}:
            return None
        if "lag" in keys:
            return "rsr_badlags"
        if "id" in keys and rule["action"] == "unflag" and not keys & set(RSR_KEYS):
            return detector_step(rule["id"]) or "rsr_baseline"
        return "rsr_baseline"
    if keys & set(RSR_KEYS):
        return None
    if keys & set(TIME_KEYS):
        return "calibrate"
    if keys & set(CHANNEL_KEYS):
        return "baseline"
    if "id" in keys and rule["action"] == "unflag" and not keys & {"beam", "pol", "where"}:
        return detector_step(rule["id"]) or "select"
    return "select"


def detector_step(rule_id: str) -> str | None:
    """Step of an auto flag id ``auto/<obsnum>/<bank>/<detector>/...`` (None: unknown)."""
    parts = rule_id.split("/")
    return DETECTOR_STEP.get(parts[3]) if len(parts) > 3 and parts[0] == "auto" else None


def _inside(intervals: list[list[int]] | None, value: int) -> bool:
    return intervals is None or any(lo <= value <= hi for lo, hi in intervals)


def applies_to(rule: Mapping[str, Any], obsnum: int, bank: int) -> bool:
    """Whether a rule's ``obsnum`` and ``bank`` keys select this ObsNum and bank; a veto by id
    (``auto/<ObsNum>/<bank>/...``) selects only the ObsNum and bank its id names (unless
    they are glob patterns), so vetoing one flag re-runs nothing of the other ObsNums."""
    if "id" in rule and rule["action"] == "unflag":
        parts = str(rule["id"]).split("/")
        if len(parts) > 2 and parts[0] == "auto":
            if parts[1].isdigit() and int(parts[1]) != obsnum:
                return False
            if parts[2].isdigit() and int(parts[2]) != bank:
                return False
    return _inside(rule.get("obsnum"), obsnum) and _inside(rule.get("bank"), bank)


def _in_step(rule: Mapping[str, Any], kind: str, cls: str) -> bool:
    """A rule belongs to its step class; an unflag rule that may veto automatic flags also
    goes where those are applied (``select``)."""
    step = rule_step(rule, kind)
    if step == cls:
        return True
    vetoes_auto = rule["action"] == "unflag" and rule["origin"] in ("auto", "any")
    return cls == "select" and step is not None and kind != "rsr" and vetoes_auto


def flag_file_of(config: Mapping[str, Any]) -> FlagFile | None:
    """The loaded flag file a (resolved or attempt) config names, or None."""
    path = config.get("flags")
    return load_flag_file(path) if path else None


def step_flags(
    config: Mapping[str, Any], obsnum: int, bank: int, kind: str, step: str
) -> dict[str, Any] | None:
    """The flag part of a step's parameter file: the rules of this ObsNum, bank and step and
    the policies of the detectors whose flags the step applies; None when there are none
    (so a config without flags writes the same parameter files as before)."""
    flags = flag_file_of(config)
    if flags is None:
        return None
    cls = "select" if step == SELECT_STEP.get(kind) else step
    rules = [public(r) for r in flags.rules
             if applies_to(r, obsnum, bank) and _in_step(r, kind, cls)]  # fmt: skip
    auto = {k: v for k, v in flags.auto.items() if DETECTOR_STEP[k] == cls}
    # fill: how the products fill flagged channels (every earlier step's too): at the select
    # step, which makes them; the baselined SDFITS keep DATA and mark FLAGS either way
    fill = flags.fill if cls == "select" and flags.fill != "blank" else None
    if not rules and not auto and fill is None:
        return None
    out: dict[str, Any] = {"rules": rules}
    if auto:
        out["auto"] = auto
    if fill is not None:
        out["fill"] = fill
    return out


def unmatched_rules(config: Mapping[str, Any], runs: list[tuple[int, list[int], str]]) -> list[str]:
    """Rules of the config's flag file that select no ObsNum and bank of the run (``runs``:
    ``(obsnum, banks, kind)``), each named by :func:`lmtflow.flags.rules.label`."""
    from .rules import label

    flags = flag_file_of(config)
    if flags is None:
        return []
    out = []
    for r in flags.rules:
        hit = any(applies_to(r, n, b) and rule_step(r, kind) is not None
                  for n, banks, kind in runs for b in banks)  # fmt: skip
        if not hit:
            out.append(f"{label(r)} selects no ObsNum and bank of this run")
    return out


def with_rules(params: dict[str, Any], rules: list[dict[str, Any]], info: Any, bank: int,
               step: str) -> dict[str, Any]:  # fmt: skip
    """Step parameters with interactive rules (lmtflow.interactive ``flag()``) of this step
    added after the flag file's."""
    kind = "rsr" if info.is_rsr else "map" if info.is_map else "spectrum"
    cls = "select" if step == SELECT_STEP.get(kind) else step
    mine = [r for r in rules if applies_to(r, info.obsnum, bank) and rule_step(r, kind) == cls]
    if not mine:
        return params
    flags = dict(params.get("flags") or {})
    flags["rules"] = [*flags.get("rules", []), *mine]
    return {**params, "flags": flags}
