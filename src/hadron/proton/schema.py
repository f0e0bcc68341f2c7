"""``schema/schema.yaml``: Proton's OpenAPI-style input types, turned into JSON Schemas.

Layer 4 (pure). Spec: proton.md §5.3. The document is::

    schema:
      format: {openapi: "3.0.0"}
      environment_input_type: EnvInput      # environment templates
      service_input_type: SvcInput          # service templates
      pipeline_input_type: PipeInput        # service templates with a pipeline only
      types: {EnvInput: {type: object, properties: {...}, required: [...]}, ...}

Each named type (an OpenAPI 3.0 Schema Object subset) becomes a JSON Schema (draft 2020-12)
dict, checked against the metaschema with ``jsonschema``, in :class:`TemplateSchema`. The
conversion maps OpenAPI's boolean ``exclusiveMinimum``/``exclusiveMaximum`` and ``nullable`` to
their JSON Schema forms, and gives every object ``additionalProperties: false`` unless the schema
says otherwise, so a spec naming an unknown input is refused (the spec validator reports the
name). Defaults are checked against their property's schema. Keys starting with ``x-`` are
dropped; any other unknown keyword is an error naming its place.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final

import jsonschema

from hadron.proton.arns import TemplateKind
from hadron.proton.bundle import BundleError, load_yaml

__all__ = ["JSON_SCHEMA_DIALECT", "MAX_PARAMETER_NAME", "TemplateSchema", "parse_schema"]

JSON_SCHEMA_DIALECT: Final = "https://json-schema.org/draft/2020-12/schema"
MAX_PARAMETER_NAME: Final = 100
"""§9: parameter name length."""

_TYPES: Final = frozenset({"string", "number", "integer", "boolean", "array", "object"})
_COPIED: Final = frozenset(
    {
        "type", "description", "title", "default", "enum", "pattern", "format",
        "minimum", "maximum", "minLength", "maxLength", "minItems", "maxItems", "uniqueItems",
        "minProperties", "maxProperties", "multipleOf",
    }
)  # fmt: skip
_STRUCTURAL: Final = frozenset(
    {"properties", "required", "items", "additionalProperties", "nullable", "example",
     "exclusiveMinimum", "exclusiveMaximum"}
)  # fmt: skip
_ROOT_KEYS: Final = frozenset(
    {"format", "environment_input_type", "service_input_type", "pipeline_input_type", "types"}
)
_PATH = "schema/schema.yaml"


@dataclass(frozen=True, slots=True)
class TemplateSchema:
    """The JSON Schemas (draft 2020-12 dicts) of a template version's inputs; ``None`` where the
    template has no such input. Consumed by the spec validator (``hadron.proton.specs``)."""

    environment_input: dict[str, Any] | None = None
    service_input: dict[str, Any] | None = None
    pipeline_input: dict[str, Any] | None = None


def _convert(node: Any, where: str) -> dict[str, Any]:
    if not isinstance(node, dict):
        raise BundleError(_PATH, f"{where} must be a map (an OpenAPI schema object)")
    out: dict[str, Any] = {}
    for key, value in node.items():
        if not isinstance(key, str):
            raise BundleError(_PATH, f"{where}: keys must be strings")
        if key.startswith("x-"):
            continue
        if key not in _COPIED and key not in _STRUCTURAL:
            raise BundleError(_PATH, f"{where}: unknown keyword '{key}'")
        if key in _COPIED:
            out[key] = value
    kind = node.get("type")
    if kind is not None and kind not in _TYPES:
        raise BundleError(_PATH, f"{where}.type '{kind}' is not one of {', '.join(sorted(_TYPES))}")
    if isinstance(node.get("pattern"), str):
        try:
            re.compile(node["pattern"])
        except re.error as exc:
            raise BundleError(_PATH, f"{where}.pattern is not a valid regex: {exc}") from None
    for bound, limit in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        if bound in node:
            if not isinstance(node[bound], bool):
                raise BundleError(_PATH, f"{where}.{bound} must be true or false (OpenAPI 3.0)")
            if node[bound]:
                if limit not in node:
                    raise BundleError(_PATH, f"{where}.{bound} needs {limit}")
                out[bound] = out.pop(limit)
    if node.get("nullable") is True and kind is not None:
        out["type"] = [kind, "null"]
    if "properties" in node:
        properties = node["properties"]
        if not isinstance(properties, dict):
            raise BundleError(_PATH, f"{where}.properties must be a map")
        converted: dict[str, Any] = {}
        for name, sub in properties.items():
            if not isinstance(name, str) or not name:
                raise BundleError(_PATH, f"{where}.properties: names must be non-empty strings")
            if len(name) > MAX_PARAMETER_NAME:
                raise BundleError(
                    _PATH,
                    f"{where}.properties: parameter name '{name[:20]}…' is longer than "
                    f"{MAX_PARAMETER_NAME} characters",
                )
            converted[name] = _convert(sub, f"{where}.properties.{name}")
        out["properties"] = converted
    if "required" in node:
        required = node["required"]
        if not isinstance(required, list) or not all(isinstance(r, str) for r in required):
            raise BundleError(_PATH, f"{where}.required must be a list of property names")
        missing = [r for r in required if r not in out.get("properties", {})]
        if missing:
            raise BundleError(_PATH, f"{where}.required names '{missing[0]}', not a property")
        out["required"] = required
    if "items" in node:
        out["items"] = _convert(node["items"], f"{where}.items")
    if "additionalProperties" in node:
        extra = node["additionalProperties"]
        out["additionalProperties"] = (
            extra if isinstance(extra, bool) else _convert(extra, f"{where}.additionalProperties")
        )
    elif kind == "object" or "properties" in node:
        out["additionalProperties"] = False
    return out


def _check_defaults(schema: dict[str, Any], where: str) -> None:
    if "default" in schema:
        try:
            jsonschema.Draft202012Validator(
                {k: v for k, v in schema.items() if k != "default"}
            ).validate(schema["default"])
        except jsonschema.ValidationError as exc:
            raise BundleError(_PATH, f"{where}.default is invalid: {exc.message}") from None
    for name, sub in schema.get("properties", {}).items():
        _check_defaults(sub, f"{where}.properties.{name}")
    if isinstance(schema.get("items"), dict):
        _check_defaults(schema["items"], f"{where}.items")


def _input_type(root: dict[str, Any], key: str, types: dict[str, Any]) -> dict[str, Any]:
    name = root[key]
    where = f"schema.{key}"
    if not isinstance(name, str) or name not in types:
        raise BundleError(_PATH, f"{where} names '{name}', which is not defined under schema.types")
    node = types[name]
    if not isinstance(node, dict) or node.get("type") != "object":
        raise BundleError(_PATH, f"schema.types.{name} must have type: object")
    converted = {
        "$schema": JSON_SCHEMA_DIALECT,
        "title": name,
        **_convert(node, f"schema.types.{name}"),
    }
    try:
        jsonschema.Draft202012Validator.check_schema(converted)
    except jsonschema.SchemaError as exc:
        place = ".".join(str(p) for p in exc.path)
        raise BundleError(
            _PATH, f"schema.types.{name}{'.' + place if place else ''}: {exc.message}"
        ) from None
    _check_defaults(converted, f"schema.types.{name}")
    return converted


def _customer_managed_check(schema: dict[str, Any], name: str) -> None:
    for prop, sub in schema.get("properties", {}).items():
        if sub.get("type") != "string":
            raise BundleError(
                _PATH,
                f"schema.types.{name}.properties.{prop}: a customer-managed environment "
                "template takes string inputs only",
            )
        if "default" in sub:
            raise BundleError(
                _PATH,
                f"schema.types.{name}.properties.{prop}: a customer-managed environment "
                "template's inputs have no defaults",
            )


def parse_schema(
    data: bytes, *, kind: TemplateKind, has_pipeline: bool = False, customer_managed: bool = False
) -> TemplateSchema:
    """The input schemas of a ``kind`` template's ``schema/schema.yaml``, or BundleError.

    Environment templates need ``environment_input_type``; service templates
    ``service_input_type`` and, exactly when ``has_pipeline``, ``pipeline_input_type``.
    """
    document = load_yaml(data, _PATH)
    if not isinstance(document, dict) or "schema" not in document:
        raise BundleError(_PATH, "must be a map with the key 'schema'")
    root = document["schema"]
    if not isinstance(root, dict):
        raise BundleError(_PATH, "schema must be a map")
    unknown = sorted(str(k) for k in root if k not in _ROOT_KEYS)
    if unknown:
        raise BundleError(_PATH, f"schema: unknown key '{unknown[0]}'")
    fmt = root.get("format")
    if not isinstance(fmt, dict) or not str(fmt.get("openapi", "")).startswith("3."):
        raise BundleError(_PATH, 'schema.format.openapi is required and must be "3.0.0"')
    types = root.get("types")
    if not isinstance(types, dict) or not types:
        raise BundleError(_PATH, "schema.types must be a non-empty map of input types")
    if kind == "environment":
        wanted, refused = {"environment_input_type"}, {"service_input_type", "pipeline_input_type"}
    elif has_pipeline:
        wanted, refused = {"service_input_type", "pipeline_input_type"}, {"environment_input_type"}
    else:
        wanted, refused = {"service_input_type"}, {"environment_input_type", "pipeline_input_type"}
    for key in sorted(wanted):
        if key not in root:
            why = " (the template has a pipeline)" if key == "pipeline_input_type" else ""
            raise BundleError(_PATH, f"schema.{key} is required for a {kind} template{why}")
    for key in sorted(refused & set(root)):
        why = " without a pipeline" if key == "pipeline_input_type" else ""
        raise BundleError(_PATH, f"schema.{key} is not allowed in a {kind} template{why}")
    converted = {key: _input_type(root, key, types) for key in wanted}
    if customer_managed and "environment_input_type" in converted:
        _customer_managed_check(converted["environment_input_type"], root["environment_input_type"])
    return TemplateSchema(
        environment_input=converted.get("environment_input_type"),
        service_input=converted.get("service_input_type"),
        pipeline_input=converted.get("pipeline_input_type"),
    )
