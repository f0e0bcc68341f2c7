"""Proton spec documents: parse the YAML a caller sends as ``spec`` and validate its inputs.

Layer: pure core (no I/O, no clock). Implements proton.md §5.3-§5.4 and the spec rules of §2.5-§2.8:

* An environment spec is ``proton: EnvironmentSpec`` plus ``spec: {input: value}``.
* A service spec is ``proton: ServiceSpec``, an optional ``pipeline: {input: value}`` and an
  ``instances:`` list of ``{name, environment, spec}``.
* Inputs are validated against the JSON Schema of the template version's input type (a plain
  JSON Schema object, as the bundle parser produces it from ``schema.yaml``). Validation uses
  **Draft 2020-12** (``jsonschema.Draft202012Validator``): it is the draft OpenAPI 3.1 aligned with,
  and for the OpenAPI-3.0 keyword subset Proton documents (type, enum, pattern, minimum, maximum,
  minLength, maxLength, items, minItems, maxItems, required, default) all drafts agree.
* Defaults are applied (recursively, for properties of objects that are present), unknown inputs
  are refused (every object schema with ``properties`` is closed unless it says otherwise), and
  ``"${Proton::CURRENT_VAL}"`` is replaced by the current value on updates.

Every failure raises :class:`hadron.errors.ValidationError` (``ValidationException`` on the Proton
wire) whose message names the field by its path in the document, e.g.
``instances[1].spec.port``. AWS's exact message texts are not published (proton.md §12.2); ours are
documented in the README.

Results are frozen: mappings are :class:`types.MappingProxyType`, lists are tuples. :func:`thaw`
turns a frozen value back into plain JSON data (for ``proton-inputs.json`` and storage).

YAML safety: ``yaml.SafeLoader`` (no Python objects), timestamps stay strings, binary and non-string
keys are refused, non-finite numbers are refused, and the number of nodes and the nesting depth are
bounded so that alias expansion ("billion laughs") or deep nesting cannot blow up.
"""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, TypeAlias

import jsonschema
import yaml

from hadron.errors import ValidationError

__all__ = [
    "CURRENT_VALUE",
    "EMPTY_INPUTS",
    "MAX_NODES",
    "MAX_PARAMETER_NAME",
    "MAX_SPEC_CHARS",
    "EnvironmentSpec",
    "Inputs",
    "InstanceSpec",
    "JsonValue",
    "ServiceSpec",
    "freeze",
    "instance_inputs",
    "parse_environment_spec",
    "parse_service_spec",
    "thaw",
    "validate_inputs",
]

JsonValue: TypeAlias = (
    "bool | int | float | str | tuple[JsonValue, ...] | Mapping[str, JsonValue] | None"
)
Inputs: TypeAlias = Mapping[str, JsonValue]

#: SpecContents is 1-51200 characters in the model (proton.md §1.6, §9).
MAX_SPEC_CHARS = 51_200
#: "The length of each parameter name doesn't exceed 100 characters" (proton.md §5.3, §9).
MAX_PARAMETER_NAME = 100
#: Bound on values in one document after alias expansion.
MAX_NODES = 20_000
_MAX_DEPTH = 64
#: A spec value meaning "keep the current value" on updates (proton.md §5.4).
CURRENT_VALUE = "${Proton::CURRENT_VAL}"
EMPTY_INPUTS: Inputs = MappingProxyType({})

_RESOURCE_NAME = re.compile(r"[0-9A-Za-z]+[0-9A-Za-z_\-]*")
_ENVIRONMENT_SPEC = "EnvironmentSpec"
_SERVICE_SPEC = "ServiceSpec"


@dataclass(frozen=True, slots=True)
class EnvironmentSpec:
    """A parsed ``proton: EnvironmentSpec`` document; ``text`` is kept verbatim for storage."""

    text: str
    inputs: Inputs


@dataclass(frozen=True, slots=True)
class InstanceSpec:
    """One entry of a service spec's ``instances`` list."""

    name: str
    environment: str
    inputs: Inputs


@dataclass(frozen=True, slots=True)
class ServiceSpec:
    """A parsed ``proton: ServiceSpec`` document; ``pipeline`` is None without that section."""

    text: str
    pipeline: Inputs | None
    instances: tuple[InstanceSpec, ...]

    def instance(self, name: str) -> InstanceSpec | None:
        """The instance called ``name``, or None."""
        for item in self.instances:
            if item.name == name:
                return item
        return None


class _Loader(yaml.SafeLoader):
    """SafeLoader without the timestamp resolver: ``2024-01-01`` stays a string."""


_Loader.yaml_implicit_resolvers = {
    key: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _invalid(message: str) -> ValidationError:
    return ValidationError(message)


def _load(text: str, field: str) -> object:
    if not text.strip():
        raise _invalid(f"{field} must be a non-empty YAML document")
    if len(text) > MAX_SPEC_CHARS:
        raise _invalid(f"{field} is longer than {MAX_SPEC_CHARS} characters")
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "not valid YAML"
        raise _invalid(f"{field} is not valid YAML{where}: {problem}") from None
    except RecursionError:
        raise _invalid(f"{field} is nested too deeply") from None


def freeze(value: object, path: str = "spec") -> JsonValue:
    """Deep-copy YAML/JSON data into frozen JSON values; refuse what JSON cannot hold."""
    budget = [MAX_NODES]
    return _freeze(value, path, 0, budget)


def _freeze(value: object, path: str, depth: int, budget: list[int]) -> JsonValue:
    budget[0] -= 1
    if budget[0] < 0:
        raise _invalid(f"{path}: the document has more than {MAX_NODES} values")
    if depth > _MAX_DEPTH:
        raise _invalid(f"{path}: nested more than {_MAX_DEPTH} levels deep")
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _invalid(f"{path}: {value!r} is not a finite number")
        return value
    if isinstance(value, list | tuple):
        return tuple(_freeze(v, f"{path}[{i}]", depth + 1, budget) for i, v in enumerate(value))
    if isinstance(value, Mapping):
        out: dict[str, JsonValue] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise _invalid(f"{path}: key {key!r} is not a string")
            out[key] = _freeze(item, f"{path}.{key}", depth + 1, budget)
        return MappingProxyType(out)
    raise _invalid(f"{path}: values of type {type(value).__name__} are not supported")


def thaw(value: JsonValue) -> Any:
    """Plain ``dict``/``list`` JSON data from a frozen value (for ``json.dumps`` and storage)."""
    if isinstance(value, Mapping):
        return {key: thaw(item) for key, item in value.items()}
    if isinstance(value, tuple):
        return [thaw(item) for item in value]
    return value


def _document(text: str, kind: str) -> Mapping[str, JsonValue]:
    doc = freeze(_load(text, "spec"), "spec")
    if not isinstance(doc, Mapping):
        raise _invalid("spec must be a YAML mapping with a 'proton' key")
    if doc.get("proton") != kind:
        raise _invalid(f"spec.proton must be {kind!r}, got {doc.get('proton')!r}")
    return doc


def _refuse_unknown(doc: Mapping[str, JsonValue], allowed: tuple[str, ...], path: str) -> None:
    unknown = sorted(set(doc) - set(allowed))
    if unknown:
        raise _invalid(f"{path}: unknown field(s) {', '.join(unknown)}")


def _input_map(value: JsonValue, path: str) -> Inputs:
    if value is None:
        return EMPTY_INPUTS
    if not isinstance(value, Mapping):
        raise _invalid(f"{path} must be a mapping of input names to values")
    for key in value:
        if len(key) > MAX_PARAMETER_NAME:
            raise _invalid(f"{path}: input name {key[:20]!r}... is longer than 100 characters")
    return value


def _resource_name(value: JsonValue, path: str) -> str:
    if not isinstance(value, str) or not value:
        raise _invalid(f"{path} is required and must be a string")
    if len(value) > 100 or not _RESOURCE_NAME.fullmatch(value):
        raise _invalid(
            f"{path} {value[:100]!r} must match ^[0-9A-Za-z]+[0-9A-Za-z_\\-]*$ (1-100 characters)"
        )
    return value


def parse_environment_spec(text: str) -> EnvironmentSpec:
    """Parse a ``proton: EnvironmentSpec`` document (structure only; :func:`validate_inputs`)."""
    doc = _document(text, _ENVIRONMENT_SPEC)
    _refuse_unknown(doc, ("proton", "spec"), "spec")
    return EnvironmentSpec(text=text, inputs=_input_map(doc.get("spec"), "spec.spec"))


def parse_service_spec(text: str, *, require_instances: bool = True) -> ServiceSpec:
    """Parse a ``proton: ServiceSpec`` document: pipeline inputs and the instances list.

    Instance names and environment names must be resource names; instance names must be unique.
    ``require_instances`` (create/update service) demands at least one instance.
    """
    doc = _document(text, _SERVICE_SPEC)
    _refuse_unknown(doc, ("proton", "pipeline", "instances"), "spec")
    pipeline = _input_map(doc["pipeline"], "spec.pipeline") if "pipeline" in doc else None
    raw = doc.get("instances")
    if raw is None:
        raw = ()
    if not isinstance(raw, tuple):
        raise _invalid("spec.instances must be a list")
    if require_instances and not raw:
        raise _invalid("spec.instances must list at least one service instance")
    instances: list[InstanceSpec] = []
    seen: set[str] = set()
    for index, item in enumerate(raw):
        path = f"spec.instances[{index}]"
        if not isinstance(item, Mapping):
            raise _invalid(f"{path} must be a mapping with name, environment and spec")
        _refuse_unknown(item, ("name", "environment", "spec"), path)
        name = _resource_name(item.get("name"), f"{path}.name")
        if name in seen:
            raise _invalid(f"{path}.name: duplicate service instance name {name!r}")
        seen.add(name)
        environment = _resource_name(item.get("environment"), f"{path}.environment")
        inputs = _input_map(item.get("spec"), f"{path}.spec")
        instances.append(InstanceSpec(name=name, environment=environment, inputs=inputs))
    return ServiceSpec(text=text, pipeline=pipeline, instances=tuple(instances))


def instance_inputs(text: str, name: str) -> Inputs:
    """Inputs for one instance from a ``CreateServiceInstance`` spec (proton.md §2.7, UNCONFIRMED).

    Accepted: a ServiceSpec whose ``instances`` list names ``name`` (its ``spec`` is used), or a
    plain mapping of inputs without a ``proton`` key.
    """
    raw = freeze(_load(text, "spec"), "spec")
    if isinstance(raw, Mapping) and "proton" not in raw:
        return _input_map(raw, "spec")
    spec = parse_service_spec(text, require_instances=False)
    found = spec.instance(name)
    if found is None:
        raise _invalid(f"spec.instances does not contain a service instance named {name!r}")
    return found.inputs


def _closed(schema: Any) -> Any:
    """A plain copy of ``schema`` in which object schemas with ``properties`` refuse other keys."""
    if isinstance(schema, list | tuple):
        return [_closed(item) for item in schema]
    if not isinstance(schema, Mapping):
        return schema
    out = {key: _closed(value) for key, value in schema.items()}
    if "properties" in out and "additionalProperties" not in out:
        out["additionalProperties"] = False
    return out


def _with_defaults(value: Any, schema: Any) -> Any:
    """Fill in ``default`` for absent properties, recursively into present objects and arrays."""
    if not isinstance(schema, Mapping):
        return value
    if isinstance(value, dict):
        props = schema.get("properties")
        if isinstance(props, Mapping):
            for key, sub in props.items():
                if key not in value and isinstance(sub, Mapping) and "default" in sub:
                    value[key] = copy.deepcopy(sub["default"])
                if key in value:
                    value[key] = _with_defaults(value[key], sub)
    elif isinstance(value, list) and isinstance(schema.get("items"), Mapping):
        return [_with_defaults(item, schema["items"]) for item in value]
    return value


def _resolve_current(inputs: dict[str, Any], current: Inputs | None, path: str) -> dict[str, Any]:
    for key, value in list(inputs.items()):
        if value == CURRENT_VALUE:
            if current is None or key not in current:
                raise _invalid(f"{path}.{key}: {CURRENT_VALUE} used but there is no current value")
            inputs[key] = thaw(current[key])
    return inputs


def _path(base: str, parts: Any) -> str:
    out = base
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def _message(error: jsonschema.ValidationError, base: str) -> str:
    where = _path(base, error.absolute_path)
    if error.validator == "additionalProperties" and isinstance(error.instance, Mapping):
        props = error.schema.get("properties", {}) if isinstance(error.schema, Mapping) else {}
        extra = sorted(k for k in error.instance if k not in props)
        return f"{where}: unknown input(s) not defined in the template schema: {', '.join(extra)}"
    return f"{where}: {error.message}"


def validate_inputs(
    inputs: Inputs,
    schema: Mapping[str, Any] | None,
    *,
    field: str = "spec.spec",
    current: Inputs | None = None,
) -> Inputs:
    """Validate ``inputs`` against the input type's JSON Schema and return them with defaults.

    ``schema`` None means the template version defines no inputs of this kind: only an empty input
    map is accepted. ``current`` supplies values for ``${Proton::CURRENT_VAL}`` placeholders.
    All violations are collected; the message lists them (sorted by path) in one
    ValidationException.
    """
    data = _resolve_current(thaw(inputs), current, field)
    if schema is None:
        if data:
            raise _invalid(
                f"{field}: unknown input(s) {', '.join(sorted(data))}: "
                "the template defines no inputs here"
            )
        return EMPTY_INPUTS
    closed = _closed(schema)
    try:
        jsonschema.Draft202012Validator.check_schema(closed)
    except jsonschema.SchemaError as exc:
        raise _invalid(f"the template schema for {field} is not valid: {exc.message}") from None
    data = _with_defaults(data, closed)
    validator = jsonschema.Draft202012Validator(closed)
    errors = sorted(validator.iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path])
    if errors:
        raise _invalid("; ".join(_message(error, field) for error in errors[:10]))
    frozen = freeze(data, field)
    assert isinstance(frozen, Mapping)  # noqa: S101 - data is a dict by construction
    return frozen
