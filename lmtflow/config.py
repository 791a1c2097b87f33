"""Load and validate the workflow configuration against ``config/schema.yaml``.

Validation happens before any job runs. An unknown key names itself, where it sits and the
nearest valid key; a bad value names the key, the value and the rule it breaks. Defaults from
the schema are filled in so that every consumer sees the same resolved configuration.
"""

from __future__ import annotations

import copy
import difflib
import os
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from .errors import ConfigError

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "config" / "schema.yaml"


@cache
def load_schema(path: str | Path = SCHEMA_PATH) -> dict:
    """The configuration schema as a dict."""
    with open(path) as f:
        return yaml.safe_load(f)


def resolve_ref(schema: dict, node: dict) -> dict:
    """Follow ``$ref`` JSON pointers within the schema (``#/definitions/a/properties/b``)."""
    while "$ref" in node:
        target = schema
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


_resolve = resolve_ref


def _subschema(schema: dict, path: list) -> dict:
    node = schema
    for part in path:
        node = _resolve(schema, node)
        props = node.get("properties", {})
        if part in props:
            node = props[part]
        elif isinstance(node.get("additionalProperties"), dict):
            node = node["additionalProperties"]
        else:
            return {}
    return _resolve(schema, node)


def _dotted(path) -> str:
    return ".".join(str(p) for p in path) or "<top level>"


def _explain(schema: dict, error: jsonschema.ValidationError) -> str:
    path = list(error.absolute_path)
    where = _dotted(path)
    if error.validator == "additionalProperties":
        allowed = sorted(_subschema(schema, path).get("properties", {}))
        unknown = sorted(set(error.instance) - set(allowed))
        parts = []
        for key in unknown:
            near = difflib.get_close_matches(str(key), allowed, n=1, cutoff=0.5)
            hint = f"; did you mean {near[0]!r}?" if near else f"; valid keys: {', '.join(allowed)}"
            full = f"{where}.{key}" if path else str(key)
            parts.append(f"unknown config key {full!r}{hint}")
        return "\n".join(parts)
    if "propertyNames" in error.schema_path:
        rule = _subschema(schema, path).get("propertyNames", {})
        forbidden = rule.get("not", {}).get("enum", [])
        allowed = f"names must match {rule.get('pattern', '?')}" + (
            f" and not be {', '.join(forbidden)}" if forbidden else ""
        )
        return f"config key {where}: name {error.instance!r} is not allowed ({allowed})"
    return f"config key {where}: value {error.instance!r} is invalid: {error.message}"


def _normalise(config: dict) -> dict:
    """Copy with ObsNum keys as strings and ObsNums as ints (``--config obsnums=[1,2]`` gives
    strings, YAML gives ints)."""
    out = copy.deepcopy(dict(config))
    if isinstance(out.get("obsnums"), list):
        out["obsnums"] = [
            int(n) if isinstance(n, str) and n.strip().isdigit() else n for n in out["obsnums"]
        ]
    if isinstance(out.get("overrides"), dict):
        out["overrides"] = {str(k): v for k, v in out["overrides"].items()}
    for attempt in (out.get("attempts") or {}).values():
        if isinstance(attempt, dict) and isinstance(attempt.get("overrides"), dict):
            attempt["overrides"] = {str(k): v for k, v in attempt["overrides"].items()}
    return out


def _fill_defaults(schema: dict, node: dict, value: Any) -> Any:
    node = _resolve(schema, node)
    if isinstance(value, dict) and "properties" in node:
        for key, sub in node["properties"].items():
            sub_r = _resolve(schema, sub)
            if key not in value:
                if "default" in sub:
                    value[key] = copy.deepcopy(sub["default"])
                elif sub_r.get("type") == "object" and "properties" in sub_r:
                    value[key] = {}
            if key in value:
                value[key] = _fill_defaults(schema, sub, value[key])
        extra = node.get("additionalProperties")
        if isinstance(extra, dict):
            for key in set(value) - set(node["properties"]):
                value[key] = _fill_defaults(schema, extra, value[key])
    return value


def validate_config(config: dict, schema_path: str | Path = SCHEMA_PATH) -> dict:
    """Validate ``config`` and return a copy with defaults filled in; raise ConfigError."""
    schema = load_schema(str(schema_path))
    cfg = _normalise(config)
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(cfg), key=lambda e: list(e.absolute_path))
    if errors:
        raise ConfigError("\n".join(_explain(schema, e) for e in errors))
    attempts = cfg.pop("attempts", None) or {}  # overlays: only the values the user set
    cfg = _fill_defaults(schema, schema, cfg)
    cfg["attempts"] = attempts
    cfg["data_lmt"] = cfg["data_lmt"] or os.environ.get("DATA_LMT", "") or "data_lmt"
    cfg["work_lmt"] = cfg["work_lmt"] or os.environ.get("WORK_LMT", "") or "work_lmt"
    return cfg


def load_config(path: str | Path, **updates: Any) -> dict:
    """Read a YAML config file, apply top-level ``updates`` and validate it."""
    with open(path) as f:
        cfg = yaml.safe_load(f) or {}
    cfg.update(updates)
    return validate_config(cfg)
