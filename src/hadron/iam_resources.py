"""IAM operations as resources: the ARN each IAM request acts on, and the entity it tags.

Layer: with ``hadron.enforcement`` (no I/O of its own: existing entities' paths come through
lookup functions; it builds ARNs with ``hadron.store.records``). Spec: security.md §4.9 (the
resource of each IAM action), §5 (``aws:ResourceTag/…``, ``aws:RequestTag/…``,
``aws:TagKeys``).

For IAM user operations the resource is the user (``arn:aws:iam::<acct>:user<path><name>``), for
managed policy operations the policy ARN, ``ListUsers`` the path (``…:user/``), the other IAM
operations ``*``. Proton, EC2 and STS: the first ARN of ``hadron.authz_map``. The operation sets
also tell live enforcement which operations carry request tags and which existing entity's tags
are ``aws:ResourceTag/…``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from hadron.authz_map import DEFAULT_REGION, authorization
from hadron.store.records import (
    group_arn,
    instance_profile_arn,
    mfa_arn,
    policy_arn,
    role_arn,
    user_arn,
)
from hadron.types import Principal

__all__ = ["TAGGING_OPERATIONS", "UNTAGGING_OPERATIONS", "resource_for", "tag_target"]

# IAM operations whose resource is the user named by ``UserName`` (or the caller).
_USER_OPERATIONS = frozenset(
    {
        "CreateUser",
        "GetUser",
        "DeleteUser",
        "UpdateUser",
        "CreateAccessKey",
        "ListAccessKeys",
        "UpdateAccessKey",
        "DeleteAccessKey",
        "PutUserPolicy",
        "GetUserPolicy",
        "ListUserPolicies",
        "DeleteUserPolicy",
        "AttachUserPolicy",
        "DetachUserPolicy",
        "ListAttachedUserPolicies",
        "TagUser",
        "UntagUser",
        "ListUserTags",
        # MFA devices acting on the user they are (or get) assigned to
        "EnableMFADevice",
        "DeactivateMFADevice",
        "ResyncMFADevice",
        "ListMFADevices",
        "GetMFADevice",
    }
)
# IAM operations whose resource is the virtual MFA device (``arn:aws:iam::<acct>:mfa<path><name>``,
# which is its ``SerialNumber``).
_MFA_OPERATIONS = frozenset(
    {"DeleteVirtualMFADevice", "TagMFADevice", "UntagMFADevice", "ListMFADeviceTags"}
)
# IAM operations whose resource is the role named by ``RoleName`` (``hadron.iam.roles``).
_ROLE_OPERATIONS = frozenset(
    {
        "CreateRole",
        "GetRole",
        "DeleteRole",
        "UpdateRole",
        "UpdateRoleDescription",
        "UpdateAssumeRolePolicy",
        "PutRolePolicy",
        "GetRolePolicy",
        "ListRolePolicies",
        "DeleteRolePolicy",
        "AttachRolePolicy",
        "DetachRolePolicy",
        "ListAttachedRolePolicies",
        "PutRolePermissionsBoundary",
        "DeleteRolePermissionsBoundary",
        "TagRole",
        "UntagRole",
        "ListRoleTags",
        "ListInstanceProfilesForRole",
    }
)
# IAM operations whose resource is the instance profile named by ``InstanceProfileName``
# (``hadron.iam.profiles``).
_PROFILE_OPERATIONS = frozenset(
    {
        "CreateInstanceProfile",
        "GetInstanceProfile",
        "DeleteInstanceProfile",
        "AddRoleToInstanceProfile",
        "RemoveRoleFromInstanceProfile",
        "TagInstanceProfile",
        "UntagInstanceProfile",
        "ListInstanceProfileTags",
    }
)
# Operations that carry ``Tags`` (aws:RequestTag/…, aws:TagKeys) or ``TagKeys`` (aws:TagKeys).
TAGGING_OPERATIONS = frozenset({"CreateUser", "CreateRole", "TagUser", "TagRole"}) | {
    "CreatePolicy",
    "TagPolicy",
    "CreateInstanceProfile",
    "TagInstanceProfile",
    "CreateVirtualMFADevice",
    "TagMFADevice",
}
UNTAGGING_OPERATIONS = frozenset(
    {"UntagUser", "UntagRole", "UntagPolicy", "UntagInstanceProfile", "UntagMFADevice"}
)
# IAM operations whose resource is the principal named by ``PolicySourceArn`` (the simulator).
_SOURCE_ARN_OPERATIONS = frozenset({"SimulatePrincipalPolicy", "GetContextKeysForPrincipalPolicy"})
# IAM operations whose resource is the managed policy named by ``PolicyArn``.
_POLICY_OPERATIONS = frozenset(
    {
        "GetPolicy",
        "DeletePolicy",
        "CreatePolicyVersion",
        "GetPolicyVersion",
        "ListPolicyVersions",
        "SetDefaultPolicyVersion",
        "DeletePolicyVersion",
        "ListEntitiesForPolicy",
        "TagPolicy",
        "UntagPolicy",
        "ListPolicyTags",
    }
)


def resource_for(
    principal: Principal,
    service: str,
    operation: str,
    params: Mapping[str, Any],
    user_path: Callable[[str, str], str | None],
    *,
    region: str = DEFAULT_REGION,
    role_path: Callable[[str, str], str | None] | None = None,
    group_path: Callable[[str, str], str | None] | None = None,
    profile_path: Callable[[str, str], str | None] | None = None,
) -> str:
    """The resource ARN a request acts on (``*`` where the action has no resource-level
    permission). Non-IAM services: the first resource of ``hadron.authz_map.authorization``
    (``PolicyAuthorizer`` uses all of them, and the map's condition keys).

    ``user_path(account_id, user_name)`` returns an existing user's path, else ``None`` (then
    ``/`` is assumed, as IAM builds the ARN of a user that does not exist from its name);
    ``role_path`` does the same for roles (``None``: every role is taken to be at ``/``), and
    ``group_path`` for groups (only ``UpdateGroup`` acts on a group ARN so far).
    """
    if service != "iam":
        mapped = authorization(
            service, operation, params, account=principal.account_id, region=region
        )
        return mapped.resources[0]
    account = principal.account_id
    if operation in _USER_OPERATIONS:
        name = params.get("UserName") or principal.user_name
        if name is None:
            return principal.arn
        if operation == "CreateUser":
            return user_arn(account, params.get("Path") or "/", name)
        if not params.get("UserName"):
            return principal.arn
        return user_arn(account, user_path(account, name) or "/", name)
    if operation in _ROLE_OPERATIONS:
        name = str(params["RoleName"])
        if operation == "CreateRole":
            return role_arn(account, params.get("Path") or "/", name)
        return role_arn(account, (role_path or (lambda _a, _n: None))(account, name) or "/", name)
    if operation in _POLICY_OPERATIONS:
        return str(params["PolicyArn"])
    if operation in _SOURCE_ARN_OPERATIONS:
        return str(params["PolicySourceArn"])
    if operation == "CreatePolicy":
        return policy_arn(account, params.get("Path") or "/", params["PolicyName"])
    if operation == "UpdateGroup":
        name = str(params["GroupName"])
        path = (group_path or (lambda _a, _n: None))(account, name) or "/"
        return group_arn(account, path, name)
    if operation == "ListUsers":
        return f"arn:aws:iam::{account}:user{params.get('PathPrefix') or '/'}"
    if operation in _PROFILE_OPERATIONS:
        name = str(params["InstanceProfileName"])
        if operation == "CreateInstanceProfile":
            return instance_profile_arn(account, params.get("Path") or "/", name)
        path = (profile_path or (lambda _a, _n: None))(account, name) or "/"
        return instance_profile_arn(account, path, name)
    if operation == "ListInstanceProfiles":
        return f"arn:aws:iam::{account}:instance-profile{params.get('PathPrefix') or '/'}"
    if operation in _MFA_OPERATIONS:
        return str(params["SerialNumber"])
    if operation == "CreateVirtualMFADevice":
        return mfa_arn(account, params.get("Path") or "/", params["VirtualMFADeviceName"])
    return "*"


# Operations that create the entity they act on: it has no tags yet.
_CREATIONS = frozenset({"CreateUser", "CreateRole", "CreatePolicy", "CreateInstanceProfile"})


def tag_target(
    principal: Principal, operation: str, params: Mapping[str, Any]
) -> tuple[str, str, str] | None:
    """``(kind, account, name)`` of the existing entity an IAM operation acts on, for
    ``aws:ResourceTag`` (``None`` for creations and operations on no taggable entity)."""
    account = principal.account_id
    if operation in _CREATIONS:
        return None
    if operation in _USER_OPERATIONS:
        name = params.get("UserName") or principal.user_name
        return None if name is None else ("user", account, str(name))
    if operation in _ROLE_OPERATIONS:
        return ("role", account, str(params["RoleName"]))
    if operation in _POLICY_OPERATIONS:
        return ("policy", account, str(params["PolicyArn"]))
    if operation in _PROFILE_OPERATIONS:
        return ("instance-profile", account, str(params["InstanceProfileName"]))
    return None
