"""Live enforcement: the ``Authorizer`` that ``hadron serve`` uses on every request.

Layer: with ``hadron.credentials`` (talks to the store on a cache miss only). Spec: security.md
§4.9 (evaluation logic, via ``hadron.iam.authorize`` — the same engine the simulator uses),
§4.10 (access-denied messages), §5 (global condition keys).

For each request it

1. gathers the caller's identity policies — inline and attached managed, the user's and those of
   every group it belongs to (AWS managed ones from ``hadron.iam.managed``) — and its
   permissions boundary, parsed once and cached per principal (``hadron.policy_cache``);
2. maps the operation to its IAM action (``<prefix>:<Operation>``) and resource ARN
   (``hadron.iam_resources``): for IAM user operations the user
   (``arn:aws:iam::<acct>:user<path><name>``), for managed policy operations the policy ARN,
   ``ListUsers`` the path (``…:user/``), the other IAM operations ``*``. Proton, EC2 and STS:
   the ARN(s) and the service condition keys (``proton:*``, ``aws:RequestTag/…``,
   ``aws:TagKeys``, ``sts:*``) of ``hadron.authz_map``;
3. builds the request context from the gateway's connection facts plus the caller's keys, and
   ``aws:ResourceTag/<key>`` of the resource(s) acted on: an IAM entity's (cached with the
   policies), each existing Proton resource's (read on every request, one query, given to the
   engine per resource so that one resource's tags never decide for another);
4. raises ``AccessDenied`` with the decision's AWS message unless the engine allows.

A request that arrived through a VPC endpoint (``aws:SourceVpce`` in its context) is also
evaluated against that endpoint's policy (``endpoint_policy``, e.g.
``hadron.vpce_policies.EndpointPolicyCache.policy``), which must allow it too (security.md §4.9).
Temporary credentials (``Principal.session``, a ``hadron.session.Session``): an assumed role
is evaluated with the role's identity policies and boundary plus the session policies of its
token, as the session ARN, with ``aws:PrincipalArn`` the role ARN, ``aws:userid``
``AROA…:<session>``, ``aws:PrincipalType`` ``AssumedRole``, ``aws:TokenIssueTime``,
``aws:MultiFactorAuthPresent`` (with ``aws:MultiFactorAuthAge`` when MFA was verified for the
session), ``aws:SourceIdentity`` and ``aws:PrincipalTag/…`` from the role's tags overridden by
the session tags (keys case-insensitive). A ``GetSessionToken`` session is its IAM user, plus
the token keys; without MFA it may not call IAM (AWS answers ``InvalidClientTokenId``), and it
never calls STS other than AssumeRole and GetCallerIdentity. AssumeRole's own
``SerialNumber``/``TokenCode`` are verified before the trust policy is evaluated, which then sees
``aws:MultiFactorAuthPresent`` true and ``aws:MultiFactorAuthAge`` 0.
``sts:AssumeRole`` is evaluated with the role's trust policy as the resource policy (security.md
§3.1 step 5): same account, a trust policy naming the caller suffices; naming the account needs
the caller's identity policy too; cross-account always needs both.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from hadron import authzmessage
from hadron.access import iam_action
from hadron.authz_map import DEFAULT_REGION, RelatedTemplates, authorization
from hadron.errors import AccessDenied, InvalidClientTokenId, ServiceError
from hadron.iam import Decision, PolicyKind, PolicyLike, Result, authorize
from hadron.iam.mfa import MfaVerifier
from hadron.iam.tags import principal_tag_context, request_tag_context, tag_keys, validate_tags
from hadron.iam_resources import TAGGING_OPERATIONS, UNTAGGING_OPERATIONS, resource_for, tag_target
from hadron.policy_cache import PolicyCache, parse_stored
from hadron.session import Session, mfa_context
from hadron.store import Store
from hadron.store.records import Role
from hadron.types import Principal

__all__ = ["PolicyAuthorizer"]

log = logging.getLogger("hadron.enforcement")


class PolicyAuthorizer:
    """Evaluates the caller's identity policies with ``hadron.iam.authorize``."""

    def __init__(
        self,
        store: Store,
        cache: PolicyCache | None = None,
        *,
        endpoint_policy: Callable[[str], PolicyLike] | None = None,
        encode_failure: Callable[[Mapping[str, Any], str], str] | None = None,
        related: RelatedTemplates | None = None,
        mfa: MfaVerifier | None = None,
    ) -> None:
        # Checks AssumeRole's SerialNumber/TokenCode before its trust policy is evaluated (the
        # same check ``hadron.sts.StsApi`` makes: pass ``authorizer.mfa`` to it).
        self.mfa = mfa or MfaVerifier(store)
        # Templates of existing environments/services, for ``proton:EnvironmentTemplate`` /
        # ``proton:ServiceTemplate`` on actions that name the resource, not its template.
        self._related = related
        self._store = store
        self.cache = cache or PolicyCache(store)
        self._endpoint_policy = endpoint_policy
        # Seals an EC2 denial's decoded message for ``sts:DecodeAuthorizationMessage``
        # (``hadron.authzmessage.encode`` bound to the master-key ring); None: plain messages.
        self._encode_failure = encode_failure

    def invalidate(self, account_id: str | None = None) -> None:
        self.cache.invalidate(account_id)

    def _user_path(self, account_id: str, user_name: str) -> str | None:
        view = self.cache.user_view(account_id, user_name)
        return None if view is None else view.user.path

    def _group_path(self, account_id: str, group_name: str) -> str | None:
        found = self.cache.entity("group", account_id, group_name)
        return None if found is None else found[0]

    def _role_path(self, account_id: str, role_name: str) -> str | None:
        found = self.cache.entity("role", account_id, role_name)
        return None if found is None else found[0]

    def _profile_path(self, account_id: str, profile_name: str) -> str | None:
        found = self.cache.entity("instance-profile", account_id, profile_name)
        return None if found is None else found[0]

    def authorize(
        self,
        principal: Principal,
        service: str,
        operation: str,
        params: Mapping[str, Any],
        *,
        context: Mapping[str, Any] | None = None,
    ) -> None:
        action = iam_action(service, operation)
        session = principal.session if isinstance(principal.session, Session) else None
        if session is not None and not session.is_role:
            _check_user_session(service, operation, mfa=session.mfa)
        if service == "sts" and operation in _UNAUTHORIZED_STS:
            return  # authentication operations: policies cannot control them
        resource: str | list[str]
        resource_context: dict[str, dict[str, Any]] | None = None
        if service == "sts" and operation == "AssumeRole":
            self._authorize_assume_role(principal, params, context or {})
            return
        if service == "iam":
            resource = resource_for(
                principal,
                service,
                operation,
                params,
                self._user_path,
                role_path=self._role_path,
                group_path=self._group_path,
                profile_path=self._profile_path,
            )
            context = {**self._iam_context(principal, operation, params), **(context or {})}
        else:  # resources and service condition keys from the authorization map
            region = str((context or {}).get("aws:RequestedRegion") or DEFAULT_REGION)
            mapped = authorization(
                service,
                operation,
                params,
                account=principal.account_id,
                region=region,
                related=self._related,
            )
            resource = mapped.resource
            context = {**(context or {}), **mapped.context}
            if service == "proton" and mapped.resources != ("*",):
                resource_context = self._proton_resource_context(
                    principal.account_id, mapped.resources
                )
        endpoint_policies: tuple[PolicyLike, ...] | None = None
        vpce = context.get("aws:SourceVpce")
        if isinstance(vpce, str) and self._endpoint_policy is not None:
            endpoint_policies = (self._endpoint_policy(vpce),)
        decision = self.decide(
            principal,
            action,
            resource,
            context=context,
            resource_context=resource_context,
            endpoint_policies=endpoint_policies,
        )
        if decision.errors:
            log.warning("policy evaluation errors for %s: %s", principal.arn, decision.errors)
        if not decision.allowed:
            named = resource if isinstance(resource, str) else None  # None: the denied one
            message = decision.denial_message(principal.arn, action, named)
            if service == "ec2" and self._encode_failure is not None:
                message = self._ec2_message(principal, action, decision, message, context)
            raise AccessDenied(message)

    def _proton_resource_context(
        self, account_id: str, resources: Sequence[str]
    ) -> dict[str, dict[str, Any]] | None:
        """``aws:ResourceTag/<key>`` of each existing tagged Proton resource the request names,
        per resource (AWS evaluates them per resource), ``aws:proton:*`` tags included. Read
        from the store on every request (one query, no cache: a tag change applies to the next
        request). Only the caller's account's resources: a resource of another account (an
        environment account connection seen from its management account) carries none. A read
        failure raises, so the request errors rather than being decided without the keys."""
        found = self._store.proton_resource_tags(account_id, resources)
        if not found:
            return None  # nothing tagged (or nothing exists yet: creates)
        return {
            arn: {f"aws:ResourceTag/{key}": value for key, value in tags}
            for arn, tags in found.items()
        }

    def _ec2_message(
        self,
        principal: Principal,
        action: str,
        decision: Decision,
        message: str,
        context: Mapping[str, Any],
    ) -> str:
        """EC2's UnauthorizedOperation text with an encoded failure message (security.md §1.9)."""
        assert self._encode_failure is not None  # noqa: S101 - checked by the caller
        details = authzmessage.failure_message(
            principal_id=principal.user_id,
            principal_name=principal.user_name,
            principal_arn=principal.arn,
            action=action,
            resource=decision.resource or "*",
            explicit_deny=decision.result is Result.EXPLICITLY_DENIED,
            context=context,
        )
        encoded = self._encode_failure(details, principal.account_id)
        return (
            f"You are not authorized to perform this operation. {message}. "
            f"Encoded authorization failure message: {encoded}"
        )

    def role(self, role_arn_value: str) -> Role | None:
        """The role an ARN names exactly (path included), or ``None``."""
        parts = role_arn_value.split(":", 5)
        if len(parts) != 6 or parts[2] != "iam" or not parts[5].startswith("role/"):
            return None
        role = self._store.get_role(parts[4], parts[5].rsplit("/", 1)[-1])
        return role if role is not None and role.arn == role_arn_value else None

    def _authorize_assume_role(
        self, principal: Principal, params: Mapping[str, Any], context: Mapping[str, Any]
    ) -> None:
        """``sts:AssumeRole`` with the role's trust policy as the resource-based policy."""
        if principal.principal_type == "Root":
            raise AccessDenied("Roles may not be assumed by root accounts.")
        target = str(params.get("RoleArn") or "")
        region = str(context.get("aws:RequestedRegion") or DEFAULT_REGION)
        mapped = authorization(
            "sts", "AssumeRole", params, account=principal.account_id, region=region
        )
        values = {**context, **mapped.context}
        serial, code = params.get("SerialNumber"), params.get("TokenCode")
        now = context.get("aws:CurrentTime")
        if serial is not None and code is not None and isinstance(now, datetime):
            # The trust policy sees the MFA of this very call (security.md §3.1 step 5).
            # hold: the STS handler asks again in this request, and gets this same answer.
            at = self.mfa.hold(principal, str(serial), str(code), now)
            values.update(mfa_context(at, now))
        self.check_trusted(principal, "sts:AssumeRole", target, values)

    def check_trusted(
        self, principal: Principal, action: str, target: str, context: Mapping[str, Any]
    ) -> None:
        """Raise ``AccessDenied`` unless ``action`` on role ``target`` is allowed by its trust
        policy and (where needed) the caller's own policies. An unknown role is denied with the
        very words of a trust policy that does not name the caller, so roles cannot be
        enumerated."""
        role = self.role(target)
        if role is None:
            raise AccessDenied(_untrusted(principal.arn, action, target))
        trust = parse_stored(
            role.trust_policy, f"trust policy of {role.role_name}", PolicyKind.TRUST
        )
        decision = self.decide(
            principal,
            action,
            target,
            context=context,
            resource_policy=trust,
            resource_account=role.account_id,
        )
        if decision.errors:
            log.warning("policy evaluation errors for %s: %s", principal.arn, decision.errors)
        if not decision.allowed:
            raise AccessDenied(decision.denial_message(principal.arn, action, target))

    def check_service_trusted(
        self, service: str, action: str, target: str, context: Mapping[str, Any]
    ) -> Role:
        """The role ``target`` if its trust policy lets the AWS service principal ``service``
        (e.g. ``proton.amazonaws.com``) perform ``action`` on it; else ``AccessDenied``. Service
        principals have no identity policies: the trust policy alone decides, evaluated with
        ``context`` (``aws:SourceAccount``, ``aws:SourceArn``) as AWS does for services."""
        role = self.role(target)
        if role is None:
            raise AccessDenied(_untrusted(service, action, target))
        trust = parse_stored(
            role.trust_policy, f"trust policy of {role.role_name}", PolicyKind.TRUST
        )
        decision = authorize(
            principal=service,
            action=action,
            resource=target,
            resource_account=role.account_id,
            context=context,
            resource_policy=trust,
        )
        if not decision.allowed:
            raise AccessDenied(_untrusted(service, action, target))
        return role

    def _iam_context(
        self, principal: Principal, operation: str, params: Mapping[str, Any]
    ) -> dict[str, Any]:
        """``aws:PrincipalTag/<key>`` of a tagged IAM user caller (read with its policies, so a
        tag change through the API takes effect on the next request), ``aws:ResourceTag/<key>``
        of the tagged user, role, customer managed policy or instance profile the operation acts
        on, and the request-tag keys of the tagging operations. Invalid tags are left to the
        handler to refuse."""
        values: dict[str, Any] = {}
        if principal.user_name is not None:
            tags = self.cache.principal_tags(principal.account_id, principal.user_name)
            values.update(principal_tag_context(tags))
        target = tag_target(principal, operation, params)
        if target is not None:  # aws:ResourceTag/<key> of an existing tagged entity
            found = self.cache.entity(*target)
            if found is not None:
                values.update({f"aws:ResourceTag/{k}": v for k, v in found[1]})
        try:
            if operation in TAGGING_OPERATIONS and params.get("Tags"):
                values.update(request_tag_context(validate_tags(params["Tags"])))
            elif operation in UNTAGGING_OPERATIONS and params.get("TagKeys"):
                values["aws:TagKeys"] = tag_keys(params["TagKeys"])
        except ServiceError:
            pass
        return values

    def identity_policies(self, principal: Principal) -> tuple[PolicyLike, ...]:
        """The principal's identity policies, as live enforcement gathers them (cached)."""
        if principal.user_name is None:
            return ()
        return self.cache.identity_policies(principal.account_id, principal.user_name)

    def permission_boundaries(self, principal: Principal) -> tuple[PolicyLike, ...]:
        """The principal's permissions boundary as live enforcement gathers it (cached)."""
        if principal.user_name is None:
            return ()
        return self.cache.permission_boundaries(principal.account_id, principal.user_name)

    def decide(
        self,
        principal: Principal,
        action: str,
        resource: str | Sequence[str],
        *,
        context: Mapping[str, Any] | None = None,
        resource_context: Mapping[str, Mapping[str, Any]] | None = None,
        identity_policies: Sequence[PolicyLike] | None = None,
        permission_boundaries: Sequence[PolicyLike] | None = None,
        endpoint_policies: Sequence[PolicyLike] | None = None,
        resource_policy: PolicyLike | None = None,
        resource_account: str | None = None,
    ) -> Decision:
        """The engine's decision for ``principal`` (shared by :meth:`authorize` and the IAM
        policy simulator). ``identity_policies`` default to :meth:`identity_policies`;
        ``endpoint_policies``: the VPC endpoint's policy when the request came through one.
        ``resource_policy``/``resource_account``: a role's trust policy and account (AssumeRole
        and the permission-only actions checked with it; the simulator's ``ResourcePolicy`` and
        ``ResourceOwner``). ``resource_context``: resource ARN → keys for that resource only
        (its ``aws:ResourceTag/…``), as ``hadron.iam.authorize`` takes them."""
        session = principal.session if isinstance(principal.session, Session) else None
        if session is not None and session.is_role and identity_policies is None:
            return self._decide_role_session(
                principal,
                session,
                action,
                resource,
                context,
                resource_policy,
                resource_account,
                endpoint_policies,
                resource_context,
            )
        values: dict[str, Any] = dict(context or {})
        if session is not None:
            values.update(_token_context(session, values))
            if identity_policies is None:
                loaded = self.cache.user_session_policies(session)
                identity_policies, permission_boundaries = loaded[0], loaded[1]
        values.setdefault("aws:PrincipalArn", principal.arn)
        values.setdefault("aws:PrincipalAccount", principal.account_id)
        values.setdefault("aws:userid", principal.user_id)
        if principal.user_name is not None:
            values.setdefault("aws:username", principal.user_name)
            values.setdefault("aws:PrincipalType", "User")
        policies = (
            self.identity_policies(principal) if identity_policies is None else identity_policies
        )
        if identity_policies is None and permission_boundaries is None:
            permission_boundaries = self.permission_boundaries(principal)
        return authorize(
            principal=principal.arn,
            action=action,
            resource=resource,
            # Every resource Hadron serves is the caller's account's (roles assumed across
            # accounts excepted); AWS managed policies (``arn:aws:iam::aws:policy/…``) are
            # readable by every account, as in IAM.
            resource_account=resource_account or principal.account_id,
            context=values,
            resource_context=resource_context,
            identity_policies=policies,
            permission_boundaries=permission_boundaries,
            endpoint_policies=endpoint_policies,
            resource_policy=resource_policy,
        )

    def _decide_role_session(
        self,
        principal: Principal,
        session: Session,
        action: str,
        resource: str | Sequence[str],
        context: Mapping[str, Any] | None,
        resource_policy: PolicyLike | None,
        resource_account: str | None,
        endpoint_policies: Sequence[PolicyLike] | None = None,
        resource_context: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> Decision:
        identity, boundary, role_tags = self.cache.role_policies(
            session.account_id, session.source_name, session.source_id
        )
        values: dict[str, Any] = dict(context or {})
        values.update(_token_context(session, values))
        values["aws:PrincipalArn"] = session.source_arn
        values["aws:PrincipalAccount"] = session.account_id
        values["aws:userid"] = session.user_id
        values["aws:PrincipalType"] = "AssumedRole"
        tags = {k.lower(): (k, v) for k, v in role_tags}
        for key, value in session.tags:  # session tags override role tags, any case
            tags[key.lower()] = (key, value)
        values.update(principal_tag_context(tags.values()))
        return authorize(
            principal=principal.arn,
            action=action,
            resource=resource,
            resource_account=resource_account or principal.account_id,
            context=values,
            resource_context=resource_context,
            identity_policies=identity,
            permission_boundaries=boundary,
            session_policies=self.cache.session_policies(session),
            resource_policy=resource_policy,
            endpoint_policies=endpoint_policies,
        )


# STS operations no policy controls (security.md §3.2, §3.3).
_UNAUTHORIZED_STS = frozenset({"GetSessionToken", "GetCallerIdentity"})
# What a GetSessionToken session (no MFA) may call in STS (IAM user guide comparison table).
_USER_SESSION_STS = frozenset({"AssumeRole", "GetCallerIdentity"})


def _untrusted(principal_arn: str, action: str, target: str) -> str:
    return (
        f"User: {principal_arn} is not authorized to perform: {action} on resource: {target} "
        f"because no role trust policy allows the {action} action"
    )


def _check_user_session(service: str, operation: str, *, mfa: bool) -> None:
    """GetSessionToken credentials cannot call IAM unless MFA was verified for them, nor STS
    but AssumeRole and GetCallerIdentity."""
    if service == "iam" and not mfa:
        raise InvalidClientTokenId("The security token included in the request is invalid")
    if service == "sts" and operation not in _USER_SESSION_STS:
        raise AccessDenied(f"Cannot call {operation} with session credentials")


def _token_context(session: Session, request: Mapping[str, Any]) -> dict[str, Any]:
    """The keys every request signed with temporary credentials carries (security.md §5);
    ``aws:MultiFactorAuthAge`` (from ``aws:CurrentTime``) only for sessions with MFA. MFA keys
    already in ``request`` (an AssumeRole call passing its own code) are kept."""
    values: dict[str, Any] = {
        "aws:TokenIssueTime": session.issued_at,
        "aws:MultiFactorAuthPresent": session.mfa,
    }
    now = request.get("aws:CurrentTime")
    if session.mfa and session.mfa_authenticated_at is not None and isinstance(now, datetime):
        values.update(mfa_context(session.mfa_authenticated_at, now))
    if session.source_identity is not None:
        values["aws:SourceIdentity"] = session.source_identity
    if "aws:MultiFactorAuthPresent" in request:
        del values["aws:MultiFactorAuthPresent"]
        values.pop("aws:MultiFactorAuthAge", None)
    return values
