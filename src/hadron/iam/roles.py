"""IAM Query API handlers for roles (trust policy, inline and managed policies, boundary) and
for user and role tags.

Layer: handlers, like ``hadron.iam.api`` and ``hadron.iam.groups`` (the modules of this package
allowed to use the store). Spec: security.md §3.1 (what STS needs of a role), §4.2 (trust policy
validation), §4.3 (quotas), §5 (tag condition keys), §6.

Same conventions as :class:`hadron.iam.api.IamApi`: trust policies are validated with
``parse_policy(kind="trust")`` and role policies with ``kind="identity"`` before anything is
written, and returned URL-encoded; every write that can change someone's permissions (a role's
policies or boundary, a user's tags — they feed ``aws:PrincipalTag``) calls
``policies_changed(account_id)``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from hadron.errors import NoSuchEntity, ValidationError
from hadron.iam import entity_policies as ep
from hadron.iam import parse_policy
from hadron.iam.api import Handler
from hadron.iam.results import _encode, _page
from hadron.iam.tags import tag_keys, tags_result, validate_tags
from hadron.store import Role, Store
from hadron.types import Principal

__all__ = ["RolesApi"]

Result = dict[str, Any]

_MIN_SESSION, _MAX_SESSION = 3600, 43200


def _role(role: Role, *, listing: bool = False) -> Result:
    out: Result = {
        "Path": role.path,
        "RoleName": role.role_name,
        "RoleId": role.role_id,
        "Arn": role.arn,
        "CreateDate": role.created_at,
        "AssumeRolePolicyDocument": _encode(role.trust_policy),
        "MaxSessionDuration": role.max_session_duration,
    }
    if role.description is not None:
        out["Description"] = role.description
    if listing:  # ListRoles omits the boundary, tags and last use
        return out
    if role.permissions_boundary:
        out["PermissionsBoundary"] = {
            "PermissionsBoundaryType": "Policy",
            "PermissionsBoundaryArn": role.permissions_boundary,
        }
    if role.tags:
        out["Tags"] = tags_result(role.tags)
    out["RoleLastUsed"] = {}
    return out


def _session_duration(params: Mapping[str, Any]) -> int | None:
    value = params.get("MaxSessionDuration")
    if value is None:
        return None
    seconds = int(value)
    if seconds < _MIN_SESSION:
        raise ValidationError(
            f"1 validation error detected: Value '{seconds}' at 'maxSessionDuration' failed to "
            f"satisfy constraint: Member must have value greater than or equal to {_MIN_SESSION}"
        )
    if seconds > _MAX_SESSION:
        raise ValidationError(
            f"1 validation error detected: Value '{seconds}' at 'maxSessionDuration' failed to "
            f"satisfy constraint: Member must have value less than or equal to {_MAX_SESSION}"
        )
    return seconds


class RolesApi:
    """The IAM role and tag handlers, bound to a store and a clock."""

    def __init__(
        self,
        store: Store,
        clock: Callable[[], datetime],
        *,
        policies_changed: Callable[[str], None] = lambda _account: None,
        rng: Callable[[int], bytes] = os.urandom,
    ) -> None:
        self._store = store
        self._clock = clock
        self._changed = policies_changed
        self._rng = rng

    def handlers(self) -> dict[tuple[str, str], Handler]:
        ops: dict[str, Handler] = {
            "CreateRole": self.create_role,
            "GetRole": self.get_role,
            "ListRoles": self.list_roles,
            "DeleteRole": self.delete_role,
            "UpdateRole": self.update_role,
            "UpdateRoleDescription": self.update_role_description,
            "UpdateAssumeRolePolicy": self.update_assume_role_policy,
            "PutRolePolicy": self.put_role_policy,
            "GetRolePolicy": self.get_role_policy,
            "ListRolePolicies": self.list_role_policies,
            "DeleteRolePolicy": self.delete_role_policy,
            "AttachRolePolicy": self.attach_role_policy,
            "DetachRolePolicy": self.detach_role_policy,
            "ListAttachedRolePolicies": self.list_attached_role_policies,
            "PutRolePermissionsBoundary": self.put_role_permissions_boundary,
            "DeleteRolePermissionsBoundary": self.delete_role_permissions_boundary,
            "TagUser": self.tag_user,
            "UntagUser": self.untag_user,
            "ListUserTags": self.list_user_tags,
            "TagRole": self.tag_role,
            "UntagRole": self.untag_role,
            "ListRoleTags": self.list_role_tags,
        }
        return {("iam", name): handler for name, handler in ops.items()}

    def _existing_role(self, account_id: str, role_name: str) -> Role:
        role = self._store.get_role(account_id, role_name)
        if role is None:
            raise NoSuchEntity(f"The role with name {role_name} cannot be found.")
        return role

    # --- roles ------------------------------------------------------------------------------------

    def create_role(self, caller: Principal, params: Mapping[str, Any]) -> Result:
        document = str(params["AssumeRolePolicyDocument"])
        parse_policy(document, kind="trust")  # raises MalformedPolicyDocument; nothing stored
        duration = _session_duration(params)
        tags = validate_tags(params.get("Tags"))
        boundary = params.get("PermissionsBoundary") or None
        if boundary and ep.aws_policy_missing(boundary):
            raise NoSuchEntity(f"Scope ARN: {boundary} does not exist or is not attachable.")
        role = self._store.create_role(
            caller.account_id,
            params["RoleName"],
            params.get("Path") or "/",
            document,
            self._clock(),
            self._rng,
            description=params.get("Description"),
            max_session_duration=_MIN_SESSION if duration is None else duration,
            permissions_boundary=boundary,
            tags=tags,
        )
        result = _role(role)
        result.pop("RoleLastUsed", None)  # CreateRole's response has none, as IAM's
        return {"Role": result}

    def get_role(self, caller: Principal, params: Mapping[str, Any]) -> Result:
        return {"Role": _role(self._existing_role(caller.account_id, params["RoleName"]))}

    def list_roles(self, caller: Principal, params: Mapping[str, Any]) -> Result:
        found = self._store.list_roles(caller.account_id, params.get("PathPrefix") or "/")
        page, extra = _page(found, params)
        return {"Roles": [_role(r, listing=True) for r in page], **extra}

    def delete_role(self, caller: Principal, params: Mapping[str, Any]) -> None:
        self._store.delete_role(caller.account_id, params["RoleName"])
        self._changed(caller.account_id)

    def update_role(self, caller: Principal, params: Mapping[str, Any]) -> Result:
        self._store.update_role(
            caller.account_id,
            params["RoleName"],
            description=params.get("Description"),
            max_session_duration=_session_duration(params),
        )
        return {}

    def update_role_description(self, caller: Principal, params: Mapping[str, Any]) -> Result:
        self._store.update_role(
            caller.account_id, params["RoleName"], description=str(params["Description"])
        )
        return {"Role": _role(self._existing_role(caller.account_id, params["RoleName"]))}

    def update_assume_role_policy(self, caller: Principal, params: Mapping[str, Any]) -> None:
        document = str(params["PolicyDocument"])
        parse_policy(document, kind="trust")
        self._store.update_assume_role_policy(caller.account_id, params["RoleName"], document)
        self._changed(caller.account_id)

    # --- role inline policies ---------------------------------------------------------------------

    def put_role_policy(self, caller: Principal, params: Mapping[str, Any]) -> None:
        ep.put_inline_policy(ep.ROLE, self._store.put_role_policy, self._changed, caller, params)

    def get_role_policy(self, caller: Principal, params: Mapping[str, Any]) -> Result:
        return ep.get_inline_policy(
            ep.ROLE,
            self._store.get_role_policy,
            lambda account_id, name: self._existing_role(account_id, name).role_name,
            caller,
            params,
        )

    def list_role_policies(self, caller: Principal, params: Mapping[str, Any]) -> Result:
        return ep.list_inline_policies(ep.ROLE, self._store.list_role_policies, caller, params)

    def delete_role_policy(self, caller: Principal, params: Mapping[str, Any]) -> None:
        ep.delete_inline_policy(
            ep.ROLE, self._store.delete_role_policy, self._changed, caller, params
        )

    # --- role attachments -------------------------------------------------------------------------

    def attach_role_policy(self, caller: Principal, params: Mapping[str, Any]) -> None:
        ep.attach_policy(
            ep.ROLE, self._store.attach_role_policy, self._clock, self._changed, caller, params
        )

    def detach_role_policy(self, caller: Principal, params: Mapping[str, Any]) -> None:
        ep.detach_policy(ep.ROLE, self._store.detach_role_policy, self._changed, caller, params)

    def list_attached_role_policies(self, caller: Principal, params: Mapping[str, Any]) -> Result:
        return ep.list_attached_policies(
            ep.ROLE, self._store.list_attached_role_policies, caller, params
        )

    # --- role permissions boundaries --------------------------------------------------------------

    def put_role_permissions_boundary(self, caller: Principal, params: Mapping[str, Any]) -> None:
        arn = params["PermissionsBoundary"]
        if ep.aws_policy_missing(arn):
            raise NoSuchEntity(f"Scope ARN: {arn} does not exist or is not attachable.")
        self._store.put_role_permissions_boundary(caller.account_id, params["RoleName"], arn)
        self._changed(caller.account_id)

    def delete_role_permissions_boundary(
        self, caller: Principal, params: Mapping[str, Any]
    ) -> None:
        self._store.delete_role_permissions_boundary(caller.account_id, params["RoleName"])
        self._changed(caller.account_id)

    # --- tags -------------------------------------------------------------------------------------

    def tag_user(self, caller: Principal, params: Mapping[str, Any]) -> None:
        tags = validate_tags(params["Tags"])
        self._store.tag_user(caller.account_id, params["UserName"], tags)
        self._changed(caller.account_id)  # aws:PrincipalTag of the user's next request

    def untag_user(self, caller: Principal, params: Mapping[str, Any]) -> None:
        keys = tag_keys(params["TagKeys"])
        self._store.untag_user(caller.account_id, params["UserName"], keys)
        self._changed(caller.account_id)

    def list_user_tags(self, caller: Principal, params: Mapping[str, Any]) -> Result:
        tags = self._store.list_user_tags(caller.account_id, params["UserName"])
        page, extra = _page(tags, params)
        return {"Tags": tags_result(page), **extra}

    def tag_role(self, caller: Principal, params: Mapping[str, Any]) -> None:
        tags = validate_tags(params["Tags"])
        self._store.tag_role(caller.account_id, params["RoleName"], tags)
        self._changed(caller.account_id)

    def untag_role(self, caller: Principal, params: Mapping[str, Any]) -> None:
        keys = tag_keys(params["TagKeys"])
        self._store.untag_role(caller.account_id, params["RoleName"], keys)
        self._changed(caller.account_id)

    def list_role_tags(self, caller: Principal, params: Mapping[str, Any]) -> Result:
        tags = self._store.list_role_tags(caller.account_id, params["RoleName"])
        page, extra = _page(tags, params)
        return {"Tags": tags_result(page), **extra}
