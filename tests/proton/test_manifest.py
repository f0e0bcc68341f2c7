"""manifest.yaml parsing: engines, languages, codebuild settings, and the errors."""

from __future__ import annotations

import pytest

from hadron.proton.bundle import BundleError
from hadron.proton.manifest import parse_manifest
from tests.proton.bundles import example_files

P = "infrastructure/manifest.yaml"


def test_codebuild_example() -> None:
    manifest = parse_manifest(example_files("environment-template")[P], P)
    (template,) = manifest.templates
    assert manifest.rendering_engine == "codebuild" and template.file is None
    assert template.codebuild is not None
    assert template.codebuild.provision[1] == "python3 outputs.py > outputs.json"
    assert template.codebuild.deprovision == ('echo "Deprovisioning $RESOURCE_ARN"',)
    assert dict(template.codebuild.runtimes) == {"python": "3.11"}
    assert template.codebuild.input_type == "JSON"


@pytest.mark.parametrize(
    ("text", "engine", "language", "file"),
    [
        ("- {file: cloudformation.yaml, rendering_engine: jinja, "
         "template_language: cloudformation}", "jinja", "cloudformation", "cloudformation.yaml"),
        ('- {file: "*", rendering_engine: hcl, template_language: terraform}', "hcl",
         "terraform", "*"),
    ],
    ids=["cloudformation", "terraform"],
)  # fmt: skip
def test_cloudformation_and_terraform(text: str, engine: str, language: str, file: str) -> None:
    manifest = parse_manifest(f"infrastructure:\n  templates:\n  {text}\n".encode(), P)
    (template,) = manifest.templates
    assert (template.rendering_engine, template.template_language, template.file) == (
        engine, language, file,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("templates", "problem"),
    [
        ("[{file: a, rendering_engine: mustache, template_language: x}]",
         "rendering_engine 'mustache' is not supported"),
        ("[{file: a, engine: jinja, template_language: cloudformation}]", "pre-GA name"),
        ("[{file: a, rendering_engine: jinja, template_language: terraform}]",
         "needs template_language cloudformation, not 'terraform'"),
        ("[{rendering_engine: jinja, template_language: cloudformation}]", "file is required"),
        ("[{rendering_engine: codebuild}]", "settings is required"),
        ("[{rendering_engine: codebuild, settings: {deprovision: []}}]",
         "provision is required"),
        ("[{rendering_engine: codebuild, settings: {provision: []}}]", "at least one command"),
        ("[{rendering_engine: codebuild, settings: {provision: [1]}}]", "list of shell commands"),
        ("[{rendering_engine: codebuild, settings: {provision: [a], input_type: XML}}]",
         "JSON or HCL"),
        ("[{rendering_engine: codebuild, settings: {provision: [a], bogus: 1}}]",
         "unknown key 'bogus'"),
        ("[{rendering_engine: codebuild, file: x, settings: {provision: [a]}}]", "lists no file"),
        ("[{file: a.tf, rendering_engine: hcl, template_language: terraform}, "
         "{file: b, rendering_engine: jinja, template_language: cloudformation}]",
         "same rendering_engine"),
        ("[{file: a, rendering_engine: jinja, template_language: cloudformation}, "
         "{file: b, rendering_engine: jinja, template_language: cloudformation}]",
         "exactly one template"),
        ("[]", "non-empty list"),
    ],
)  # fmt: skip
def test_errors_name_the_problem(templates: str, problem: str) -> None:
    with pytest.raises(BundleError, match=problem) as info:
        parse_manifest(f"infrastructure:\n  templates: {templates}\n".encode(), P)
    assert info.value.file == P


def test_document_shape() -> None:
    with pytest.raises(BundleError, match="single key 'infrastructure'"):
        parse_manifest(b"- 1", P)
    with pytest.raises(BundleError, match="single key 'templates'"):
        parse_manifest(b"infrastructure: {templates: [], other: 1}", P)
