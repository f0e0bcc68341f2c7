"""``manifest.yaml`` of an infrastructure directory: which engine renders which files.

Layer 4 (pure). Spec: proton.md §5.2. Valid (rendering_engine, template_language) pairs are
(jinja, cloudformation) with exactly one file, (hcl, terraform) with ``file: "*"`` or named
``.tf`` files, and (codebuild, —) with ``settings`` holding the ``provision`` and
``deprovision`` shell commands. Pre-GA keys (``engine:``) and anything unknown are refused with a
:class:`~hadron.proton.bundle.BundleError` naming the manifest and the key.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final, Literal

from hadron.proton.bundle import BundleError, load_yaml

__all__ = [
    "ENGINES",
    "CodeBuildSettings",
    "InfrastructureTemplate",
    "Manifest",
    "parse_manifest",
]

ENGINES: Final = {"jinja": "cloudformation", "hcl": "terraform", "codebuild": None}
"""rendering_engine → the template_language it requires (codebuild: none)."""

_TEMPLATE_KEYS: Final = frozenset({"file", "rendering_engine", "template_language", "settings"})
_SETTINGS_KEYS: Final = frozenset(
    {"image", "runtimes", "env", "provision", "deprovision", "project_properties", "input_type"}
)


@dataclass(frozen=True, slots=True)
class CodeBuildSettings:
    """``settings`` of a codebuild template: commands run in the bundle directory."""

    provision: tuple[str, ...]
    deprovision: tuple[str, ...]
    image: str | None = None
    runtimes: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    env_variables: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    project_properties: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    input_type: Literal["JSON", "HCL"] = "JSON"


@dataclass(frozen=True, slots=True)
class InfrastructureTemplate:
    rendering_engine: str
    template_language: str | None
    file: str | None
    codebuild: CodeBuildSettings | None = None


@dataclass(frozen=True, slots=True)
class Manifest:
    templates: tuple[InfrastructureTemplate, ...]

    @property
    def rendering_engine(self) -> str:
        return self.templates[0].rendering_engine


def _strings(value: Any, path: str, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise BundleError(path, f"{where} must be a list of shell commands (strings)")
    return tuple(value)


def _string_map(value: Any, path: str, where: str) -> Mapping[str, str]:
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str | int | float | bool) for k, v in value.items()
    ):
        raise BundleError(path, f"{where} must be a map of names to values")
    return MappingProxyType({k: str(v) for k, v in value.items()})


def _codebuild(settings: Any, path: str) -> CodeBuildSettings:
    where = "infrastructure.templates[0].settings"
    if not isinstance(settings, dict):
        raise BundleError(path, f"{where} is required for rendering_engine codebuild")
    unknown = sorted(str(k) for k in settings if k not in _SETTINGS_KEYS)
    if unknown:
        raise BundleError(path, f"{where}: unknown key '{unknown[0]}'")
    if "provision" not in settings:
        raise BundleError(path, f"{where}.provision is required (a list of shell commands)")
    provision = _strings(settings["provision"], path, f"{where}.provision")
    if not provision:
        raise BundleError(path, f"{where}.provision must list at least one command")
    deprovision = _strings(settings.get("deprovision", []), path, f"{where}.deprovision")
    image = settings.get("image")
    if image is not None and not isinstance(image, str):
        raise BundleError(path, f"{where}.image must be a string")
    env = settings.get("env", {})
    if not isinstance(env, dict):
        raise BundleError(path, f"{where}.env must be a map")
    variables = _string_map(env.get("variables", {}), path, f"{where}.env.variables")
    properties = settings.get("project_properties", {})
    if not isinstance(properties, dict):
        raise BundleError(path, f"{where}.project_properties must be a map")
    input_type = settings.get("input_type", "JSON")
    if input_type not in ("JSON", "HCL"):
        raise BundleError(path, f"{where}.input_type must be JSON or HCL, not '{input_type}'")
    return CodeBuildSettings(
        provision=provision,
        deprovision=deprovision,
        image=image,
        runtimes=_string_map(settings.get("runtimes", {}), path, f"{where}.runtimes"),
        env_variables=variables,
        project_properties=MappingProxyType(dict(properties)),
        input_type=input_type,
    )


def _template(entry: Any, index: int, path: str) -> InfrastructureTemplate:
    where = f"infrastructure.templates[{index}]"
    if not isinstance(entry, dict):
        raise BundleError(path, f"{where} must be a map")
    if "engine" in entry:
        raise BundleError(path, f"{where}: 'engine' is the pre-GA name; use 'rendering_engine'")
    unknown = sorted(str(k) for k in entry if k not in _TEMPLATE_KEYS)
    if unknown:
        raise BundleError(path, f"{where}: unknown key '{unknown[0]}'")
    engine = entry.get("rendering_engine")
    if engine not in ENGINES:
        raise BundleError(
            path,
            f"{where}.rendering_engine '{engine}' is not supported; use jinja "
            "(CloudFormation), hcl (Terraform) or codebuild",
        )
    language = entry.get("template_language")
    required = ENGINES[engine]
    if language != required:
        expected = "no template_language" if required is None else f"template_language {required}"
        raise BundleError(
            path, f"{where}: rendering_engine {engine} needs {expected}, not '{language}'"
        )
    file = entry.get("file")
    if engine == "codebuild":
        if file is not None:
            raise BundleError(path, f"{where}: a codebuild template lists no file")
        return InfrastructureTemplate(engine, None, None, _codebuild(entry.get("settings"), path))
    if not isinstance(file, str) or not file:
        raise BundleError(path, f"{where}.file is required for rendering_engine {engine}")
    if "settings" in entry:
        raise BundleError(path, f"{where}: settings apply to rendering_engine codebuild only")
    return InfrastructureTemplate(engine, language, file)


def parse_manifest(data: bytes, path: str) -> Manifest:
    """The manifest at ``path`` (for messages), or BundleError."""
    document = load_yaml(data, path)
    if not isinstance(document, dict) or set(document) != {"infrastructure"}:
        raise BundleError(path, "must be a map with the single key 'infrastructure'")
    infrastructure = document["infrastructure"]
    if not isinstance(infrastructure, dict) or set(infrastructure) != {"templates"}:
        raise BundleError(path, "infrastructure must be a map with the single key 'templates'")
    entries = infrastructure["templates"]
    if not isinstance(entries, list) or not entries:
        raise BundleError(path, "infrastructure.templates must be a non-empty list")
    templates = tuple(_template(e, i, path) for i, e in enumerate(entries))
    engines = {t.rendering_engine for t in templates}
    if len(engines) > 1:
        raise BundleError(path, "all infrastructure.templates must use the same rendering_engine")
    if engines & {"jinja", "codebuild"} and len(templates) > 1:
        raise BundleError(
            path, f"rendering_engine {templates[0].rendering_engine} takes exactly one template"
        )
    return Manifest(templates)
