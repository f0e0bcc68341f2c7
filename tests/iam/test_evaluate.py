"""The decision order (§4.9): one row per evaluation rule, each naming the AWS sentence it encodes.

Sources: IAM User Guide "Policy evaluation logic" (and its cross-account page), "Permissions
boundaries for IAM entities", "Session policies", "Principal" and "NotPrincipal" elements;
Organizations "SCP evaluation" and "RCP evaluation"; VPC "Control access to VPC endpoints using
endpoint policies"; iam-simulate's test corpus where the guide is silent (security.md §4.9).
"""

from __future__ import annotations

from typing import Any

import pytest

from hadron.iam import Policy, PolicyKind, Result, authorize, parse_policy
from tests.iam.helpers import (
    ACCOUNT,
    ALICE,
    BOB_OTHER,
    FEDERATED,
    GET,
    OTHER,
    ROLE,
    ROOT,
    SESSION,
    WEB,
    allow_all,
    deny_all,
    identity,
    pol,
    stmt,
)

ALLOW_GET = identity(stmt("Allow", GET, WEB))
DENY_GET = identity(stmt("Deny", GET, "*"))
SCP_ALL = allow_all("scp")
RCP_ALL = allow_all("rcp")
EP_ALL = allow_all("endpoint")


def rp(principal: Any, effect: str = "Allow", *, kind: str = "resource", **extra: Any) -> Policy:
    return pol(kind, stmt(effect, GET, WEB, Principal=principal, **extra), version=None)


def trust(principal: Any, effect: str = "Allow", **extra: Any) -> Policy:
    return pol("trust", stmt(effect, "sts:AssumeRole", None, Principal=principal, **extra))


Row = Any

ROWS: list[Row] = [
    # --- default deny, identity policies, explicit deny -------------------------------------
    pytest.param(
        {}, "ImplicitlyDenied", "identity", id="By default, all requests are implicitly denied"
    ),
    pytest.param(
        {"identity_policies": [ALLOW_GET]},
        "Allowed",
        None,
        id="An explicit allow in an identity-based policy overrides this default",
    ),
    pytest.param(
        {"identity_policies": [identity(stmt("Allow", GET, WEB), stmt("Deny", GET, WEB))]},
        "ExplicitlyDenied",
        "identity",
        id="An explicit deny in any policy overrides any allows",
    ),
    pytest.param(
        {"identity_policies": [ALLOW_GET, DENY_GET]},
        "ExplicitlyDenied",
        "identity",
        id="A deny in another attached policy overrides the allow",
    ),
    pytest.param(
        {
            "identity_policies": [
                ALLOW_GET,
                identity({"Effect": "Deny", "NotAction": "proton:Get*", "Resource": "*"}),
            ]
        },
        "Allowed",
        None,
        id="NotAction with Deny: the deny applies to everything except the listed actions",
    ),
    pytest.param(
        {
            "identity_policies": [
                identity({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"})
            ]
        },
        "Allowed",
        None,
        id="NotAction with Allow: grants every action not listed, in every service",
    ),
    pytest.param(
        {
            "identity_policies": [
                identity({"Effect": "Allow", "NotAction": "proton:*", "Resource": "*"})
            ]
        },
        "ImplicitlyDenied",
        "identity",
        id="NotAction with Allow: a listed action is not granted",
    ),
    pytest.param(
        {
            "identity_policies": [
                identity({"Effect": "Allow", "Action": GET, "NotResource": f"{WEB}-*"})
            ]
        },
        "Allowed",
        None,
        id="NotResource: the statement applies to every resource except those listed",
    ),
    pytest.param(
        {
            "identity_policies": [
                ALLOW_GET,
                identity({"Effect": "Deny", "Action": "*", "NotResource": WEB}),
            ]
        },
        "Allowed",
        None,
        id="NotResource with Deny: the listed resource is not denied",
    ),
    pytest.param(
        {
            "identity_policies": [
                identity(
                    stmt(
                        "Allow",
                        GET,
                        WEB,
                        Condition={
                            "StringEquals": {"aws:username": "alice"},
                            "Bool": {"aws:SecureTransport": "true"},
                        },
                    )
                )
            ],
            "context": {"aws:SecureTransport": True},
        },
        "Allowed",
        None,
        id="multiple condition operators are evaluated using a logical AND (all hold)",
    ),
    pytest.param(
        {
            "identity_policies": [
                identity(
                    stmt(
                        "Allow",
                        GET,
                        WEB,
                        Condition={
                            "StringEquals": {"aws:username": "alice"},
                            "Bool": {"aws:SecureTransport": "true"},
                        },
                    )
                )
            ],
            "context": {"aws:SecureTransport": False},
        },
        "ImplicitlyDenied",
        "identity",
        id="multiple condition operators are evaluated using a logical AND (one fails)",
    ),
    pytest.param(
        {
            "identity_policies": [
                identity(
                    stmt(
                        "Allow",
                        GET,
                        WEB,
                        Condition={
                            "StringEquals": {"aws:username": "alice", "aws:PrincipalAccount": OTHER}
                        },
                    )
                )
            ]
        },
        "ImplicitlyDenied",
        "identity",
        id="multiple context keys in one operator are evaluated using a logical AND",
    ),
    # --- SCPs ---------------------------------------------------------------------------------
    pytest.param(
        {"identity_policies": [ALLOW_GET], "service_control_policies": [[SCP_ALL], [SCP_ALL]]},
        "Allowed",
        None,
        id="SCP: an Allow at every level from the root through each OU to the account",
    ),
    pytest.param(
        {"identity_policies": [ALLOW_GET], "service_control_policies": [[SCP_ALL], []]},
        "ImplicitlyDenied",
        "scp",
        id="SCP: a level without an attached SCP allowing the action denies",
    ),
    pytest.param(
        {
            "identity_policies": [ALLOW_GET],
            "service_control_policies": [[SCP_ALL], [pol("scp", stmt("Allow", "iam:*", "*"))]],
        },
        "ImplicitlyDenied",
        "scp",
        id="SCP: a level whose SCPs allow other actions only denies",
    ),
    pytest.param(
        {
            "identity_policies": [ALLOW_GET],
            "service_control_policies": [[SCP_ALL, deny_all("scp")]],
        },
        "ExplicitlyDenied",
        "scp",
        id="SCP: an explicit deny in an SCP overrides",
    ),
    pytest.param(
        {"service_control_policies": [[SCP_ALL]]},
        "ImplicitlyDenied",
        "identity",
        id="SCPs do not grant permissions",
    ),
    pytest.param(
        {"principal": ROOT, "service_control_policies": [[deny_all("scp")]]},
        "ExplicitlyDenied",
        "scp",
        id="SCPs restrict the root user of member accounts",
    ),
    # --- RCPs ---------------------------------------------------------------------------------
    pytest.param(
        {"identity_policies": [ALLOW_GET], "resource_control_policies": [[RCP_ALL], [RCP_ALL]]},
        "Allowed",
        None,
        id="RCP: RCPFullAWSAccess at every level passes everything through",
    ),
    pytest.param(
        {"identity_policies": [ALLOW_GET], "resource_control_policies": [[RCP_ALL], []]},
        "ImplicitlyDenied",
        "rcp",
        id="RCP: every level must allow",
    ),
    pytest.param(
        {
            "identity_policies": [ALLOW_GET],
            "resource_control_policies": [
                [RCP_ALL, pol("rcp", stmt("Deny", "proton:*", "*", Principal="*"))]
            ],
        },
        "ExplicitlyDenied",
        "rcp",
        id="RCP: a Deny statement in an RCP denies",
    ),
    pytest.param(
        {"resource_control_policies": [[RCP_ALL]]},
        "ImplicitlyDenied",
        "identity",
        id="RCPs do not grant permissions",
    ),
    pytest.param(
        {
            "principal": None,
            "resource_policy": rp("*"),
            "resource_control_policies": [
                [RCP_ALL, pol("rcp", stmt("Deny", "*", "*", Principal="*"))]
            ],
        },
        "ExplicitlyDenied",
        "rcp",
        id="RCPs apply to anonymous callers",
    ),
    pytest.param(
        {"principal": None, "resource_policy": rp("*"), "service_control_policies": [[]]},
        "Allowed",
        None,
        id="SCPs do not apply to anonymous callers",
    ),
    # --- VPC endpoint policies --------------------------------------------------------------
    pytest.param(
        {"identity_policies": [ALLOW_GET], "endpoint_policies": [EP_ALL]},
        "Allowed",
        None,
        id="VPC endpoint: the full-access default endpoint policy allows",
    ),
    pytest.param(
        {
            "identity_policies": [ALLOW_GET],
            "endpoint_policies": [
                pol("endpoint", stmt("Allow", "proton:List*", "*", Principal="*"))
            ],
        },
        "ImplicitlyDenied",
        "endpoint",
        id="VPC endpoint: because no VPC endpoint policy allows the action",
    ),
    pytest.param(
        {
            "identity_policies": [ALLOW_GET],
            "endpoint_policies": [EP_ALL, pol("endpoint", stmt("Deny", GET, "*", Principal="*"))],
        },
        "ExplicitlyDenied",
        "endpoint",
        id="VPC endpoint: with an explicit deny in a VPC endpoint policy",
    ),
    pytest.param(
        {"endpoint_policies": [EP_ALL]},
        "ImplicitlyDenied",
        "identity",
        id="VPC endpoint: an endpoint policy does not grant permissions",
    ),
    pytest.param(
        {
            "identity_policies": [ALLOW_GET],
            "endpoint_policies": [
                pol("endpoint", stmt("Allow", "*", "*", Principal={"AWS": BOB_OTHER}))
            ],
        },
        "ImplicitlyDenied",
        "endpoint",
        id="VPC endpoint: the Principal element of the endpoint policy is evaluated",
    ),
    # --- resource-based policies -------------------------------------------------------------
    pytest.param(
        {"resource_policy": rp({"AWS": ALICE})},
        "Allowed",
        None,
        id=(
            "Same account: a resource-based policy naming the user allows without "
            "an identity policy"
        ),
    ),
    pytest.param(
        {"resource_policy": rp({"AWS": ACCOUNT})},
        "ImplicitlyDenied",
        "identity",
        id="A resource-based policy naming the account delegates: the identity policy must allow",
    ),
    pytest.param(
        {"resource_policy": rp({"AWS": ROOT}), "identity_policies": [ALLOW_GET]},
        "Allowed",
        None,
        id="Account delegation plus an identity allow",
    ),
    pytest.param(
        {"resource_policy": rp({"AWS": ALICE}, "Deny"), "identity_policies": [ALLOW_GET]},
        "ExplicitlyDenied",
        "resource",
        id="An explicit deny in a resource-based policy",
    ),
    pytest.param(
        {"resource_policy": rp({"AWS": ACCOUNT}, "Deny"), "identity_policies": [ALLOW_GET]},
        "ExplicitlyDenied",
        "resource",
        id="A resource-policy deny naming the caller's account denies the caller",
    ),
    pytest.param(
        {"resource_policy": rp({"AWS": BOB_OTHER}), "identity_policies": [ALLOW_GET]},
        "Allowed",
        None,
        id="A resource policy naming someone else does not stop a same-account identity allow",
    ),
    pytest.param(
        {"principal": BOB_OTHER, "resource_policy": rp({"AWS": BOB_OTHER})},
        "ImplicitlyDenied",
        "identity",
        id=(
            "Cross-account: the requester must have an identity-based policy that "
            "allows the request"
        ),
    ),
    pytest.param(
        {"principal": BOB_OTHER, "identity_policies": [ALLOW_GET]},
        "ImplicitlyDenied",
        "resource",
        id="Cross-account: the resource-based policy in the resource account must also allow",
    ),
    pytest.param(
        {
            "principal": BOB_OTHER,
            "identity_policies": [ALLOW_GET],
            "resource_policy": rp({"AWS": BOB_OTHER}),
        },
        "Allowed",
        None,
        id="Cross-account: both the identity and the resource policy allow",
    ),
    pytest.param(
        {
            "principal": BOB_OTHER,
            "identity_policies": [ALLOW_GET],
            "resource_policy": rp({"AWS": OTHER}),
        },
        "Allowed",
        None,
        id="Cross-account: a resource policy may name the requester's account",
    ),
    pytest.param(
        {
            "principal": BOB_OTHER,
            "identity_policies": [ALLOW_GET],
            "resource_policy": rp({"AWS": ALICE}),
        },
        "ImplicitlyDenied",
        "resource",
        id="Cross-account: a resource policy naming someone else",
    ),
    # --- NotPrincipal ---------------------------------------------------------------------------
    pytest.param(
        {
            "identity_policies": [ALLOW_GET],
            "resource_policy": pol(
                "resource",
                stmt("Allow", GET, WEB, Principal="*"),
                stmt("Deny", GET, WEB, NotPrincipal={"AWS": [ALICE, ROOT]}),
            ),
        },
        "Allowed",
        None,
        id="NotPrincipal with Deny: listing the user and its account exempts the user",
    ),
    pytest.param(
        {
            "identity_policies": [ALLOW_GET],
            "resource_policy": pol(
                "resource", stmt("Deny", GET, WEB, NotPrincipal={"AWS": [ALICE]})
            ),
        },
        "ExplicitlyDenied",
        "resource",
        id="NotPrincipal with Deny: you must also include the account ARN of the principal",
    ),
    pytest.param(
        {
            "principal": SESSION,
            "identity_policies": [ALLOW_GET],
            "resource_policy": pol(
                "resource", stmt("Deny", GET, WEB, NotPrincipal={"AWS": [SESSION, ROOT]})
            ),
        },
        "ExplicitlyDenied",
        "resource",
        id="NotPrincipal with Deny: a role session needs the session, role and account listed",
    ),
    pytest.param(
        {
            "principal": SESSION,
            "identity_policies": [ALLOW_GET],
            "resource_policy": pol(
                "resource", stmt("Deny", GET, WEB, NotPrincipal={"AWS": [SESSION, ROLE, ROOT]})
            ),
        },
        "Allowed",
        None,
        id="NotPrincipal with Deny: session, role and account listed exempts the session",
    ),
    pytest.param(
        {
            "identity_policies": [ALLOW_GET],
            "permission_boundaries": [allow_all("boundary")],
            "resource_policy": pol(
                "resource", stmt("Deny", GET, WEB, NotPrincipal={"AWS": [ALICE, ROOT]})
            ),
        },
        "ExplicitlyDenied",
        "resource",
        id=(
            "The NotPrincipal element with a Deny effect will always deny any IAM "
            "principal that has a permissions boundary"
        ),
    ),
    pytest.param(
        {
            "resource_policy": pol(
                "resource", stmt("Allow", GET, WEB, NotPrincipal={"AWS": BOB_OTHER})
            )
        },
        "Allowed",
        None,
        id="NotPrincipal with Allow: everyone except the listed principals",
    ),
    pytest.param(
        {
            "resource_policy": pol(
                "resource", stmt("Allow", GET, WEB, NotPrincipal={"AWS": ACCOUNT})
            )
        },
        "ImplicitlyDenied",
        "identity",
        id="NotPrincipal with Allow: a listed account excludes its principals",
    ),
    # --- permissions boundaries ---------------------------------------------------------------
    pytest.param(
        {"identity_policies": [ALLOW_GET], "permission_boundaries": [allow_all("boundary")]},
        "Allowed",
        None,
        id=(
            "Boundary: the effective permissions are the intersection of identity "
            "policy and boundary"
        ),
    ),
    pytest.param(
        {
            "identity_policies": [ALLOW_GET],
            "permission_boundaries": [pol("boundary", stmt("Allow", "iam:*", "*"))],
        },
        "ImplicitlyDenied",
        "boundary",
        id="Boundary: an implicit deny in a permissions boundary limits the identity allow",
    ),
    pytest.param(
        {"identity_policies": [ALLOW_GET], "permission_boundaries": [deny_all("boundary")]},
        "ExplicitlyDenied",
        "boundary",
        id="Boundary: with an explicit deny in a permissions boundary",
    ),
    pytest.param(
        {"permission_boundaries": [allow_all("boundary")]},
        "ImplicitlyDenied",
        "identity",
        id="Boundary: a permissions boundary does not grant permissions on its own",
    ),
    pytest.param(
        {
            "permission_boundaries": [pol("boundary", stmt("Allow", "iam:*", "*"))],
            "resource_policy": rp({"AWS": ALICE}),
        },
        "Allowed",
        None,
        id=(
            "Boundary: a same-account resource policy naming the IAM user is not "
            "limited by the boundary"
        ),
    ),
    pytest.param(
        {
            "principal": SESSION,
            "permission_boundaries": [pol("boundary", stmt("Allow", "iam:*", "*"))],
            "resource_policy": rp({"AWS": SESSION}),
        },
        "Allowed",
        None,
        id="Boundary: a resource policy naming the role session ARN is not limited by the boundary",
    ),
    pytest.param(
        {
            "principal": SESSION,
            "permission_boundaries": [pol("boundary", stmt("Allow", "iam:*", "*"))],
            "resource_policy": rp({"AWS": ROLE}),
        },
        "ImplicitlyDenied",
        "boundary",
        id="Boundary: a resource policy naming the role ARN is limited by the boundary",
    ),
    pytest.param(
        {
            "principal": BOB_OTHER,
            "identity_policies": [ALLOW_GET],
            "permission_boundaries": [pol("boundary", stmt("Allow", "iam:*", "*"))],
            "resource_policy": rp({"AWS": BOB_OTHER}),
        },
        "ImplicitlyDenied",
        "boundary",
        id="Boundary: cross-account, the boundary always applies",
    ),
    # --- session policies -------------------------------------------------------------------
    pytest.param(
        {"principal": SESSION, "identity_policies": [ALLOW_GET]},
        "Allowed",
        None,
        id="Session: a role session without session policies keeps the role's permissions",
    ),
    pytest.param(
        {
            "principal": SESSION,
            "identity_policies": [ALLOW_GET],
            "session_policies": [allow_all("session")],
        },
        "Allowed",
        None,
        id=(
            "Session: permissions are the intersection of the role's policies and "
            "the session policies"
        ),
    ),
    pytest.param(
        {
            "principal": SESSION,
            "identity_policies": [ALLOW_GET],
            "session_policies": [pol("session", stmt("Allow", "iam:*", "*"))],
        },
        "ImplicitlyDenied",
        "session",
        id="Session: an implicit deny in a session policy limits the role's allow",
    ),
    pytest.param(
        {
            "principal": SESSION,
            "identity_policies": [ALLOW_GET],
            "session_policies": [deny_all("session")],
        },
        "ExplicitlyDenied",
        "session",
        id="Session: with an explicit deny in a session policy",
    ),
    pytest.param(
        {"principal": SESSION, "session_policies": [allow_all("session")]},
        "ImplicitlyDenied",
        "identity",
        id="Session: session policies do not grant permissions on their own",
    ),
    pytest.param(
        {
            "principal": SESSION,
            "session_policies": [pol("session", stmt("Allow", "iam:*", "*"))],
            "resource_policy": rp({"AWS": SESSION}),
        },
        "ImplicitlyDenied",
        "session",
        id=(
            "Session: a session policy limits even a resource policy naming the "
            "session (iam-simulate; open discrepancy)"
        ),
    ),
    pytest.param(
        {"principal": FEDERATED, "identity_policies": [ALLOW_GET]},
        "ImplicitlyDenied",
        "session",
        id=(
            "GetFederationToken without a session policy: the credentials have no "
            "effective permissions"
        ),
    ),
    pytest.param(
        {
            "principal": FEDERATED,
            "identity_policies": [ALLOW_GET],
            "session_policies": [allow_all("session")],
        },
        "Allowed",
        None,
        id="Federated user: the intersection of the user's policies and the session policy",
    ),
    pytest.param(
        {"principal": FEDERATED, "resource_policy": rp({"AWS": FEDERATED})},
        "Allowed",
        None,
        id=(
            "Federated user: a resource-based policy that specifically references "
            "the federated user session"
        ),
    ),
    # --- special principals -----------------------------------------------------------------
    pytest.param(
        {"principal": ROOT}, "Allowed", None, id="The root user has full access in its account"
    ),
    pytest.param(
        {"principal": ROOT, "identity_policies": [DENY_GET]},
        "ExplicitlyDenied",
        "identity",
        id="The root user is still bound by explicit denies",
    ),
    pytest.param(
        {"principal": ROOT, "resource_policy": rp({"AWS": ALICE}, "Deny")},
        "Allowed",
        None,
        id="A resource-policy deny naming someone else does not bind the root user",
    ),
    pytest.param(
        {"principal": f"arn:aws:iam::{OTHER}:root"},
        "ImplicitlyDenied",
        "resource",
        id="The root user of another account needs the resource policy",
    ),
    pytest.param(
        {"principal": f"arn:aws:iam::{OTHER}:root", "resource_policy": rp({"AWS": OTHER})},
        "Allowed",
        None,
        id="A resource policy naming an account grants that account's root user",
    ),
    pytest.param(
        {"principal": None, "resource_policy": rp("*")},
        "Allowed",
        None,
        id="Principal * includes anonymous callers",
    ),
    pytest.param(
        {"principal": None, "identity_policies": [ALLOW_GET]},
        "ImplicitlyDenied",
        "resource",
        id="Anonymous callers are allowed only by resource policies",
    ),
    pytest.param(
        {"principal": None, "resource_policy": rp({"AWS": ACCOUNT})},
        "ImplicitlyDenied",
        "resource",
        id="An account principal does not include anonymous callers",
    ),
    pytest.param(
        {
            "principal": "proton.amazonaws.com",
            "resource_policy": rp({"Service": "proton.amazonaws.com"}),
        },
        "Allowed",
        None,
        id="Service principals are allowed by resource policies",
    ),
    pytest.param(
        {
            "principal": "proton.amazonaws.com",
            "identity_policies": [ALLOW_GET],
            "resource_policy": rp({"Service": "codebuild.amazonaws.com"}),
        },
        "ImplicitlyDenied",
        "resource",
        id="A service principal not named in the resource policy",
    ),
    pytest.param(
        {
            "principal": "proton.amazonaws.com",
            "resource_policy": rp({"Service": "proton.amazonaws.com"}),
            "service_control_policies": [[]],
        },
        "Allowed",
        None,
        id="SCPs do not apply to service principals",
    ),
]


@pytest.mark.parametrize(("kwargs", "result", "denied_by"), ROWS)
def test_decision_order(kwargs: dict[str, Any], result: str, denied_by: str | None) -> None:
    arguments: dict[str, Any] = {"principal": ALICE, "action": GET, "resource": WEB, **kwargs}
    decision = authorize(**arguments)
    assert decision.result == result
    assert decision.denied_by == denied_by
    assert decision.errors == ()
    assert decision.allowed is (result == "Allowed")


TRUST_ROWS: list[Row] = [
    pytest.param(
        ALICE,
        trust({"AWS": ALICE}),
        [],
        "Allowed",
        None,
        id="Trust: a trust policy naming the user grants AssumeRole in the same account",
    ),
    pytest.param(
        ALICE,
        trust({"AWS": ACCOUNT}),
        [],
        "ImplicitlyDenied",
        "identity",
        id="Trust: naming the account delegates to the account's identity policies",
    ),
    pytest.param(
        ALICE,
        trust({"AWS": ACCOUNT}),
        [identity(stmt("Allow", "sts:AssumeRole", ROLE))],
        "Allowed",
        None,
        id="Trust: account delegation plus an identity allow",
    ),
    pytest.param(
        ALICE,
        trust({"AWS": BOB_OTHER}),
        [identity(stmt("Allow", "sts:AssumeRole", ROLE))],
        "ImplicitlyDenied",
        "trust",
        id=(
            "Trust: role trust policies must allow explicitly; an identity policy "
            "alone is not enough"
        ),
    ),
    pytest.param(
        ALICE,
        trust({"AWS": ALICE}, "Deny"),
        [],
        "ExplicitlyDenied",
        "trust",
        id="Trust: with an explicit deny in the role trust policy",
    ),
    pytest.param(
        BOB_OTHER,
        trust({"AWS": OTHER}),
        [identity(stmt("Allow", "sts:AssumeRole", ROLE))],
        "Allowed",
        None,
        id=(
            "Trust: cross-account, the trust policy names the account and the "
            "identity policy allows"
        ),
    ),
    pytest.param(
        BOB_OTHER,
        trust({"AWS": BOB_OTHER}),
        [],
        "ImplicitlyDenied",
        "identity",
        id="Trust: cross-account, the caller's identity policy must allow too",
    ),
    pytest.param(
        ROOT,
        trust({"AWS": ACCOUNT}),
        [],
        "ImplicitlyDenied",
        "trust",
        id="The root user cannot assume roles",
    ),
    pytest.param(
        SESSION,
        trust({"AWS": ROLE}),
        [],
        "Allowed",
        None,
        id="Trust: a role session whose role is named (role chaining, same account)",
    ),
]


@pytest.mark.parametrize(
    ("principal", "trust_policy", "identities", "result", "denied_by"), TRUST_ROWS
)
def test_role_trust_policies(
    principal: str,
    trust_policy: Policy,
    identities: list[Policy],
    result: str,
    denied_by: str | None,
) -> None:
    decision = authorize(
        principal=principal,
        action="sts:AssumeRole",
        resource=ROLE,
        resource_policy=trust_policy,
        identity_policies=identities,
    )
    assert (decision.result, decision.denied_by) == (result, denied_by)


# --- access-denied messages (§4.10) ---------------------------------------------------------

HEAD = f"User: {ALICE} is not authorized to perform: {GET} on resource: {WEB}"
MESSAGE_ROWS: list[Row] = [
    pytest.param(
        {},
        f"{HEAD} because no identity-based policy allows the {GET} action",
        id="because no identity-based policy allows",
    ),
    pytest.param(
        {"identity_policies": [DENY_GET]},
        f"{HEAD} with an explicit deny in an identity-based policy",
        id="with an explicit deny in an identity-based policy",
    ),
    pytest.param(
        {
            "identity_policies": [ALLOW_GET],
            "permission_boundaries": [pol("boundary", stmt("Allow", "iam:*", "*"))],
        },
        f"{HEAD} because no permissions boundary allows the {GET} action",
        id="because no permissions boundary allows",
    ),
    pytest.param(
        {"identity_policies": [ALLOW_GET], "permission_boundaries": [deny_all("boundary")]},
        f"{HEAD} with an explicit deny in a permissions boundary",
        id="with an explicit deny in a permissions boundary",
    ),
    pytest.param(
        {
            "identity_policies": [ALLOW_GET],
            "endpoint_policies": [pol("endpoint", stmt("Allow", "iam:*", "*", Principal="*"))],
        },
        f"{HEAD} because no VPC endpoint policy allows the {GET} action",
        id="because no VPC endpoint policy allows",
    ),
    pytest.param(
        {"identity_policies": [ALLOW_GET], "endpoint_policies": [deny_all("endpoint")]},
        f"{HEAD} with an explicit deny in a VPC endpoint policy",
        id="with an explicit deny in a VPC endpoint policy",
    ),
    pytest.param(
        {
            "identity_policies": [ALLOW_GET],
            "session_policies": [pol("session", stmt("Allow", "iam:*", "*"))],
        },
        f"{HEAD} because no session policy allows the {GET} action",
        id="because no session policy allows",
    ),
    pytest.param(
        {"identity_policies": [ALLOW_GET], "session_policies": [deny_all("session")]},
        f"{HEAD} with an explicit deny in a session policy",
        id="with an explicit deny in a session policy",
    ),
    pytest.param(
        {"identity_policies": [ALLOW_GET], "service_control_policies": [[deny_all("scp")]]},
        f"{HEAD} with an explicit deny in a service control policy",
        id="with an explicit deny in a service control policy",
    ),
    pytest.param(
        {"identity_policies": [ALLOW_GET], "service_control_policies": [[]]},
        f"{HEAD} because no service control policy allows the {GET} action",
        id="because no service control policy allows",
    ),
    pytest.param(
        {"identity_policies": [ALLOW_GET], "resource_control_policies": [[deny_all("rcp")]]},
        f"{HEAD} with an explicit deny in a resource control policy",
        id="with an explicit deny in a resource control policy",
    ),
    pytest.param(
        {"identity_policies": [ALLOW_GET], "resource_control_policies": [[]]},
        f"{HEAD} because no resource control policy allows the {GET} action",
        id="because no resource control policy allows",
    ),
    pytest.param(
        {"identity_policies": [ALLOW_GET], "resource_policy": rp({"AWS": ALICE}, "Deny")},
        f"{HEAD} with an explicit deny in a resource-based policy",
        id="with an explicit deny in a resource-based policy",
    ),
    pytest.param(
        {"principal": BOB_OTHER, "identity_policies": [ALLOW_GET]},
        f"{HEAD} because no resource-based policy allows the {GET} action",
        id="because no resource-based policy allows",
    ),
]


@pytest.mark.parametrize(("kwargs", "message"), MESSAGE_ROWS)
def test_denial_messages(kwargs: dict[str, Any], message: str) -> None:
    principal = kwargs.pop("principal", ALICE)
    decision = authorize(principal=principal, action=GET, resource=WEB, **kwargs)
    assert decision.denial_message(ALICE, GET, WEB) == message
    assert decision.denial_message(ALICE, GET) == message  # the denied resource by default


def test_trust_denial_messages() -> None:
    assume = "sts:AssumeRole"
    head = f"User: {ALICE} is not authorized to perform: {assume} on resource: {ROLE}"
    implicit = authorize(
        principal=ALICE, action=assume, resource=ROLE, resource_policy=trust({"AWS": BOB_OTHER})
    )
    assert (
        implicit.denial_message(ALICE, assume)
        == f"{head} because no role trust policy allows the sts:AssumeRole action"
    )
    explicit = authorize(
        principal=ALICE, action=assume, resource=ROLE, resource_policy=trust({"AWS": ALICE}, "Deny")
    )
    assert (
        explicit.denial_message(ALICE, assume)
        == f"{head} with an explicit deny in the role trust policy"
    )


def test_on_resource_is_omitted_for_actions_without_resources() -> None:
    # "on resource: is omitted when the action has no resource" (§4.10).
    decision = authorize(
        principal=ALICE, action="proton:ListServices", identity_policies=[ALLOW_GET]
    )
    assert decision.denial_message(ALICE, "proton:ListServices") == (
        f"User: {ALICE} is not authorized to perform: proton:ListServices because no "
        "identity-based policy allows the proton:ListServices action"
    )


def test_a_decision_has_no_truth_value() -> None:
    decision = authorize(principal=ALICE, action=GET, resource=WEB)
    with pytest.raises(TypeError, match="no truth value"):
        bool(decision)


def test_allowed_decisions_have_no_denial_message() -> None:
    decision = authorize(principal=ALICE, action=GET, resource=WEB, identity_policies=[ALLOW_GET])
    with pytest.raises(ValueError, match="no denial message"):
        decision.denial_message(ALICE, GET, WEB)


# --- reasons, resources, inputs ---------------------------------------------------------


def test_the_documented_library_call() -> None:
    policy = parse_policy(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "Read",
                    "Effect": "Allow",
                    "Action": "proton:Get*",
                    "Resource": "arn:aws:proton:us-east-1:111122223333:service/*",
                    "Condition": {
                        "StringEquals": {"aws:SourceVpce": "vpce-0a1b2c3d4e5f60718"},
                        "ForAllValues:StringEquals": {"aws:TagKeys": ["team", "env", "cost"]},
                    },
                }
            ],
        },
        kind="identity",
        name="arn:aws:iam::111122223333:policy/read",
    )
    decision = authorize(
        principal="arn:aws:iam::111122223333:user/alice",
        action="proton:GetService",
        resource="arn:aws:proton:us-east-1:111122223333:service/web",
        resource_account="111122223333",
        context={"aws:SourceVpce": "vpce-0a1b2c3d4e5f60718", "aws:TagKeys": ["team", "env"]},
        identity_policies=[policy],
        permission_boundaries=None,
        session_policies=None,
        resource_policy=None,
        endpoint_policies=None,
        service_control_policies=None,
        resource_control_policies=None,
    )
    assert decision.result == "Allowed"
    (reason,) = decision.reasons
    assert (reason.layer, reason.effect, reason.policy_index, reason.statement_index) == (
        "identity",
        "Allow",
        0,
        0,
    )
    assert (reason.sid, reason.policy_name, reason.resource) == (
        "Read",
        "arn:aws:iam::111122223333:policy/read",
        WEB,
    )


def test_explicit_deny_reasons_list_every_matching_deny() -> None:
    decision = authorize(
        principal=SESSION,
        action=GET,
        resource=WEB,
        identity_policies=[ALLOW_GET, DENY_GET],
        session_policies=[deny_all("session")],
        service_control_policies=[[SCP_ALL, deny_all("scp")]],
    )
    assert decision.result is Result.EXPLICITLY_DENIED
    assert decision.denied_by is PolicyKind.SCP  # the report order: SCP first
    assert [(r.layer, r.policy_index, r.level) for r in decision.reasons] == [
        ("scp", 1, 0),
        ("session", 0, None),
        ("identity", 1, None),
    ]


def test_allowed_reasons_name_every_layer_that_allowed() -> None:
    decision = authorize(
        principal=SESSION,
        action=GET,
        resource=WEB,
        identity_policies=[ALLOW_GET],
        permission_boundaries=[allow_all("boundary")],
        session_policies=[allow_all("session")],
        endpoint_policies=[EP_ALL],
        service_control_policies=[[SCP_ALL], [SCP_ALL]],
        resource_control_policies=[[RCP_ALL]],
    )
    assert decision.allowed
    assert sorted(str(r.layer) for r in decision.reasons) == sorted(
        ["identity", "boundary", "session", "endpoint", "scp", "scp", "rcp"]
    )


def test_implicit_deny_reason_names_the_level() -> None:
    decision = authorize(
        principal=ALICE,
        action=GET,
        resource=WEB,
        identity_policies=[ALLOW_GET],
        service_control_policies=[[SCP_ALL], [SCP_ALL], []],
    )
    (reason,) = decision.reasons
    assert (reason.layer, reason.effect, reason.level, reason.resource) == ("scp", None, 2, WEB)


def test_every_resource_of_a_request_must_be_allowed() -> None:
    # Actions on several resources (e.g. ListServiceInstanceOutputs: service and instance) need
    # permission on each.
    instance = f"{WEB}/service-instance/a"
    policy = identity(stmt("Allow", GET, WEB), stmt("Deny", GET, f"{WEB}-old"))
    both = authorize(
        principal=ALICE, action=GET, resource=[WEB, instance], identity_policies=[policy]
    )
    assert (both.result, both.resource) == ("ImplicitlyDenied", instance)
    explicit = authorize(
        principal=ALICE, action=GET, resource=[instance, f"{WEB}-old"], identity_policies=[policy]
    )
    assert (explicit.result, explicit.resource) == ("ExplicitlyDenied", f"{WEB}-old")
    fine = authorize(principal=ALICE, action=GET, resource=[WEB, WEB], identity_policies=[policy])
    assert fine.allowed and len(fine.reasons) == 2


def test_actions_without_resources_are_evaluated_against_star() -> None:
    star = identity(stmt("Allow", "proton:ListServices", "*"))
    specific = identity(stmt("Allow", "proton:ListServices", "arn:aws:proton:*:*:service/*"))
    assert authorize(
        principal=ALICE, action="proton:ListServices", identity_policies=[star]
    ).allowed
    assert not authorize(
        principal=ALICE, action="proton:ListServices", resource=[], identity_policies=[specific]
    ).allowed


def test_policies_may_be_text_dicts_or_values() -> None:
    document = {"Version": "2012-10-17", "Statement": stmt("Allow", GET, WEB)}
    import json

    for form in (json.dumps(document), document, parse_policy(document, kind="identity")):
        assert authorize(
            principal=ALICE, action=GET, resource=WEB, identity_policies=[form]
        ).allowed


def test_principal_derived_keys_yield_to_the_context() -> None:
    # aws:PrincipalArn and the other principal keys are filled from the principal only if absent.
    policy = identity(
        stmt(
            "Allow",
            GET,
            WEB,
            Condition={"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/team/*"}},
        )
    )
    assert not authorize(
        principal=SESSION, action=GET, resource=WEB, identity_policies=[policy]
    ).allowed
    assert authorize(
        principal=SESSION,
        action=GET,
        resource=WEB,
        identity_policies=[policy],
        context={"aws:PrincipalArn": f"arn:aws:iam::{ACCOUNT}:role/team/deployer"},
    ).allowed


def test_resource_account_defaults_to_the_arn_account() -> None:
    # Cross-account is decided by the resource's account: explicit, else from its ARN.
    assert not authorize(
        principal=ALICE,
        action=GET,
        resource=f"arn:aws:proton:us-east-1:{OTHER}:service/web",
        identity_policies=[allow_all()],
    ).allowed
    assert authorize(
        principal=ALICE,
        action=GET,
        resource=f"arn:aws:proton:us-east-1:{OTHER}:service/web",
        resource_account=ACCOUNT,
        identity_policies=[allow_all()],
    ).allowed
    assert authorize(
        principal=ALICE,
        action="s3:GetObject",
        resource="arn:aws:s3:::bucket/key",
        identity_policies=[allow_all()],
    ).allowed


def test_unsupported_context_values_are_a_programming_error() -> None:
    with pytest.raises(TypeError, match="unsupported context value"):
        authorize(principal=ALICE, action=GET, context={"aws:x": 1.5})  # type: ignore[dict-item]


# --- fail closed ------------------------------------------------------------------------


def test_an_unparseable_policy_denies_everything_in_its_layer() -> None:
    decision = authorize(
        principal=ALICE,
        action=GET,
        resource=WEB,
        identity_policies=[ALLOW_GET],
        permission_boundaries=['{"Version": "2012-10-17", "Statement": ['],
    )
    assert (decision.result, decision.denied_by) == ("ExplicitlyDenied", "boundary")
    assert decision.errors == (
        "boundary policy 0 does not parse (MalformedPolicyDocument: Syntax errors in policy.)",
    )


LAYER_ARGUMENTS = {
    "identity": "identity_policies",
    "boundary": "permission_boundaries",
    "session": "session_policies",
    "endpoint": "endpoint_policies",
}


@pytest.mark.parametrize(
    "layer", ["identity", "boundary", "session", "endpoint", "resource", "scp", "rcp"]
)
def test_every_layer_fails_closed(layer: str) -> None:
    garbage = "{not json"
    arguments: dict[str, Any] = {
        "identity_policies": [allow_all()],
        "endpoint_policies": [EP_ALL],
        "service_control_policies": [[SCP_ALL]],
        "resource_control_policies": [[RCP_ALL]],
    }
    if layer in LAYER_ARGUMENTS:
        arguments[LAYER_ARGUMENTS[layer]] = [garbage]
    elif layer == "resource":
        arguments["resource_policy"] = garbage
    else:
        arguments[f"{'service' if layer == 'scp' else 'resource'}_control_policies"] = [
            [RCP_ALL if layer == "rcp" else SCP_ALL, garbage]
        ]
    decision = authorize(principal=ALICE, action=GET, resource=WEB, **arguments)
    assert (decision.result, decision.denied_by) == ("ExplicitlyDenied", layer)
    assert len(decision.errors) == 1


class Boom(Exception):
    pass


def explode(*args: Any, **kwargs: Any) -> bool:
    raise Boom("statement evaluation failed")


def failing(target: Any, name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``name`` raise for the one object ``target`` (slotted objects are patched on the
    class)."""
    original = getattr(type(target), name)

    def patched(self: Any, *args: Any, **kwargs: Any) -> Any:
        if self is target:
            raise Boom("statement evaluation failed")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(type(target), name, patched)


def test_an_error_in_a_deny_statement_counts_as_a_match(monkeypatch: pytest.MonkeyPatch) -> None:
    # StringLike is no guard (hadron.iam.index), so the statement reaches ``holds`` (what
    # evaluation calls on index-selected statements: ``applies`` minus the guard); without
    # the error its condition is false (aws:x is absent) and the request would be allowed.
    policy = identity(
        stmt("Allow", GET, WEB), stmt("Deny", GET, WEB, Condition={"StringLike": {"aws:x": "y"}})
    )
    failing(policy.compiled[1], "holds", monkeypatch)
    decision = authorize(principal=ALICE, action=GET, resource=WEB, identity_policies=[policy])
    assert (decision.result, decision.denied_by) == ("ExplicitlyDenied", "identity")
    assert decision.errors == ("identity policy 0 statement 1: Boom: statement evaluation failed",)


def test_an_error_in_an_allow_statement_counts_as_no_match(monkeypatch: pytest.MonkeyPatch) -> None:
    policy = identity(stmt("Allow", GET, WEB))
    failing(policy.compiled[0], "holds", monkeypatch)
    decision = authorize(principal=ALICE, action=GET, resource=WEB, identity_policies=[policy])
    assert decision.result == "ImplicitlyDenied"
    assert len(decision.errors) == 1


def test_an_error_in_a_resource_policy_statement_fails_closed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Principal-bearing statements are not index-selected: they reach ``applies`` itself.
    policy = rp({"AWS": ALICE})
    failing(policy.compiled[0], "applies", monkeypatch)
    decision = authorize(principal=ALICE, action=GET, resource=WEB, resource_policy=policy)
    assert decision.result == "ImplicitlyDenied"
    assert decision.errors


def test_an_error_matching_a_principal_fails_closed(monkeypatch: pytest.MonkeyPatch) -> None:
    policy = rp({"AWS": ALICE})
    failing(policy.compiled[0], "principal_match", monkeypatch)
    decision = authorize(principal=ALICE, action=GET, resource=WEB, resource_policy=policy)
    assert decision.result == "ImplicitlyDenied"
    assert decision.errors


def test_an_error_slicing_a_policy_denies(monkeypatch: pytest.MonkeyPatch) -> None:
    policy = identity(stmt("Allow", GET, WEB))
    failing(policy, "for_action", monkeypatch)
    decision = authorize(principal=ALICE, action=GET, resource=WEB, identity_policies=[policy])
    assert (decision.result, decision.denied_by) == ("ExplicitlyDenied", "identity")
    assert decision.errors == ("identity policy 0: Boom: statement evaluation failed",)


def test_the_strongest_resource_policy_match_decides() -> None:
    # An account-level Allow is delegation; a later statement naming the user grants directly.
    policy = pol(
        "resource",
        stmt("Allow", GET, WEB, Principal={"AWS": ACCOUNT}),
        stmt("Allow", GET, WEB, Principal={"AWS": ALICE}),
        stmt("Allow", GET, WEB, Principal="*"),
    )
    decision = authorize(principal=ALICE, action=GET, resource=WEB, resource_policy=policy)
    assert decision.allowed
    assert [r.statement_index for r in decision.reasons] == [1]


def test_a_resource_policy_statement_without_principal_names_everyone() -> None:
    from hadron.iam import Effect, Statement

    policy = Policy(PolicyKind.RESOURCE, (Statement(Effect.ALLOW, ("*",)),), version=None)
    assert authorize(principal=ALICE, action=GET, resource=WEB, resource_policy=policy).allowed
