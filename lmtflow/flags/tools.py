"""``lmtflow flags show|explain OBSNUM`` and the GBTIDL ``.flag`` import.

``show`` prints the rules each step of an ObsNum applies (as its parameter file holds them);
``explain`` resolves them against the ObsNum's SDFITS files in the work tree and prints what
each rule masks: spectra and channels, per beam, the dumps and channels it touches.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .. import layout
from ..attempts import kind_of
from ..errors import ConfigError
from ..params import step_params
from .resolve import param_rules, resolve, step_rules
from .rules import FlagFileError, label, normalise_rule

STEP_INPUT = {"calibrate": layout.RAW_SDFITS, "baseline": layout.CAL_SDFITS,
              "grid": layout.BASE_SDFITS, "spectrum": layout.BASE_SDFITS}  # fmt: skip
"""The file each step resolves its flags against (the step's input)."""


def _ranges(values: np.ndarray) -> str:
    """``[3, 4, 5, 9]`` -> ``"3-5,9"``."""
    v = np.unique(values)
    if v.size == 0:
        return "-"
    breaks = np.flatnonzero(np.diff(v) > 1)
    starts, ends = np.r_[v[0], v[breaks + 1]], np.r_[v[breaks], v[-1]]
    return ",".join(f"{a}" if a == b else f"{a}-{b}" for a, b in zip(starts, ends, strict=True))


def steps_of(info: Any) -> list[str]:
    return [s for s in layout.STEP_CHAINS[kind_of(info)]]


def _rsr_file_rules(config: Mapping[str, Any], info: Any, step: str) -> list[dict[str, Any]]:
    """The RSR files of the ObsNum (once written) as rules of origin ``param``: the badlags
    file (what the badlags step applies) and the blanking file (the RSR baseline's)."""
    from .rsr import badlags_file_rules, blanking_file_rules

    files = {"rsr_badlags": (layout.RSR_BADLAGS, badlags_file_rules),
             "rsr_baseline": (layout.RSR_BLANKING, blanking_file_rules)}  # fmt: skip
    if step not in files:
        return []
    pattern, rules = files[step]
    path = layout.path(config["work_lmt"], pattern, pid=info.pid, obsnum=info.obsnum)
    return rules(path, info.obsnum) if path.is_file() else []


def show(config: Mapping[str, Any], info: Any, bank: int) -> str:
    """The rules each step of an ObsNum and bank applies, per step (canonical JSON lines)."""
    lines = [f"ObsNum {info.obsnum} bank {bank} ({kind_of(info)}); flag file: "
             f"{config.get('flags') or 'none'}"]  # fmt: skip
    for step in steps_of(info):
        p = step_params(config, info.header, bank, step)
        rules = step_rules(p) + param_rules(p, step, range(16)) + _rsr_file_rules(
            config, info, step)  # fmt: skip
        auto = (p.get("flags") or {}).get("auto", {})
        policies = f"; auto {json.dumps(auto)}" if auto else ""
        lines.append(f"  {step}: {len(rules)} rule(s){policies}")
        lines += [f"    {json.dumps(r, sort_keys=True)}" for r in rules]
    return "\n".join(lines)


def explain(config: Mapping[str, Any], info: Any, bank: int) -> str:
    """What each rule masks in the ObsNum's SDFITS files (counts per beam, dumps, channels)."""
    from ..io.sdfits_reader import SDFITSReader
    from .resolve import RowMeta

    lines = [f"ObsNum {info.obsnum} bank {bank}"]
    for step in steps_of(info):
        if step not in STEP_INPUT:
            continue
        p = step_params(config, info.header, bank, step)
        rules = step_rules(p)
        if not rules:
            continue
        path = layout.path(config["work_lmt"], STEP_INPUT[step], pid=info.pid,
                           obsnum=info.obsnum, bank=bank, attempt="")  # fmt: skip
        if not Path(path).exists():
            lines.append(f"  {step}: {len(rules)} rule(s); {path} is not made yet")
            continue
        with SDFITSReader(path) as r:
            mask = resolve(rules, RowMeta.from_sdfits(r), warn=False)
        meta = mask.meta
        lines.append(f"  {step} (against {Path(path).name}): "
                     f"{100 * mask.counts()['fraction']:.3f}% of the data flagged")  # fmt: skip
        for term in mask.terms:
            sel = term.block(0, mask.shape[0])
            spectra = sel.any(axis=-1)
            t, b = np.nonzero(spectra.any(axis=(2, 3)))
            chans = meta.chan[sel.any(axis=(0, 1, 2, 3))]
            per_beam = {int(meta.beam[i]): int(n) for i, n in
                        enumerate(spectra.sum(axis=(0, 2, 3))) if n}  # fmt: skip
            lines.append(f"    {label(term.rule)} [{term.rule['origin']}]: {int(sel.sum())} "
                         f"values, {int(spectra.sum())} spectra; per beam {per_beam}; dumps "
                         f"{_ranges(meta.dump[t])}; channels {_ranges(chans)}")  # fmt: skip
        for v in mask.vetoed:
            lines.append(f"    vetoed: {v.get('id')} ({v['reason']})")
        for u in mask.unmatched:
            lines.append(f"    warning: {u} matches nothing")
    return "\n".join(lines)


_GBTIDL_FIELDS = ("RECNUM", "SCAN", "INTNUM", "PLNUM", "IFNUM", "FDNUM", "BCHAN", "ECHAN",
                  "IDSTRING")  # fmt: skip
_GBTIDL_KEYS = {"SCAN": "obsnum", "INTNUM": "dump", "PLNUM": "pol", "IFNUM": "bank",
                "FDNUM": "beam"}  # fmt: skip


def _gbtidl_values(text: str) -> list | None:
    """GBTIDL selection ``*`` (all), ``a,b`` lists and ``a:b`` inclusive ranges."""
    text = text.strip()
    if text in ("*", ""):
        return None
    out: list = []
    for part in text.split(","):
        if ":" in part:
            lo, hi = part.split(":")
            out.append([int(lo), int(hi)])
        else:
            out.append(int(part))
    return out


def import_gbtidl(path: str | Path) -> list[dict[str, Any]]:
    """Rules (canonical, origin user) of a GBTIDL ``.flag`` file: SCAN -> obsnum, INTNUM ->
    dump, PLNUM -> pol, IFNUM -> bank, FDNUM -> beam, BCHAN/ECHAN -> chan (``*`` = open end),
    IDSTRING -> reason. RECNUM selections are refused (row numbers of a GBT file)."""
    p = Path(path)
    rules, header, section = [], list(_GBTIDL_FIELDS), ""
    for n, line in enumerate(p.read_text().splitlines(), 1):
        text = line.strip()
        if not text:
            continue
        if text.startswith("["):
            section = text.strip("[]").lower()
            continue
        if section != "flags":
            continue
        if text.startswith("#"):
            header = [h.strip().upper() for h in text.lstrip("#").split(",")]
            header = ["RECNUM" if h == "ID" else h for h in header]
            continue
        fields = dict(zip(header, text.split("|"), strict=False))
        where = f"{p}:{n}"
        if _gbtidl_values(fields.get("RECNUM", "*")) is not None:
            raise FlagFileError(f"{where}: RECNUM selections name rows of a GBT file; use SCAN, "
                                "INTNUM, PLNUM, IFNUM, FDNUM")  # fmt: skip
        raw: dict[str, Any] = {"reason": re.sub(r"[^A-Za-z0-9_.-]", "_",
                                                fields.get("IDSTRING", "").strip()) or "gbtidl"}
        for gbt, key in _GBTIDL_KEYS.items():
            value = _gbtidl_values(fields.get(gbt, "*"))
            if value is not None:
                raw[key] = value
        b, e = (fields.get(k, "*").strip() for k in ("BCHAN", "ECHAN"))
        if b != "*" or e != "*":
            raw["chan"] = [[int(b) if b != "*" else 0, int(e) if e != "*" else 1 << 20]]
        try:
            rule = normalise_rule(raw)
        except ValueError as exc:
            raise FlagFileError(f"{where}: {exc}") from None
        rules.append(rule)
    if not rules:
        raise ConfigError(f"{p}: no [flags] lines found (not a GBTIDL .flag file?)")
    return rules


def rules_yaml(rules: list[dict[str, Any]]) -> str:
    """A flag file holding ``rules`` (defaults left out: action flag, origin user)."""
    import yaml

    default = (("action", "flag"), ("origin", "user"))
    slim = [{k: v for k, v in r.items() if not k.startswith("_") and (k, v) not in default}
            for r in rules]  # fmt: skip
    return yaml.safe_dump({"version": 1, "rules": slim}, sort_keys=False, default_flow_style=None)


def _command(args: Any) -> int:
    if args.flags_command == "import":
        print(rules_yaml(import_gbtidl(args.file)), end="")
        return 0
    from ..config import SCHEMA_PATH, load_config
    from ..scan import scan_obsnum

    updates = {k: v for k, v in (("flags", args.flags), ("data_lmt", args.data_lmt),
                                 ("work_lmt", args.work_lmt)) if v}  # fmt: skip
    path = Path(args.config or SCHEMA_PATH.parent / "config.yaml")  # the shipped defaults
    if not path.is_file():
        raise ConfigError(f"config {path}: no such file")
    config = load_config(path, **updates)
    info = scan_obsnum(config["data_lmt"], args.obsnum)
    banks = info.banks if args.bank is None else [args.bank]
    do = show if args.flags_command == "show" else explain
    print("\n".join(do(config, info, b) for b in banks))
    return 0


def add_parser(sub: Any) -> None:
    """Register ``lmtflow flags show|explain OBSNUM`` and ``lmtflow flags import FILE``."""
    p = sub.add_parser("flags", help="show, explain or import flag rules",
                       description="Flag rules of an ObsNum: which each step applies (show), "
                       "what each one masks in the work tree (explain); import a GBTIDL .flag "
                       "file as flag-file YAML (import).")  # fmt: skip
    fsub = p.add_subparsers(dest="flags_command", metavar="ACTION")
    fsub.required = True
    for name in ("show", "explain"):
        q = fsub.add_parser(name, help=f"{name} the flag rules of an ObsNum")
        q.add_argument("obsnum", type=int)
        q.add_argument("--config", help="workflow config (default: the shipped defaults)")
        q.add_argument("--flags", help="flag file (default: the config's flags:)")
        q.add_argument("--bank", type=int, help="one bank (default all)")
        q.add_argument("--data-lmt", help="raw data tree (default: the config's)")
        q.add_argument("--work-lmt", help="work tree (default: the config's)")
    q = fsub.add_parser("import", help="print a GBTIDL .flag file as flag-file YAML")
    q.add_argument("file")
    p.set_defaults(func=_command)
