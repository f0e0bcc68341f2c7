"""Who is calling, and whether a policy's ``Principal``/``NotPrincipal`` names them.

Layer 4 (pure): standard library and ``hadron.iam.arn`` only.

Implements security.md §4.6 (IAM User Guide, "AWS JSON policy elements: Principal") and the
principal-derived global keys of §5 (``aws:PrincipalArn``, ``aws:PrincipalAccount``,
``aws:PrincipalType``, ``aws:username``, ``aws:userid``, ``aws:PrincipalIsAWSService``,
``aws:PrincipalServiceName``).

A ``Principal`` entry matches the caller at one of four strengths (:class:`Match`), because a
same-account resource policy treats them differently (§4.9 step 5):

* ``DIRECT``  — ``*``, the exact user / role-session / federated-user ARN, the user's unique id,
  a service or federated principal: a grant on its own in the same account;
* ``SESSION`` — the role ARN (or ``AROA…`` id) of a role session, or the IAM user behind a
  federated-user session: still limited by the boundary;
* ``ACCOUNT`` — the account id or ``arn:…:iam::<acct>:root``: delegation to the account, never a
  grant on its own.

Partial wildcards inside principal values are invalid (use ``aws:PrincipalArn`` with ``ArnLike``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import IntEnum, StrEnum
from functools import lru_cache

from hadron.iam.arn import try_parse_arn
from hadron.iam.variables import ContextValues

__all__ = [
    "PRINCIPAL_TYPES",
    "Caller",
    "CallerType",
    "Match",
    "PrincipalMatcher",
    "identify",
    "principal_value_error",
]

#: The keys a ``Principal`` object may have.
PRINCIPAL_TYPES = ("AWS", "Service", "Federated", "CanonicalUser")

_ACCOUNT_ID = re.compile(r"\d{12}")
_UNIQUE_ID = re.compile(r"A[A-Z0-9]{3}[A-Z0-9]{12,124}")


class CallerType(StrEnum):
    """The caller's kind; the value is what ``aws:PrincipalType`` reports (§5)."""

    ACCOUNT = "Account"  # the root user
    USER = "User"
    FEDERATED_USER = "FederatedUser"
    ASSUMED_ROLE = "AssumedRole"
    ROLE = "Role"  # a role ARN used as a caller (not a session); only exact matches apply
    SERVICE = "AWSService"
    ANONYMOUS = "Anonymous"
    OTHER = "Other"  # an ARN of no principal kind: matches only ``*`` and its own account


class Match(IntEnum):
    NONE = 0
    ACCOUNT = 1
    SESSION = 2
    DIRECT = 3


@dataclass(frozen=True, slots=True)
class Caller:
    """The caller derived from the ``principal`` string (cached per string)."""

    principal: str | None
    type: CallerType
    account: str | None
    role_arn: str | None  # role sessions: the role, without its path (the session ARN lacks it)
    user_arn: str | None  # federated-user sessions: the IAM user, without its path
    derived: Mapping[str, str]  # global condition keys, lower-cased names

    @property
    def is_session(self) -> bool:
        return self.type in (CallerType.ASSUMED_ROLE, CallerType.FEDERATED_USER)


def _caller(
    principal: str | None,
    kind: CallerType,
    account: str | None = None,
    *,
    role_arn: str | None = None,
    user_arn: str | None = None,
    **derived: str,
) -> Caller:
    keys = {f"aws:{name.lower()}": value for name, value in derived.items()}
    # INVARIANT: never mutated (copied per request by hadron.iam.context); a plain dict copies fast.
    return Caller(principal, kind, account, role_arn, user_arn, keys)


@lru_cache(maxsize=4096)
def identify(principal: str | None) -> Caller:
    """Classify ``principal``: an IAM/STS ARN, a service principal name, or anonymous.

    ``None``, ``""``, ``"*"`` and ``"anonymous"`` are the anonymous caller; a string that is not
    an ARN is a service principal (``proton.amazonaws.com``) when it has a dot, else an opaque id
    (a canonical user). Derived keys are filled only where
    §5 says the key is present; role sessions get a path-less ``aws:PrincipalArn`` (pass the real
    one in the context when the role has a path).
    """
    if principal in (None, "", "*", "anonymous"):
        return _caller(
            None, CallerType.ANONYMOUS, PrincipalAccount="anonymous", PrincipalType="Anonymous"
        )
    assert principal is not None  # noqa: S101 - narrowed above
    arn = try_parse_arn(principal)
    if arn is None and "." in principal:
        return _caller(
            principal,
            CallerType.SERVICE,
            PrincipalIsAWSService="true",
            PrincipalServiceName=principal,
        )
    if arn is None:  # an opaque id (a canonical user): matches only by exact value
        return _caller(principal, CallerType.OTHER)
    acct, partition, resource = arn.account, arn.partition, arn.resource
    kind, _, rest = resource.partition("/")
    common = {"PrincipalAccount": acct, "PrincipalIsAWSService": "false"}
    if arn.service == "iam" and resource == "root":
        return _caller(
            principal,
            CallerType.ACCOUNT,
            acct,
            PrincipalArn=principal,
            PrincipalType="Account",
            userid=acct,
            **common,
        )
    if arn.service == "iam" and kind == "user" and rest:
        return _caller(
            principal,
            CallerType.USER,
            acct,
            PrincipalArn=principal,
            PrincipalType="User",
            username=rest.rsplit("/", 1)[-1],
            **common,
        )
    if arn.service == "sts" and kind == "assumed-role" and rest.count("/") == 1:
        role = f"arn:{partition}:iam::{acct}:role/{rest.split('/', 1)[0]}"
        return _caller(
            principal,
            CallerType.ASSUMED_ROLE,
            acct,
            role_arn=role,
            PrincipalArn=role,
            PrincipalType="AssumedRole",
            **common,
        )
    if arn.service == "sts" and kind == "federated-user" and rest:
        return _caller(
            principal,
            CallerType.FEDERATED_USER,
            acct,
            user_arn=f"arn:{partition}:iam::{acct}:user/{rest}",
            PrincipalArn=principal,
            PrincipalType="FederatedUser",
            userid=f"{acct}:{rest}",
            **common,
        )
    kind_type = CallerType.ROLE if arn.service == "iam" and kind == "role" else CallerType.OTHER
    return _caller(principal, kind_type, acct or None, PrincipalArn=principal, **common)


def principal_value_error(kind: str, value: str) -> str | None:
    """The MalformedPolicyDocument message for an invalid principal value, or ``None``."""
    bad = f'Invalid principal in policy: "{kind}":"{value}"'
    if value == "*":
        return None if kind == "AWS" else bad
    if not value or "*" in value or "?" in value:
        return bad
    if kind != "AWS":
        return None
    if _ACCOUNT_ID.fullmatch(value) or _UNIQUE_ID.fullmatch(value):
        return None
    arn = try_parse_arn(value)
    if arn is None or not _ACCOUNT_ID.fullmatch(arn.account) or arn.region:
        return bad
    kind_part, _, rest = arn.resource.partition("/")
    if arn.service == "iam" and (
        arn.resource == "root" or (kind_part in ("user", "role") and rest)
    ):
        return None
    if arn.service == "sts" and kind_part in ("assumed-role", "federated-user") and rest:
        return None
    return bad


def _account_of(value: str) -> str | None:
    if _ACCOUNT_ID.fullmatch(value):
        return value
    arn = try_parse_arn(value)
    if arn is not None and arn.service == "iam" and arn.resource == "root":
        return arn.account
    return None


class PrincipalMatcher:
    """A statement's ``Principal``/``NotPrincipal`` element, compiled."""

    __slots__ = ("_accounts", "_arns", "_ids", "_opaque", "_services", "_wildcard")

    def __init__(self, entries: Iterable[tuple[str, tuple[str, ...]]]) -> None:
        arns: set[str] = set()
        accounts: set[str] = set()
        ids: set[str] = set()
        services: set[str] = set()
        opaque: set[str] = set()  # Federated and CanonicalUser names
        wildcard = False
        for kind, values in entries:
            for value in values:
                if kind == "AWS":
                    account = _account_of(value)
                    if value == "*":
                        wildcard = True
                    elif account is not None:
                        accounts.add(account)
                    elif _UNIQUE_ID.fullmatch(value):
                        ids.add(value)
                    else:
                        arns.add(value)
                elif kind == "Service":
                    services.add(value)
                else:
                    opaque.add(value)
        self._wildcard = wildcard
        self._arns = frozenset(arns)
        self._accounts = frozenset(accounts)
        self._ids = frozenset(ids)
        self._services = frozenset(services)
        self._opaque = frozenset(opaque)

    def match(self, caller: Caller, values: ContextValues) -> Match:
        """How strongly this ``Principal`` element names the caller."""
        if self._wildcard:
            return Match.DIRECT
        kind = caller.type
        if kind is CallerType.SERVICE:
            return Match.DIRECT if caller.principal in self._services else Match.NONE
        if self._opaque:
            provider = values.get("aws:federatedprovider")
            if caller.principal in self._opaque or provider in self._opaque:
                return Match.DIRECT
        if kind is CallerType.ANONYMOUS:
            return Match.NONE
        if caller.principal in self._arns or self._id(caller, values) is Match.DIRECT:
            return Match.DIRECT
        if kind is CallerType.ASSUMED_ROLE:
            if values.get("aws:principalarn") in self._arns or self._id(caller, values):
                return Match.SESSION
        elif kind is CallerType.FEDERATED_USER and caller.user_arn in self._arns:
            return Match.SESSION
        return Match.ACCOUNT if caller.account in self._accounts else Match.NONE

    def _id(self, caller: Caller, values: ContextValues) -> Match:
        userid = values.get("aws:userid")
        if not self._ids or type(userid) is not str:
            return Match.NONE
        if caller.type is CallerType.USER and userid in self._ids:
            return Match.DIRECT
        if caller.type is CallerType.ASSUMED_ROLE and userid.split(":", 1)[0] in self._ids:
            return Match.SESSION
        return Match.NONE

    def _listed(self, caller: Caller, values: ContextValues) -> tuple[bool, ...]:
        """For each identity the caller has, whether this element lists it.

        AWS evaluates a caller as each of its identities — the account, then a session's role,
        then the user or session — so a ``NotPrincipal`` exempts a role session only when it
        lists the session ARN, the role ARN and the account (Principal element doc).
        """
        kind = caller.type
        if kind is CallerType.SERVICE:
            return (caller.principal in self._services,)
        if kind is CallerType.ANONYMOUS:
            return (False,)
        account = caller.account in self._accounts
        if kind is CallerType.ACCOUNT:
            return (account,)
        own = caller.principal in self._arns or self._id(caller, values) is Match.DIRECT
        if kind is CallerType.ASSUMED_ROLE:
            role = values.get("aws:principalarn") in self._arns or bool(self._id(caller, values))
            return (account, role, own)
        return (account, own)

    def excludes_for_deny(self, caller: Caller, values: ContextValues) -> bool:
        """``Deny`` + ``NotPrincipal``: the caller is exempt only if every identity is listed."""
        return self._wildcard or all(self._listed(caller, values))

    def excludes_for_allow(self, caller: Caller, values: ContextValues) -> bool:
        """``Allow`` + ``NotPrincipal``: any listed identity takes the caller out of the grant."""
        return self._wildcard or any(self._listed(caller, values))
