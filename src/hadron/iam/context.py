"""The request context: who asks, for what action on which resources, with which context keys.

Layer 4 (pure): standard library and ``hadron.iam`` modules only. The time is whatever the caller
puts in ``aws:CurrentTime``/``aws:EpochTime`` (STYLE §9: time is an input).

Context values (security.md §5) are normalised once per request: key names lower-cased (condition
keys are case-insensitive, including the tag-key suffix of ``aws:ResourceTag/…``); values become
strings (``True`` → ``"true"``, ``7`` → ``"7"``, a ``datetime`` → ISO-8601 UTC with ``Z``, bytes
→ base64) or tuples of strings for multivalued keys (lists); an empty list is an absent key.

Keys derived from the ``principal`` ARN (``aws:PrincipalArn``, ``aws:PrincipalAccount``,
``aws:PrincipalType``, ``aws:username``, ``aws:userid`` where derivable,
``aws:PrincipalIsAWSService``, ``aws:PrincipalServiceName``) and ``aws:ResourceAccount`` (from
``resource_account``) are filled in **only when the context does not give them**.

Keys that hold for one resource only (AWS evaluates ``aws:ResourceTag/…`` per resource) come
separately, resource ARN → keys (:func:`resource_values`): the evaluator adds them to the
request's keys (overriding any of the same name) while it evaluates that resource, and never
for another one of the same request.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from hadron.iam.conditions import remember_date, remembered_text
from hadron.iam.principals import Caller, CallerType, identify
from hadron.iam.variables import ContextValues

__all__ = [
    "ContextValue",
    "RequestContext",
    "context_values",
    "request_resources",
    "resource_owner",
    "resource_values",
]

Scalar = str | bool | int | datetime | bytes
#: What a caller may put in ``context``: a value, or a list of values for a multivalued key.
ContextValue = Scalar | Sequence[Scalar]


def _utc_text(value: datetime) -> str:
    """``value`` in UTC as ISO-8601 with ``Z`` (a naive datetime is taken to be UTC)."""
    moment = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    text = remembered_text(moment)  # the same instant as the last one formatted
    if text is None:
        utc = moment if moment.tzinfo is UTC else moment.astimezone(UTC)
        text = utc.replace(tzinfo=None).isoformat() + "Z"
        remember_date(text, moment)  # the Date operators read the instant, not the text back
    return text


def _scalar(value: object) -> str:
    kind = type(value)
    if kind is bool:
        return "true" if value else "false"
    if kind is datetime:
        return _utc_text(value)  # type: ignore[arg-type]
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, datetime):
        return _utc_text(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    raise TypeError(f"unsupported context value {value!r}")


_MANY = (list, tuple, set, frozenset)
# Context key names as given → lower-cased (the same few names arrive on every request).
_LOWER_KEYS: dict[str, str] = {}
_LOWER_KEYS_SIZE = 1024


def context_values(
    context: Mapping[str, ContextValue] | None, caller: Caller, resource_account: str | None
) -> dict[str, str | tuple[str, ...]]:
    """The normalised context: the caller's derived keys, overridden by ``context``."""
    values: dict[str, str | tuple[str, ...]] = dict(caller.derived)
    if context:
        keys = _LOWER_KEYS
        for name, value in context.items():
            key = keys.get(name)
            if key is None:
                key = name.lower()
                if len(keys) >= _LOWER_KEYS_SIZE:
                    keys.clear()
                keys[name] = key
            kind = type(value)
            if kind is str:
                values[key] = value  # type: ignore[assignment]  # kind is str
            elif kind is bool:
                values[key] = "true" if value else "false"
            elif kind is datetime:
                values[key] = _utc_text(value)  # type: ignore[arg-type]  # kind is datetime
            elif kind is int:
                values[key] = str(value)
            elif isinstance(value, str):
                values[key] = value
            elif isinstance(value, _MANY):
                many = tuple(value)
                for item in many:
                    if type(item) is not str:
                        many = tuple([_scalar(v) for v in many])
                        break
                if many:
                    values[key] = many
                else:
                    values.pop(key, None)
            else:
                values[key] = _scalar(value)
    if resource_account is not None:
        values.setdefault("aws:resourceaccount", resource_account)
    return values


# No derived keys: normalises per-resource additions with ``context_values`` (same rules).
_NOBODY = Caller(None, CallerType.OTHER, None, None, None, {})


def resource_values(
    resource_context: Mapping[str, Mapping[str, ContextValue]] | None,
) -> dict[str, ContextValues] | None:
    """Per-resource context additions (resource ARN → keys that hold for that resource only,
    such as its ``aws:ResourceTag/…``), normalised like :func:`context_values`. ``None`` when
    there are none, so the evaluator's common path tests one ``None``."""
    if not resource_context:
        return None
    out: dict[str, ContextValues] = {}
    for resource, context in resource_context.items():
        if context:
            out[resource] = context_values(context, _NOBODY, None)
    return out or None


def request_resources(resource: str | Sequence[str] | None) -> tuple[str, ...]:
    """``None``, ``[]`` → ``("*",)`` (no resource-level permissions); one ARN → a 1-tuple."""
    if resource is None:
        return ("*",)  # actions without resource-level permissions
    if isinstance(resource, str):
        return (resource,)
    return tuple(resource) or ("*",)


def resource_owner(resource: str, resource_account: str | None, caller: Caller) -> str | None:
    """The account owning ``resource``: ``resource_account``, else the ARN's account field, else
    the caller's own account (a resource without an account, such as ``*``, is same-account)."""
    if resource_account is not None:
        return resource_account
    parts = resource.split(":", 5)
    if len(parts) == 6 and parts[0] == "arn" and parts[4]:
        return parts[4]
    return caller.account


@dataclass(frozen=True, slots=True)
class RequestContext:
    """Everything ``authorize`` evaluates except the policies. Build with :meth:`build`."""

    caller: Caller
    action: str
    resources: tuple[str, ...]
    resource_account: (
        str | None
    )  # None: derived per resource (its ARN's account, else the caller's)
    values: ContextValues
    # Resource ARN → keys for that resource only (its ``aws:ResourceTag/…``), normalised.
    per_resource: Mapping[str, ContextValues] | None = None

    @property
    def principal(self) -> str | None:
        return self.caller.principal

    @classmethod
    def build(
        cls,
        *,
        principal: str | None,
        action: str,
        resource: str | Sequence[str] | None = None,
        resource_account: str | None = None,
        context: Mapping[str, ContextValue] | None = None,
        resource_context: Mapping[str, Mapping[str, ContextValue]] | None = None,
    ) -> RequestContext:
        """Normalise the request. ``resource``: one ARN, a list of ARNs (each must be allowed),
        or ``None``/``"*"`` for actions without resource-level permissions.
        ``resource_context``: keys that hold for one resource only (see ``authorize``). Raises
        ``TypeError`` for a context value of an unsupported type."""
        caller = identify(principal)
        values = context_values(context, caller, resource_account)
        return cls(
            caller,
            action,
            request_resources(resource),
            resource_account,
            values,
            resource_values(resource_context),
        )
