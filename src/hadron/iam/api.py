"""IAM Query API handlers: users, access keys, inline and managed policies, attachments.

Layer: handlers (with ``hadron.sts``/``hadron.credentials``), above the store; the pure policy
engine below it validates documents. Spec: security.md §2 (access keys), §6 (operations, errors).

Params arrive decoded and validated against botocore's IAM model; results use the model's member
names and are serialized from its output shapes. Policy documents are validated with
``hadron.iam.parse_policy`` *before* anything is written, so a refused document is never stored,
and are returned URL-encoded, as IAM does (botocore decodes them). Every write that can change
someone's permissions calls ``policies_changed(account_id)``; every access-key status change or
deletion calls ``forget_key(access_key_id)`` so the credential cache drops the key at once.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, NamedTuple

from hadron.errors import (
    InvalidInput,
    NoSuchEntity,
    UnmodifiableEntity,
)
from hadron.iam import entity_policies as ep
from hadron.iam import parse_policy
from hadron.iam.managed import AWS_MANAGED_POLICIES, AwsManagedPolicy
from hadron.iam.results import _encode, _page
from hadron.iam.tags import tag_keys, tags_result, validate_tags
from hadron.store import AccessKey, ManagedPolicy, PolicyVersion, Store, User
from hadron.store.iam import split_policy_arn
from hadron.types import Principal

__all__ = ["Handler", "IamApi", "UserView", "existing_user", "load_user_view", "target_user"]

Handler = Callable[[Principal, Mapping[str, Any]], Mapping[str, Any] | None]
Result = dict[str, Any]
RNG = Callable[[int], bytes]


class UserView(NamedTuple):
    """What ``GetUser`` returns about a user: its row, permissions boundary ARN and tags."""

    user: User
    boundary: str | None
    tags: tuple[tuple[str, str], ...]


def load_user_view(store: Store, account_id: str, user_name: str) -> UserView | None:
    """The user's :class:`UserView` read from the store, or ``None`` if there is no such user.

    ``hadron.policy_cache.PolicyCache.user_view`` caches it per user (invalidated by
    ``policies_changed``, which every write to a user's row, boundary or tags calls).
    """
    user = store.get_user(account_id, user_name)
    if user is None:
        return None
    try:
        boundary = store.get_user_permissions_boundary(account_id, user.user_name)
        tags = tuple(store.list_user_tags(account_id, user.user_name))
    except NoSuchEntity:  # deleted meanwhile
        return None
    return UserView(user, boundary, tags)


def _user(user: User, boundary: str | None = None) -> Result:
    out: Result = {
        "Path": user.path,
        "UserName": user.user_name,
        "UserId": user.user_id,
        "Arn": user.arn,
        "CreateDate": user.created_at,
    }
    if boundary:
        out["PermissionsBoundary"] = {
            "PermissionsBoundaryType": "Policy",
            "PermissionsBoundaryArn": boundary,
        }
    return out


def _key_metadata(key: AccessKey) -> Result:
    return {
        "UserName": key.user_name,
        "AccessKeyId": key.access_key_id,
        "Status": key.status,
        "CreateDate": key.created_at,
    }


def _version(version: PolicyVersion, *, document: bool = True) -> Result:
    out: Result = {
        "VersionId": version.version_id,
        "IsDefaultVersion": version.is_default,
        "CreateDate": version.created_at,
    }
    if document:
        out["Document"] = _encode(version.document)
    return out


def target_user(caller: Principal, params: Mapping[str, Any]) -> str:
    """``UserName``, or the caller's own name when it is omitted."""
    name = params.get("UserName") or caller.user_name
    if name is None:
        raise InvalidInput("Must specify userName when calling with non-User credentials")
    return str(name)


def existing_user(store: Store, account_id: str, user_name: str) -> User:
    """The user, or IAM's NoSuchEntity naming it."""
    user = store.get_user(account_id, user_name)
    if user is None:
        raise NoSuchEntity(f"The user with name {user_name} cannot be found.")
    return user


class IamApi:
    """The IAM handlers, bound to a store and a clock."""

    def __init__(
        self,
        store: Store,
        clock: Callable[[], datetime],
        *,
        forget_key: Callable[[str], None] = lambda _akid: None,
        policies_changed: Callable[[str], None] = lambda _account: None,
        rng: RNG = os.urandom,
        user_view: Callable[[str, str], UserView | None] | None = None,
    ) -> None:
        self._store = store
        self._clock = clock
        self._forget_key = forget_key
        self._changed = policies_changed
        self._rng = rng
        # GetUser's reads; ``hadron serve`` passes the enforcement cache's (kept in step with
        # every write by ``policies_changed``).
        self._user_view = user_view or (lambda account, name: load_user_view(store, account, name))

    def handlers(self) -> dict[tuple[str, str], Handler]:
        ops: dict[str, Handler] = {
            "CreateUser": self.create_user,
            "GetUser": self.get_user,
            "ListUsers": self.list_users,
            "DeleteUser": self.delete_user,
            "CreateAccessKey": self.create_access_key,
            "ListAccessKeys": self.list_access_keys,
            "UpdateAccessKey": self.update_access_key,
            "DeleteAccessKey": self.delete_access_key,
            "GetAccessKeyLastUsed": self.get_access_key_last_used,
            "PutUserPolicy": self.put_user_policy,
            "GetUserPolicy": self.get_user_policy,
            "ListUserPolicies": self.list_user_policies,
            "DeleteUserPolicy": self.delete_user_policy,
            "CreatePolicy": self.create_policy,
            "GetPolicy": self.get_policy,
            "ListPolicies": self.list_policies,
            "DeletePolicy": self.delete_policy,
            "CreatePolicyVersion": self.create_policy_version,
            "GetPolicyVersion": self.get_policy_version,
            "ListPolicyVersions": self.list_policy_versions,
            "SetDefaultPolicyVersion": self.set_default_policy_version,
            "DeletePolicyVersion": self.delete_policy_version,
            "AttachUserPolicy": self.attach_user_policy,
            "DetachUserPolicy": self.detach_user_policy,
            "ListAttachedUserPolicies": self.list_attached_user_policies,
            "TagPolicy": self.tag_policy,
            "UntagPolicy": self.untag_policy,
            "ListPolicyTags": self.list_policy_tags,
        }
        return {("iam", name): handler for name, handler in ops.items()}

    # --- helpers ----------------------------------------------------------------------------------

    _target = staticmethod(target_user)

    def _existing_user(self, account_id: str, user_name: str) -> User:
        return existing_user(self._store, account_id, user_name)

    def _own_key(self, caller: Principal, params: Mapping[str, Any]) -> AccessKey:
        akid = str(params["AccessKeyId"])
        user_name = self._target(caller, params)
        self._existing_user(caller.account_id, user_name)
        key = self._store.get_access_key(akid)
        if (
            key is None
            or key.account_id != caller.account_id
            or key.user_name.lower() != user_name.lower()
        ):
            raise NoSuchEntity(f"The Access Key with id {akid} cannot be found.")
        return key

    def _managed(self, caller: Principal, arn: str) -> ManagedPolicy | AwsManagedPolicy:
        aws = AWS_MANAGED_POLICIES.get(arn)
        if aws is not None:
            return aws
        policy = self._store.get_policy(caller.account_id, arn)
        if policy is None:
            raise NoSuchEntity(f"Policy {arn} was not found.")
        return policy

    def _customer(self, caller: Principal, arn: str) -> str:
        """``arn`` if it may be modified by the caller (not an AWS managed policy)."""
        if arn in AWS_MANAGED_POLICIES or (
            (parts := split_policy_arn(arn)) is not None and parts[0] == "aws"
        ):
            raise UnmodifiableEntity(f"Cannot modify the AWS managed policy {arn}.")
        return arn

    def _policy_result(self, caller: Principal, policy: ManagedPolicy | AwsManagedPolicy) -> Result:
        if isinstance(policy, AwsManagedPolicy):
            count = self._store.count_attachments(caller.account_id, policy.arn)
            description: str | None = policy.description
        else:
            count = policy.attachment_count
            description = policy.description
        out: Result = {
            "PolicyName": policy.name
            if isinstance(policy, AwsManagedPolicy)
            else policy.policy_name,
            "PolicyId": policy.policy_id,
            "Arn": policy.arn,
            "Path": policy.path,
            "DefaultVersionId": policy.default_version_id,
            "AttachmentCount": count,
            "PermissionsBoundaryUsageCount": self._store.count_boundary_uses(
                caller.account_id, policy.arn
            ),
            "IsAttachable": True,
            "CreateDate": policy.created_at,
            "UpdateDate": policy.updated_at,
        }
        if description:
            out["Description"] = description
        return out

    # --- users ------------------------------------------------------------------------------------

    def create_user(self, caller: Principal, params: Mapping[str, Any]) -> Result:
        tags = validate_tags(params.get("Tags"))  # before anything is stored
        boundary = params.get("PermissionsBoundary")
        if boundary and (
            boundary not in AWS_MANAGED_POLICIES
            and self._store.get_policy(caller.account_id, boundary) is None
        ):
            raise NoSuchEntity(f"Scope ARN: {boundary} does not exist or is not attachable.")
        user = self._store.create_user(
            caller.account_id,
            params["UserName"],
            params.get("Path") or "/",
            self._clock(),
            self._rng,
        )
        if boundary:  # hadron.iam.groups handles Put/DeleteUserPermissionsBoundary
            self._store.put_user_permissions_boundary(caller.account_id, user.user_name, boundary)
            self._changed(caller.account_id)
        result = _user(user, boundary)
        if tags:  # hadron.iam.roles handles Tag/Untag/ListUserTags
            self._store.tag_user(caller.account_id, user.user_name, tags)
            self._changed(caller.account_id)
            result["Tags"] = tags_result(tags)
        return {"User": result}

    def get_user(self, caller: Principal, params: Mapping[str, Any]) -> Result:
        name = self._target(caller, params)
        view = self._user_view(caller.account_id, name)
        if view is None:
            raise NoSuchEntity(f"The user with name {name} cannot be found.")
        result = _user(view.user, view.boundary)
        if view.tags:
            result["Tags"] = tags_result(view.tags)
        return {"User": result}

    def list_users(self, caller: Principal, params: Mapping[str, Any]) -> Result:
        users = self._store.list_users(caller.account_id, params.get("PathPrefix") or "/")
        page, extra = _page(users, params)
        return {"Users": [_user(u) for u in page], **extra}

    def delete_user(self, caller: Principal, params: Mapping[str, Any]) -> None:
        self._store.delete_user(caller.account_id, params["UserName"])
        self._changed(caller.account_id)

    # --- access keys ------------------------------------------------------------------------------

    def create_access_key(self, caller: Principal, params: Mapping[str, Any]) -> Result:
        key = self._store.create_access_key(
            caller.account_id, self._target(caller, params), self._clock(), self._rng
        )
        return {"AccessKey": {**_key_metadata(key), "SecretAccessKey": key.secret}}

    def list_access_keys(self, caller: Principal, params: Mapping[str, Any]) -> Result:
        user = self._existing_user(caller.account_id, self._target(caller, params))
        keys = self._store.list_access_keys(caller.account_id, user.user_name)
        page, extra = _page(sorted(keys, key=lambda k: k.created_at), params)
        return {"AccessKeyMetadata": [_key_metadata(k) for k in page], **extra}

    def update_access_key(self, caller: Principal, params: Mapping[str, Any]) -> None:
        key = self._own_key(caller, params)
        self._store.set_access_key_status(key.access_key_id, params["Status"])
        self._forget_key(key.access_key_id)

    def delete_access_key(self, caller: Principal, params: Mapping[str, Any]) -> None:
        key = self._own_key(caller, params)
        self._store.delete_access_key(key.access_key_id)
        self._forget_key(key.access_key_id)

    def get_access_key_last_used(self, caller: Principal, params: Mapping[str, Any]) -> Result:
        akid = str(params["AccessKeyId"])
        key = self._store.get_access_key(akid)
        if key is None or key.account_id != caller.account_id:
            raise NoSuchEntity(f"The Access Key with id {akid} cannot be found.")
        used: Result = {
            "ServiceName": key.last_used_service or "N/A",
            "Region": key.last_used_region or "N/A",
        }
        if key.last_used_at is not None:
            used["LastUsedDate"] = key.last_used_at
        return {"UserName": key.user_name, "AccessKeyLastUsed": used}

    # --- inline policies --------------------------------------------------------------------------

    def put_user_policy(self, caller: Principal, params: Mapping[str, Any]) -> None:
        ep.put_inline_policy(ep.USER, self._store.put_user_policy, self._changed, caller, params)

    def get_user_policy(self, caller: Principal, params: Mapping[str, Any]) -> Result:
        return ep.get_inline_policy(
            ep.USER,
            self._store.get_user_policy,
            lambda account_id, name: self._existing_user(account_id, name).user_name,
            caller,
            params,
        )

    def list_user_policies(self, caller: Principal, params: Mapping[str, Any]) -> Result:
        return ep.list_inline_policies(ep.USER, self._store.list_user_policies, caller, params)

    def delete_user_policy(self, caller: Principal, params: Mapping[str, Any]) -> None:
        ep.delete_inline_policy(
            ep.USER, self._store.delete_user_policy, self._changed, caller, params
        )

    # --- managed policies -------------------------------------------------------------------------

    def create_policy(self, caller: Principal, params: Mapping[str, Any]) -> Result:
        document = str(params["PolicyDocument"])
        parse_policy(document, kind="identity")
        tags = validate_tags(params.get("Tags"))  # before anything is stored
        policy = self._store.create_policy(
            caller.account_id,
            params["PolicyName"],
            params.get("Path") or "/",
            document,
            params.get("Description"),
            self._clock(),
            self._rng,
            tags=tags,
        )
        result = self._policy_result(caller, policy)
        result.pop("Description", None)  # CreatePolicy's response omits it, as IAM's does
        if tags:
            result["Tags"] = tags_result(tags)
        return {"Policy": result}

    def get_policy(self, caller: Principal, params: Mapping[str, Any]) -> Result:
        policy = self._managed(caller, params["PolicyArn"])
        result = self._policy_result(caller, policy)
        if isinstance(policy, ManagedPolicy):  # ListPolicies leaves tags out, as IAM's
            tags = self._store.list_policy_tags(caller.account_id, policy.arn)
            if tags:
                result["Tags"] = tags_result(tags)
        return {"Policy": result}

    # --- policy tags ------------------------------------------------------------------------------

    def _taggable_policy(self, caller: Principal, arn: str) -> str:
        """``arn`` if it names a customer managed policy of the caller's account."""
        if arn in AWS_MANAGED_POLICIES or (
            (parts := split_policy_arn(arn)) is not None and parts[0] == "aws"
        ):
            # UNCONFIRMED wording beyond the code; seen from IAM for AWS managed policies.
            raise InvalidInput("Tags not supported for policies in this domain")
        return arn

    def tag_policy(self, caller: Principal, params: Mapping[str, Any]) -> None:
        tags = validate_tags(params["Tags"])
        arn = self._taggable_policy(caller, str(params["PolicyArn"]))
        self._store.tag_policy(caller.account_id, arn, tags)
        self._changed(caller.account_id)  # aws:ResourceTag of requests on the policy

    def untag_policy(self, caller: Principal, params: Mapping[str, Any]) -> None:
        keys = tag_keys(params["TagKeys"])
        arn = self._taggable_policy(caller, str(params["PolicyArn"]))
        self._store.untag_policy(caller.account_id, arn, keys)
        self._changed(caller.account_id)

    def list_policy_tags(self, caller: Principal, params: Mapping[str, Any]) -> Result:
        arn = self._taggable_policy(caller, str(params["PolicyArn"]))
        page, extra = _page(self._store.list_policy_tags(caller.account_id, arn), params)
        return {"Tags": tags_result(page), **extra}

    def list_policies(self, caller: Principal, params: Mapping[str, Any]) -> Result:
        scope = params.get("Scope") or "All"
        prefix = params.get("PathPrefix") or "/"
        boundaries_only = params.get("PolicyUsageFilter") == "PermissionsBoundary"
        chosen: list[Result] = []
        if scope in ("All", "AWS"):
            for aws in sorted(AWS_MANAGED_POLICIES.values(), key=lambda p: p.name):
                chosen.append(self._policy_result(caller, aws))
        if scope in ("All", "Local"):
            for own in self._store.list_policies(caller.account_id):
                chosen.append(self._policy_result(caller, own))
        chosen = [
            {k: v for k, v in p.items() if k != "Description"}
            for p in chosen
            if p["Path"].startswith(prefix)
            and (not params.get("OnlyAttached") or p["AttachmentCount"] > 0)
            and (not boundaries_only or p["PermissionsBoundaryUsageCount"] > 0)
        ]
        page, extra = _page(chosen, params)
        return {"Policies": list(page), **extra}

    def delete_policy(self, caller: Principal, params: Mapping[str, Any]) -> None:
        arn = self._customer(caller, params["PolicyArn"])
        self._store.delete_policy(caller.account_id, arn)
        self._changed(caller.account_id)

    def create_policy_version(self, caller: Principal, params: Mapping[str, Any]) -> Result:
        arn = self._customer(caller, params["PolicyArn"])
        document = str(params["PolicyDocument"])
        parse_policy(document, kind="identity")
        version = self._store.create_policy_version(
            caller.account_id, arn, document, bool(params.get("SetAsDefault")), self._clock()
        )
        self._changed(caller.account_id)
        return {"PolicyVersion": _version(version, document=False)}

    def get_policy_version(self, caller: Principal, params: Mapping[str, Any]) -> Result:
        arn, version_id = params["PolicyArn"], params["VersionId"]
        aws = AWS_MANAGED_POLICIES.get(arn)
        found: PolicyVersion | None
        if aws is not None:
            found = (
                PolicyVersion(aws.default_version_id, aws.document, True, aws.updated_at)
                if version_id == aws.default_version_id
                else None
            )
        else:
            found = self._store.get_policy_version(caller.account_id, arn, version_id)
        if found is None:
            raise NoSuchEntity(
                f"Policy {arn} version {version_id} does not exist or is not attachable."
            )
        return {"PolicyVersion": _version(found)}

    def list_policy_versions(self, caller: Principal, params: Mapping[str, Any]) -> Result:
        arn = params["PolicyArn"]
        aws = AWS_MANAGED_POLICIES.get(arn)
        if aws is not None:
            versions = [PolicyVersion(aws.default_version_id, aws.document, True, aws.updated_at)]
        else:
            versions = self._store.list_policy_versions(caller.account_id, arn)
        page, extra = _page(versions, params)
        return {"Versions": [_version(v, document=False) for v in page], **extra}

    def set_default_policy_version(self, caller: Principal, params: Mapping[str, Any]) -> None:
        arn = self._customer(caller, params["PolicyArn"])
        self._store.set_default_policy_version(
            caller.account_id, arn, params["VersionId"], self._clock()
        )
        self._changed(caller.account_id)

    def delete_policy_version(self, caller: Principal, params: Mapping[str, Any]) -> None:
        arn = self._customer(caller, params["PolicyArn"])
        self._store.delete_policy_version(caller.account_id, arn, params["VersionId"])

    # --- attachments ------------------------------------------------------------------------------

    def attach_user_policy(self, caller: Principal, params: Mapping[str, Any]) -> None:
        ep.attach_policy(
            ep.USER, self._store.attach_user_policy, self._clock, self._changed, caller, params
        )

    def detach_user_policy(self, caller: Principal, params: Mapping[str, Any]) -> None:
        ep.detach_policy(ep.USER, self._store.detach_user_policy, self._changed, caller, params)

    def list_attached_user_policies(self, caller: Principal, params: Mapping[str, Any]) -> Result:
        return ep.list_attached_policies(
            ep.USER, self._store.list_attached_user_policies, caller, params
        )
