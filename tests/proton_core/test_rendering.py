"""Rendering: Proton namespaces, sandboxed Jinja, proton_cfn_* filters, proton-inputs.json."""

from __future__ import annotations

import json
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hadron.proton.rendering import (
    MAX_RENDERED_CHARS,
    ComponentParams,
    EnvironmentParams,
    InstanceParams,
    RenderError,
    ServiceParams,
    component_namespace,
    environment_namespace,
    pipeline_namespace,
    proton_inputs_json,
    render,
    service_instance_namespace,
)

ENV = EnvironmentParams(
    name="my-env-staging",
    inputs=MappingProxyType({"vpc_cidr": "10.0.0.0/16", "port": 80, "flags": ("a", "b")}),
    outputs=MappingProxyType({"vpc-id": "hdh2323423", "ClusterName": "c1"}),
    account_id="123456789012",
)
SERVICE = ServiceParams(name="my-service")
PIPE_SERVICE = ServiceParams(
    name="my-service",
    repository_id="owner/repo",
    repository_connection_arn="arn:aws:codestar-connections:us-east-1:123456789012:connection/x",
    branch_name="main",
)
INSTANCE = InstanceParams(
    name="my-service-staging",
    environment=ENV,
    inputs=MappingProxyType({"port": "8080", "task_size": "medium"}),
    outputs=MappingProxyType({"url": "http://x"}),
)


def one(source: str, namespace: dict[str, Any], **kw: Any) -> str:
    return render({"f.yaml": source}, namespace, **kw)["f.yaml"]


def test_instance_namespace_matches_the_aws_example_file() -> None:
    # The CodeBuild input file example of the user guide (parameters-codebuild).
    expected = {
        "service_instance": {
            "name": "my-service-staging",
            "inputs": {"port": "8080", "task_size": "medium"},
        },
        "service": {"name": "my-service"},
        "environment": {
            "account_id": "123456789012",
            "name": "my-env-staging",
            "outputs": {"vpc-id": "hdh2323423", "ClusterName": "c1"},
        },
    }
    text = proton_inputs_json(service_instance_namespace(SERVICE, INSTANCE))
    assert json.loads(text) == expected
    assert text.endswith("\n")


def test_environment_namespace_keeps_json_types() -> None:
    ns = environment_namespace(ENV)
    assert json.loads(proton_inputs_json(ns)) == {
        "environment": {
            "name": "my-env-staging",
            "inputs": {"vpc_cidr": "10.0.0.0/16", "port": 80, "flags": ["a", "b"]},
        }
    }


def test_pipeline_namespace() -> None:
    other = InstanceParams(name="b", environment=EnvironmentParams(name="prod", account_id="1"))
    ns = pipeline_namespace(PIPE_SERVICE, MappingProxyType({"dockerfile": "D"}), [INSTANCE, other])
    assert ns["pipeline"] == {"inputs": {"dockerfile": "D"}}
    assert ns["service"] == {
        "name": "my-service",
        "repository_id": "owner/repo",
        "repository_connection_arn": PIPE_SERVICE.repository_connection_arn,
        "branch_name": "main",
    }
    assert ns["service_instances"][0] == {
        "name": "my-service-staging",
        "inputs": {"port": "8080", "task_size": "medium"},
        "outputs": {"url": "http://x"},
        "environment": {
            "account_id": "123456789012",
            "name": "my-env-staging",
            "outputs": {"vpc-id": "hdh2323423", "ClusterName": "c1"},
        },
    }
    src = (
        "{% for service_instance in service_instances %}"
        "{{ service_instance.name }}@{{ service_instance.environment.account_id }};"
        "{% endfor %}{{ pipeline.inputs.dockerfile }} {{ service.branch_name }}"
    )
    assert one(src, ns) == "my-service-staging@123456789012;b@1;D main"


def test_component_namespace_detached_and_attached() -> None:
    detached = component_namespace("c", ENV)
    assert detached == {
        "component": {"name": "c"},
        "environment": {"name": "my-env-staging", "outputs": dict(ENV.outputs)},
    }
    attached = component_namespace("c", ENV, SERVICE, INSTANCE)
    assert attached["service"] == {"name": "my-service"}
    assert attached["service_instance"]["inputs"] == {"port": "8080", "task_size": "medium"}


def test_environment_template_renders_inputs() -> None:
    src = "Name: {{ environment.name }}\nCidr: {{ environment.inputs.vpc_cidr }}\n"
    assert one(src, environment_namespace(ENV)) == "Name: my-env-staging\nCidr: 10.0.0.0/16\n"


def test_instance_template_names_and_aliases() -> None:
    src = (
        "{{ service.name }}/{{ service_instance.name }}/{{ service_instance.inputs.port }}/"
        "{{ environment.outputs.ClusterName }}/"
        "{{ service_instance.environment.outputs.ClusterName }}"
        "/{{ environment.account_id }}"
    )
    out = one(src, service_instance_namespace(SERVICE, INSTANCE))
    assert out == "my-service/my-service-staging/8080/c1/c1/123456789012"


def test_component_outputs_absent_and_present() -> None:
    ns = service_instance_namespace(SERVICE, INSTANCE)
    src = (
        "{{ service_instance.components.default }}|"
        "{{ service_instance.components.default.outputs }}|"
        "{{ service_instance.components.default.outputs.Q | default('none') }}"
    )
    assert one(src, ns, instance=INSTANCE) == "{}|{}|none"
    with_component = InstanceParams(
        name=INSTANCE.name,
        environment=ENV,
        inputs=INSTANCE.inputs,
        component=ComponentParams(name="comp", outputs=MappingProxyType({"Q": "queue"})),
    )
    out = one(src, ns, instance=with_component)
    assert out.endswith("|queue")
    assert "comp" in out


def test_undefined_name_fails_with_file_and_line() -> None:
    src = "a: 1\nb: {{ environment.inputs.nope }}\n"
    with pytest.raises(RenderError) as info:
        one(src, environment_namespace(ENV))
    assert info.value.file == "f.yaml"
    assert info.value.line == 2
    assert "nope" in info.value.reason
    assert str(info.value).startswith("f.yaml:2: ")


def test_syntax_error_has_line() -> None:
    with pytest.raises(RenderError, match=r"f.yaml:3: template syntax error") as info:
        one("a\nb\n{% if %}\n", {})
    assert info.value.line == 3


def test_missing_file_and_selection() -> None:
    files = {"a.yaml": "A{% include 'b.yaml' %}", "b.yaml": "B"}
    assert render(files, {}, names=["a.yaml"]) == {"a.yaml": "AB"}
    assert render(files, {}) == {"a.yaml": "AB", "b.yaml": "B"}
    with pytest.raises(RenderError, match=r"c\.yaml: file not found"):
        render(files, {}, names=["c.yaml"])


def test_cloudformation_dynamic_reference_escapes() -> None:
    src = "{% raw %}{{resolve:ssm:x}}{% endraw %} {{ '{{resolve:ssm:y}}' }}"
    assert one(src, {}) == "{{resolve:ssm:x}} {{resolve:ssm:y}}"


OUTPUTS = {"outputs": {"QueueArn": "arn:aws:sqs:us-east-1:123456789012:q", "Name": "n-1"}}


def test_ecs_env_vars_filter() -> None:
    out = one("{{ outputs | proton_cfn_ecs_task_definition_formatted_env_vars }}", OUTPUTS)
    assert json.loads(out) == [
        {"Name": "QueueArn", "Value": "arn:aws:sqs:us-east-1:123456789012:q"},
        {"Name": "Name", "Value": "n-1"},
    ]
    with pytest.raises(RenderError, match=r'Illegal character\(s\) detected in "arn:aws:sqs'):
        one("{{ outputs | proton_cfn_ecs_task_definition_formatted_env_vars(raw=False) }}", OUTPUTS)


def test_lambda_env_vars_filter() -> None:
    out = one("{{ outputs | proton_cfn_lambda_function_formatted_env_vars }}", OUTPUTS)
    assert json.loads(out) == OUTPUTS["outputs"]
    ok = one("{{ {'A': 'b_1'} | proton_cfn_lambda_function_formatted_env_vars(raw=False) }}", {})
    assert json.loads(ok) == {"A": "b_1"}
    with pytest.raises(RenderError, match="Illegal character"):
        one("{{ {'A': 'b c'} | proton_cfn_lambda_function_formatted_env_vars(False) }}", {})


def test_iam_policy_arns_filter() -> None:
    ns = {
        "o": {
            "P1": "arn:aws:iam::123456789012:policy/p1",
            "Role": "arn:aws:iam::123456789012:role/r",
            "P2": "arn:aws-cn:iam::123456789012:policy/path/p2",
            "X": "nope",
        }
    }
    out = one("{{ o | proton_cfn_iam_policy_arns }}", ns)
    assert json.loads(out) == [
        "arn:aws:iam::123456789012:policy/p1",
        "arn:aws-cn:iam::123456789012:policy/path/p2",
    ]
    assert json.loads(one("{{ {} | proton_cfn_iam_policy_arns }}", {})) == []


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("abc_DEF-1", True),
        ("", True),
        ("arn:aws:sqs:us-east-1:123456789012:q", True),
        ("arn:aws:s3:::bucket", True),
        ("a b", False),
        ("x;rm -rf", False),
        ("arn:aws", False),
        ("{{resolve:ssm:x}}", False),
    ],
)
def test_sanitize_filter(value: str, ok: bool) -> None:
    src = "{{ v | proton_cfn_sanitize }}"
    if ok:
        assert one(src, {"v": value}) == value
    else:
        with pytest.raises(RenderError) as info:
            one(src, {"v": value})
        assert info.value.reason == (
            f'Illegal character(s) detected in "{value}". '
            "Must match regex ^[a-zA-Z0-9_-]*$ or be a valid ARN"
        )


def test_filter_on_non_mapping_fails() -> None:
    with pytest.raises(RenderError, match="must be a mapping"):
        one("{{ 'x' | proton_cfn_iam_policy_arns }}", {})


@pytest.mark.parametrize(
    "src",
    [
        "{{ ''.__class__.__mro__ }}",
        "{{ environment.__init__.__globals__ }}",
        "{% set x = [] %}{{ x.append(1) }}",
        "{{ range(1000000) | list }}",
        "{{ 'a' * 100000000 }}",
        "{{ [1] * 100000000 }}",
        "{{ 2 ** 100000 }}",
        "{{ '%100000000d' % 1 }}",
        "{{ '{:>100000000}'.format(1) }}",
        "{{ '%100000000s' | format('x') }}",
        "{{ 'a' | center(1000000000) }}",
        "{{ [1] | batch(1000000000, 0) | list }}",
        "{% for i in range(99999) %}{% for j in range(99999) %}x{% endfor %}{% endfor %}",
    ],
)
def test_sandbox_refuses_unsafe_or_huge(src: str) -> None:
    with pytest.raises(RenderError):
        one(src, environment_namespace(ENV))


def test_output_cap_message() -> None:
    src = "{% for i in range(20000) %}" + "y" * 100 + "{% endfor %}"
    with pytest.raises(RenderError, match=f"exceeds {MAX_RENDERED_CHARS}"):
        one(src, {})


def test_ordinary_arithmetic_and_format_still_work() -> None:
    src = (
        "{{ 2 ** 10 }} {{ 'ab' * 3 }} {{ '%05d' % 42 }} {{ '{:>4}'.format(7) }} {{ 'x'|center(5) }}"
    )
    assert one(src, {}) == "1024 ababab 00042    7   x  "


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_arbitrary_template_text_renders_or_raises_render_error(src: str) -> None:
    try:
        out = one(src, service_instance_namespace(SERVICE, INSTANCE), instance=INSTANCE)
    except RenderError as exc:
        assert exc.file == "f.yaml"
        return
    assert isinstance(out, str)
