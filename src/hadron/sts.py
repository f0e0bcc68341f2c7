"""STS handlers: AssumeRole, GetSessionToken, GetCallerIdentity, GetAccessKeyInfo,
DecodeAuthorizationMessage (security.md §3).

Layer 2 (handlers). Imports no store: the roles, keys and policies it reads and the evaluator it
asks come in as small protocols (``hadron serve`` passes the store and the live
``PolicyAuthorizer``), and tokens are sealed by an injected function (the master-key ring lives
with ``hadron.credentials``). Time comes from the ``Call``; randomness is an input.

Nothing is issued or stored for a refused request: every check runs before the credentials are
minted, and a session exists only inside the token handed back.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any, Protocol

from hadron import authzmessage
from hadron.authz_map import authorization
from hadron.errors import (
    AccessDenied,
    InvalidAuthorizationMessageException,
    InvalidParameterValue,
)
from hadron.iam.managed import AWS_MANAGED_POLICIES
from hadron.keys import RNG, MasterKeyRing
from hadron.session import (
    Session,
    SessionKind,
    account_of_temporary_key,
    mfa_context,
    temporary_credentials,
)
from hadron.sts_rules import (
    assumed_role_arn,
    packed_size,
    policy_arns,
    role_session_duration,
    session_policy,
    session_tags,
    source_identity,
    user_session_duration,
)
from hadron.types import Principal

__all__ = [
    "SERVICE_SESSION_SECONDS",
    "CallLike",
    "Directory",
    "MfaCheck",
    "ServiceTrust",
    "StsApi",
    "Trust",
    "get_caller_identity",
]

Result = dict[str, Any]
_NOT_DECODABLE = "The encoded authorization message is invalid or was not issued by Hadron."


def get_caller_identity(principal: Principal, params: Mapping[str, Any]) -> dict[str, Any]:
    """Who signed the request; never denied (security.md §3.3)."""
    return {"UserId": principal.user_id, "Account": principal.account_id, "Arn": principal.arn}


class _Role(Protocol):
    @property
    def account_id(self) -> str: ...
    @property
    def role_name(self) -> str: ...
    @property
    def role_id(self) -> str: ...
    @property
    def arn(self) -> str: ...
    @property
    def max_session_duration(self) -> int: ...


class _User(Protocol):
    @property
    def user_name(self) -> str: ...
    @property
    def user_id(self) -> str: ...
    @property
    def arn(self) -> str: ...


class _Key(Protocol):
    @property
    def account_id(self) -> str: ...


class Directory(Protocol):
    """What STS reads: users, access keys and managed policies (the store)."""

    def get_user(self, account_id: str, user_name: str) -> _User | None: ...
    def get_access_key(self, access_key_id: str) -> _Key | None: ...
    def get_policy(self, account_id: str, arn: str) -> object | None: ...


class Trust(Protocol):
    """Role lookup and trust evaluation (``hadron.enforcement.PolicyAuthorizer``)."""

    def role(self, role_arn_value: str) -> _Role | None: ...
    def check_trusted(
        self, principal: Principal, action: str, target: str, context: Mapping[str, Any]
    ) -> None: ...


class ServiceTrust(Protocol):
    """Trust evaluation for an AWS service principal (``PolicyAuthorizer``)."""

    def check_service_trusted(
        self, service: str, action: str, target: str, context: Mapping[str, Any]
    ) -> _Role: ...


#: Lifetime of the credentials a service (Proton provisioning) gets for a role.
SERVICE_SESSION_SECONDS = 3600


class CallLike(Protocol):
    """The parts of ``hadron.gateway.Call`` these handlers use."""

    @property
    def principal(self) -> Principal: ...
    @property
    def params(self) -> Mapping[str, Any]: ...
    @property
    def region(self) -> str: ...
    @property
    def now(self) -> datetime: ...
    @property
    def context(self) -> Mapping[str, Any]: ...


def _call_parts(call: CallLike) -> tuple[Principal, Mapping[str, Any]]:
    return call.principal, call.params


_MFA_FAILED = "MultiFactorAuthentication failed with invalid MFA one time pass code."

MfaCheck = Callable[[Principal, str, str, datetime], datetime]
"""``(caller, serial, token_code, now) -> MFA authentication time``, or ``AccessDenied``
(``hadron.iam.mfa.MfaVerifier``)."""


class StsApi:
    """The STS operations that need state, as gateway ``CallHandler``s."""

    def __init__(
        self,
        directory: Directory,
        trust: Trust,
        seal_token: Callable[[Session], str],
        *,
        ring: Callable[[], MasterKeyRing] | None = None,
        rng: RNG = os.urandom,
        service_trust: ServiceTrust | None = None,
        mfa: MfaCheck | None = None,
    ) -> None:
        self._service_trust = service_trust
        self._mfa = mfa
        self._directory = directory
        self._trust = trust
        self._seal = seal_token
        self._ring = ring
        self._rng = rng

    def call_handlers(self) -> dict[tuple[str, str], Callable[[CallLike], Result]]:
        return {
            ("sts", "AssumeRole"): self.assume_role,
            ("sts", "GetSessionToken"): self.get_session_token,
            ("sts", "GetAccessKeyInfo"): self.get_access_key_info,
            ("sts", "DecodeAuthorizationMessage"): self.decode_authorization_message,
        }

    # --- AssumeRole ----

    def assume_role(self, call: CallLike) -> Result:
        caller, params = _call_parts(call)
        if caller.principal_type == "Root":
            raise AccessDenied("Roles may not be assumed by root accounts.")
        target = str(params["RoleArn"])
        role = self._trust.role(target)
        if role is None:  # authorization refused it already; a role deleted meanwhile
            raise AccessDenied(
                f"User: {caller.arn} is not authorized to perform: sts:AssumeRole on resource: "
                f"{target} because no role trust policy allows the sts:AssumeRole action"
            )
        mfa_at = self._check_mfa(call)
        parent = caller.session if isinstance(caller.session, Session) else None
        chained = parent is not None
        duration = role_session_duration(
            params.get("DurationSeconds"), role.max_session_duration, chained=chained
        )
        policy = session_policy(params.get("Policy"))
        arns = policy_arns(params.get("PolicyArns"))
        for arn in arns:
            self._check_policy_arn(arn, role.account_id)
        inherited = parent.transitive_tags if parent is not None else ()
        tags = session_tags(params.get("Tags"), params.get("TransitiveTagKeys"), inherited)
        identity = source_identity(
            params.get("SourceIdentity"), parent.source_identity if parent else None
        )
        mapped = authorization(
            "sts", "AssumeRole", params, account=caller.account_id, region=call.region
        )
        context = {**call.context, **mapped.context}
        if mfa_at is not None:
            context.update(mfa_context(mfa_at, call.now))
        if params.get("Tags") or params.get("TransitiveTagKeys") or inherited:
            # Passing tags, or carrying transitive ones into a chained session, is tagging.
            self._trust.check_trusted(caller, "sts:TagSession", target, context)
        if identity is not None:
            if identity != params.get("SourceIdentity"):
                context = {**context, "sts:SourceIdentity": identity}
            self._trust.check_trusted(caller, "sts:SetSourceIdentity", target, context)
        packed = packed_size(policy, arns, tags.tags)
        session_name = str(params["RoleSessionName"])
        akid, secret, session_id = temporary_credentials(role.account_id, self._rng)
        session = Session(
            kind=SessionKind.ASSUMED_ROLE,
            access_key_id=akid,
            secret_access_key=secret,
            session_id=session_id,
            account_id=role.account_id,
            arn=assumed_role_arn(role.arn, session_name),
            user_id=f"{role.role_id}:{session_name}",
            source_arn=role.arn,
            source_name=role.role_name,
            source_id=role.role_id,
            issued_at=call.now,
            expires_at=call.now + timedelta(seconds=duration),
            session_name=session_name,
            policy=None if policy is None else policy.text,
            policy_arns=arns,
            tags=tags.tags,
            transitive_tag_keys=tags.transitive_keys,
            source_identity=identity,
            chained=chained,
            # A code verified now, else the MFA of the session this one is chained from.
            mfa=mfa_at is not None or (parent is not None and parent.mfa),
            mfa_authenticated_at=mfa_at
            or (parent.mfa_authenticated_at if parent is not None and parent.mfa else None),
        )
        result: Result = {
            "Credentials": self._credentials(session),
            "AssumedRoleUser": {"AssumedRoleId": session.user_id, "Arn": session.arn},
        }
        if packed is not None:
            result["PackedPolicySize"] = packed
        if identity is not None:
            result["SourceIdentity"] = identity
        return result

    def assume_role_as_service(
        self,
        service: str,
        role_arn_value: str,
        session_name: str,
        *,
        now: datetime,
        context: Mapping[str, Any],
    ) -> Result:
        """AssumeRole on behalf of an AWS service principal (``proton.amazonaws.com`` when
        Hadron provisions with a resource's role): the role's trust policy must allow
        ``sts:AssumeRole`` for ``service`` under ``context``; the session is an ordinary
        assumed-role session (same token, same enforcement). Returns ``Credentials``."""
        if self._service_trust is None:
            raise AccessDenied("Service sessions are not configured.")
        role = self._service_trust.check_service_trusted(
            service, "sts:AssumeRole", role_arn_value, context
        )
        duration = min(SERVICE_SESSION_SECONDS, role.max_session_duration)
        akid, secret, session_id = temporary_credentials(role.account_id, self._rng)
        session = Session(
            kind=SessionKind.ASSUMED_ROLE,
            access_key_id=akid,
            secret_access_key=secret,
            session_id=session_id,
            account_id=role.account_id,
            arn=assumed_role_arn(role.arn, session_name),
            user_id=f"{role.role_id}:{session_name}",
            source_arn=role.arn,
            source_name=role.role_name,
            source_id=role.role_id,
            issued_at=now,
            expires_at=now + timedelta(seconds=duration),
            session_name=session_name,
        )
        return self._credentials(session)

    def _check_policy_arn(self, arn: str, account_id: str) -> None:
        if arn.startswith("arn:aws:iam::aws:policy/"):
            found = arn in AWS_MANAGED_POLICIES
        else:
            found = self._directory.get_policy(account_id, arn) is not None
        if not found:
            raise InvalidParameterValue(
                f"The policy {arn} does not exist or is not in the role's account."
            )

    def _check_mfa(self, call: CallLike) -> datetime | None:
        """The MFA authentication time if the call passes ``SerialNumber``/``TokenCode`` and
        they verify; ``None`` if it passes neither; ``AccessDenied`` otherwise."""
        serial, code = call.params.get("SerialNumber"), call.params.get("TokenCode")
        if serial is None and code is None:
            return None
        if serial is None or code is None or self._mfa is None:
            raise AccessDenied(_MFA_FAILED)
        return self._mfa(call.principal, str(serial), str(code), call.now)

    def _credentials(self, session: Session) -> Result:
        return {
            "AccessKeyId": session.access_key_id,
            "SecretAccessKey": session.secret_access_key,
            "SessionToken": self._seal(session),
            "Expiration": session.expires_at,
        }

    # --- GetSessionToken ----

    def get_session_token(self, call: CallLike) -> Result:
        caller, params = _call_parts(call)
        if caller.session is not None:
            raise AccessDenied("Cannot call GetSessionToken with session credentials")
        mfa_at = self._check_mfa(call)
        user = (
            None
            if caller.user_name is None
            else self._directory.get_user(caller.account_id, caller.user_name)
        )
        if user is None:
            raise AccessDenied("GetSessionToken is available to IAM users only.")
        duration = user_session_duration(params.get("DurationSeconds"))
        akid, secret, session_id = temporary_credentials(caller.account_id, self._rng)
        session = Session(
            kind=SessionKind.USER,
            access_key_id=akid,
            secret_access_key=secret,
            session_id=session_id,
            account_id=caller.account_id,
            arn=user.arn,
            user_id=user.user_id,
            source_arn=user.arn,
            source_name=user.user_name,
            source_id=user.user_id,
            issued_at=call.now,
            expires_at=call.now + timedelta(seconds=duration),
            mfa=mfa_at is not None,
            mfa_authenticated_at=mfa_at,
        )
        return {"Credentials": self._credentials(session)}

    # --- GetAccessKeyInfo ----

    def get_access_key_info(self, call: CallLike) -> Result:
        _caller, params = _call_parts(call)
        akid = str(params["AccessKeyId"])
        account = account_of_temporary_key(akid)
        if account is None:
            key = self._directory.get_access_key(akid)
            account = None if key is None else key.account_id
        if account is None:
            raise InvalidParameterValue(
                f"The access key ID {akid} was not issued by this Hadron installation."
            )
        return {"Account": account}

    # --- DecodeAuthorizationMessage ----

    def decode_authorization_message(self, call: CallLike) -> Result:
        caller, params = _call_parts(call)
        if self._ring is None:
            raise InvalidAuthorizationMessageException(_NOT_DECODABLE)
        decoded = authzmessage.decode(
            self._ring(), str(params["EncodedMessage"]), caller.account_id
        )
        return {"DecodedMessage": decoded}
