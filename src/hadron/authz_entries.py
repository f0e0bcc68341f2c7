"""The Service Authorization Reference's vocabulary: resource types, keys and table rows.

Layer 4 (pure): no I/O, no imports from Hadron (an import-linter contract forbids I/O modules).
Split out of ``hadron.authz_map``, which re-exports the public names. Spec: proton.md §2.1 (ARN
formats), §8.1 (resource types, condition keys); security.md §5 (``aws:RequestTag/…``,
``aws:TagKeys``).

* :class:`Entry` — one row of a service's table (``hadron.authz_proton``, ``hadron.authz_map``);
  :class:`Resource` and :class:`TemplateKey` say how a request fills its ARNs and template key.
* :class:`Authorization` — what one request asks for; :class:`RelatedTemplates` — the lookup of
  an existing environment's / service's template.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Protocol

__all__ = [
    "ARN_PARAM",
    "DEFAULT_REGION",
    "ENVIRONMENT_TEMPLATE_KEY",
    "REQUEST_TAG_KEY",
    "RESOURCE_TYPES",
    "SERVICE_TEMPLATE_KEY",
    "TAG_KEYS",
    "TAG_KEYS_KEY",
    "Authorization",
    "Entry",
    "RelatedTemplates",
    "Resource",
    "TemplateKey",
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
    """Looks up the template of an existing environment / service (names, ``None`` if absent),
    and the account that owns an environment account connection's ARN (its environment
    account, which may not be the caller's: the management account accepts and rejects it)."""

    def environment_template(self, account: str, region: str, environment: str) -> str | None: ...

    def service_template(self, account: str, region: str, service: str) -> str | None: ...

    def connection_account(self, region: str, connection_id: str) -> str | None: ...


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
