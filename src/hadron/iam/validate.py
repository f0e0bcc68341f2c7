"""Policy document validation: the ordered checks that produce ``MalformedPolicyDocument``.

Layer 4 (pure): standard library, ``hadron.errors`` and ``hadron.iam`` modules only.

Implements security.md §4.2. The checks run in AWS's order and the first failure wins (order
and texts as reproduced by moto's AWS-derived validator, ``moto/iam/policy_validation.py``):

1. structure → ``Syntax errors in policy.`` (non-JSON trust policies: ``This policy contains
   invalid Json``); duplicate keys in one object are a syntax error (a stock JSON parser would
   silently keep the last one);
2. Version (identity-like kinds) → ``Policy document must be version 2012-10-17 or greater.``;
3. legacy parsing (Effect case, Date values, short ARNs with ``::``) →
   ``The policy failed legacy parsing``;
4. duplicate Sid; 5. IAM Sid characters; 6. missing actions; 7. missing resources
   (trust policies: a prohibited Resource);
8. the first resource-format error found in step 3;
9. action and condition-key vendor prefixes;
10. Principal rules of the policy kind and principal values.

Unknown condition operators with an empty body are tolerated as AWS does, with a warning.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NoReturn

from hadron.errors import MalformedPolicyDocument
from hadron.iam.conditions import parse_date, parse_operator
from hadron.iam.kinds import RULES, PolicyKind
from hadron.iam.principals import PRINCIPAL_TYPES, principal_value_error

__all__ = ["Checked", "check_document", "load_json"]

SYNTAX = "Syntax errors in policy."
INVALID_JSON = "This policy contains invalid Json"
VERSION = "Policy document must be version 2012-10-17 or greater."
LEGACY = "The policy failed legacy parsing"
SID_UNIQUE = "Statement IDs (SID) in a single policy must be unique."
SID_CHARS = (
    "Statement IDs (SID) must be alpha-numeric. "
    "Check that your input satisfies the regular expression [0-9A-Za-z]*"
)
NO_ACTIONS = "Policy statement must contain actions."
NO_RESOURCES = "Policy statement must contain resources."
VENDOR = "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."
ONE_COLON = "Actions/Condition can contain only one colon."
NO_PRINCIPAL = "Policy document should not specify a principal."
MISSING_PRINCIPAL = "Missing required field Principal"
TRUST_ACTIONS = (
    "Trust Policy statement actions can only be sts:AssumeRole, sts:AssumeRoleWithSAML,  "
    "and sts:AssumeRoleWithWebIdentity"
)
VENDOR_REGEX = "Resource vendor must be fully qualified and cannot contain regexes."

_TOP_KEYS = frozenset({"Version", "Id", "Statement"})
_VERSIONS = frozenset({"2008-10-17", "2012-10-17"})
_STATEMENT_KEYS = frozenset(
    {
        "Sid",
        "Effect",
        "Principal",
        "NotPrincipal",
        "Action",
        "NotAction",
        "Resource",
        "NotResource",
        "Condition",
    }
)
_IAM_PATHS = (
    "user/",
    "federated-user/",
    "role/",
    "group/",
    "instance-profile/",
    "mfa/",
    "server-certificate/",
    "policy/",
    "sms-mfa/",
    "saml-provider/",
    "oidc-provider/",
    "report/",
    "access-report/",
)
_NO_REGION = {
    "iam": "IAM resource {} cannot contain region information.",
    "s3": "Resource {} can not contain region information.",
}
_SID = re.compile(r"[0-9A-Za-z]*")
_VENDOR = re.compile(r"[^a-zA-Z0-9\-.]")
_TRUST_ACTIONS = frozenset(
    {
        "sts:assumerole",
        "sts:assumerolewithsaml",
        "sts:assumerolewithwebidentity",
        "sts:tagsession",
        "sts:setsourceidentity",
        "sts:setcontext",
    }
)


def _fail(message: str) -> NoReturn:
    raise MalformedPolicyDocument(message)


def _syntax(ok: bool) -> None:
    if not ok:
        _fail(SYNTAX)


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        _syntax(key not in result)
        result[key] = value
    return result


def _no_constant(name: str) -> NoReturn:
    _fail(SYNTAX)  # NaN, Infinity: not JSON


def load_json(text: str, kind: PolicyKind) -> object:
    """``json.loads`` that rejects duplicate keys and non-JSON constants."""
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except MalformedPolicyDocument:
        raise
    except (ValueError, RecursionError):
        _fail(INVALID_JSON if kind is PolicyKind.TRUST else SYNTAX)


@dataclass(frozen=True, slots=True)
class Checked:
    """A document that passed every check: its top-level object and its statements."""

    document: Mapping[str, Any]
    statements: tuple[Mapping[str, Any], ...]
    warnings: tuple[str, ...]


def values_of(statement: Mapping[str, Any], key: str) -> tuple[Any, ...]:
    """An element that may be one value or a list of values, as a tuple (absent: empty)."""
    value = statement.get(key)
    if value is None:
        return ()
    if isinstance(value, list | tuple):
        return tuple(value)
    return (value,)


def _is_list(value: object) -> bool:
    return isinstance(value, list | tuple)


def _string_or_strings(value: object) -> bool:
    if isinstance(value, str):
        return True
    return _is_list(value) and all(isinstance(v, str) for v in value)  # type: ignore[attr-defined]


def _scalar(value: object) -> bool:
    return isinstance(value, str | int | float)  # bool is an int


def _check_principal_syntax(value: object) -> None:
    if value == "*":
        return
    _syntax(isinstance(value, Mapping) and bool(value))
    assert isinstance(value, Mapping)  # noqa: S101 - narrowed by the check above
    for kind, entries in value.items():
        _syntax(kind in PRINCIPAL_TYPES)
        _syntax(_string_or_strings(entries) and entries != [] and entries != ())


def _check_condition_syntax(block: object, warnings: list[str]) -> None:
    _syntax(isinstance(block, Mapping))
    assert isinstance(block, Mapping)  # noqa: S101 - narrowed by the check above
    for name, body in block.items():
        _syntax(isinstance(name, str) and isinstance(body, Mapping))
        for key, value in body.items():
            _syntax(isinstance(key, str))
            _syntax(_scalar(value) or (_is_list(value) and all(_scalar(v) for v in value)))
        if parse_operator(name) is None:
            # AWS tolerates an unknown operator with an empty body; we warn (§4.2).
            _syntax(not body)
            warnings.append(f"Unknown condition operator {name} with an empty body is ignored.")


def _check_statement_syntax(statement: object, warnings: list[str]) -> None:
    _syntax(isinstance(statement, Mapping))
    assert isinstance(statement, Mapping)  # noqa: S101 - narrowed by the check above
    _syntax(all(key in _STATEMENT_KEYS for key in statement))
    for one, other in (("Action", "NotAction"), ("Resource", "NotResource")):
        _syntax(not (one in statement and other in statement))
    _syntax(not ("Principal" in statement and "NotPrincipal" in statement))
    effect = statement.get("Effect")
    _syntax(isinstance(effect, str) and effect.lower() in ("allow", "deny"))
    for key in ("Action", "NotAction", "Resource", "NotResource"):
        if key in statement:
            _syntax(_string_or_strings(statement[key]))
    if "Sid" in statement:
        _syntax(isinstance(statement["Sid"], str))
    for key in ("Principal", "NotPrincipal"):
        if key in statement:
            _check_principal_syntax(statement[key])
    if "Condition" in statement:
        _check_condition_syntax(statement["Condition"], warnings)


def _check_syntax(doc: object, warnings: list[str]) -> tuple[Mapping[str, Any], ...]:
    _syntax(isinstance(doc, Mapping))
    assert isinstance(doc, Mapping)  # noqa: S101 - narrowed by the check above
    _syntax(all(key in _TOP_KEYS for key in doc))
    if "Version" in doc:
        _syntax(isinstance(doc["Version"], str) and doc["Version"] in _VERSIONS)
    if "Id" in doc:
        _syntax(isinstance(doc["Id"], str))
    raw = doc.get("Statement")
    _syntax(isinstance(raw, Mapping) or (_is_list(raw) and bool(raw)))
    statements = (raw,) if isinstance(raw, Mapping) else tuple(raw)  # type: ignore[arg-type]
    for statement in statements:
        _check_statement_syntax(statement, warnings)
    return statements


def _partition_error(resource: str, partition: str) -> str:
    rest = resource.split(":")[2:]
    parts = [
        rest[0] if rest and (rest[0] != "" or len(rest) > 1) else "*",
        rest[1] if len(rest) > 1 else "*",
        rest[2] if len(rest) > 2 else "*",
        ":".join(rest[3:]) if len(rest) > 3 else "*",
    ]
    return f'Partition "{partition}" is not valid for resource "arn:{partition}:{":".join(parts)}".'


def _resource_error(resource: str, partition: str) -> str | None:
    """The first resource-format message for one Resource/NotResource entry (moto's order)."""
    if resource == "*":
        return None
    arn_format = f'Resource {resource} must be in ARN format or "*".'
    parts = resource.split(":", 5)
    if len(parts) < 2 or parts[0] != "arn":
        return arn_format
    if parts[1] != partition:
        return _partition_error(resource, parts[1])
    if len(parts) < 3 or "*" in parts[2] or "?" in parts[2]:
        return VENDOR_REGEX
    service = parts[2]
    if service in _NO_REGION and (len(parts) < 4 or parts[3] != ""):
        return _NO_REGION[service].format(resource)
    if service == "iam":
        path = parts[5] if len(parts) == 6 else ""
        if path != "*" and not path.startswith(_IAM_PATHS):
            return f'IAM resource path must either be "*" or start with {", ".join(_IAM_PATHS)}.'
    return None


def _legacy_resource_ok(resource: str) -> bool:
    if resource == "*":
        return True
    parts = resource.split(":")
    if resource.count(":") < 5 and "::" in resource:
        return False
    return len(parts) > 2 and parts[2] != ""


def _check_legacy(statements: tuple[Mapping[str, Any], ...], partition: str) -> str | None:
    """Step 3; returns the resource-format error to report at step 8, if any."""
    for statement in statements:
        if statement["Effect"] not in ("Allow", "Deny"):
            _fail(LEGACY)  # the syntax step compared case-insensitively; this one does not
        for name, body in (statement.get("Condition") or {}).items():
            parsed = parse_operator(name)
            if parsed is None or not parsed.base.name.startswith("Date"):
                continue
            for value in body.values():
                for one in value if _is_list(value) else (value,):
                    if isinstance(one, bool) or parse_date(str(one)) is None:
                        _fail(LEGACY)
    error: str | None = None
    for key in ("Resource", "NotResource"):
        for statement in statements:
            resources = values_of(statement, key)
            for resource in resources:
                error = error or _resource_error(resource, partition)
            if error is None and not all(_legacy_resource_ok(r) for r in resources):
                _fail(LEGACY)
    for key in ("Resource", "NotResource"):  # ours: short ARNs never match, reject them (§4.5)
        for statement in statements:
            for resource in values_of(statement, key):
                if resource != "*" and resource.count(":") < 5:
                    error = error or f'Resource {resource} must be in ARN format or "*".'
    return error


def _check_action_prefix(action: str) -> None:
    if action == "*":
        return
    parts = action.split(":")
    if len(parts) == 1:
        _fail(VENDOR)
    if len(parts) > 2:
        _fail(ONE_COLON)
    if _VENDOR.search(parts[0]):
        _fail(f"Vendor {parts[0]} is not valid")


def _check_principals(statements: tuple[Mapping[str, Any], ...], kind: PolicyKind) -> None:
    rules = RULES[kind]
    for statement in statements:
        present = "Principal" in statement or "NotPrincipal" in statement
        if rules.principal == "forbidden" and present:
            _fail(NO_PRINCIPAL)
        if rules.principal == "required" and not present:
            _fail(MISSING_PRINCIPAL)
        if "NotPrincipal" in statement and not rules.not_principal:
            _fail("Has prohibited field NotPrincipal")
    for statement in statements:
        element = statement.get("Principal", statement.get("NotPrincipal"))
        if element is None or element == "*":
            continue
        for ptype, entries in element.items():
            for value in entries if _is_list(entries) else (entries,):
                message = principal_value_error(ptype, value)
                if message is None and kind is PolicyKind.RCP and value != "*":
                    message = f'Invalid principal in policy: "{ptype}":"{value}"'
                if message is not None:
                    _fail(message)


def _trust_action_ok(action: str) -> bool:
    low = action.lower()
    return low in _TRUST_ACTIONS or (low.startswith("sts:") and ("*" in low or "?" in low))


def check_document(doc: object, kind: PolicyKind, *, partition: str = "aws") -> Checked:
    """Run every check on a decoded document; raise ``MalformedPolicyDocument`` on the first."""
    rules = RULES[kind]
    warnings: list[str] = []
    statements = _check_syntax(doc, warnings)
    assert isinstance(doc, Mapping)  # noqa: S101 - checked by _check_syntax
    if rules.version_required and doc.get("Version") != "2012-10-17":
        _fail(VERSION)
    resource_error = _check_legacy(statements, partition)
    sids = [s["Sid"] for s in statements if s.get("Sid")]
    if len(sids) != len(set(sids)):
        _fail(SID_UNIQUE)
    if rules.iam_sid and not all(_SID.fullmatch(s.get("Sid", "")) for s in statements):
        _fail(SID_CHARS)
    for statement in statements:
        if not (values_of(statement, "Action") or values_of(statement, "NotAction")):
            _fail(NO_ACTIONS)
    for statement in statements:
        has_resource = bool(values_of(statement, "Resource") or values_of(statement, "NotResource"))
        if rules.resource == "required" and not has_resource:
            _fail(NO_RESOURCES)
        if rules.resource == "forbidden":
            for key in ("Resource", "NotResource"):
                if key in statement:
                    _fail(f"Has prohibited field {key}")
    if resource_error is not None:
        _fail(resource_error)
    for key in ("Action", "NotAction"):
        for statement in statements:
            for action in values_of(statement, key):
                _check_action_prefix(action)
    for statement in statements:
        for body in (statement.get("Condition") or {}).values():
            for condition_key in body:
                if ":" not in condition_key:
                    _fail(VENDOR)
    _check_principals(statements, kind)
    if kind is PolicyKind.TRUST:
        for statement in statements:
            actions = values_of(statement, "Action")
            if "NotAction" in statement or not all(_trust_action_ok(a) for a in actions):
                _fail(TRUST_ACTIONS)
    return Checked(doc, statements, tuple(warnings))
