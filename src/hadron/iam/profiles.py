"""IAM Query API handlers for instance profiles (their role and their tags).

Layer: handlers, like ``hadron.iam.roles`` (the modules of this package allowed to use the store).
Spec: security.md §4.3 (quotas: one role per instance profile, 50 tags), §6 (operations, error
codes). ARNs are ``arn:aws:iam::<account>:instance-profile<path><name>``, ids ``AIPA…``.

Same conventions as :class:`hadron.iam.roles.RolesApi`: tags are validated before anything is
written; each write that changes what enforcement reads about a profile (its tags feed
``aws:ResourceTag``) calls ``policies_changed(account_id)``. As IAM's, ``ListInstanceProfiles``
and ``ListInstanceProfilesForRole`` leave the profiles' tags out, and the roles inside a profile
are shown without their description, session duration, boundary, tags and last use.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from hadron.errors import NoSuchEntity
from hadron.iam.api import Handler
from hadron.iam.results import _encode, _page
from hadron.iam.tags import tag_keys, tags_result, validate_tags
from hadron.store import InstanceProfile, Role, Store
from hadron.types import Principal

__all__ = ["InstanceProfilesApi"]

Result = dict[str, Any]


def _member(role: Role) -> Result:
    return {
        "Path": role.path,
        "RoleName": role.role_name,
        "RoleId": role.role_id,
        "Arn": role.arn,
        "CreateDate": role.created_at,
        "AssumeRolePolicyDocument": _encode(role.trust_policy),
    }


def profile_result(profile: InstanceProfile, *, tags: bool = True) -> Result:
    """An ``InstanceProfile`` structure (``tags=False``: as the listing operations show it)."""
    out: Result = {
        "Path": profile.path,
        "InstanceProfileName": profile.profile_name,
        "InstanceProfileId": profile.profile_id,
        "Arn": profile.arn,
        "CreateDate": profile.created_at,
        "Roles": [_member(r) for r in profile.roles],
    }
    if tags and profile.tags:
        out["Tags"] = tags_result(profile.tags)
    return out


class InstanceProfilesApi:
    """The instance-profile handlers, bound to a store and a clock."""

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
            "CreateInstanceProfile": self.create_instance_profile,
            "GetInstanceProfile": self.get_instance_profile,
            "DeleteInstanceProfile": self.delete_instance_profile,
            "ListInstanceProfiles": self.list_instance_profiles,
            "AddRoleToInstanceProfile": self.add_role_to_instance_profile,
            "RemoveRoleFromInstanceProfile": self.remove_role_from_instance_profile,
            "ListInstanceProfilesForRole": self.list_instance_profiles_for_role,
            "TagInstanceProfile": self.tag_instance_profile,
            "UntagInstanceProfile": self.untag_instance_profile,
            "ListInstanceProfileTags": self.list_instance_profile_tags,
        }
        return {("iam", name): handler for name, handler in ops.items()}

    def create_instance_profile(self, caller: Principal, params: Mapping[str, Any]) -> Result:
        tags = validate_tags(params.get("Tags"))  # before anything is stored
        profile = self._store.create_instance_profile(
            caller.account_id,
            str(params["InstanceProfileName"]),
            params.get("Path") or "/",
            self._clock(),
            self._rng,
            tags=tags,
        )
        return {"InstanceProfile": profile_result(profile)}

    def get_instance_profile(self, caller: Principal, params: Mapping[str, Any]) -> Result:
        name = str(params["InstanceProfileName"])
        profile = self._store.get_instance_profile(caller.account_id, name)
        if profile is None:
            raise NoSuchEntity(f"Instance Profile {name} cannot be found.")
        return {"InstanceProfile": profile_result(profile)}

    def delete_instance_profile(self, caller: Principal, params: Mapping[str, Any]) -> None:
        self._store.delete_instance_profile(caller.account_id, str(params["InstanceProfileName"]))
        self._changed(caller.account_id)

    def list_instance_profiles(self, caller: Principal, params: Mapping[str, Any]) -> Result:
        found = self._store.list_instance_profiles(
            caller.account_id, params.get("PathPrefix") or "/"
        )
        page, extra = _page(found, params)
        return {"InstanceProfiles": [profile_result(p, tags=False) for p in page], **extra}

    def add_role_to_instance_profile(self, caller: Principal, params: Mapping[str, Any]) -> None:
        self._store.add_role_to_instance_profile(
            caller.account_id,
            str(params["InstanceProfileName"]),
            str(params["RoleName"]),
            self._clock(),
        )

    def remove_role_from_instance_profile(
        self, caller: Principal, params: Mapping[str, Any]
    ) -> None:
        self._store.remove_role_from_instance_profile(
            caller.account_id, str(params["InstanceProfileName"]), str(params["RoleName"])
        )

    def list_instance_profiles_for_role(
        self, caller: Principal, params: Mapping[str, Any]
    ) -> Result:
        found = self._store.list_instance_profiles_for_role(
            caller.account_id, str(params["RoleName"])
        )
        page, extra = _page(found, params)
        return {"InstanceProfiles": [profile_result(p, tags=False) for p in page], **extra}

    def tag_instance_profile(self, caller: Principal, params: Mapping[str, Any]) -> None:
        tags = validate_tags(params["Tags"])
        self._store.tag_instance_profile(
            caller.account_id, str(params["InstanceProfileName"]), tags
        )
        self._changed(caller.account_id)  # aws:ResourceTag of requests on the profile

    def untag_instance_profile(self, caller: Principal, params: Mapping[str, Any]) -> None:
        keys = tag_keys(params["TagKeys"])
        self._store.untag_instance_profile(
            caller.account_id, str(params["InstanceProfileName"]), keys
        )
        self._changed(caller.account_id)

    def list_instance_profile_tags(self, caller: Principal, params: Mapping[str, Any]) -> Result:
        tags = self._store.list_instance_profile_tags(
            caller.account_id, str(params["InstanceProfileName"])
        )
        page, extra = _page(tags, params)
        return {"Tags": tags_result(page), **extra}
