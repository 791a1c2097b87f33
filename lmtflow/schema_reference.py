"""The parameter reference, generated from ``config/schema.yaml``.

The schema's ``description`` of each key is the single source of what a parameter means; the
custom keyword ``x-lmtoy`` names the LMTOY parameter it corresponds to. :func:`parameter_rows`
walks the schema into one row per key, :func:`missing_descriptions` lists the keys a writer
forgot to describe (a test holds that list empty), and :func:`render_markdown` writes the rows
as the documentation's tables.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from .config import load_schema, resolve_ref

#: Where the step parameters (``#/definitions/steps``) may be written in a config.
STEP_PLACES = (
    "defaults",
    "overrides.<ObsNum>",
    "attempts.<name>",
    "attempts.<name>.overrides.<ObsNum>",
)

_BOUNDS = (
    ("minimum", ">= {}"),
    ("exclusiveMinimum", "> {}"),
    ("maximum", "<= {}"),
    ("exclusiveMaximum", "< {}"),
    ("minItems", "at least {} items"),
    ("maxItems", "at most {} items"),
)


@dataclass(frozen=True)
class ParameterRow:
    """One documented key: its dotted path and what the schema says of it."""

    key: str
    type: str
    default: str
    allowed: str
    description: str
    lmtoy: str


def _type_of(schema: dict, node: dict) -> str:
    node = resolve_ref(schema, node)
    if "oneOf" in node:
        kinds = [k for alt in node["oneOf"] for k in _type_of(schema, alt).split(" or ")]
        return " or ".join(dict.fromkeys(kinds))
    if "enum" in node and "type" not in node:
        return "one of " + ", ".join(json.dumps(v) for v in node["enum"])
    kind = node.get("type", "any")
    kinds = kind if isinstance(kind, list) else [kind]
    if "array" in kinds and "items" in node:
        inner = _type_of(schema, node["items"])
        kinds = [f"list of {inner}" if k == "array" else k for k in kinds]
    return " or ".join(kinds)


def _allowed(schema: dict, node: dict) -> str:
    node = resolve_ref(schema, node)
    parts = []
    if "enum" in node:
        parts.append("one of " + ", ".join(json.dumps(v) for v in node["enum"]))
    parts += [fmt.format(node[key]) for key, fmt in _BOUNDS if key in node]
    if "pattern" in node:
        parts.append(f"matches `{node['pattern']}`")
    for alt in node.get("oneOf", []):
        sub = _allowed(schema, alt)
        if sub:
            parts.append(sub)
    items = node.get("items")
    if isinstance(items, dict):
        sub = _allowed(schema, items)
        if sub:
            parts.append(f"items {sub}")
    return "; ".join(parts)


def _description(schema: dict, node: dict) -> str:
    """The key's own description, else that of the definition it refers to."""
    if "description" in node:
        return " ".join(str(node["description"]).split())
    target = resolve_ref(schema, node)
    return " ".join(str(target.get("description", "")).split())


def _default(node: dict) -> str:
    return json.dumps(node["default"]) if "default" in node else ""


def _documented_at(ref: str | None, seen: dict[str, str]) -> str | None:
    """Where the definition ``ref`` (or one that contains it) is documented already."""
    if not ref:
        return None
    for done, path in seen.items():
        if ref == done:
            return path
        if ref.startswith(done + "/properties/"):
            return path + "." + ref[len(done) + len("/properties/") :].replace("/properties/", ".")
    return None


def _walk(schema: dict, node: dict, prefix: str, rows: list[ParameterRow], seen: dict) -> None:
    target = resolve_ref(schema, node)
    props = target.get("properties")
    if not isinstance(props, dict):
        return
    if node.get("$ref"):
        seen[node["$ref"]] = prefix
    for key, sub in props.items():
        path = f"{prefix}.{key}" if prefix else key
        elsewhere = _documented_at(sub.get("$ref"), seen)
        description = _description(schema, sub)
        if elsewhere and isinstance(resolve_ref(schema, sub).get("properties"), dict):
            description = f"the keys of `{elsewhere}`"
        rows.append(
            ParameterRow(
                key=path,
                type=_type_of(schema, sub),
                default=_default(sub),
                allowed=_allowed(schema, sub),
                description=description,
                lmtoy=str(sub.get("x-lmtoy", resolve_ref(schema, sub).get("x-lmtoy", ""))),
            )
        )
        if elsewhere:
            continue
        _walk(schema, sub, path, rows, seen)
        resolved = resolve_ref(schema, sub)
        extra = resolved.get("additionalProperties")
        if isinstance(extra, dict) and not _documented_at(extra.get("$ref"), seen):
            _walk(schema, extra, f"{path}.<name>", rows, seen)
        items = resolved.get("items")
        if isinstance(items, dict):
            _walk(schema, items, f"{path}[]", rows, seen)


def parameter_rows(schema: dict | None = None) -> list[ParameterRow]:
    """One row per key of the configuration, in the schema's order.

    The step parameters are listed once under ``steps.<step>.<key>``: they may be written in
    any of :data:`STEP_PLACES`.
    """
    schema = load_schema() if schema is None else schema
    rows: list[ParameterRow] = []
    steps = schema.get("definitions", {}).get("steps")
    seen: dict[str, str] = {}
    if steps:
        _walk(schema, {"$ref": "#/definitions/steps"}, "steps", rows, seen)
    _walk(schema, schema, "", rows, seen)
    return rows


def missing_descriptions(schema: dict | None = None) -> list[str]:
    """The keys that have no description (neither their own nor their definition's)."""
    return [row.key for row in parameter_rows(schema) if not row.description]


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render_markdown(rows: list[ParameterRow] | None = None) -> str:
    """The rows as Markdown tables, one per top-level section."""
    rows = parameter_rows() if rows is None else rows
    sections: dict[str, list[ParameterRow]] = {}
    for row in rows:
        head = (
            ".".join(row.key.split(".")[:2])
            if row.key.startswith("steps.")
            else row.key.split(".")[0]
        )
        sections.setdefault(head, []).append(row)
    out = [
        "<!-- generated from config/schema.yaml by lmtflow.schema_reference: do not edit -->",
        "",
        "# Parameter reference",
        "",
        "Every key of the configuration, generated from `config/schema.yaml` (the single source).",
        "Step parameters (`steps.<step>.<key>` below) are written under "
        + ", ".join(f"`{p}`" for p in STEP_PLACES)
        + "; later places win over earlier ones.",
        "",
    ]
    for head, group in sections.items():
        out += [
            f"## `{head}`",
            "",
            "| key | type | default | allowed | meaning | LMTOY |",
            "|---|---|---|---|---|---|",
        ]
        for r in group:
            key = f"`{_cell(r.key[len(head) + 1 :])}`" if r.key != head else "*(the section)*"
            default = f"`{_cell(r.default)}`" if r.default else ""
            lmtoy = f"`{_cell(r.lmtoy)}`" if r.lmtoy else ""
            out.append(
                f"| {key} | {_cell(r.type)} | {default} | {_cell(r.allowed)} "
                f"| {_cell(r.description)} | {lmtoy} |"
            )
        out.append("")
    return "\n".join(out)
