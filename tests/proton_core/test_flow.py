"""The three cores together, as the provisioning worker will use them: spec → inputs → input file
→ CodeBuild-style run. The schema is in the shape the bundle parser (``hadron.proton.schema``)
produces: draft 2020-12, closed objects, OpenAPI ``nullable`` as a type list."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest

from hadron.errors import ValidationError
from hadron.proton.codebuild import BuildSpec, run_build
from hadron.proton.rendering import (
    EnvironmentParams,
    InstanceParams,
    ServiceParams,
    environment_namespace,
    proton_inputs_json,
    render,
    service_instance_namespace,
)
from hadron.proton.specs import (
    parse_environment_spec,
    parse_service_spec,
    thaw,
    validate_inputs,
)

ENV_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "EnvironmentInput",
    "type": "object",
    "properties": {
        "network_name": {
            "type": "string",
            "default": "starter-network",
            "minLength": 1,
            "maxLength": 64,
            "pattern": "^[a-z0-9-]+$",
        },
        "size": {"type": "string", "enum": ["small", "medium", "large"], "default": "small"},
        "replicas": {"type": "integer", "minimum": 1, "maximum": 10, "default": 1},
        "note": {"type": ["string", "null"]},
        "ratio": {"type": "number", "exclusiveMinimum": 0},
    },
    "additionalProperties": False,
}

OUTPUTS_PY = b"""import json
with open("proton-inputs.json", encoding="utf-8") as f:
    inputs = json.load(f)["environment"]["inputs"]
outputs = {
    "network_name": inputs["network_name"],
    "capacity": str(inputs["replicas"] * {"small": 1, "medium": 2, "large": 4}[inputs["size"]]),
}
print(json.dumps([{"key": k, "valueString": v} for k, v in sorted(outputs.items())]))
"""


def test_environment_spec_to_codebuild_outputs(tmp_path: Path) -> None:
    spec = parse_environment_spec("proton: EnvironmentSpec\nspec:\n  size: large\n  replicas: 3\n")
    inputs = validate_inputs(spec.inputs, ENV_SCHEMA)
    namespace = environment_namespace(EnvironmentParams(name="env1", inputs=inputs))
    result = run_build(
        BuildSpec(
            commands=(
                'echo "Provisioning $RESOURCE_ARN with:" && cat proton-inputs.json',
                "python3 outputs.py > outputs.json",
                "cp outputs.json proton-outputs.json",
            ),
            resource_arn="arn:aws:proton:us-east-1:123456789012:environment/env1",
            inputs_json=proton_inputs_json(namespace),
            files=MappingProxyType({"outputs.py": OUTPUTS_PY}),
            bin_dir=str(Path(sys.executable).parent),
        ),
        tmp_path / "work",
        tmp_path / "build.log",
    )
    assert result.succeeded, result.log_tail
    assert result.outputs_file is not None
    assert json.loads(result.outputs_file) == [
        {"key": "capacity", "valueString": "12"},
        {"key": "network_name", "valueString": "starter-network"},
    ]
    assert '"replicas": 3' in (tmp_path / "build.log").read_text()


@pytest.mark.parametrize(
    ("body", "match"),
    [
        ("  replicas: 11", r"spec.spec.replicas: 11 is greater than the maximum of 10"),
        ("  ratio: 0", r"spec.spec.ratio: 0 is less than or equal to the minimum of 0"),
        (
            "  colour: red",
            r"spec.spec: unknown input\(s\) not defined in the template schema: colour",
        ),
        ("  note: 5", r"spec.spec.note: 5 is not of type 'string', 'null'"),
    ],
)
def test_converted_schema_errors_name_the_input(body: str, match: str) -> None:
    spec = parse_environment_spec("proton: EnvironmentSpec\nspec:\n" + body + "\n")
    with pytest.raises(ValidationError, match=match):
        validate_inputs(spec.inputs, ENV_SCHEMA)


def test_nullable_input_accepts_null() -> None:
    spec = parse_environment_spec("proton: EnvironmentSpec\nspec:\n  note: null\n")
    assert thaw(validate_inputs(spec.inputs, ENV_SCHEMA))["note"] is None


def test_service_spec_renders_each_instance() -> None:
    schema = {
        "type": "object",
        "properties": {"port": {"type": "integer", "default": 80}},
        "additionalProperties": False,
    }
    spec = parse_service_spec(
        "proton: ServiceSpec\ninstances:\n"
        "  - {name: a, environment: env1, spec: {port: 8080}}\n"
        "  - {name: b, environment: env2}\n"
    )
    template = {
        "svc.yaml": "{{ service_instance.name }}:{{ service_instance.inputs.port }}@"
        "{{ environment.name }}/{{ environment.outputs.vpc }}"
    }
    rendered = []
    for item in spec.instances:
        inputs = validate_inputs(item.inputs, schema, field=f"spec.instances[{item.name}].spec")
        env = EnvironmentParams(name=item.environment, outputs=MappingProxyType({"vpc": "v-1"}))
        instance = InstanceParams(name=item.name, environment=env, inputs=inputs)
        ns = service_instance_namespace(ServiceParams(name="svc"), instance)
        rendered.append(render(template, ns, instance=instance)["svc.yaml"])
    assert rendered == ["a:8080@env1/v-1", "b:80@env2/v-1"]
