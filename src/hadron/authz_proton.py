"""The Proton table of the Service Authorization Reference: all 111 IAM actions as data.

Layer 4 (pure): no I/O, no imports from Hadron but the pure ``hadron.authz_entries`` (an
import-linter contract forbids I/O modules). Split out of ``hadron.authz_map``, which re-exports
:data:`PROTON`. Spec: proton.md §2.1 (ARN formats), §8.1 (resource types, condition keys), §8.2
(the 111 IAM actions: 87 API operations plus 24 permission-only ones).

:data:`PROTON` has one :class:`~hadron.authz_entries.Entry` per Proton IAM action. The 87 with
``permission_only=False`` are exactly the operations of botocore's Proton model; every one's IAM
action is ``proton:<Operation>``. The 24 permission-only names (pre-GA ``*MajorVersion``,
``*MinorVersion``, ``*AccountRoles`` and ``GetResourceTemplateVersionStatusCounts``) parse in
policies but no request ever asks for them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from hadron.authz_entries import (
    ARN_PARAM,
    ENVIRONMENT_TEMPLATE_KEY,
    REQUEST_TAG_KEY,
    SERVICE_TEMPLATE_KEY,
    TAG_KEYS,
    TAG_KEYS_KEY,
    Entry,
    Resource,
    TemplateKey,
)

__all__ = ["PROTON"]

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
