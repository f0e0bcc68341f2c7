"""The Service Authorization Reference as data: operation → IAM action, resource ARNs, keys.

Layer 4 (pure): no I/O, no imports from Hadron (an import-linter contract forbids I/O modules).
Spec: proton.md §2.1 (ARN formats), §8.1 (resource types, condition keys), §8.2 (the 111 IAM
actions: 87 API operations plus 24 permission-only ones); security.md §5 (``aws:RequestTag/…``,
``aws:TagKeys``, ``sts:*`` keys).

* :data:`PROTON` — one :class:`Entry` per Proton IAM action (all 111). The 87 with
  ``permission_only=False`` are exactly the operations of botocore's Proton model; every one's
  IAM action is ``proton:<Operation>`` (no operation is authorized under another name). The 24
  permission-only names (pre-GA ``*MajorVersion``/``*MinorVersion``/``*AccountRoles`` and
  ``GetResourceTemplateVersionStatusCounts``) parse in policies but no request ever asks for
  them.
* :data:`EC2` and :data:`STS` — the EC2 VPC-endpoint operations and STS's AssumeRole family;
  any other operation of a served service is authorized as ``<service>:<Operation>`` on ``*``.
* :func:`authorization` builds, for one request, the action, the resource ARN(s) (``*`` when
  the action has no resource-level permission) and the service condition keys the action
  supports: ``proton:EnvironmentTemplate``/``proton:ServiceTemplate`` (the template's ARN, not a
  version), ``aws:RequestTag/<k>`` and ``aws:TagKeys`` (only when the request passes tags), the
  ``sts:*`` keys of AssumeRole.

``proton:*`` keys of actions on an *existing* environment or service (update, delete, cancel,
create instance) name that resource's template: they need a :class:`RelatedTemplates` lookup;
without one (or when the resource does not exist) the key is absent, as for any absent key.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol

__all__ = [
    "DEFAULT_REGION",
    "EC2",
    "ENVIRONMENT_TEMPLATE_KEY",
    "PROTON",
    "RESOURCE_TYPES",
    "SERVICE_TEMPLATE_KEY",
    "STS",
    "TAG_KEYS",
    "Authorization",
    "Entry",
    "RelatedTemplates",
    "Resource",
    "TemplateKey",
    "authorization",
    "entry",
    "permission_only_actions",
]

#: The region of a request that names none (IAM is global and reports ``us-east-1``).
DEFAULT_REGION: Final = "us-east-1"
ENVIRONMENT_TEMPLATE_KEY: Final = "proton:EnvironmentTemplate"
SERVICE_TEMPLATE_KEY: Final = "proton:ServiceTemplate"
REQUEST_TAG_KEY: Final = "aws:RequestTag/${TagKey}"
TAG_KEYS_KEY: Final = "aws:TagKeys"
#: The tag keys of an action that accepts tags.
TAG_KEYS: Final = (REQUEST_TAG_KEY, TAG_KEYS_KEY)

#: IAM resource type → (service, ARN resource part with ``{0}``, ``{1}``… for the params).
RESOURCE_TYPES: Final[Mapping[str, tuple[str, str]]] = {
    "environment-template": ("proton", "environment-template/{0}"),
    "environment-template-version": ("proton", "environment-template/{0}:{1}.{2}"),
    "environment-template-major-version": ("proton", "environment-template/{0}:{1}"),
    "service-template": ("proton", "service-template/{0}"),
    "service-template-version": ("proton", "service-template/{0}:{1}.{2}"),
    "service-template-major-version": ("proton", "service-template/{0}:{1}"),
    "environment": ("proton", "environment/{0}"),
    "service": ("proton", "service/{0}"),
    "service-instance": ("proton", "service/{0}/service-instance/{1}"),
    "environment-account-connection": ("proton", "environment-account-connection/{0}"),
    "repository": ("proton", "repository/{0}:{1}"),  # {0}: the provider, lower-cased
    "component": ("proton", "component/{0}"),
    "deployment": ("proton", "deployment/{0}"),
    "vpc-endpoint": ("ec2", "vpc-endpoint/{0}"),
    "role": ("iam", "role/{0}"),  # only as given in ``RoleArn``
}
#: Pseudo resource type: the ARN is the request parameter itself (``resourceArn``, ``RoleArn``).
ARN_PARAM: Final = "arn"
#: Pseudo resource type: every value of a list parameter is one resource.
_EACH: Final = "each:"


@dataclass(frozen=True, slots=True)
class Resource:
    """One resource an action acts on: its IAM type and the request params that fill its ARN.

    ``required=False``: used only when the request gives all its params (e.g. ``deploymentId``
    of the ``List*Outputs`` actions, the filters of ``ListComponents``). ``literal``: the value
    of a segment not taken from the request (``vpc-endpoint/*`` for a new endpoint).
    """

    type: str
    params: tuple[str, ...] = ()
    required: bool = True
    literal: str | None = None
    each: bool = False  # the single param is a list: one ARN per value


@dataclass(frozen=True, slots=True)
class TemplateKey:
    """Where a ``proton:*Template`` key's value comes from.

    ``source``: ``"template"`` — ``param`` names the template itself; ``"environment"`` /
    ``"service"`` — ``param`` names an existing environment / service whose template it is.
    """

    key: str
    source: str
    param: str


@dataclass(frozen=True, slots=True)
class Entry:
    """One row of the Service Authorization Reference, plus how to build it for a request."""

    service: str
    name: str  # the API operation, or the permission-only action's name
    level: str  # Read | Write | List | Tagging
    resources: tuple[Resource, ...] = ()
    condition_keys: tuple[str, ...] = ()
    template: TemplateKey | None = None
    permission_only: bool = False
    first_only: bool = False  # use only the first applicable (optional) resource
    tags: str | None = None  # tag style of the request: "proton" | "sts" | "ec2"
    param_keys: tuple[tuple[str, str], ...] = ()  # (condition key, request param)

    @property
    def action(self) -> str:
        return f"{self.service}:{self.name}"

    @property
    def resource_types(self) -> tuple[str, ...]:
        return tuple(r.type for r in self.resources)


class RelatedTemplates(Protocol):
    """Looks up the template of an existing environment / service (names, ``None`` if absent)."""

    def environment_template(self, account: str, region: str, environment: str) -> str | None: ...

    def service_template(self, account: str, region: str, service: str) -> str | None: ...


@dataclass(frozen=True, slots=True)
class Authorization:
    """What one request asks for: the action, its resources, its service condition keys."""

    action: str
    resources: tuple[str, ...]
    context: Mapping[str, str | list[str]]

    @property
    def resource(self) -> str | list[str]:
        """The one resource ARN, or the list when the action acts on several."""
        return self.resources[0] if len(self.resources) == 1 else list(self.resources)


# --- the Proton table (§8.2) -------------------------------------------------------------------

_R = Resource
_ENV_TK = ENVIRONMENT_TEMPLATE_KEY
_SVC_TK = SERVICE_TEMPLATE_KEY
_ENV_KEYS = (_ENV_TK,)
_SVC_KEYS = (_SVC_TK,)


def _p(
    name: str,
    level: str,
    *resources: Resource,
    keys: tuple[str, ...] = (),
    template: TemplateKey | None = None,
    first_only: bool = False,
) -> Entry:
    tags = "proton" if REQUEST_TAG_KEY in keys or TAG_KEYS_KEY in keys else None
    return Entry(
        "proton",
        name,
        level,
        resources,
        keys,
        template=template,
        first_only=first_only,
        tags=tags,
    )


def _po(name: str, level: str, resource_type: str | None, keys: tuple[str, ...] = ()) -> Entry:
    resources = () if resource_type is None else (_R(resource_type),)
    return Entry("proton", name, level, resources, keys, permission_only=True)


def _env(param: str = "name") -> Resource:
    return _R("environment", (param,))


def _svc(param: str = "name") -> Resource:
    return _R("service", (param,))


def _inst(service: str = "serviceName", name: str = "name") -> Resource:
    return _R("service-instance", (service, name))


def _cmp(param: str = "name") -> Resource:
    return _R("component", (param,))


def _eac() -> Resource:
    return _R("environment-account-connection", ("id",))


def _repo() -> Resource:
    return _R("repository", ("provider", "name"))


def _etpl(param: str = "name") -> Resource:
    return _R("environment-template", (param,))


def _stpl(param: str = "name") -> Resource:
    return _R("service-template", (param,))


def _etv() -> Resource:
    return _R("environment-template-version", ("templateName", "majorVersion", "minorVersion"))


def _stv() -> Resource:
    return _R("service-template-version", ("templateName", "majorVersion", "minorVersion"))


def _deployment(param: str = "id", *, required: bool = True) -> Resource:
    return _R("deployment", (param,), required=required)


_TAGGED = _R(ARN_PARAM, ("resourceArn",))


def _from_template(key: str) -> TemplateKey:
    return TemplateKey(key, "template", "templateName")


def _of_env(param: str) -> TemplateKey:
    return TemplateKey(_ENV_TK, "environment", param)


def _of_svc(param: str) -> TemplateKey:
    return TemplateKey(_SVC_TK, "service", param)


_W, _RD, _L, _T = "Write", "Read", "List", "Tagging"

_PROTON_ENTRIES: tuple[Entry, ...] = (
    _p("AcceptEnvironmentAccountConnection", _W, _eac()),
    _p("CancelComponentDeployment", _W, _cmp("componentName")),
    _p(
        "CancelEnvironmentDeployment",
        _W,
        _env("environmentName"),
        keys=_ENV_KEYS,
        template=_of_env("environmentName"),
    ),
    _p(
        "CancelServiceInstanceDeployment",
        _W,
        _inst("serviceName", "serviceInstanceName"),
        keys=_SVC_KEYS,
        template=_of_svc("serviceName"),
    ),
    _p(
        "CancelServicePipelineDeployment",
        _W,
        _svc("serviceName"),
        keys=_SVC_KEYS,
        template=_of_svc("serviceName"),
    ),
    _p("CreateComponent", _W, _cmp(), keys=TAG_KEYS),
    _p(
        "CreateEnvironment",
        _W,
        _env(),
        keys=(*TAG_KEYS, _ENV_TK),
        template=_from_template(_ENV_TK),
    ),
    _p("CreateEnvironmentAccountConnection", _W, keys=TAG_KEYS),
    _p("CreateEnvironmentTemplate", _W, _etpl(), keys=TAG_KEYS),
    _po("CreateEnvironmentTemplateMajorVersion", _W, "environment-template", TAG_KEYS),
    _po("CreateEnvironmentTemplateMinorVersion", _W, "environment-template", TAG_KEYS),
    _p("CreateEnvironmentTemplateVersion", _W, _etpl("templateName"), keys=TAG_KEYS),
    _p("CreateRepository", _W, _repo(), keys=TAG_KEYS),
    _p(
        "CreateService",
        _W,
        _svc(),
        keys=(*TAG_KEYS, _SVC_TK),
        template=_from_template(_SVC_TK),
    ),
    _p(
        "CreateServiceInstance",
        _W,
        _inst(),
        keys=(*TAG_KEYS, _SVC_TK),
        template=_of_svc("serviceName"),
    ),
    _p("CreateServiceSyncConfig", _W),
    _p("CreateServiceTemplate", _W, _stpl(), keys=TAG_KEYS),
    _po("CreateServiceTemplateMajorVersion", _W, "service-template", TAG_KEYS),
    _po("CreateServiceTemplateMinorVersion", _W, "service-template", TAG_KEYS),
    _p("CreateServiceTemplateVersion", _W, _stpl("templateName"), keys=TAG_KEYS),
    _p("CreateTemplateSyncConfig", _W),
    _po("DeleteAccountRoles", _W, None),
    _p("DeleteComponent", _W, _cmp()),
    _p("DeleteDeployment", _W, _deployment()),
    _p("DeleteEnvironment", _W, _env(), keys=_ENV_KEYS, template=_of_env("name")),
    _p("DeleteEnvironmentAccountConnection", _W, _eac()),
    _p("DeleteEnvironmentTemplate", _W, _etpl()),
    _po("DeleteEnvironmentTemplateMajorVersion", _W, "environment-template"),
    _po("DeleteEnvironmentTemplateMinorVersion", _W, "environment-template"),
    _p("DeleteEnvironmentTemplateVersion", _W, _etv()),
    _p("DeleteRepository", _W, _repo()),
    _p("DeleteService", _W, _svc(), keys=_SVC_KEYS, template=_of_svc("name")),
    _p("DeleteServiceSyncConfig", _W),
    _p("DeleteServiceTemplate", _W, _stpl()),
    _po("DeleteServiceTemplateMajorVersion", _W, "service-template"),
    _po("DeleteServiceTemplateMinorVersion", _W, "service-template"),
    _p("DeleteServiceTemplateVersion", _W, _stv()),
    _p("DeleteTemplateSyncConfig", _W),
    _po("GetAccountRoles", _RD, None),
    _p("GetAccountSettings", _RD),
    _p("GetComponent", _RD, _cmp()),
    _p("GetDeployment", _RD, _deployment()),
    _p("GetEnvironment", _RD, _env()),
    _p("GetEnvironmentAccountConnection", _RD, _eac()),
    _p("GetEnvironmentTemplate", _RD, _etpl()),
    _po("GetEnvironmentTemplateMajorVersion", _RD, "environment-template"),
    _po("GetEnvironmentTemplateMinorVersion", _RD, "environment-template"),
    _p("GetEnvironmentTemplateVersion", _RD, _etv()),
    _p("GetRepository", _RD, _repo()),
    _p("GetRepositorySyncStatus", _RD),
    _po("GetResourceTemplateVersionStatusCounts", _RD, None),
    _p("GetResourcesSummary", _RD),
    _p("GetService", _RD, _svc()),
    _p("GetServiceInstance", _RD, _inst()),
    _p("GetServiceInstanceSyncStatus", _RD),
    _p("GetServiceSyncBlockerSummary", _RD),
    _p("GetServiceSyncConfig", _RD),
    _p("GetServiceTemplate", _RD, _stpl()),
    _po("GetServiceTemplateMajorVersion", _RD, "service-template"),
    _po("GetServiceTemplateMinorVersion", _RD, "service-template"),
    _p("GetServiceTemplateVersion", _RD, _stv()),
    _p("GetTemplateSyncConfig", _RD),
    _p("GetTemplateSyncStatus", _RD),
    _p(
        "ListComponentOutputs",
        _L,
        _cmp("componentName"),
        _deployment("deploymentId", required=False),
    ),
    _p("ListComponentProvisionedResources", _L, _cmp("componentName")),
    _p(
        "ListComponents",
        _L,
        _R("service-instance", ("serviceName", "serviceInstanceName"), required=False),
        _R("service", ("serviceName",), required=False),
        _R("environment", ("environmentName",), required=False),
        first_only=True,
    ),
    _p("ListDeployments", _L),
    _p("ListEnvironmentAccountConnections", _L),
    _p(
        "ListEnvironmentOutputs",
        _L,
        _env("environmentName"),
        _deployment("deploymentId", required=False),
    ),
    _p("ListEnvironmentProvisionedResources", _L, _env("environmentName")),
    _po("ListEnvironmentTemplateMajorVersions", _L, "environment-template"),
    _po("ListEnvironmentTemplateMinorVersions", _L, "environment-template"),
    _p("ListEnvironmentTemplateVersions", _L, _etpl("templateName")),
    _p("ListEnvironmentTemplates", _L),
    _p("ListEnvironments", _L),
    _p("ListRepositories", _L),
    _p("ListRepositorySyncDefinitions", _L),
    _p(
        "ListServiceInstanceOutputs",
        _L,
        _inst("serviceName", "serviceInstanceName"),
        _svc("serviceName"),
        _deployment("deploymentId", required=False),
    ),
    _p(
        "ListServiceInstanceProvisionedResources",
        _L,
        _inst("serviceName", "serviceInstanceName"),
        _svc("serviceName"),
    ),
    _p("ListServiceInstances", _L),
    _p(
        "ListServicePipelineOutputs",
        _L,
        _svc("serviceName"),
        _deployment("deploymentId", required=False),
    ),
    _p("ListServicePipelineProvisionedResources", _L, _svc("serviceName")),
    _po("ListServiceTemplateMajorVersions", _L, "service-template"),
    _po("ListServiceTemplateMinorVersions", _L, "service-template"),
    _p("ListServiceTemplateVersions", _L, _stpl("templateName")),
    _p("ListServiceTemplates", _L),
    _p("ListServices", _L),
    _p("ListTagsForResource", _RD, _TAGGED),
    _p("NotifyResourceDeploymentStatusChange", _W, _TAGGED),
    _p("RejectEnvironmentAccountConnection", _W, _eac()),
    _p("TagResource", _T, _TAGGED, keys=TAG_KEYS),
    _p("UntagResource", _T, _TAGGED, keys=(TAG_KEYS_KEY,)),
    _po("UpdateAccountRoles", _W, None),
    _p("UpdateAccountSettings", _W),
    _p("UpdateComponent", _W, _cmp()),
    _p("UpdateEnvironment", _W, _env(), keys=_ENV_KEYS, template=_of_env("name")),
    _p("UpdateEnvironmentAccountConnection", _W, _eac()),
    _p("UpdateEnvironmentTemplate", _W, _etpl()),
    _po("UpdateEnvironmentTemplateMajorVersion", _W, "environment-template"),
    _po("UpdateEnvironmentTemplateMinorVersion", _W, "environment-template"),
    _p("UpdateEnvironmentTemplateVersion", _W, _etv()),
    _p("UpdateService", _W, _svc(), keys=_SVC_KEYS, template=_of_svc("name")),
    _p(
        "UpdateServiceInstance",
        _W,
        _inst(),
        keys=_SVC_KEYS,
        template=_of_svc("serviceName"),
    ),
    _p(
        "UpdateServicePipeline",
        _W,
        _svc("serviceName"),
        keys=_SVC_KEYS,
        template=_of_svc("serviceName"),
    ),
    _p("UpdateServiceSyncBlocker", _W),
    _p("UpdateServiceSyncConfig", _W),
    _p("UpdateServiceTemplate", _W, _stpl()),
    _po("UpdateServiceTemplateMajorVersion", _W, "service-template"),
    _po("UpdateServiceTemplateMinorVersion", _W, "service-template"),
    _p("UpdateServiceTemplateVersion", _W, _stv()),
    _p("UpdateTemplateSyncConfig", _W),
)

#: Every Proton IAM action (111), by name.
PROTON: Final[Mapping[str, Entry]] = {e.name: e for e in _PROTON_ENTRIES}

_VPCE_KEYS = (REQUEST_TAG_KEY, TAG_KEYS_KEY)
#: The EC2 operations Hadron authorizes with resource-level permissions.
EC2: Final[Mapping[str, Entry]] = {
    e.name: e
    for e in (
        Entry(
            "ec2",
            "CreateVpcEndpoint",
            _W,
            (_R("vpc-endpoint", literal="*"),),
            _VPCE_KEYS,
            tags="ec2",
        ),
        Entry("ec2", "DescribeVpcEndpoints", _L),
        Entry("ec2", "ModifyVpcEndpoint", _W, (_R("vpc-endpoint", ("VpcEndpointId",)),)),
        Entry(
            "ec2", "DeleteVpcEndpoints", _W, (_R("vpc-endpoint", ("VpcEndpointIds",), each=True),)
        ),
    )
}

_ASSUME_KEYS = (
    REQUEST_TAG_KEY,
    TAG_KEYS_KEY,
    "sts:ExternalId",
    "sts:RoleSessionName",
    "sts:SourceIdentity",
    "sts:TransitiveTagKeys",
)
#: The STS operations whose resource is a role; every other STS operation acts on ``*``.
STS: Final[Mapping[str, Entry]] = {
    e.name: e
    for e in (
        Entry(
            "sts",
            "AssumeRole",
            _W,
            (_R(ARN_PARAM, ("RoleArn",)),),
            _ASSUME_KEYS,
            tags="sts",
            param_keys=(
                ("sts:ExternalId", "ExternalId"),
                ("sts:RoleSessionName", "RoleSessionName"),
                ("sts:SourceIdentity", "SourceIdentity"),
                ("sts:TransitiveTagKeys", "TransitiveTagKeys"),
            ),
        ),
        Entry(
            "sts",
            "AssumeRoleWithSAML",
            _W,
            (_R(ARN_PARAM, ("RoleArn",)),),
            ("sts:SourceIdentity",),
        ),
        Entry(
            "sts",
            "AssumeRoleWithWebIdentity",
            _W,
            (_R(ARN_PARAM, ("RoleArn",)),),
            ("sts:RoleSessionName", "sts:SourceIdentity"),
            param_keys=(("sts:RoleSessionName", "RoleSessionName"),),
        ),
    )
}

_TABLES: Final[Mapping[str, Mapping[str, Entry]]] = {"proton": PROTON, "ec2": EC2, "sts": STS}


def entry(service: str, operation: str) -> Entry | None:
    """The table entry of an API operation (``None``: no entry; the action acts on ``*``)."""
    found = _TABLES.get(service, {}).get(operation)
    return None if found is None or found.permission_only else found


def permission_only_actions() -> frozenset[str]:
    """The IAM actions that exist only in policies (no API operation asks for them)."""
    return frozenset(e.action for e in PROTON.values() if e.permission_only)


# --- building one request's authorization -------------------------------------------------------


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _arn(resource_type: str, values: Sequence[str], account: str, region: str) -> str:
    service, part = RESOURCE_TYPES[resource_type]
    if resource_type == "repository":
        values = (values[0].lower(), *values[1:])
    return f"arn:aws:{service}:{region}:{account}:{part.format(*values)}"


def _resources(
    found: Entry, params: Mapping[str, Any], account: str, region: str
) -> tuple[str, ...]:
    out: list[str] = []
    for res in found.resources:
        if res.type == ARN_PARAM:
            value = _text(params.get(res.params[0]))
            if value is not None:
                out.append(value)
            elif res.required:
                return ("*",)  # refused by validation before authorization in practice
            continue
        if res.literal is not None:
            out.append(_arn(res.type, (res.literal,), account, region))
            continue
        if res.each:
            raw = params.get(res.params[0])
            ids = [v for v in raw if _text(v)] if isinstance(raw, list) else []
            if not ids:
                return ("*",)
            out.extend(_arn(res.type, (v,), account, region) for v in ids)
            continue
        values = [_text(params.get(p)) for p in res.params]
        if all(v is not None for v in values):
            out.append(_arn(res.type, [v for v in values if v is not None], account, region))
            if found.first_only:
                break
        elif res.required:
            return ("*",)
    return tuple(out) or ("*",)


def _request_tags(style: str, params: Mapping[str, Any]) -> list[tuple[str, str]]:
    def pairs(raw: Any, key: str, value: str) -> list[tuple[str, str]]:
        if not isinstance(raw, list):
            return []
        return [
            (str(t[key]), str(t.get(value, "")))
            for t in raw
            if isinstance(t, Mapping) and isinstance(t.get(key), str)
        ]

    if style == "proton":
        return pairs(params.get("tags"), "key", "value")
    if style == "sts":
        return pairs(params.get("Tags"), "Key", "Value")
    # ec2: TagSpecifications=[{ResourceType, Tags=[{Key, Value}]}]
    specs = params.get("TagSpecifications")
    out: list[tuple[str, str]] = []
    for spec in specs if isinstance(specs, list) else []:
        if isinstance(spec, Mapping):
            out.extend(pairs(spec.get("Tags"), "Key", "Value"))
    return out


def _template_value(
    tk: TemplateKey,
    params: Mapping[str, Any],
    account: str,
    region: str,
    related: RelatedTemplates | None,
) -> str | None:
    name = _text(params.get(tk.param))
    if name is None:
        return None
    if tk.source != "template":
        if related is None:
            return None
        if tk.source == "environment":
            name = related.environment_template(account, region, name)
        else:
            name = related.service_template(account, region, name)
        if name is None:
            return None
    kind = "environment-template" if tk.key == ENVIRONMENT_TEMPLATE_KEY else "service-template"
    return _arn(kind, (name,), account, region)


def authorization(
    service: str,
    operation: str,
    params: Mapping[str, Any],
    *,
    account: str,
    region: str,
    related: RelatedTemplates | None = None,
) -> Authorization:
    """The action, resource ARN(s) and service condition keys of one request.

    ``account``/``region``: the caller's (Proton resources live in the caller's account and
    the request's region). Operations without an entry act on ``*`` with no service keys.
    """
    found = entry(service, operation)
    if found is None:
        return Authorization(f"{service}:{operation}", ("*",), {})
    context: dict[str, str | list[str]] = {}
    if found.tags is not None:
        if found.name == "UntagResource":
            keys = params.get("tagKeys")
            names = [k for k in keys if isinstance(k, str)] if isinstance(keys, list) else []
            if names:
                context[TAG_KEYS_KEY] = names
        else:
            tags = _request_tags(found.tags, params)
            for key, value in tags:
                context[f"aws:RequestTag/{key}"] = value
            if tags:
                context[TAG_KEYS_KEY] = [key for key, _ in tags]
    for key, param in found.param_keys:
        given = params.get(param)
        if isinstance(given, str) and given:
            context[key] = given
        elif isinstance(given, list) and given:
            context[key] = [str(v) for v in given]
    if found.template is not None:
        template = _template_value(found.template, params, account, region, related)
        if template is not None:
            context[found.template.key] = template
    return Authorization(found.action, _resources(found, params, account, region), context)
