"""The Service Authorization Reference as data: operation → IAM action, resource ARNs, keys.

Layer 4 (pure): no I/O, no imports from Hadron but its pure siblings ``hadron.authz_entries``
(the row types and keys) and ``hadron.authz_proton`` (the Proton table), whose public names it
re-exports (an import-linter contract forbids I/O modules).
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
from typing import Any, Final

from hadron.authz_entries import (
    ARN_PARAM,
    DEFAULT_REGION,
    ENVIRONMENT_TEMPLATE_KEY,
    REQUEST_TAG_KEY,
    RESOURCE_TYPES,
    SERVICE_TEMPLATE_KEY,
    TAG_KEYS,
    TAG_KEYS_KEY,
    Authorization,
    Entry,
    RelatedTemplates,
    Resource,
    TemplateKey,
)
from hadron.authz_proton import PROTON

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


_R = Resource
_W, _L = "Write", "List"

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
    found: Entry,
    params: Mapping[str, Any],
    account: str,
    region: str,
    related: RelatedTemplates | None = None,
) -> tuple[str, ...]:
    out: list[str] = []
    for res in found.resources:
        if res.type == "environment-account-connection" and related is not None:
            # The connection's ARN is in its environment account, also when the management
            # account accepts, rejects or reads it (proton.md §2.1); unknown ids: the caller's.
            value = _text(params.get(res.params[0]))
            owner = None if value is None else related.connection_account(region, value)
            if value is not None and owner is not None:
                out.append(_arn(res.type, (value,), owner, region))
                continue
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
    return Authorization(found.action, _resources(found, params, account, region, related), context)
