"""MalformedPolicyDocument messages (§4.2) and size quotas (§4.3): one row per rule, exact text.

Texts and their order follow IAM as reproduced by moto's AWS-derived validator
(``moto/iam/policy_validation.py``) and the IAM User Guide; rows marked "ours" are checks this
project adds (security.md §4.2 "Our validator SHOULD additionally reject").
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from hadron.errors import LimitExceeded, MalformedPolicyDocument
from hadron.iam import PolicyKind, parse_policy, policy_size
from tests.iam.helpers import doc, stmt

SYNTAX = "Syntax errors in policy."
VERSION = "Policy document must be version 2012-10-17 or greater."
LEGACY = "The policy failed legacy parsing"
VENDOR = "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."
OK = stmt("Allow", "proton:GetService", "*")
ARN_FORMAT = 'Resource {} must be in ARN format or "*".'
GITHUB = "token.actions.githubusercontent.com"
IAM_PATH = (
    'IAM resource path must either be "*" or start with user/, federated-user/, role/, group/, '
    "instance-profile/, mfa/, server-certificate/, policy/, sms-mfa/, saml-provider/, "
    "oidc-provider/, report/, access-report/."
)


def text(document: Any) -> str:
    return document if isinstance(document, str) else json.dumps(document)


Row = tuple[str, Any, str, str]  # kind, document, message, doc


def with_statement(**changes: Any) -> dict[str, Any]:
    statement = dict(OK)
    for key, value in changes.items():
        if value is None:
            statement.pop(key, None)
        else:
            statement[key] = value
    return doc(statement)


ROWS: list[Row] = [
    # 1. Syntax
    ("identity", "{not json", SYNTAX, "not JSON"),
    (
        "trust",
        "{not json",
        "This policy contains invalid Json",
        "trust policy that is not JSON (CreateRole)",
    ),
    ("identity", "[]", SYNTAX, "not an object"),
    (
        "identity",
        {**doc(OK), "Foo": 1},
        SYNTAX,
        "unknown top-level element (allowed: Version, Id, Statement)",
    ),
    (
        "identity",
        {**doc(OK), "Version": "2010-01-01"},
        SYNTAX,
        "Version must be 2012-10-17 or 2008-10-17",
    ),
    ("identity", {**doc(OK), "Version": 2012}, SYNTAX, "Version must be a string"),
    ("identity", {**doc(OK), "Id": 7}, SYNTAX, "Id must be a string"),
    ("identity", {"Version": "2012-10-17"}, SYNTAX, "Statement is required"),
    ("identity", {"Version": "2012-10-17", "Statement": []}, SYNTAX, "Statement must not be empty"),
    (
        "identity",
        {"Version": "2012-10-17", "Statement": "x"},
        SYNTAX,
        "Statement is an object or a list",
    ),
    ("identity", {"Version": "2012-10-17", "Statement": ["x"]}, SYNTAX, "a statement is an object"),
    (
        "identity",
        with_statement(effect="Allow"),
        SYNTAX,
        "element names are case-sensitive (effect is not Effect)",
    ),
    ("identity", with_statement(NotAction="iam:*"), SYNTAX, "Action and NotAction together"),
    ("identity", with_statement(NotResource="*"), SYNTAX, "Resource and NotResource together"),
    ("identity", with_statement(Effect=None), SYNTAX, "Effect is required"),
    ("identity", with_statement(Effect="Maybe"), SYNTAX, "Effect is Allow or Deny"),
    ("identity", with_statement(Action=5), SYNTAX, "Action is a string or a list of strings"),
    (
        "identity",
        with_statement(Resource=["*", 5]),
        SYNTAX,
        "Resource is a string or a list of strings",
    ),
    ("identity", with_statement(Sid=1), SYNTAX, "Sid is a string"),
    ("identity", with_statement(Condition="x"), SYNTAX, "Condition is an object"),
    (
        "identity",
        with_statement(Condition={"StringEquals": "x"}),
        SYNTAX,
        "an operator's body is an object",
    ),
    (
        "identity",
        with_statement(Condition={"StringEquals": {"aws:a": None}}),
        SYNTAX,
        "condition values are strings, numbers or booleans",
    ),
    (
        "identity",
        with_statement(Condition={"StringEquals": {"aws:a": [["x"]]}}),
        SYNTAX,
        "condition value lists are flat",
    ),
    (
        "identity",
        with_statement(Condition={"StringEqual": {"aws:a": "x"}}),
        SYNTAX,
        "unknown condition operator with a non-empty body",
    ),
    (
        "identity",
        with_statement(Condition={"NullIfExists": {"aws:a": "true"}}),
        SYNTAX,
        "Null takes no IfExists (ours)",
    ),
    (
        "identity",
        '{"Version":"2012-10-17","Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}',
        SYNTAX,
        "Individual elements must not contain multiple instances of the same key",
    ),
    (
        "identity",
        '{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"NumericEquals":{"a:b":NaN}}}}',
        SYNTAX,
        "NaN is not JSON",
    ),
    (
        "resource",
        with_statement(Principal="arn:aws:iam::111122223333:root"),
        SYNTAX,
        "Principal is * or an object",
    ),
    (
        "resource",
        with_statement(Principal={"Foo": "x"}),
        SYNTAX,
        "Principal keys are AWS, Service, Federated, CanonicalUser",
    ),
    ("resource", with_statement(Principal={"AWS": []}), SYNTAX, "a Principal entry is not empty"),
    (
        "resource",
        with_statement(Principal={"AWS": "*"}, NotPrincipal={"AWS": "*"}),
        SYNTAX,
        "Principal and NotPrincipal together",
    ),
    # 2. Version
    ("identity", doc(OK, version=None), VERSION, "identity policies need Version 2012-10-17"),
    (
        "identity",
        doc(OK, version="2008-10-17"),
        VERSION,
        "2008-10-17 is refused for identity policies",
    ),
    ("boundary", doc(OK, version=None), VERSION, "permissions boundaries are managed policies"),
    ("session", doc(OK, version="2008-10-17"), VERSION, "session policies"),
    (
        "scp",
        doc(OK, version=None),
        VERSION,
        "SCPs: Every SCP must include a Version element of 2012-10-17",
    ),
    # 3. Legacy parsing
    (
        "identity",
        with_statement(Effect="allow"),
        LEGACY,
        "Effect is case-sensitive at the legacy step",
    ),
    (
        "identity",
        with_statement(Condition={"DateLessThan": {"aws:CurrentTime": "tomorrow"}}),
        LEGACY,
        "Date values are ISO-8601 or epoch seconds",
    ),
    (
        "identity",
        with_statement(Condition={"DateLessThan": {"aws:CurrentTime": "${aws:CurrentTime}"}}),
        LEGACY,
        "no variables in Date values",
    ),
    ("identity", with_statement(Resource="arn:aws:s3::b"), LEGACY, "a short ARN with ::"),
    ("identity", with_statement(Resource="arn:aws::us-east-1:1:x"), LEGACY, "an empty service"),
    # 4./5. Sid
    (
        "identity",
        doc(dict(OK, Sid="A"), dict(OK, Sid="A")),
        "Statement IDs (SID) in a single policy must be unique.",
        "Sid values must be unique",
    ),
    (
        "identity",
        with_statement(Sid="my-sid"),
        (
            "Statement IDs (SID) must be alpha-numeric. Check that your input "
            "satisfies the regular expression [0-9A-Za-z]*"
        ),
        "IAM: Sid is letters and digits only (ours)",
    ),
    # 6./7. Actions, resources
    (
        "identity",
        with_statement(Action=None),
        "Policy statement must contain actions.",
        "Action or NotAction is required",
    ),
    (
        "identity",
        with_statement(Action=[]),
        "Policy statement must contain actions.",
        "an empty Action list",
    ),
    (
        "identity",
        with_statement(Resource=None),
        "Policy statement must contain resources.",
        "identity policies need Resource",
    ),
    (
        "scp",
        with_statement(Resource=[]),
        "Policy statement must contain resources.",
        "an empty Resource list",
    ),
    (
        "trust",
        doc(stmt("Allow", "sts:AssumeRole", "*", Principal={"AWS": "111122223333"})),
        "Has prohibited field Resource",
        "trust policies must not contain Resource",
    ),
    (
        "trust",
        doc(
            stmt(
                "Allow", "sts:AssumeRole", None, Principal={"AWS": "111122223333"}, NotResource="*"
            )
        ),
        "Has prohibited field NotResource",
        "nor NotResource (ours, wording unconfirmed)",
    ),
    # 8. Resource format
    (
        "identity",
        with_statement(Resource="foo"),
        ARN_FORMAT.format("foo"),
        "Resource must be an ARN or *",
    ),
    (
        "identity",
        with_statement(Resource="arn:aws-cn:s3:::b"),
        'Partition "aws-cn" is not valid for resource "arn:aws-cn:s3:::b".',
        "the partition must be the policy's",
    ),
    (
        "identity",
        with_statement(Resource="arn:aws"),
        "Resource vendor must be fully qualified and cannot contain regexes.",
        "no vendor",
    ),
    (
        "identity",
        with_statement(Resource="arn:aws:*:us-east-1:111122223333:x"),
        "Resource vendor must be fully qualified and cannot contain regexes.",
        "wildcards are not allowed in the service segment",
    ),
    (
        "identity",
        with_statement(Resource="arn:aws:iam:us-east-1:111122223333:user/x"),
        "IAM resource arn:aws:iam:us-east-1:111122223333:user/x cannot contain region information.",
        "IAM ARNs have no region",
    ),
    (
        "identity",
        with_statement(Resource="arn:aws:s3:us-east-1::b"),
        "Resource arn:aws:s3:us-east-1::b can not contain region information.",
        "S3 ARNs have no region",
    ),
    (
        "identity",
        with_statement(Resource="arn:aws:iam::111122223333:bogus/x"),
        IAM_PATH,
        "IAM resource paths",
    ),
    (
        "identity",
        with_statement(Resource="arn:aws:proton:us-east-1:111122223333"),
        ARN_FORMAT.format("arn:aws:proton:us-east-1:111122223333"),
        "short ARNs never match: reject them (ours, §4.5)",
    ),
    # 9. Prefixes
    ("identity", with_statement(Action="GetService"), VENDOR, "an action needs a vendor"),
    (
        "identity",
        with_statement(Action="proton:Get:Service"),
        "Actions/Condition can contain only one colon.",
        "one colon per action",
    ),
    (
        "identity",
        with_statement(Action="pro ton:Get"),
        "Vendor pro ton is not valid",
        "vendor characters",
    ),
    (
        "identity",
        with_statement(Action="*:List*"),
        "Vendor * is not valid",
        "no wildcards in the vendor",
    ),
    (
        "identity",
        with_statement(NotAction=["proton:*", "Get"], Action=None),
        VENDOR,
        "NotAction is checked too",
    ),
    (
        "identity",
        with_statement(Condition={"StringEquals": {"SourceVpce": "x"}}),
        VENDOR,
        "condition keys need a vendor (ours)",
    ),
    # 10. Principals by kind
    (
        "identity",
        with_statement(Principal="*"),
        "Policy document should not specify a principal.",
        "identity policies have no Principal",
    ),
    (
        "boundary",
        with_statement(NotPrincipal={"AWS": "*"}),
        "Policy document should not specify a principal.",
        "nor boundaries",
    ),
    (
        "session",
        with_statement(Principal="*"),
        "Policy document should not specify a principal.",
        "nor session policies",
    ),
    (
        "scp",
        with_statement(Principal="*"),
        "Policy document should not specify a principal.",
        "nor SCPs",
    ),
    (
        "resource",
        doc(OK),
        "Missing required field Principal",
        "resource-based policies need a Principal",
    ),
    (
        "trust",
        doc(stmt("Allow", "sts:AssumeRole", None)),
        "Missing required field Principal",
        "trust policies need a Principal",
    ),
    (
        "endpoint",
        doc(OK),
        "Missing required field Principal",
        "VPC endpoint policies need a Principal",
    ),
    (
        "trust",
        doc(stmt("Allow", "sts:AssumeRole", None, NotPrincipal={"AWS": "111122223333"})),
        "Has prohibited field NotPrincipal",
        "NotPrincipal is not allowed in trust policies",
    ),
    (
        "rcp",
        doc(stmt("Deny", "s3:*", "*", NotPrincipal={"AWS": "111122223333"})),
        "Has prohibited field NotPrincipal",
        "RCPs do not take NotPrincipal",
    ),
    (
        "rcp",
        doc(stmt("Deny", "s3:*", "*", Principal={"AWS": "111122223333"})),
        'Invalid principal in policy: "AWS":"111122223333"',
        "RCPs take only Principal *",
    ),
    (
        "resource",
        with_statement(Principal={"AWS": "arn:aws:iam::111122223333:user/*"}),
        'Invalid principal in policy: "AWS":"arn:aws:iam::111122223333:user/*"',
        "partial wildcards in principals are invalid",
    ),
    (
        "resource",
        with_statement(Principal={"AWS": "alice"}),
        'Invalid principal in policy: "AWS":"alice"',
        "a principal is an ARN, account id or unique id",
    ),
    (
        "resource",
        with_statement(Principal={"AWS": "arn:aws:iam::111122223333:group/g"}),
        'Invalid principal in policy: "AWS":"arn:aws:iam::111122223333:group/g"',
        "groups are not principals",
    ),
    (
        "resource",
        with_statement(Principal={"Service": "*"}),
        'Invalid principal in policy: "Service":"*"',
        "no wildcard service principal",
    ),
    (
        "trust",
        doc(stmt("Allow", "s3:GetObject", None, Principal={"AWS": "111122223333"})),
        (
            "Trust Policy statement actions can only be sts:AssumeRole, "
            "sts:AssumeRoleWithSAML,  and sts:AssumeRoleWithWebIdentity"
        ),
        "trust policies only grant STS AssumeRole actions",
    ),
    (
        "trust",
        doc(stmt("Allow", "*", None, Principal={"AWS": "111122223333"})),
        (
            "Trust Policy statement actions can only be sts:AssumeRole, "
            "sts:AssumeRoleWithSAML,  and sts:AssumeRoleWithWebIdentity"
        ),
        "not even *",
    ),
]


@pytest.mark.parametrize(("kind", "document", "message", "doc"), ROWS, ids=[r[3] for r in ROWS])
def test_malformed_policy_document(kind: str, document: Any, message: str, doc: str) -> None:
    forms = [document] if isinstance(document, str) else [text(document), document]
    for form in forms:  # as JSON text and as a decoded dict
        with pytest.raises(MalformedPolicyDocument) as raised:
            parse_policy(form, kind=kind)
        assert raised.value.message == message
        assert raised.value.wire("query")[:2] == ("MalformedPolicyDocument", 400)


ORDER_ROWS: list[tuple[dict[str, Any], str, str]] = [
    (
        doc(dict(OK, Effect="allow"), dict(OK, Sid="A"), dict(OK, Sid="A")),
        LEGACY,
        "legacy parsing before Sid uniqueness",
    ),
    (
        doc(dict(OK, Sid="A"), dict(OK, Sid="A", Action=[])),
        "Statement IDs (SID) in a single policy must be unique.",
        "Sid before actions",
    ),
    (
        doc(stmt("Allow", [], "foo")),
        "Policy statement must contain actions.",
        "actions before resource formats",
    ),
    (
        doc(stmt("Allow", "Get", "foo")),
        ARN_FORMAT.format("foo"),
        "resource formats before action prefixes",
    ),
    (doc(stmt("Allow", "Get", "*", Principal="*")), VENDOR, "action prefixes before principals"),
]


@pytest.mark.parametrize(("document", "message", "doc"), ORDER_ROWS, ids=[r[2] for r in ORDER_ROWS])
def test_first_failure_wins_in_aws_order(document: dict[str, Any], message: str, doc: str) -> None:
    with pytest.raises(MalformedPolicyDocument) as raised:
        parse_policy(document, kind="identity")
    assert raised.value.message == message


VALID: list[tuple[str, dict[str, Any]]] = [
    ("identity", doc(stmt("Allow", ["proton:Get*", "proton:List*"], "*", Sid="Read1"))),
    (
        "identity",
        doc(
            {
                "Effect": "Deny",
                "NotAction": "proton:Get*",
                "NotResource": "arn:aws:proton:*:*:service/*",
            }
        ),
    ),
    (
        "resource",
        doc(
            stmt(
                "Allow",
                "proton:*",
                None,
                Principal={
                    "AWS": [
                        "111122223333",
                        "arn:aws:iam::444455556666:root",
                        "AIDAJQABLZS4A3QDU576Q",
                    ]
                },
            ),
            version=None,
        ),
    ),
    (
        "resource",
        doc(
            stmt(
                "Deny", "*", "*", NotPrincipal={"AWS": "arn:aws:sts::111122223333:assumed-role/r/s"}
            ),
            version="2008-10-17",
        ),
    ),
    (
        "trust",
        doc(
            stmt(
                "Allow",
                ["sts:AssumeRole", "sts:TagSession"],
                None,
                Principal={"Service": "proton.amazonaws.com"},
            )
        ),
    ),
    (
        "trust",
        doc(
            stmt(
                "Allow",
                "sts:AssumeRoleWithWebIdentity",
                None,
                Principal={"Federated": f"arn:aws:iam::111122223333:oidc-provider/{GITHUB}"},
            )
        ),
    ),
    ("endpoint", doc(stmt("Allow", "*", "*", Principal="*"))),
    ("rcp", doc(stmt("Allow", "*", "*", Principal="*"))),
    ("scp", doc(stmt("Allow", "*", "*"))),
    (
        "session",
        doc(stmt("Allow", "proton:Get*", "arn:aws:proton:us-east-1:111122223333:service/*")),
    ),
    (
        "boundary",
        doc(
            stmt(
                "Allow",
                "*",
                "*",
                Condition={"StringEquals": {"aws:RequestedRegion": ["us-east-1", 1, True]}},
            )
        ),
    ),
]


@pytest.mark.parametrize(
    ("kind", "document"), VALID, ids=[f"{k}-{i}" for i, (k, _) in enumerate(VALID)]
)
def test_valid_documents_parse(kind: str, document: dict[str, Any]) -> None:
    policy = parse_policy(json.dumps(document, indent=2), kind=kind)
    assert policy.kind == kind
    assert parse_policy(document, kind=kind) == policy


def test_unknown_operator_with_empty_body_is_tolerated_with_a_warning() -> None:
    # §4.2: AWS tolerates it; we keep it as a warning for compatibility.
    policy = parse_policy(with_statement(Condition={"StringEqual": {}}), kind="identity")
    assert policy.warnings == (
        "Unknown condition operator StringEqual with an empty body is ignored.",
    )


def test_non_documents_are_syntax_errors() -> None:
    for value in (None, 5, ["x"], {1: "x"}, {"Statement": {1, 2}}):
        with pytest.raises(MalformedPolicyDocument, match="Syntax errors"):
            parse_policy(value, kind="identity")  # type: ignore[arg-type]


# --- §4.3 size quotas --------------------------------------------------------------------


def sized(total: int) -> str:
    """A compact identity policy of exactly ``total`` characters."""
    base = json.dumps(doc(dict(OK, Sid="")), separators=(",", ":"))
    return base.replace('"Sid":""', '"Sid":"' + "A" * (total - len(base)) + '"')


def test_managed_policy_quota_is_6144_characters() -> None:
    # Quotas page: managed policy size 6,144 characters; "Cannot exceed quota for PolicySize: 6144".
    parse_policy(sized(6144), kind="identity")
    with pytest.raises(LimitExceeded) as raised:
        parse_policy(sized(6145), kind="identity")
    assert raised.value.message == "Cannot exceed quota for PolicySize: 6144"
    assert raised.value.wire("query")[:2] == ("LimitExceeded", 409)


def test_whitespace_is_not_counted_for_iam_policies() -> None:
    # "IAM doesn't count white space when calculating the size of a policy against these limits."
    padded = sized(6144).replace(",", " ,\n\t ")
    assert policy_size(padded) == 6144
    parse_policy(padded, kind="identity")
    assert policy_size('{"a b": 1}') == len('{"a b":1}')  # spaces inside strings count


def test_trust_policy_quota_is_2048_characters() -> None:
    trust = doc(
        stmt("Allow", "sts:AssumeRole", None, Principal={"AWS": "111122223333"}, Sid="X" * 2000)
    )
    with pytest.raises(LimitExceeded, match=r"^Cannot exceed quota for ACLSizePerRole: 2048$"):
        parse_policy(trust, kind="trust")
    parse_policy(trust, kind="trust", max_size=4096)  # the quota is adjustable


def test_quota_can_be_chosen_or_disabled() -> None:
    with pytest.raises(LimitExceeded, match=r"^Cannot exceed quota for PolicySize: 2048$"):
        parse_policy(sized(2049), kind="identity", max_size=2048)  # inline user policies
    parse_policy(sized(9000), kind="identity", max_size=None)


def test_organizations_and_endpoint_policies_count_whitespace() -> None:
    # Organizations: "All characters in your SCP count against its maximum size"; VPC endpoint
    # policies: 20,480 characters including white space.
    padded = json.dumps(doc(OK), indent=4)
    assert policy_size(padded, PolicyKind.SCP) == len(padded)
    assert policy_size(padded, "endpoint") == len(padded)
    assert policy_size(padded, "identity") < len(padded)
    with pytest.raises(LimitExceeded):
        parse_policy(padded, kind="scp", max_size=len(padded) - 1)
