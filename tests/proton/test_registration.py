"""Registration checks over whole bundles: layout, sizes, manifests' files, schema."""

from __future__ import annotations

import json

import pytest

from hadron.proton.bundle import BundleError
from hadron.proton.registration import check_bundle, input_schemas_json
from tests.proton.bundles import example_bundle, example_files, tar_gz

CFN_MANIFEST = (
    "infrastructure:\n  templates:\n    - file: cloudformation.yaml\n"
    "      rendering_engine: jinja\n      template_language: cloudformation\n"
)
TF_MANIFEST = (
    'infrastructure:\n  templates:\n    - file: "*"\n'
    "      rendering_engine: hcl\n      template_language: terraform\n"
)


def _env(**extra: str) -> dict[str, bytes | str]:
    files: dict[str, bytes | str] = dict(example_files("environment-template"))
    files.update(extra)
    return files


def test_examples_register() -> None:
    env = check_bundle(example_bundle("environment-template"), kind="environment")
    assert env.schema_text.startswith("schema:")
    assert set(env.manifests) == {"infrastructure"}
    svc = check_bundle(example_bundle("service-template"), kind="service")
    assert set(svc.manifests) == {"instance_infrastructure", "pipeline_infrastructure"}
    stored = json.loads(input_schemas_json(svc.schema))
    assert stored["environment"] is None and stored["pipeline"]["title"] == "PipelineInput"


def test_cloudformation_and_terraform_layouts() -> None:
    cfn = {**_env(), "infrastructure/manifest.yaml": CFN_MANIFEST}
    with pytest.raises(BundleError, match=r"names file 'cloudformation\.yaml'"):
        check_bundle(tar_gz(cfn), kind="environment")
    cfn["infrastructure/cloudformation.yaml"] = "Resources: {}"
    assert check_bundle(tar_gz(cfn), kind="environment").manifests["infrastructure"].templates
    tf = {**_env(), "infrastructure/manifest.yaml": TF_MANIFEST}
    with pytest.raises(BundleError, match=r"matches no \.tf file"):
        check_bundle(tar_gz(tf), kind="environment")
    tf["infrastructure/main.tf"] = "variable x {}"
    assert check_bundle(tar_gz(tf), kind="environment").manifests["infrastructure"].templates


@pytest.mark.parametrize(
    ("drop", "add", "kind", "problem", "file"),
    [
        ("schema/schema.yaml", {}, "environment", "is missing", "schema/schema.yaml"),
        ("infrastructure/manifest.yaml", {}, "environment", "is missing",
         "infrastructure/manifest.yaml"),
        (None, {"pipeline/manifest.yaml": "x"}, "environment", "not expected at the bundle root",
         "pipeline"),
        (None, {"README.md": "x"}, "environment", "not expected", "README.md"),
        (None, {"schema/schema.yaml": "schema: [1"}, "environment", "not valid YAML",
         "schema/schema.yaml"),
        (None, {"infrastructure/manifest.yaml": "x" * (51 * 1024)}, "environment",
         "the limit is 51200", "infrastructure/manifest.yaml"),
        (None, {f"infrastructure/f{i}.sh": "x" for i in range(10)}, "environment",
         "11 template files", "bundle"),
    ],
    ids=["no-schema", "no-manifest", "pre-ga-dir", "stray-file", "bad-yaml", "big-manifest",
         "too-many-files"],
)  # fmt: skip
def test_layout_errors(
    drop: str | None, add: dict[str, str], kind: str, problem: str, file: str
) -> None:
    files = _env(**{})
    if drop:
        del files[drop]
    files.update(add)
    with pytest.raises(BundleError, match=problem) as info:
        check_bundle(tar_gz(files), kind="environment")
    assert info.value.file == file


def test_customer_managed_templates() -> None:
    schema_only = {"schema/schema.yaml": "schema:\n  format: {openapi: '3.0.0'}\n"
                   "  environment_input_type: In\n  types:\n    In:\n      type: object\n"
                   "      properties: {vpc: {type: string}}\n"}  # fmt: skip
    registered = check_bundle(tar_gz(schema_only), kind="environment", customer_managed=True)
    assert registered.manifests == {}
    with pytest.raises(BundleError, match="must not contain infrastructure files"):
        check_bundle(example_bundle("environment-template"), kind="environment",
                     customer_managed=True)  # fmt: skip
    svc = example_files("service-template")
    with pytest.raises(BundleError, match="pipelineProvisioning CUSTOMER_MANAGED"):
        check_bundle(tar_gz(svc), kind="service", customer_managed=True)
    no_pipeline = {k: v for k, v in svc.items() if not k.startswith("pipeline_")}
    with pytest.raises(BundleError, match="pipeline_input_type is not allowed"):
        check_bundle(tar_gz(no_pipeline), kind="service", customer_managed=True)
    with pytest.raises(BundleError, match=r"pipeline_infrastructure/manifest\.yaml"):
        check_bundle(tar_gz(no_pipeline), kind="service")
