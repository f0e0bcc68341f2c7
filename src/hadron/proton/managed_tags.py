"""The AWS-managed tags Proton puts on the resources it creates (proton.md §1.5).

Layer 4 (pure). Keys ``aws:proton:account``, ``aws:proton:template``, ``aws:proton:environment``,
``aws:proton:service``, ``aws:proton:service-instance`` and ``aws:proton:component``; values the
account id or the ARN of the related resource. Customers can neither set nor remove ``aws:``
keys, and they do not count toward the 50-tag limit; ListTagsForResource shows them with the
customer's tags.

Which resource carries which keys (UNCONFIRMED; the user guide shows it only as a diagram): each
resource carries the account, its template (a template carries its own ARN) and itself; a
resource also carries its parents' — a template version its template's, a service instance its
service's and its environment's, a component its environment's (and, when created attached, its
service's and service instance's). Environment account connections and repositories carry none.
"""

from __future__ import annotations

__all__ = ["managed_tags"]

_PREFIX = "aws:proton:"


def managed_tags(
    account_id: str,
    *,
    template: str | None = None,
    environment: str | None = None,
    service: str | None = None,
    service_instance: str | None = None,
    component: str | None = None,
) -> list[tuple[str, str]]:
    """The managed tags of a new resource, given the ARNs it relates to."""
    out = [(f"{_PREFIX}account", account_id)]
    for key, value in (
        ("template", template),
        ("environment", environment),
        ("service", service),
        ("service-instance", service_instance),
        ("component", component),
    ):
        if value is not None:
            out.append((f"{_PREFIX}{key}", value))
    return out
