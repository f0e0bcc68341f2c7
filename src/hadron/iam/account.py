"""IAM Query API handlers for account-wide views and renames: ``GetAccountAuthorizationDetails``,
``ListEntitiesForPolicy``, ``UpdateUser`` and ``UpdateGroup``.

Layer: handlers, like ``hadron.iam.api``, ``hadron.iam.groups`` and ``hadron.iam.roles`` (the
modules of this package allowed to use the store). Spec: security.md §6 (operations, errors).

Same conventions as :class:`hadron.iam.api.IamApi`: documents are returned URL-encoded; results
page with ``Marker``/``MaxItems`` over the whole (combined) list. ``GetAccountAuthorizationDetails``
lists AWS managed policies only when they are attached to an entity of the account, as IAM does.
A rename keeps the entity's id, keys, policies, memberships and tags; it calls
``policies_changed(account_id)`` and, for a user, ``forget_key`` for each of its access keys (the
credential cache holds the user's old ARN).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from hadron.errors import NoSuchEntity
from hadron.iam.api import Handler
from hadron.iam.managed import AWS_MANAGED_POLICIES, AwsManagedPolicy
from hadron.iam.profiles import profile_result
from hadron.iam.results import _encode, _page
from hadron.iam.tags import tags_result
from hadron.store import Group, ManagedPolicy, PolicyVersion, Role, Store, User
from hadron.store.iam import split_policy_arn
from hadron.types import Principal

__all__ = ["AccountApi"]

Result = dict[str, Any]

_ENTITY_KINDS = ("User", "Group", "Role", "LocalManagedPolicy", "AWSManagedPolicy")


def _boundary(arn: str | None) -> Result:
    if not arn:
        return {}
    return {
        "PermissionsBoundary": {"PermissionsBoundaryType": "Policy", "PermissionsBoundaryArn": arn}
    }


def _attached(arns: list[str]) -> list[Result]:
    out = []
    for arn in arns:
        parts = split_policy_arn(arn)
        out.append({"PolicyName": parts[2] if parts else arn, "PolicyArn": arn})
    return out


class AccountApi:
    """Account-wide IAM views and user/group renames, bound to a store and a clock."""

    def __init__(
        self,
        store: Store,
        clock: Callable[[], datetime],
        *,
        forget_key: Callable[[str], None] = lambda _akid: None,
        policies_changed: Callable[[str], None] = lambda _account: None,
    ) -> None:
        self._store = store
        self._clock = clock
        self._forget_key = forget_key
        self._changed = policies_changed

    def handlers(self) -> dict[tuple[str, str], Handler]:
        ops: dict[str, Handler] = {
            "GetAccountAuthorizationDetails": self.get_account_authorization_details,
            "ListEntitiesForPolicy": self.list_entities_for_policy,
            "UpdateUser": self.update_user,
            "UpdateGroup": self.update_group,
        }
        return {("iam", name): handler for name, handler in ops.items()}

    # --- GetAccountAuthorizationDetails -----------------------------------------------------------

    def get_account_authorization_details(
        self, caller: Principal, params: Mapping[str, Any]
    ) -> Result:
        account = caller.account_id
        wanted = set(params.get("Filter") or _ENTITY_KINDS)
        entries: list[tuple[str, Any]] = []
        if "User" in wanted:
            entries += [("User", u) for u in self._store.list_users(account)]
        if "Group" in wanted:
            entries += [("Group", g) for g in self._store.list_groups(account)]
        if "Role" in wanted:
            entries += [("Role", r) for r in self._store.list_roles(account)]
        if "LocalManagedPolicy" in wanted:
            entries += [("Policy", p) for p in self._store.list_policies(account)]
        if "AWSManagedPolicy" in wanted:
            for aws in sorted(AWS_MANAGED_POLICIES.values(), key=lambda p: p.name):
                if self._store.count_attachments(account, aws.arn) > 0:
                    entries.append(("Policy", aws))
        page, extra = _page(entries, params)
        result: Result = {"UserDetailList": [], "GroupDetailList": [], "RoleDetailList": []}
        result["Policies"] = []
        for kind, item in page:
            if kind == "User":
                result["UserDetailList"].append(self._user_detail(account, item))
            elif kind == "Group":
                result["GroupDetailList"].append(self._group_detail(account, item))
            elif kind == "Role":
                result["RoleDetailList"].append(self._role_detail(account, item))
            else:
                result["Policies"].append(self._policy_detail(account, item))
        return {**result, **extra}

    def _user_detail(self, account: str, user: User) -> Result:
        name = user.user_name
        inline = []
        for policy_name in self._store.list_user_policies(account, name):
            found = self._store.get_user_policy(account, name, policy_name)
            if found is not None:
                inline.append(
                    {"PolicyName": found.policy_name, "PolicyDocument": _encode(found.document)}
                )
        out: Result = {
            "Path": user.path,
            "UserName": name,
            "UserId": user.user_id,
            "Arn": user.arn,
            "CreateDate": user.created_at,
            "UserPolicyList": inline,
            "GroupList": [g.group_name for g in self._store.list_groups_for_user(account, name)],
            "AttachedManagedPolicies": _attached(
                self._store.list_attached_user_policies(account, name)
            ),
            **_boundary(self._store.get_user_permissions_boundary(account, name)),
        }
        tags = self._store.list_user_tags(account, name)
        if tags:
            out["Tags"] = tags_result(tags)
        return out

    def _group_detail(self, account: str, group: Group) -> Result:
        name = group.group_name
        inline = []
        for policy_name in self._store.list_group_policies(account, name):
            found = self._store.get_group_policy(account, name, policy_name)
            if found is not None:
                inline.append(
                    {"PolicyName": found.policy_name, "PolicyDocument": _encode(found.document)}
                )
        return {
            "Path": group.path,
            "GroupName": name,
            "GroupId": group.group_id,
            "Arn": group.arn,
            "CreateDate": group.created_at,
            "GroupPolicyList": inline,
            "AttachedManagedPolicies": _attached(
                self._store.list_attached_group_policies(account, name)
            ),
        }

    def _role_detail(self, account: str, role: Role) -> Result:
        name = role.role_name
        inline = []
        for policy_name in self._store.list_role_policies(account, name):
            found = self._store.get_role_policy(account, name, policy_name)
            if found is not None:
                inline.append(
                    {"PolicyName": found.policy_name, "PolicyDocument": _encode(found.document)}
                )
        out: Result = {
            "Path": role.path,
            "RoleName": name,
            "RoleId": role.role_id,
            "Arn": role.arn,
            "CreateDate": role.created_at,
            "AssumeRolePolicyDocument": _encode(role.trust_policy),
            "InstanceProfileList": [
                profile_result(p)
                for p in self._store.list_instance_profiles_for_role(account, name)
            ],
            "RolePolicyList": inline,
            "AttachedManagedPolicies": _attached(
                self._store.list_attached_role_policies(account, name)
            ),
            **_boundary(role.permissions_boundary),
            "RoleLastUsed": {},
        }
        if role.tags:
            out["Tags"] = tags_result(role.tags)
        return out

    def _policy_detail(self, account: str, policy: ManagedPolicy | AwsManagedPolicy) -> Result:
        versions: list[PolicyVersion]
        description: str | None
        if isinstance(policy, AwsManagedPolicy):
            name, description = policy.name, policy.description
            versions = [
                PolicyVersion(policy.default_version_id, policy.document, True, policy.updated_at)
            ]
            count = self._store.count_attachments(account, policy.arn)
        else:
            name, description = policy.policy_name, policy.description
            versions = self._store.list_policy_versions(account, policy.arn)
            count = policy.attachment_count
        out: Result = {
            "PolicyName": name,
            "PolicyId": policy.policy_id,
            "Arn": policy.arn,
            "Path": policy.path,
            "DefaultVersionId": policy.default_version_id,
            "AttachmentCount": count,
            "PermissionsBoundaryUsageCount": self._store.count_boundary_uses(account, policy.arn),
            "IsAttachable": True,
            "CreateDate": policy.created_at,
            "UpdateDate": policy.updated_at,
            "PolicyVersionList": [
                {
                    "Document": _encode(v.document),
                    "VersionId": v.version_id,
                    "IsDefaultVersion": v.is_default,
                    "CreateDate": v.created_at,
                }
                for v in versions
            ],
        }
        if description:
            out["Description"] = description
        return out

    # --- ListEntitiesForPolicy --------------------------------------------------------------------

    def list_entities_for_policy(self, caller: Principal, params: Mapping[str, Any]) -> Result:
        account = caller.account_id
        arn = str(params["PolicyArn"])
        if arn not in AWS_MANAGED_POLICIES and self._store.get_policy(account, arn) is None:
            raise NoSuchEntity(f"Policy {arn} was not found.")
        kind = params.get("EntityFilter")
        prefix = params.get("PathPrefix") or "/"
        boundary = params.get("PolicyUsageFilter") == "PermissionsBoundary"
        plain = params.get("PolicyUsageFilter") == "PermissionsPolicy"
        entries: list[tuple[str, Result]] = []
        if kind in (None, "Group") and not boundary:
            for group in self._store.list_groups(account, prefix):
                if arn in self._store.list_attached_group_policies(account, group.group_name):
                    entries.append(
                        ("PolicyGroups", {"GroupName": group.group_name, "GroupId": group.group_id})
                    )
        if kind in (None, "User"):
            for user in self._store.list_users(account, prefix):
                name = user.user_name
                if (
                    not boundary and arn in self._store.list_attached_user_policies(account, name)
                ) or (
                    not plain and self._store.get_user_permissions_boundary(account, name) == arn
                ):
                    entries.append(("PolicyUsers", {"UserName": name, "UserId": user.user_id}))
        if kind in (None, "Role"):
            for role in self._store.list_roles(account, prefix):
                name = role.role_name
                if (
                    not boundary and arn in self._store.list_attached_role_policies(account, name)
                ) or (not plain and role.permissions_boundary == arn):
                    entries.append(("PolicyRoles", {"RoleName": name, "RoleId": role.role_id}))
        page, extra = _page(entries, params)
        result: Result = {"PolicyGroups": [], "PolicyUsers": [], "PolicyRoles": []}
        for member, entry in page:
            result[member].append(entry)
        return {**result, **extra}

    # --- renames ----------------------------------------------------------------------------------

    def update_user(self, caller: Principal, params: Mapping[str, Any]) -> None:
        account = caller.account_id
        user_name = str(params["UserName"])
        keys = [
            k.access_key_id
            for k in (
                self._store.list_access_keys(account, user_name)
                if self._store.get_user(account, user_name) is not None
                else []
            )
        ]
        self._store.update_user(
            account,
            user_name,
            new_user_name=params.get("NewUserName") or None,
            new_path=params.get("NewPath") or None,
        )
        for akid in keys:  # the credential cache holds the user's old name and ARN
            self._forget_key(akid)
        self._changed(account)

    def update_group(self, caller: Principal, params: Mapping[str, Any]) -> None:
        self._store.update_group(
            caller.account_id,
            str(params["GroupName"]),
            new_group_name=params.get("NewGroupName") or None,
            new_path=params.get("NewPath") or None,
        )
        self._changed(caller.account_id)
