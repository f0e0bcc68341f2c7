"""schema.yaml → JSON Schema: conversion, checks, and the errors."""

from __future__ import annotations

import jsonschema
import pytest

from hadron.proton.bundle import BundleError
from hadron.proton.schema import JSON_SCHEMA_DIALECT, parse_schema
from tests.proton.bundles import example_files


def _doc(types: str, roots: str = "environment_input_type: In") -> bytes:
    return f'schema:\n  format: {{openapi: "3.0.0"}}\n  {roots}\n  types:\n{types}'.encode()


def test_environment_example() -> None:
    schema = parse_schema(example_files("environment-template")["schema/schema.yaml"],
                          kind="environment")  # fmt: skip
    env = schema.environment_input
    assert env is not None and schema.service_input is None and schema.pipeline_input is None
    assert env["$schema"] == JSON_SCHEMA_DIALECT and env["title"] == "EnvironmentInput"
    assert env["additionalProperties"] is False
    assert env["properties"]["replicas"] == {"type": "integer", "minimum": 1, "maximum": 10,
                                             "default": 1}  # fmt: skip
    validator = jsonschema.Draft202012Validator(env)
    assert validator.is_valid({"network_name": "n1", "size": "large"})
    assert not validator.is_valid({"size": "huge"})
    assert not validator.is_valid({"unknown": 1})


def test_service_example_has_pipeline() -> None:
    data = example_files("service-template")["schema/schema.yaml"]
    schema = parse_schema(data, kind="service", has_pipeline=True)
    assert schema.service_input is not None and schema.pipeline_input is not None
    with pytest.raises(BundleError, match="pipeline_input_type is not allowed"):
        parse_schema(data, kind="service", has_pipeline=False)
    with pytest.raises(BundleError, match="environment_input_type is required"):
        parse_schema(data, kind="environment")


def test_openapi_forms_become_json_schema() -> None:
    types = """    In:
      type: object
      x-ui: ignored
      properties:
        port: {type: number, minimum: 0, exclusiveMinimum: true, maximum: 10}
        note: {type: string, nullable: true}
        tags: {type: array, items: {type: string, maxLength: 3}, maxItems: 2}
        extra: {type: object, additionalProperties: {type: string}}
      required: [port]
"""
    env = parse_schema(_doc(types), kind="environment").environment_input
    assert env is not None
    props = env["properties"]
    assert props["port"] == {"type": "number", "exclusiveMinimum": 0, "maximum": 10}
    assert props["note"]["type"] == ["string", "null"]
    assert props["tags"]["items"] == {"type": "string", "maxLength": 3}
    assert props["extra"]["additionalProperties"] == {"type": "string"}
    assert env["required"] == ["port"]


@pytest.mark.parametrize(
    ("types", "problem"),
    [
        ("    In: {type: object, properties: {a: {type: str}}}", "type 'str' is not one of"),
        ("    In: {type: object, properties: {a: {type: string, $ref: x}}}",
         "unknown keyword '\\$ref'"),
        ("    In: {type: object, properties: {a: {type: string, pattern: '('}}}",
         "pattern is not a valid regex"),
        ("    In: {type: object, properties: {a: {type: integer, default: x}}}",
         "default is invalid"),
        ("    In: {type: object, properties: {a: {type: string}}, required: [b]}",
         "required names 'b', not a property"),
        ("    In: {type: string}", "must have type: object"),
        ("    Other: {type: object}", "names 'In', which is not defined"),
        ("    In: {type: object, properties: {a: {type: string, minLength: -1}}}",
         "minLength"),
        ("    In: {type: object, properties: {" + "a" * 101 + ": {type: string}}}",
         "longer than 100 characters"),
        ("    In: {type: object, properties: {a: {type: number, exclusiveMinimum: 1}}}",
         "must be true or false"),
    ],
    ids=["bad-type", "ref", "regex", "default", "required", "not-object", "undefined",
         "metaschema", "long-name", "exclusive"],
)  # fmt: skip
def test_errors_name_the_place(types: str, problem: str) -> None:
    with pytest.raises(BundleError, match=problem) as info:
        parse_schema(_doc(types + "\n"), kind="environment")
    assert info.value.file == "schema/schema.yaml"


def test_document_errors() -> None:
    with pytest.raises(BundleError, match=r"format\.openapi is required"):
        parse_schema(b"schema: {environment_input_type: In, types: {In: {type: object}}}",
                     kind="environment")  # fmt: skip
    with pytest.raises(BundleError, match="unknown key 'bogus'"):
        parse_schema(_doc("    In: {type: object}\n", "bogus: 1"), kind="environment")
    with pytest.raises(BundleError, match="key 'schema'"):
        parse_schema(b"[1]", kind="environment")


def test_customer_managed_inputs_are_plain_strings() -> None:
    ok = "    In: {type: object, properties: {vpc: {type: string}}}\n"
    assert parse_schema(_doc(ok), kind="environment", customer_managed=True).environment_input
    with_default = "    In: {type: object, properties: {vpc: {type: string, default: v}}}\n"
    with pytest.raises(BundleError, match="have no defaults"):
        parse_schema(_doc(with_default), kind="environment", customer_managed=True)
    number = "    In: {type: object, properties: {n: {type: number}}}\n"
    with pytest.raises(BundleError, match="string inputs only"):
        parse_schema(_doc(number), kind="environment", customer_managed=True)
