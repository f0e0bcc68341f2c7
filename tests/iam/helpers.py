"""Small builders for policy documents used across the IAM tests."""

from __future__ import annotations

from typing import Any

from hadron.iam import Policy, PolicyKind, parse_policy

ACCOUNT = "111122223333"
OTHER = "444455556666"
ALICE = f"arn:aws:iam::{ACCOUNT}:user/alice"
BOB_OTHER = f"arn:aws:iam::{OTHER}:user/bob"
ROOT = f"arn:aws:iam::{ACCOUNT}:root"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/deployer"
SESSION = f"arn:aws:sts::{ACCOUNT}:assumed-role/deployer/ci-run"
FEDERATED = f"arn:aws:sts::{ACCOUNT}:federated-user/carol"
WEB = f"arn:aws:proton:us-east-1:{ACCOUNT}:service/web"
WEB_OTHER = f"arn:aws:proton:us-east-1:{OTHER}:service/web"
GET = "proton:GetService"

Doc = dict[str, Any]


def stmt(effect: str = "Allow", action: Any = "*", resource: Any = "*", **extra: Any) -> Doc:
    """A statement; ``resource=None`` leaves Resource out; ``extra`` adds elements as named."""
    out: Doc = {"Effect": effect, "Action": action}
    if resource is not None:
        out["Resource"] = resource
    out.update(extra)
    return out


def doc(*statements: Doc, version: str | None = "2012-10-17") -> Doc:
    out: Doc = {"Statement": list(statements)}
    if version is not None:
        out["Version"] = version
    return out


def pol(kind: PolicyKind | str, *statements: Doc, version: str | None = "2012-10-17") -> Policy:
    return parse_policy(doc(*statements, version=version), kind=kind)


def identity(*statements: Doc) -> Policy:
    return pol(PolicyKind.IDENTITY, *statements)


def allow_all(kind: PolicyKind | str = PolicyKind.IDENTITY) -> Policy:
    rules_principal = kind in ("resource", "trust", "endpoint", "rcp")
    extra: Doc = {"Principal": "*"} if rules_principal else {}
    resource = None if kind == "trust" else "*"
    action = "sts:AssumeRole" if kind == "trust" else "*"
    return pol(kind, stmt("Allow", action, resource, **extra))


def deny_all(kind: PolicyKind | str = PolicyKind.IDENTITY) -> Policy:
    rules_principal = kind in ("resource", "trust", "endpoint", "rcp")
    extra: Doc = {"Principal": "*"} if rules_principal else {}
    resource = None if kind == "trust" else "*"
    action = "sts:AssumeRole" if kind == "trust" else "*"
    return pol(kind, stmt("Deny", action, resource, **extra))
