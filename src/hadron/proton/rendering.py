"""Proton parameter namespaces, sandboxed Jinja rendering and the CodeBuild input file.

Layer: pure core (no I/O, no clock; imports no asyncio/sockets/store). Implements proton.md §5.5
(parameter namespace and ``proton_cfn_*`` filters) and §6.2 (``proton-inputs.json``).

* A *namespace* is the plain JSON document of Proton parameters a template sees, built from typed
  values by :func:`environment_namespace`, :func:`service_instance_namespace`,
  :func:`pipeline_namespace` and :func:`component_namespace`. The same document, as JSON, is the
  CodeBuild input file (:func:`proton_inputs_json`): the AWS example for a service instance is
  ``{"service_instance": {"name", "inputs"}, "service": {"name"}, "environment": {"account_id",
  "name", "outputs"}}``. Input values keep their JSON types there; outputs are always strings.
* :func:`render` renders template files with ``jinja2.sandbox.ImmutableSandboxedEnvironment`` and
  ``StrictUndefined``: referencing an undefined name fails rendering (the deployment then
  FAILS); the built-in ``default`` filter is the documented escape hatch. Template-only
  aliases are added on top of the namespace: ``service_instance.environment`` (same as
  ``environment``) and ``service_instance.components.default`` which, when no component is
  attached, renders as ``{}`` and has empty ``outputs``.
* Resource use is bounded: the sandbox's range limit, ``*``/``**`` on big operands is refused, and
  a rendered file may not exceed :data:`MAX_RENDERED_CHARS`.

Filters render their structured results as JSON flow collections, which are valid YAML at any
indentation and valid in JSON CloudFormation templates alike (AWS documents "YAML list"/"YAML map";
the flow style is our choice).

Errors: :class:`RenderError` carries the file name, the 1-based line (when known) and the reason.
"""

from __future__ import annotations

import json
import re
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import jinja2
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from hadron.proton.specs import EMPTY_INPUTS, Inputs, thaw

__all__ = [
    "EMPTY_OUTPUTS",
    "MAX_RENDERED_CHARS",
    "ComponentParams",
    "EnvironmentParams",
    "InstanceParams",
    "Outputs",
    "RenderError",
    "ServiceParams",
    "component_namespace",
    "environment_namespace",
    "pipeline_namespace",
    "proton_inputs_json",
    "render",
    "service_instance_namespace",
]

Outputs = Mapping[str, str]
EMPTY_OUTPUTS: Outputs = MappingProxyType({})
#: Largest rendered file (CloudFormation's template body limit is 1 MB).
MAX_RENDERED_CHARS = 1_000_000
_MAX_REPEAT = 100_000

_SAFE_VALUE = re.compile(r"^[a-zA-Z0-9_-]*$")
_ARN = re.compile(r"^arn:[a-zA-Z0-9-]+:[a-zA-Z0-9-]+:[a-zA-Z0-9-]*:(\d{12})?:\S+$")
_POLICY_ARN = re.compile(r"^arn:[a-zA-Z-]+:iam::\d{12}:policy/")


class RenderError(Exception):
    """A template file failed to render; ``str()`` is ``file:line: reason``."""

    def __init__(self, file: str, line: int | None, reason: str) -> None:
        where = f"{file}:{line}" if line is not None else file
        super().__init__(f"{where}: {reason}")
        self.file = file
        self.line = line
        self.reason = reason


@dataclass(frozen=True, slots=True)
class EnvironmentParams:
    """What a template may know about an environment."""

    name: str
    inputs: Inputs = field(default_factory=lambda: EMPTY_INPUTS)
    outputs: Outputs = field(default_factory=lambda: EMPTY_OUTPUTS)
    account_id: str = ""


@dataclass(frozen=True, slots=True)
class ServiceParams:
    """A service; the repository fields exist only for services with a pipeline."""

    name: str
    repository_id: str | None = None
    repository_connection_arn: str | None = None
    branch_name: str | None = None


@dataclass(frozen=True, slots=True)
class ComponentParams:
    """A directly defined component attached to an instance."""

    name: str
    outputs: Outputs = field(default_factory=lambda: EMPTY_OUTPUTS)


@dataclass(frozen=True, slots=True)
class InstanceParams:
    """A service instance; ``outputs`` are used by pipeline templates."""

    name: str
    environment: EnvironmentParams
    inputs: Inputs = field(default_factory=lambda: EMPTY_INPUTS)
    outputs: Outputs = field(default_factory=lambda: EMPTY_OUTPUTS)
    component: ComponentParams | None = None


def _service(service: ServiceParams) -> dict[str, Any]:
    out: dict[str, Any] = {"name": service.name}
    for key in ("repository_id", "repository_connection_arn", "branch_name"):
        value = getattr(service, key)
        if value is not None:
            out[key] = value
    return out


def _env_with_outputs(env: EnvironmentParams) -> dict[str, Any]:
    return {"account_id": env.account_id, "name": env.name, "outputs": dict(env.outputs)}


def environment_namespace(env: EnvironmentParams) -> dict[str, Any]:
    """Environment IaC: ``environment.name`` and ``environment.inputs`` (no other outputs)."""
    return {"environment": {"name": env.name, "inputs": thaw(env.inputs)}}


def service_instance_namespace(service: ServiceParams, instance: InstanceParams) -> dict[str, Any]:
    """Service instance IaC: ``service``, ``service_instance`` and the environment's outputs."""
    return {
        "service_instance": {"name": instance.name, "inputs": thaw(instance.inputs)},
        "service": _service(service),
        "environment": _env_with_outputs(instance.environment),
    }


def pipeline_namespace(
    service: ServiceParams, inputs: Inputs, instances: Sequence[InstanceParams]
) -> dict[str, Any]:
    """Pipeline IaC: ``pipeline.inputs``, ``service`` and every instance with its outputs."""
    return {
        "pipeline": {"inputs": thaw(inputs)},
        "service": _service(service),
        "service_instances": [
            {
                "name": item.name,
                "inputs": thaw(item.inputs),
                "outputs": dict(item.outputs),
                "environment": _env_with_outputs(item.environment),
            }
            for item in instances
        ],
    }


def component_namespace(
    name: str,
    environment: EnvironmentParams,
    service: ServiceParams | None = None,
    instance: InstanceParams | None = None,
) -> dict[str, Any]:
    """Component IaC: ``component.name``, the environment and, when attached, service/instance."""
    out: dict[str, Any] = {
        "component": {"name": name},
        "environment": {"name": environment.name, "outputs": dict(environment.outputs)},
    }
    if service is not None and instance is not None:
        out["service"] = {"name": service.name}
        out["service_instance"] = {"name": instance.name, "inputs": thaw(instance.inputs)}
    return out


def proton_inputs_json(namespace: Mapping[str, Any]) -> str:
    """The ``proton-inputs.json`` text CodeBuild commands read (proton.md §6.2)."""
    return json.dumps(namespace, indent=2, sort_keys=False, allow_nan=False) + "\n"


class _NoComponent(dict[str, Any]):
    """``service_instance.components.default`` without a component: prints ``{}``."""

    @property
    def outputs(self) -> Mapping[str, str]:
        return EMPTY_OUTPUTS


def _template_context(
    namespace: Mapping[str, Any], instance: InstanceParams | None
) -> dict[str, Any]:
    context = dict(namespace)
    if "service_instance" in context and "environment" in context:
        si = dict(context["service_instance"])
        si["environment"] = context["environment"]
        component = instance.component if instance is not None else None
        default: Any = (
            {"name": component.name, "outputs": dict(component.outputs)}
            if component is not None
            else _NoComponent()
        )
        si["components"] = {"default": default}
        context["service_instance"] = si
    return context


# -- filters (proton.md §5.5) ------------------------------------------------------------------


def _illegal(value: object) -> jinja2.TemplateRuntimeError:
    return jinja2.TemplateRuntimeError(
        f'Illegal character(s) detected in "{value}". '
        "Must match regex ^[a-zA-Z0-9_-]*$ or be a valid ARN"
    )


def _checked(values: Mapping[str, Any], raw: bool) -> list[tuple[str, str]]:
    if not isinstance(values, Mapping):
        raise jinja2.TemplateRuntimeError("filter input must be a mapping of outputs")
    pairs = [(str(k), str(v)) for k, v in values.items()]
    if not raw:
        for _, value in pairs:
            if not _SAFE_VALUE.match(value):
                raise _illegal(value)
    return pairs


def ecs_task_definition_formatted_env_vars(values: Mapping[str, Any], raw: bool = True) -> str:
    """Outputs → ``[{"Name": k, "Value": v}, ...]`` for ECS container ``Environment``."""
    return json.dumps([{"Name": k, "Value": v} for k, v in _checked(values, raw)])


def lambda_function_formatted_env_vars(values: Mapping[str, Any], raw: bool = True) -> str:
    """Outputs → ``{k: v, ...}`` for Lambda ``Environment.Variables``."""
    return json.dumps(dict(_checked(values, raw)))


def iam_policy_arns(values: Mapping[str, Any]) -> str:
    """The values that are IAM managed-policy ARNs, as a list (for ``ManagedPolicyArns``)."""
    return json.dumps([v for _, v in _checked(values, True) if _POLICY_ARN.match(v)])


def sanitize(value: object) -> str:
    """The value itself if it is ``^[a-zA-Z0-9_-]*$`` or a valid ARN; rendering fails otherwise."""
    text = str(value)
    if _SAFE_VALUE.match(text) or _ARN.match(text):
        return text
    raise _illegal(text)


FILTERS: Mapping[str, Callable[..., str]] = MappingProxyType(
    {
        "proton_cfn_ecs_task_definition_formatted_env_vars": ecs_task_definition_formatted_env_vars,
        "proton_cfn_lambda_function_formatted_env_vars": lambda_function_formatted_env_vars,
        "proton_cfn_iam_policy_arns": iam_policy_arns,
        "proton_cfn_sanitize": sanitize,
    }
)


_BIG_WIDTH = re.compile(r"[%:][^a-zA-Z%{}]*?\d{5,}")
_BOUNDED_FILTERS = ("center", "indent", "batch", "slice", "truncate", "wordwrap")


def _check_format(fmt: object) -> None:
    if isinstance(fmt, str) and _BIG_WIDTH.search(fmt):
        raise SecurityError("format width or precision too large")


def _bounded(func: Callable[..., Any]) -> Callable[..., Any]:
    """A built-in filter whose integer arguments (widths, counts) are at most 10 000."""

    def wrapper(value: Any, *args: Any, **kwargs: Any) -> Any:
        for arg in (*args, *kwargs.values()):
            if isinstance(arg, int) and not isinstance(arg, bool) and abs(arg) > 10_000:
                raise SecurityError("filter argument too large")
        return func(value, *args, **kwargs)

    return wrapper


class _Sandbox(ImmutableSandboxedEnvironment):
    """The sandbox plus bounds on ``*``, ``**``, ``%`` and format widths: no one expression may
    exhaust memory (Jinja's sandbox limits only ``range``)."""

    intercepted_binops = frozenset(["*", "**", "%"])

    def call_binop(
        self, context: jinja2.runtime.Context, operator: str, left: Any, right: Any
    ) -> Any:
        if operator == "**":
            if isinstance(right, int | float) and abs(right) > 64:
                raise SecurityError("exponent too large")
            return left**right
        if operator == "%":
            _check_format(left)
            return left % right
        for seq, count in ((left, right), (right, left)):
            if isinstance(seq, str | list | tuple) and isinstance(count, int):
                if len(seq) * count > _MAX_REPEAT:
                    raise SecurityError("repetition result too large")
        return left * right

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        """``"...".format(...)`` in a template: check the format string, then the sandbox's own."""
        _check_format(getattr(value, "__self__", None))
        return super().wrap_str_format(value)


def _environment(files: Mapping[str, str]) -> _Sandbox:
    def load(name: str) -> tuple[str, str, Callable[[], bool]] | None:
        source = files.get(name)
        return None if source is None else (source, name, lambda: True)

    env = _Sandbox(
        loader=jinja2.FunctionLoader(load),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        auto_reload=False,
    )
    for name in _BOUNDED_FILTERS:
        env.filters[name] = _bounded(env.filters[name])
    builtin_format = env.filters["format"]

    def checked_format(value: Any, *args: Any, **kwargs: Any) -> Any:
        _check_format(value)
        return builtin_format(value, *args, **kwargs)

    env.filters["format"] = checked_format
    env.filters.update(FILTERS)
    return env


def _line_of(exc: BaseException, name: str) -> int | None:
    lineno = getattr(exc, "lineno", None)
    if isinstance(lineno, int) and getattr(exc, "filename", name) in (name, None):
        return lineno
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if frame.filename == name:
            return frame.lineno
    return None


def _render_one(env: _Sandbox, name: str, context: Mapping[str, Any]) -> str:
    try:
        template = env.get_template(name)
        parts: list[str] = []
        size = 0
        for chunk in template.generate(context):
            size += len(chunk)
            if size > MAX_RENDERED_CHARS:
                raise RenderError(
                    name, None, f"rendered file exceeds {MAX_RENDERED_CHARS} characters"
                )
            parts.append(chunk)
        return "".join(parts)
    except RenderError:
        raise
    except jinja2.TemplateSyntaxError as exc:
        raise RenderError(name, exc.lineno, f"template syntax error: {exc.message}") from None
    except jinja2.UndefinedError as exc:
        raise RenderError(name, _line_of(exc, name), exc.message or "undefined") from None
    except (jinja2.TemplateError, ArithmeticError, TypeError, ValueError) as exc:
        message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
        raise RenderError(name, _line_of(exc, name), message) from None
    except RecursionError:
        raise RenderError(name, None, "template recursion too deep") from None


def render(
    files: Mapping[str, str],
    namespace: Mapping[str, Any],
    *,
    names: Sequence[str] | None = None,
    instance: InstanceParams | None = None,
) -> dict[str, str]:
    """Render template files with the Proton namespace; returns ``{file name: rendered text}``.

    ``files`` maps file names (as listed in the manifest) to their text; ``names`` selects which of
    them to render (default: all, in sorted order); the others are only reachable by
    ``{% include %}``. ``instance`` supplies the attached component for
    ``service_instance.components.default`` in instance templates. Raises :class:`RenderError`.
    """
    env = _environment(files)
    context = _template_context(namespace, instance)
    chosen = sorted(files) if names is None else list(names)
    out: dict[str, str] = {}
    for name in chosen:
        if name not in files:
            raise RenderError(name, None, "file not found in the template bundle")
        out[name] = _render_one(env, name, context)
    return out
