"""Proton ARNs: build them and read them back (proton.md §2.1).

Layer 4 (pure). Region and account are the caller's; the partition is ``aws`` (as in
``hadron.authz_map``). A resource is named by its ``resource`` part, e.g.
``environment-template/simple-env:1.0``; :func:`parse` splits that into a :class:`ProtonArn`
whose ``resource_type`` is the IAM resource type (§8.1) and ``parts`` the names in it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal

__all__ = [
    "TEMPLATE_KINDS",
    "ProtonArn",
    "TemplateKind",
    "parse",
    "repository_arn",
    "template_arn",
    "version_arn",
]

TemplateKind = Literal["environment", "service"]
TEMPLATE_KINDS: Final[tuple[TemplateKind, ...]] = ("environment", "service")

_NAME = r"[0-9A-Za-z]+[0-9A-Za-z_\-]*"
_PART = r"0|[1-9]\d*"
_ARN = re.compile(r"arn:(aws|aws-cn|aws-us-gov):proton:([a-z0-9-]+):(\d{12}):(.+)", re.DOTALL)
_RESOURCES: Final = (
    ("environment-template", re.compile(rf"environment-template/({_NAME})")),
    (
        "environment-template-version",
        re.compile(rf"environment-template/({_NAME}):({_PART})\.({_PART})"),
    ),
    ("service-template", re.compile(rf"service-template/({_NAME})")),
    ("service-template-version", re.compile(rf"service-template/({_NAME}):({_PART})\.({_PART})")),
    ("environment", re.compile(rf"environment/({_NAME})")),
    ("service", re.compile(rf"service/({_NAME})")),
    ("service-instance", re.compile(rf"service/({_NAME})/service-instance/({_NAME})")),
    ("component", re.compile(rf"component/({_NAME})")),
    (
        "environment-account-connection",
        re.compile(
            r"environment-account-connection/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})"
        ),
    ),
    ("repository", re.compile(r"repository/(github|github_enterprise|bitbucket):(.+/.+)")),
)


@dataclass(frozen=True, slots=True)
class ProtonArn:
    """A parsed Proton ARN: ``resource_type`` as in IAM (§8.1), ``parts`` the names in order
    (template versions: name, major, minor)."""

    arn: str
    region: str
    account_id: str
    resource_type: str
    parts: tuple[str, ...]


def template_arn(region: str, account_id: str, kind: TemplateKind, name: str) -> str:
    return f"arn:aws:proton:{region}:{account_id}:{kind}-template/{name}"


def repository_arn(region: str, account_id: str, provider: str, name: str) -> str:
    """A linked repository's ARN: the provider lower-cased, the name with its ``/``."""
    return f"arn:aws:proton:{region}:{account_id}:repository/{provider.lower()}:{name}"


def version_arn(template: str, major: int, minor: int) -> str:
    """A template version's ARN from its template's ARN."""
    return f"{template}:{major}.{minor}"


def parse(arn: str) -> ProtonArn | None:
    """The Proton resource ``arn`` names, or ``None`` if it names no Proton resource."""
    match = _ARN.fullmatch(arn)
    if match is None:
        return None
    _partition, region, account_id, resource = match.groups()
    for resource_type, pattern in _RESOURCES:
        found = pattern.fullmatch(resource)
        if found is not None:
            return ProtonArn(arn, region, account_id, resource_type, found.groups())
    return None
