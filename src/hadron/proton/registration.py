"""What registering a template version checks: bundle layout, file limits, manifests, schema.

Layer 4 (pure). Spec: proton.md §2.4 (registration validation), §5.1 (layout), §9 (limits).
``check_bundle`` takes the bundle bytes and the template's facts and returns a
:class:`RegisteredBundle` or raises :class:`~hadron.proton.bundle.BundleError`, whose text
becomes the version's ``statusMessage`` (``"<file>: <problem>"``).

Layouts:

* environment template: ``schema/schema.yaml`` + ``infrastructure/manifest.yaml`` and the files
  it names; customer-managed (``provisioning=CUSTOMER_MANAGED``): ``schema/`` only;
* service template: ``schema/schema.yaml``, ``instance_infrastructure/`` and — unless
  ``pipelineProvisioning=CUSTOMER_MANAGED`` (no Proton pipeline) — ``pipeline_infrastructure/``.

Nothing else may sit at the bundle root (this refuses the pre-GA ``pipeline/`` directory too).
Limits: manifest and schema ≤ 50 KB each, any other file ≤ 200 KB, ≤ 10 template files (the
files of the infrastructure directories other than their manifests).
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from hadron.proton.arns import TemplateKind
from hadron.proton.bundle import Bundle, BundleError, unpack
from hadron.proton.manifest import Manifest, parse_manifest
from hadron.proton.schema import TemplateSchema, parse_schema

__all__ = [
    "MAX_MANIFEST_BYTES",
    "MAX_SCHEMA_BYTES",
    "MAX_TEMPLATE_FILES",
    "RegisteredBundle",
    "check_bundle",
    "input_schemas_json",
]

MAX_MANIFEST_BYTES: Final = 50 * 1024
MAX_SCHEMA_BYTES: Final = 50 * 1024
MAX_TEMPLATE_FILES: Final = 10
_SCHEMA = "schema/schema.yaml"


@dataclass(frozen=True, slots=True)
class RegisteredBundle:
    """A bundle that passed registration: the raw schema text (returned as ``schema``), its
    JSON Schemas, and the manifest of each infrastructure directory."""

    schema_text: str
    schema: TemplateSchema
    manifests: Mapping[str, Manifest]
    bundle: Bundle


def _directories(kind: TemplateKind, customer_managed: bool) -> tuple[str, ...]:
    if kind == "environment":
        return () if customer_managed else ("infrastructure",)
    return ("instance_infrastructure",) if customer_managed else (
        "instance_infrastructure", "pipeline_infrastructure",
    )  # fmt: skip


def _check_files(directory: str, manifest: Manifest, files: Mapping[str, bytes]) -> None:
    path = f"{directory}/manifest.yaml"
    for template in manifest.templates:
        if template.file is None:  # codebuild: the commands use whatever the directory holds
            continue
        if template.file == "*":
            if template.rendering_engine != "hcl":
                raise BundleError(path, "file '*' is allowed for rendering_engine hcl only")
            if not any(posixpath.dirname(f) == "" and f.endswith(".tf") for f in files):
                raise BundleError(path, f"file '*' matches no .tf file in {directory}/")
            continue
        if template.file not in files:
            raise BundleError(path, f"names file '{template.file}', which is not in {directory}/")


def _check_layout(bundle: Bundle, kind: TemplateKind, customer_managed: bool) -> tuple[str, ...]:
    directories = _directories(kind, customer_managed)
    allowed = {"schema", *directories}
    for top in sorted(bundle.top_level()):
        if top not in allowed:
            if kind == "environment" and customer_managed and top == "infrastructure":
                raise BundleError(
                    "infrastructure/",
                    "a customer-managed environment template's bundle must not contain "
                    "infrastructure files",
                )
            if kind == "service" and customer_managed and top == "pipeline_infrastructure":
                raise BundleError(
                    "pipeline_infrastructure/",
                    "the service template has pipelineProvisioning CUSTOMER_MANAGED (no "
                    "pipeline); remove this directory",
                )
            raise BundleError(
                top,
                f"is not expected at the bundle root; {'an' if kind == 'environment' else 'a'} "
                f"{kind} template bundle holds "
                f"{', '.join(d + '/' for d in sorted(allowed))}",
            )
    if _SCHEMA not in bundle.files:
        raise BundleError(_SCHEMA, "is missing; every bundle needs schema/schema.yaml")
    for directory in directories:
        if f"{directory}/manifest.yaml" not in bundle.files:
            raise BundleError(f"{directory}/manifest.yaml", "is missing")
    return directories


def _check_sizes(bundle: Bundle, directories: tuple[str, ...]) -> None:
    manifests = {f"{d}/manifest.yaml" for d in directories}
    template_files = 0
    for path, data in bundle.files.items():
        if path == _SCHEMA or path in manifests:
            limit = MAX_SCHEMA_BYTES if path == _SCHEMA else MAX_MANIFEST_BYTES
            if len(data) > limit:
                raise BundleError(path, f"is {len(data)} bytes; the limit is {limit} (50 KB)")
        elif path.split("/", 1)[0] in directories:
            template_files += 1
    if template_files > MAX_TEMPLATE_FILES:
        raise BundleError(
            "bundle",
            f"has {template_files} template files; the limit is {MAX_TEMPLATE_FILES}",
        )


def check_bundle(
    data: bytes, *, kind: TemplateKind, customer_managed: bool = False
) -> RegisteredBundle:
    """Everything registration checks, in order: archive safety, layout, sizes, manifests,
    schema. ``customer_managed`` is the template's ``provisioning`` (environment) or
    ``pipelineProvisioning`` (service) being CUSTOMER_MANAGED."""
    bundle = unpack(data)
    directories = _check_layout(bundle, kind, customer_managed)
    _check_sizes(bundle, directories)
    manifests: dict[str, Manifest] = {}
    for directory in directories:
        files = bundle.under(directory)
        manifest = parse_manifest(files.pop("manifest.yaml"), f"{directory}/manifest.yaml")
        _check_files(directory, manifest, files)
        manifests[directory] = manifest
    schema_bytes = bundle.files[_SCHEMA]
    has_pipeline = kind == "service" and not customer_managed
    schema = parse_schema(
        schema_bytes,
        kind=kind,
        has_pipeline=has_pipeline,
        customer_managed=customer_managed and kind == "environment",
    )
    return RegisteredBundle(
        schema_text=schema_bytes.decode("utf-8"),
        schema=schema,
        manifests=MappingProxyType(manifests),
        bundle=bundle,
    )


def input_schemas_json(schema: TemplateSchema) -> str:
    """The JSON Schemas as stored with a version (``{"environment": …, "service": …, …}``)."""
    return json.dumps(
        {
            "environment": schema.environment_input,
            "service": schema.service_input,
            "pipeline": schema.pipeline_input,
        },
        sort_keys=True,
    )
