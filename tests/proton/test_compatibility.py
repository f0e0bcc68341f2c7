"""Minor-version schema compatibility: what a new minor may and may not change."""

from __future__ import annotations

from typing import Any

import pytest

from hadron.proton.compatibility import incompatibility

BASE: dict[str, Any] = {
    "title": "In",
    "type": "object",
    "properties": {
        "size": {"type": "string", "enum": ["s", "m"], "maxLength": 5},
        "port": {"type": "integer", "minimum": 1, "maximum": 100},
        "tags": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["size"],
}


def _with(**changes: Any) -> dict[str, Any]:
    props = {**BASE["properties"], **changes.pop("properties", {})}
    return {**BASE, "properties": props, **changes}


def _env(schema: dict[str, Any] | None) -> dict[str, Any]:
    return {"environment": schema, "service": None, "pipeline": None}


@pytest.mark.parametrize(
    "new",
    [
        BASE,
        _with(properties={"extra": {"type": "string"}}),
        _with(properties={"extra": {"type": "string", "default": "x"}},
              required=["size", "extra"]),
        _with(properties={"size": {"type": "string", "enum": ["s", "m", "l"], "maxLength": 9}}),
        _with(properties={"port": {"type": "integer", "minimum": 0}}),
        _with(required=[]),
    ],
    ids=["same", "new-optional", "new-required-with-default", "wider-enum", "wider-range",
         "fewer-required"],
)  # fmt: skip
def test_compatible_changes(new: dict[str, Any]) -> None:
    assert incompatibility(_env(BASE), _env(new)) is None


@pytest.mark.parametrize(
    ("new", "problem"),
    [
        ({**BASE, "properties": {k: v for k, v in BASE["properties"].items() if k != "port"}},
         "In no longer has the input 'port'"),
        (_with(properties={"port": {"type": "string"}}),
         "input 'port' of In changed type from integer to string"),
        (_with(properties={"size": {"type": "string", "enum": ["s"], "maxLength": 5}}),
         "input 'size' of In no longer allows 'm'"),
        (_with(properties={"port": {"type": "integer", "minimum": 2, "maximum": 100}}),
         "raised its minimum to 2"),
        (_with(properties={"size": {"type": "string", "enum": ["s", "m"], "maxLength": 4}}),
         "lowered its maxLength to 4"),
        (_with(properties={"extra": {"type": "string"}}, required=["size", "extra"]),
         "In requires the input 'extra', which has no default"),
        (_with(properties={"tags": {"type": "array", "items": {"type": "integer"}}}),
         "the items of input 'tags' of In changed type"),
    ],
    ids=["removed", "type", "enum", "minimum", "maxLength", "required", "items"],
)  # fmt: skip
def test_breaking_changes(new: dict[str, Any], problem: str) -> None:
    found = incompatibility(_env(BASE), _env(new))
    assert found is not None and problem in found


def test_pipeline_presence_is_fixed_within_a_major() -> None:
    old = {"environment": None, "service": BASE, "pipeline": None}
    new = {"environment": None, "service": BASE, "pipeline": BASE}
    assert incompatibility(old, new) == "the pipeline input type was added within a major version"
    assert incompatibility(new, old) == "the pipeline input type was removed within a major version"
