"""IAM Query API handlers for groups (members, inline and managed policies) and user
permissions boundaries.

Layer: handlers, like ``hadron.iam.api`` (the other module of this package allowed to use the
store). Spec: security.md §4.9 (group policies are identity policies; the boundary), §6.

Same conventions as :class:`hadron.iam.api.IamApi`: params arrive decoded and validated against
botocore's IAM model; policy documents are validated with ``hadron.iam.parse_policy`` before
anything is written and returned URL-encoded; every write that can change someone's permissions
(membership, a group's policies, a boundary) calls ``policies_changed(account_id)``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from hadron.errors import NoSuchEntity
from hadron.iam import entity_policies as ep
from hadron.iam.api import Handler, _user
from hadron.iam.results import _page
from hadron.store import Group, Store
from hadron.types import Principal

__all__ = ["GroupsApi"]

Result = dict[str, Any]


def _group(group: Group) -> Result:
    return {
        "Path": group.path,
        "GroupName": group.group_name,
        "GroupId": group.group_id,
        "Arn": group.arn,
        "CreateDate": group.created_at,
    }


class GroupsApi:
    """The IAM group and permissions-boundary handlers, bound to a store and a clock."""

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
            "CreateGroup": self.create_group,
            "GetGroup": self.get_group,
            "ListGroups": self.list_groups,
            "DeleteGroup": self.delete_group,
            "AddUserToGroup": self.add_user_to_group,
            "RemoveUserFromGroup": self.remove_user_from_group,
            "ListGroupsForUser": self.list_groups_for_user,
            "PutGroupPolicy": self.put_group_policy,
            "GetGroupPolicy": self.get_group_policy,
            "ListGroupPolicies": self.list_group_policies,
            "DeleteGroupPolicy": self.delete_group_policy,
            "AttachGroupPolicy": self.attach_group_policy,
            "DetachGroupPolicy": self.detach_group_policy,
            "ListAttachedGroupPolicies": self.list_attached_group_policies,
            "PutUserPermissionsBoundary": self.put_user_permissions_boundary,
            "DeleteUserPermissionsBoundary": self.delete_user_permissions_boundary,
        }
        return {("iam", name): handler for name, handler in ops.items()}

    def _existing_group(self, account_id: str, group_name: str) -> Group:
        group = self._store.get_group(account_id, group_name)
        if group is None:
            raise NoSuchEntity(f"The group with name {group_name} cannot be found.")
        return group

    # --- groups -----------------------------------------------------------------------------------

    def create_group(self, caller: Principal, params: Mapping[str, Any]) -> Result:
        group = self._store.create_group(
            caller.account_id,
            params["GroupName"],
            params.get("Path") or "/",
            self._clock(),
            self._rng,
        )
        return {"Group": _group(group)}

    def get_group(self, caller: Principal, params: Mapping[str, Any]) -> Result:
        group = self._existing_group(caller.account_id, params["GroupName"])
        members = self._store.list_group_members(caller.account_id, group.group_name)
        page, extra = _page(members, params)
        return {"Group": _group(group), "Users": [_user(u) for u in page], **extra}

    def list_groups(self, caller: Principal, params: Mapping[str, Any]) -> Result:
        found = self._store.list_groups(caller.account_id, params.get("PathPrefix") or "/")
        page, extra = _page(found, params)
        return {"Groups": [_group(g) for g in page], **extra}

    def delete_group(self, caller: Principal, params: Mapping[str, Any]) -> None:
        self._store.delete_group(caller.account_id, params["GroupName"])
        self._changed(caller.account_id)

    # --- membership -------------------------------------------------------------------------------

    def add_user_to_group(self, caller: Principal, params: Mapping[str, Any]) -> None:
        self._store.add_user_to_group(
            caller.account_id, params["GroupName"], params["UserName"], self._clock()
        )
        self._changed(caller.account_id)

    def remove_user_from_group(self, caller: Principal, params: Mapping[str, Any]) -> None:
        self._store.remove_user_from_group(
            caller.account_id, params["GroupName"], params["UserName"]
        )
        self._changed(caller.account_id)

    def list_groups_for_user(self, caller: Principal, params: Mapping[str, Any]) -> Result:
        found = self._store.list_groups_for_user(caller.account_id, params["UserName"])
        page, extra = _page(found, params)
        return {"Groups": [_group(g) for g in page], **extra}

    # --- group inline policies --------------------------------------------------------------------

    def put_group_policy(self, caller: Principal, params: Mapping[str, Any]) -> None:
        ep.put_inline_policy(ep.GROUP, self._store.put_group_policy, self._changed, caller, params)

    def get_group_policy(self, caller: Principal, params: Mapping[str, Any]) -> Result:
        return ep.get_inline_policy(
            ep.GROUP,
            self._store.get_group_policy,
            lambda account_id, name: self._existing_group(account_id, name).group_name,
            caller,
            params,
        )

    def list_group_policies(self, caller: Principal, params: Mapping[str, Any]) -> Result:
        return ep.list_inline_policies(ep.GROUP, self._store.list_group_policies, caller, params)

    def delete_group_policy(self, caller: Principal, params: Mapping[str, Any]) -> None:
        ep.delete_inline_policy(
            ep.GROUP, self._store.delete_group_policy, self._changed, caller, params
        )

    # --- group attachments ------------------------------------------------------------------------

    def attach_group_policy(self, caller: Principal, params: Mapping[str, Any]) -> None:
        ep.attach_policy(
            ep.GROUP, self._store.attach_group_policy, self._clock, self._changed, caller, params
        )

    def detach_group_policy(self, caller: Principal, params: Mapping[str, Any]) -> None:
        ep.detach_policy(ep.GROUP, self._store.detach_group_policy, self._changed, caller, params)

    def list_attached_group_policies(self, caller: Principal, params: Mapping[str, Any]) -> Result:
        return ep.list_attached_policies(
            ep.GROUP, self._store.list_attached_group_policies, caller, params
        )

    # --- permissions boundaries -------------------------------------------------------------------

    def put_user_permissions_boundary(self, caller: Principal, params: Mapping[str, Any]) -> None:
        arn = params["PermissionsBoundary"]
        if ep.aws_policy_missing(arn):
            raise NoSuchEntity(f"Scope ARN: {arn} does not exist or is not attachable.")
        self._store.put_user_permissions_boundary(caller.account_id, params["UserName"], arn)
        self._changed(caller.account_id)

    def delete_user_permissions_boundary(
        self, caller: Principal, params: Mapping[str, Any]
    ) -> None:
        self._store.delete_user_permissions_boundary(caller.account_id, params["UserName"])
        self._changed(caller.account_id)
