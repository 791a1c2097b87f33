"""The new-attempt form: its fields from the config schema's ``attempt`` part, the project's
base configuration, and the check of a submitted overlay against the attempt schema only.

A browser user sets step values of one attempt, nothing else: ``data_lmt``, ``work_lmt``,
``obsnums``, ``sources`` and every key outside ``definitions/attempt`` are refused (the server
sets the trees and ObsNums). ``flags`` is refused too: it names a file on the server, and a
path typed in a browser must not make the server read arbitrary files. Errors name the key
and its nearest valid spelling, as :mod:`lmtflow.config` explains a config file.
"""

from __future__ import annotations

import copy
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from ..attempts import BASE
from ..config import _explain, _normalise, load_schema, resolve_ref
from ..errors import ConfigError
from ..recorded import Record, label_obsnums, newest, saved_config_attempts

MAX_BODY = 64 * 1024
PROJECT_FILE = "project.yaml"
"""``<work_lmt>/<ProjectId>/project.yaml``: the project's own config (defaults, overrides,
sources); optional. Without it a project is its ObsNum directories with the schema defaults."""
STEPS = ("calibrate", "baseline", "spectrum", "grid", "rsr")
WEB_REFUSED = {"flags": "flag files are chosen on the server, not from the browser"}


MAX_DEPTH = 8
"""Nodes nested in the browser's YAML (an attempt needs 5: step, key, list of windows, window,
number)."""


class _BrowserYamlLoader(yaml.SafeLoader):
    """PyYAML's safe loader for text typed in a browser, without two of its costs: aliases
    (``*a``) share a node, so a few hundred bytes of nested aliases make a document whose
    validation, error messages and JSON are gigabytes; and deep nesting (``[[[[...``) recurses
    past Python's limit. Both are refused as YAML errors; an overlay never needs them."""

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            raise yaml.composer.ComposerError(None, None, "aliases (*name) are not allowed here",
                                              self.peek_event().start_mark)  # fmt: skip
        self._depth = getattr(self, "_depth", 0) + 1
        try:
            if self._depth > MAX_DEPTH:
                raise yaml.composer.ComposerError(None, None, f"nested deeper than {MAX_DEPTH}"
                                                  " levels", self.peek_event().start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def load_browser_yaml(text: str) -> Any:
    """YAML typed in the browser (safe tags only, no aliases, at most :data:`MAX_DEPTH` deep);
    raises yaml.YAMLError."""
    return yaml.load(text, Loader=_BrowserYamlLoader)  # noqa: S506 (a SafeLoader subclass)


@dataclass(frozen=True)
class Field:
    """One input of the form: ``step.key`` with its current value, default and help."""

    step: str
    key: str
    current: str  # as YAML text
    default: str
    help: str

    @property
    def name(self) -> str:
        return f"{self.step}.{self.key}"


def yaml_text(value: Any) -> str:
    """A value as one line of YAML (what a form field shows and reads back)."""
    return yaml.safe_dump(value, default_flow_style=True, width=10_000).strip().removesuffix(
        "\n..."
    ).removesuffix("...").strip()


def project_config(work_lmt: Path, pid: str) -> dict[str, Any]:
    """The project's base config without the trees (the server sets those): its
    ``project.yaml`` if present, else its ObsNum directories."""
    root = work_lmt / pid
    path = root / PROJECT_FILE
    if path.is_file():
        raw = yaml.safe_load(path.read_text()) or {}
        if not isinstance(raw, dict):
            raise ConfigError(f"{path}: not a mapping")
        raw = {k: v for k, v in raw.items() if k not in ("data_lmt", "work_lmt")}
    else:
        with os.scandir(root) as entries:  # reduced ObsNums (a Cal's directory has no QA)
            nums = sorted(int(e.name) for e in entries if e.name.isdigit() and e.is_dir()
                          and any(Path(e.path, "qa").glob("*.qa.json")))  # fmt: skip
        raw = {"obsnums": nums}
    return raw


def form_fields(base: dict[str, Any], previous: dict[str, Any] | None = None) -> list[Field]:
    """The form's inputs: every step parameter of the attempt schema, its value in the base
    config (the project's defaults over the schema's; ``previous`` overlay on top)."""
    schema = load_schema()
    attempt = schema["definitions"]["attempt"]["properties"]
    defaults = base.get("defaults") or {}
    out = []
    for step in STEPS:
        node = resolve_ref(schema, attempt[step])
        for key, sub in node.get("properties", {}).items():
            sub_r = resolve_ref(schema, sub)
            default = sub.get("default", sub_r.get("default"))
            value = (defaults.get(step) or {}).get(key, default)
            value = ((previous or {}).get(step) or {}).get(key, value)
            help_text = " ".join(str(sub.get("description", sub_r.get("description", ""))).split())
            out.append(Field(step, key, yaml_text(value), yaml_text(default), help_text))
    return out


def overlay_from_form(form: dict[str, str], base: dict[str, Any]) -> tuple[dict, list[str]]:
    """The overlay of the submitted fields that differ from the base values, and the errors
    of fields whose text is not YAML."""
    overlay: dict[str, dict[str, Any]] = {}
    errors = []
    current = {f.name: f.current for f in form_fields(base)}
    for name, text in form.items():
        if name not in current or text.strip() == current[name]:
            continue
        step, key = name.split(".", 1)
        try:
            value = load_browser_yaml(text) if text.strip() else None
        except yaml.YAMLError:
            errors.append(f"{name}: {text!r} is not a YAML value")
            continue
        if yaml_text(value) != current[name]:
            overlay.setdefault(step, {})[key] = value
    return overlay, errors


def parse_yaml_box(text: str) -> dict[str, Any]:
    """The YAML box: a mapping of steps (empty text: nothing)."""
    if not text.strip():
        return {}
    try:
        value = load_browser_yaml(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"the YAML box is not valid YAML: {exc}") from exc
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError("the YAML box must hold a mapping such as 'grid: {resolution: 16}'")
    return value


def merge(a: dict, b: dict) -> dict:
    """``b`` laid over ``a`` (mappings merged, anything else replaced)."""
    out = copy.deepcopy(a)
    for k, v in b.items():
        out[k] = merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def check_overlay(name: str, overlay: Any) -> dict[str, Any]:
    """Validate an attempt ``name`` and its overlay against the attempt schema only; return
    the overlay normalised; raise ConfigError naming every bad key (and its nearest spelling)."""
    if not isinstance(overlay, dict):
        raise ConfigError("the attempt must be a mapping of steps, e.g. {grid: {resolution: 16}}")
    refused = [f"key {k!r} is not allowed here: {why}" for k, why in WEB_REFUSED.items()
               if k in overlay]  # fmt: skip
    if refused:
        raise ConfigError("\n".join(refused))
    schema = load_schema()
    # validated where the config file holds attempts: the name by the attempts' propertyNames,
    # the overlay by definitions/attempt (additionalProperties: false refuses data_lmt & co.)
    wrapped = _normalise({"attempts": {name: overlay}})
    errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(wrapped),
                    key=lambda e: list(e.absolute_path))  # fmt: skip
    if errors:
        text = "\n".join(_explain(schema, e) for e in errors)
        text = text.replace(f"'attempts.{name}.", "'").replace(f"key attempts.{name}.", "key ")
        raise ConfigError(text.replace("config key attempts:", "attempt name:")
                          .replace("config attempt name:", "attempt name:"))
    return wrapped["attempts"][name]


def canonical(overlay: dict[str, Any]) -> str:
    """The overlay as canonical JSON (identical launches compare equal)."""
    return json.dumps(overlay, sort_keys=True, separators=(",", ":"))


def job_config(work_lmt: Path, data_lmt: Path | None, pid: str, scope: str, attempt: str,
               overlay: dict[str, Any], known: dict[str, Record] | None = None
               ) -> dict[str, Any]:  # fmt: skip
    """The whole config a job runs: the project's (one ObsNum if ``scope`` is one), the
    trees, this attempt and every attempt made before for the ObsNums it reduces, so that
    the regenerated attempts pages keep their columns: those of the project file, of the
    configs saved by command-line runs of these ObsNums and ``known`` (the earlier web jobs'
    (time, overlay)), each with the values of its newest record (:mod:`lmtflow.recorded`)."""
    root = work_lmt / pid
    raw = project_config(work_lmt, pid)
    if scope.isdigit():  # launched from an ObsNum page: that ObsNum only
        raw["obsnums"] = [int(scope)]
        raw.pop("sources", None)
        labels = [scope]
    else:
        with os.scandir(root) as entries:
            labels = [e.name for e in entries if e.is_dir() and not e.name.startswith(".")]
    path = root / PROJECT_FILE
    from_file = {name: (path.stat().st_mtime, value)
                 for name, value in (raw.get("attempts") or {}).items()}  # fmt: skip
    records = newest(saved_config_attempts(work_lmt, label_obsnums(labels)), from_file,
                     known or {})  # fmt: skip
    raw["attempts"] = {name: value for name, (_, value) in sorted(records.items())}
    raw["data_lmt"] = str(data_lmt or "")
    raw["work_lmt"] = str(work_lmt)
    if attempt != BASE:
        raw["attempts"][attempt] = overlay
    return raw
