"""Spec documents: parsing, schema validation, defaults, unknown inputs, YAML safety."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hadron.errors import ValidationError
from hadron.proton import specs
from hadron.proton.specs import (
    CURRENT_VALUE,
    freeze,
    instance_inputs,
    parse_environment_spec,
    parse_service_spec,
    thaw,
    validate_inputs,
)

ENV_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "vpc_cidr": {"type": "string", "default": "10.0.0.0/16", "pattern": r"^[0-9./]+$"},
        "port": {"type": "number", "default": 80, "minimum": 0, "maximum": 65535},
        "task_size": {"type": "string", "enum": ["x-small", "small"], "default": "x-small"},
        "image": {"type": "string", "minLength": 1, "maxLength": 200},
        "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 3},
        "db": {
            "type": "object",
            "properties": {"engine": {"type": "string", "default": "postgres"}},
        },
    },
    "required": ["image"],
}

SERVICE_SPEC = """\
proton: ServiceSpec
pipeline:
  dockerfile: Dockerfile
instances:
  - name: "instance-one"
    environment: "simple-env"
    spec:
      port: 8080
  - name: two
    environment: other-env
"""


def raises(match: str) -> Any:
    return pytest.raises(ValidationError, match=match)


def test_environment_spec_parses_and_keeps_text() -> None:
    text = "proton: EnvironmentSpec\nspec:\n  my_sample_input: 'the first'\n"
    spec = parse_environment_spec(text)
    assert spec.text == text
    assert dict(spec.inputs) == {"my_sample_input": "the first"}
    assert isinstance(spec.inputs, MappingProxyType)


def test_environment_spec_without_spec_section_has_no_inputs() -> None:
    assert dict(parse_environment_spec("proton: EnvironmentSpec\n").inputs) == {}


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("", "non-empty"),
        ("proton: ServiceSpec\n", r"spec.proton must be 'EnvironmentSpec'"),
        ("- a\n- b\n", "YAML mapping"),
        ("proton: EnvironmentSpec\nextra: 1\n", r"spec: unknown field\(s\) extra"),
        ("proton: EnvironmentSpec\nspec: [1]\n", "spec.spec must be a mapping"),
        ("proton: EnvironmentSpec\nspec: {a: 1\n", r"not valid YAML at line \d+"),
        ("proton: EnvironmentSpec\nspec: {1: a}\n", "key 1 is not a string"),
        ("proton: EnvironmentSpec\nspec: {a: .nan}\n", "not a finite number"),
        ("proton: EnvironmentSpec\nspec: {a: !!binary aGk=}\n", "bytes are not supported"),
        ("proton: EnvironmentSpec\nspec: {a: !!python/name:os.system}\n", "not valid YAML"),
        (f"proton: EnvironmentSpec\nspec: {{{'x' * 101}: 1}}\n", "longer than 100"),
    ],
    ids=[
        "empty",
        "wrong-kind",
        "not-mapping",
        "unknown-top",
        "spec-list",
        "bad-yaml",
        "int-key",
        "nan",
        "binary",
        "python-tag",
        "long-name",
    ],
)
def test_environment_spec_errors(text: str, match: str) -> None:
    with raises(match):
        parse_environment_spec(text)


def test_spec_size_limit() -> None:
    text = "proton: EnvironmentSpec\nspec:\n  a: '" + "x" * specs.MAX_SPEC_CHARS + "'\n"
    with raises("longer than 51200"):
        parse_environment_spec(text)


def test_alias_bomb_is_refused() -> None:
    lines = ["proton: EnvironmentSpec", "a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        prev = f"*a{i - 1}"
        lines.append(f"a{i}: &a{i} [{', '.join([prev] * 10)}]")
    with raises("more than 20000 values"):
        parse_environment_spec("\n".join(lines) + "\n")


def test_recursive_alias_and_deep_nesting_are_refused() -> None:
    with raises("nested"):
        parse_environment_spec("proton: EnvironmentSpec\nspec: &a {x: *a}\n")
    with raises("nested"):
        parse_environment_spec("proton: EnvironmentSpec\nspec: {a: " + "[" * 200 + "]" * 200 + "}")


def test_timestamps_stay_strings() -> None:
    spec = parse_environment_spec("proton: EnvironmentSpec\nspec: {day: 2024-01-02}\n")
    assert spec.inputs["day"] == "2024-01-02"


def test_service_spec_parses_instances_and_pipeline() -> None:
    spec = parse_service_spec(SERVICE_SPEC)
    assert spec.pipeline is not None and dict(spec.pipeline) == {"dockerfile": "Dockerfile"}
    assert [(i.name, i.environment) for i in spec.instances] == [
        ("instance-one", "simple-env"),
        ("two", "other-env"),
    ]
    assert dict(spec.instances[0].inputs) == {"port": 8080}
    assert dict(spec.instances[1].inputs) == {}
    assert spec.instance("two") is spec.instances[1]
    assert spec.instance("nope") is None


def test_service_spec_without_pipeline() -> None:
    spec = parse_service_spec("proton: ServiceSpec\ninstances:\n- {name: a, environment: e}\n")
    assert spec.pipeline is None


@pytest.mark.parametrize(
    ("body", "match"),
    [
        ("instances: []", "at least one service instance"),
        ("", "at least one service instance"),
        ("instances: {a: 1}", "spec.instances must be a list"),
        ("instances: [1]", r"spec.instances\[0\] must be a mapping"),
        ("instances: [{name: a}]", r"spec.instances\[0\].environment is required"),
        ("instances: [{environment: e}]", r"spec.instances\[0\].name is required"),
        (
            "instances: [{name: 'a b', environment: e}]",
            r"spec.instances\[0\].name 'a b' must match",
        ),
        (
            "instances: [{name: a, environment: e, x: 1}]",
            r"spec.instances\[0\]: unknown field\(s\) x",
        ),
        (
            "instances: [{name: a, environment: e}, {name: a, environment: f}]",
            r"spec.instances\[1\].name: duplicate service instance name 'a'",
        ),
        ("instances: [{name: a, environment: e, spec: 3}]", r"spec.instances\[0\].spec must be"),
        ("stages: 1\ninstances: [{name: a, environment: e}]", r"unknown field\(s\) stages"),
    ],
)
def test_service_spec_errors(body: str, match: str) -> None:
    with raises(match):
        parse_service_spec("proton: ServiceSpec\n" + body + "\n")


def test_service_spec_may_omit_instances_when_allowed() -> None:
    spec = parse_service_spec("proton: ServiceSpec\npipeline: {a: 1}\n", require_instances=False)
    assert spec.instances == ()


def test_validate_applies_defaults_recursively() -> None:
    out = validate_inputs(MappingProxyType({"image": "nginx", "db": {}}), ENV_SCHEMA)
    assert thaw(out) == {
        "image": "nginx",
        "vpc_cidr": "10.0.0.0/16",
        "port": 80,
        "task_size": "x-small",
        "db": {"engine": "postgres"},
    }
    assert isinstance(out, MappingProxyType)


def test_validate_default_satisfies_required() -> None:
    schema = {
        "type": "object",
        "properties": {"a": {"type": "string", "default": "x"}},
        "required": ["a"],
    }
    assert thaw(validate_inputs(MappingProxyType({}), schema)) == {"a": "x"}


@pytest.mark.parametrize(
    ("inputs", "match"),
    [
        ({}, r"spec.spec: 'image' is a required property"),
        ({"image": "x", "port": 70000}, r"spec.spec.port: 70000 is greater than the maximum"),
        ({"image": "x", "port": "80"}, r"spec.spec.port: '80' is not of type 'number'"),
        ({"image": "x", "task_size": "huge"}, r"spec.spec.task_size: 'huge' is not one of"),
        ({"image": ""}, r"spec.spec.image: '' should be non-empty"),
        ({"image": "x", "vpc_cidr": "abc"}, r"spec.spec.vpc_cidr: 'abc' does not match"),
        ({"image": "x", "tags": [1]}, r"spec.spec.tags\[0\]: 1 is not of type 'string'"),
        (
            {"image": "x", "bogus": 1, "zz": 2},
            r"spec.spec: unknown input\(s\) not defined in the template schema: bogus, zz",
        ),
        ({"image": "x", "db": {"engin": "x"}}, r"spec.spec.db: unknown input\(s\).*engin"),
    ],
)
def test_validate_errors_name_the_field(inputs: dict[str, Any], match: str) -> None:
    with raises(match):
        validate_inputs(MappingProxyType(inputs), ENV_SCHEMA)


def test_validate_collects_several_errors() -> None:
    with raises(r"spec.spec.port.*; spec.spec.task_size"):
        validate_inputs(MappingProxyType({"image": "x", "port": -1, "task_size": "no"}), ENV_SCHEMA)


def test_explicit_additional_properties_is_respected() -> None:
    schema = {"type": "object", "properties": {}, "additionalProperties": True}
    assert thaw(validate_inputs(MappingProxyType({"free": 1}), schema)) == {"free": 1}


def test_no_schema_accepts_only_empty_inputs() -> None:
    assert validate_inputs(MappingProxyType({}), None) == {}
    with raises(r"spec.pipeline: unknown input\(s\) a"):
        validate_inputs(MappingProxyType({"a": 1}), None, field="spec.pipeline")


def test_invalid_template_schema_is_reported() -> None:
    with raises("template schema for spec.spec is not valid"):
        validate_inputs(MappingProxyType({}), {"type": "objekt"})


def test_current_value_placeholder() -> None:
    current: specs.Inputs = MappingProxyType({"image": "old", "port": 81})
    out = validate_inputs(
        MappingProxyType({"image": CURRENT_VALUE, "port": CURRENT_VALUE}),
        ENV_SCHEMA,
        current=current,
    )
    assert out["image"] == "old" and out["port"] == 81
    with raises(r"spec.spec.image: \$\{Proton::CURRENT_VAL\} used but there is no current"):
        validate_inputs(MappingProxyType({"image": CURRENT_VALUE}), ENV_SCHEMA)


def test_instance_inputs_from_service_spec_or_plain_map() -> None:
    assert dict(instance_inputs(SERVICE_SPEC, "instance-one")) == {"port": 8080}
    assert dict(instance_inputs("port: 1\n", "x")) == {"port": 1}
    with raises("does not contain a service instance named 'zz'"):
        instance_inputs(SERVICE_SPEC, "zz")


def test_freeze_thaw_roundtrip() -> None:
    data = {"a": [1, {"b": None, "c": [True, 1.5]}], "d": "s"}
    frozen = freeze(data)
    assert isinstance(frozen, Mapping)
    assert isinstance(frozen["a"], tuple)
    assert thaw(frozen) == data
    with pytest.raises(TypeError):
        frozen["x"] = 1  # type: ignore[index]


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400))
def test_arbitrary_text_parses_or_raises_validation(text: str) -> None:
    for parse in (parse_environment_spec, parse_service_spec):
        try:
            parse(text)
        except ValidationError:
            pass


yaml_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.text(max_size=10),
    st.floats(allow_nan=False, allow_infinity=False),
)


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(
        st.text(min_size=1, max_size=12),
        st.recursive(
            yaml_scalars,
            lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=5), c, max_size=3),
            max_leaves=8,
        ),
        max_size=6,
    )
)
def test_arbitrary_inputs_validate_or_raise(inputs: dict[str, Any]) -> None:
    try:
        out = validate_inputs(MappingProxyType(inputs), ENV_SCHEMA)
    except ValidationError:
        return
    assert set(out) >= {"image", "port", "task_size", "vpc_cidr"}
