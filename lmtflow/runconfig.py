"""The configuration of one ``lmtflow run``: config files, ObsNums and ``--set`` values merged,
validated and scanned before anything runs; and what a run that names no ObsNum says.

The merged file is what Snakemake gets (``--configfile``), so ``lmtflow run`` and
``snakemake --configfile`` reduce the same thing with the same validation
(:func:`lmtflow.config.validate_config`) and header scan (:func:`lmtflow.targets.scan_config`).
"""

from __future__ import annotations

import copy
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .config import load_schema, validate_config
from .errors import ConfigError


def deep_merge(base: dict, update: dict) -> dict:
    """``update`` over ``base``: mappings merge key by key, anything else is replaced
    (as Snakemake merges ``--configfile`` files)."""
    out = copy.deepcopy(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def split_arguments(words: Sequence[str]) -> tuple[list[Path], list[int]]:
    """``lmtflow run`` positionals: ObsNums (digits) and config files (anything else)."""
    configs, obsnums = [], []
    for word in words:
        if word.isdigit():
            obsnums.append(int(word))
        elif Path(word).is_file():
            configs.append(Path(word))
        else:
            raise ConfigError(f"{word!r} is neither an ObsNum nor a config file")
    return configs, obsnums


def read_config_file(path: Path) -> dict:
    try:
        doc = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read the config ({exc})") from exc
    if not isinstance(doc, dict):
        raise ConfigError(f"{path}: a config is a YAML mapping, not {type(doc).__name__}")
    return doc


def set_value(config: dict, assignment: str, attempt: str | None = None) -> None:
    """Apply one ``--set KEY=VALUE``; VALUE is YAML (``14``, ``[1024]``, ``"-3"``).

    KEY is a dotted path: ``grid.resolution`` (a step: under ``defaults``, or under
    ``attempts.<attempt>`` with ``--attempt``), ``79448.grid.pix_list`` (under ``overrides``,
    or the attempt's overrides), or any top-level key (``ingest.missing_roach``,
    ``work_lmt``). Unknown keys are left to the schema, which names them.
    """
    key, sep, text = assignment.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"--set {assignment!r}: expected KEY=VALUE, e.g. grid.resolution=14")
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"--set {assignment!r}: the value is not YAML ({exc})") from exc
    parts = key.strip().split(".")
    steps = load_schema()["definitions"]["steps"]["properties"]
    if parts[0].isdigit():
        parts = ["overrides", *parts]
    if attempt and (parts[0] in steps or parts[0] == "overrides"):
        parts = ["attempts", attempt, *parts]  # the attempt's overlay
    elif parts[0] in steps:
        parts = ["defaults", *parts]
    elif attempt and parts[0] not in ("data_lmt", "work_lmt"):
        raise ConfigError(f"--set {key}: with --attempt only step values (grid.resolution) "
                          "and overrides (79448.grid.pix_list) can be set")  # fmt: skip
    node = config
    for part in parts[:-1]:
        if not isinstance(node.setdefault(part, {}), dict):
            raise ConfigError(f"--set {key}: {part} is not a mapping in the config")
        node = node[part]
    node[parts[-1]] = value


@dataclass
class RunConfig:
    """A merged, validated run configuration and the ObsNums it reduces."""

    raw: dict[str, Any]
    """What the user wrote (files, ObsNums, --set), data_lmt and work_lmt made absolute."""
    config: dict[str, Any]
    """Validated, with defaults filled in."""

    @property
    def work_lmt(self) -> Path:
        return Path(self.config["work_lmt"])

    @property
    def data_lmt(self) -> Path:
        return Path(self.config["data_lmt"])

    def obsnums(self) -> list[int]:
        from .combination import configured_obsnums

        return configured_obsnums(self.config)

    def write(self, path: Path) -> Path:
        """Write the merged config (what Snakemake reads with ``--configfile``)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(yaml.safe_dump(self.raw, sort_keys=False))
        tmp.replace(path)
        return path


def build_run_config(
    configs: Sequence[Path] = (),
    obsnums: Sequence[int] = (),
    sets: Sequence[str] = (),
    attempt: str | None = None,
    data_lmt: str | None = None,
    work_lmt: str | None = None,
) -> RunConfig:
    """Merge config files (later ones win), add ObsNums and ``--set`` values, validate."""
    raw: dict[str, Any] = {}
    for path in configs:
        raw = deep_merge(raw, read_config_file(path))
    if obsnums:
        raw["obsnums"] = sorted({*map(int, raw.get("obsnums") or []), *obsnums})
    for assignment in sets:
        set_value(raw, assignment, attempt)
    if data_lmt:
        raw["data_lmt"] = data_lmt
    if work_lmt:
        raw["work_lmt"] = work_lmt
    config = validate_config(raw)
    raw["data_lmt"] = str(Path(config["data_lmt"]).resolve())
    raw["work_lmt"] = str(Path(config["work_lmt"]).resolve())
    config.update(data_lmt=raw["data_lmt"], work_lmt=raw["work_lmt"])
    if attempt and attempt not in config["attempts"]:
        known = ", ".join(sorted(config["attempts"])) or "none"
        raise ConfigError(f"no attempt named {attempt!r} in the config (attempts: {known}); "
                          "define it with --set, e.g. --attempt {attempt} --set "
                          "grid.resolution=14")  # fmt: skip
    return RunConfig(raw, config)


def nothing_to_do(config: dict[str, Any], limit: int = 12) -> str:
    """What a run whose config names no ObsNum says: nothing to reduce, how to name ObsNums,
    and what the raw tree holds (its science ObsNums from the headers, the last ``limit``)."""
    from .inventory import SCIENCE_MODES, read_inventory, table_lines

    data_lmt = Path(config.get("data_lmt") or os.environ.get("DATA_LMT") or "data_lmt")
    lines = [
        "lmtflow: the config names no ObsNum: nothing to reduce.",
        "Name ObsNums in one of these ways:",
        "  lmtflow run 79448 79449                      (ObsNums on the command line)",
        "  lmtflow run project.yaml                     (obsnums: or sources: in a config file;",
        "                                                lmtflow project init PID writes one)",
        "  snakemake --cores 8 --config obsnums=[79448]",
    ]
    if not data_lmt.is_dir():
        lines.append(f"$DATA_LMT ({data_lmt}) is not a directory: set data_lmt in the config "
                     "or export DATA_LMT=/path/to/data_lmt.")  # fmt: skip
        return "\n".join(lines)
    inv = read_inventory(data_lmt)
    science = [e for e in inv.entries if e.mode in SCIENCE_MODES]
    lines.append(f"$DATA_LMT ({data_lmt}) holds {len(inv.entries)} ObsNums, {len(science)} of "
                 f"them science (Map, Ps, Bs){'; the last:' if science else '.'}")  # fmt: skip
    if science:
        lines += ["  " + line for line in table_lines(science[-limit:])]
    if inv.unreadable:
        lines.append(f"{len(inv.unreadable)} raw file(s) cannot be read: lmtflow info lists them.")
    lines.append(f"lmtflow info {data_lmt} lists every ObsNum (filters: --source, --project, "
                 "--mode, --since).")  # fmt: skip
    return "\n".join(lines)
