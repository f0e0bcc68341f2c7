"""The EC2 pure cores: ids, the address pool, zones, filters, pagination, DNS names, params."""

from __future__ import annotations

import ipaddress
import itertools
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hadron import errors
from hadron.ec2.addresses import DEFAULT_POOL, allocate, parse_pool
from hadron.ec2.filters import Filter, matches, page, parse_filters, resource_values
from hadron.ec2.ids import dns_suffix, is_id, new_id
from hadron.ec2.params import fingerprint, rule_specs, subnet_cidr, tags_for, vpc_cidr
from hadron.ec2.policies import DEFAULT_POLICY, MAX_POLICY_CHARS, validate_endpoint_policy
from hadron.ec2.services import dns_entries, service_detail, service_for, service_names
from hadron.ec2.zones import zone_id, zones
from hadron.store.ec2_records import RuleSpec


def _counter() -> Any:
    counter = itertools.count()

    def rng(n: int) -> bytes:
        return bytes((next(counter) * 37 + i) % 256 for i in range(n))

    return rng


def test_ids_have_17_hex_digits() -> None:
    value = new_id("vpce", _counter())
    assert value.startswith("vpce-") and len(value) == len("vpce-") + 17
    assert is_id(value, "vpce") and is_id("vpce-0123abcd", "vpce")
    assert not is_id("vpce-0123", "vpce") and not is_id("vpc-0123abcd", "vpce")
    assert not is_id("vpce-0123456789ABCDEF0", "vpce")
    assert len({new_id("eni") for _ in range(100)}) == 100


def test_dns_suffix_is_eight_lowercase_alphanumerics() -> None:
    suffix = dns_suffix(_counter())
    assert len(suffix) == 8 and suffix.isalnum() and suffix == suffix.lower()


def test_pool_allocates_lowest_free_hosts() -> None:
    pool = parse_pool("10.9.0.0/29")  # hosts .1 … .6
    assert allocate(pool, [], 2) == ["10.9.0.1", "10.9.0.2"]
    assert allocate(pool, ["10.9.0.1", "10.9.0.3"], 3) == ["10.9.0.2", "10.9.0.4", "10.9.0.5"]
    assert allocate(pool, [f"10.9.0.{i}" for i in range(1, 6)], 1) == ["10.9.0.6"]
    assert allocate(pool, [f"10.9.0.{i}" for i in range(1, 7)], 1) is None
    assert allocate(pool, [], 7) is None
    assert allocate(pool, [], 0) == []
    assert parse_pool(DEFAULT_POOL) == ipaddress.IPv4Network("127.77.0.0/16")


@pytest.mark.parametrize("text", ["127.77.0.1/16", "nope", "10.0.0.0/31", "::1/128"])
def test_bad_pools_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="--endpoint-address-pool"):
        parse_pool(text)


@given(st.sets(st.integers(1, 14)), st.integers(0, 16))
def test_allocation_never_hands_out_a_used_address(used: set[int], count: int) -> None:
    pool = ipaddress.IPv4Network("192.168.5.0/28")
    taken = [f"192.168.5.{i}" for i in used]
    got = allocate(pool, taken, count)
    free = 14 - len(used)
    if count > free:
        assert got is None
    else:
        assert got is not None and len(got) == count == len(set(got))
        assert not set(got) & set(taken)


def test_zones_and_zone_ids() -> None:
    assert zones("us-east-1") == ("us-east-1a", "us-east-1b", "us-east-1c")
    assert zone_id("us-east-1a") == "use1-az1"
    assert zone_id("eu-west-1c") == "euw1-az3"
    assert zone_id("ap-southeast-2b") == "apse2-az2"
    assert zone_id("eu-central-1a") == "euc1-az1"


def test_filters_match_any_value_of_each_filter_with_wildcards() -> None:
    values = resource_values(
        {"vpc-id": "vpc-1", "group-id": ["sg-a", "sg-b"], "flag": True, "none": None},
        (("Name", "web"), ("env", "prod")),
    )
    assert values["flag"] == ("true",) and values["none"] == ()
    assert matches(values, [Filter("vpc-id", ("vpc-2", "vpc-1"))])
    assert matches(values, [Filter("group-id", ("sg-b",)), Filter("tag:env", ("pr*",))])
    assert matches(values, [Filter("tag-key", ("Name",)), Filter("tag:Name", ("w?b",))])
    assert not matches(values, [Filter("tag:Name", ("w?",))])
    assert not matches(values, [Filter("vpc-id", ("vpc-1",)), Filter("flag", ("false",))])
    assert not matches(values, [Filter("tag:missing", ("*",))])
    assert matches(resource_values({"d": "a*b"}), [Filter("d", ("a\\*b",))])
    assert not matches(resource_values({"d": "axb"}), [Filter("d", ("a\\*b",))])


def test_unknown_filter_names_are_refused() -> None:
    raw = [{"Name": "vpc-id", "Values": ["v"]}, {"Name": "tag:k", "Values": []}]
    assert parse_filters(raw, ["vpc-id"]) == (Filter("vpc-id", ("v",)), Filter("tag:k", ()))
    with pytest.raises(errors.Ec2InvalidParameterValue, match="The filter 'bogus' is invalid"):
        parse_filters([{"Name": "bogus", "Values": ["x"]}], ["vpc-id"])


def test_pages_follow_tokens_to_the_end() -> None:
    items = [f"id-{i:02d}" for i in range(7)]
    seen: list[str] = []
    token: str | None = None
    while True:
        chunk, token = page(items, str, 3, token)
        seen += chunk
        if token is None:
            break
    assert seen == items
    assert page(items, str, None, None) == (items, None)
    assert page(items, str, 5000, None) == (items, None)
    with pytest.raises(errors.InvalidPaginationToken):
        page(items, str, 3, "%%%")
    with pytest.raises(errors.Ec2InvalidParameterValue, match="maxResults"):
        page(items, str, 0, None)


def test_endpoint_services_and_dns_entries() -> None:
    assert service_names("us-east-1") == [
        "com.amazonaws.us-east-1.proton",
        "com.amazonaws.us-east-1.sts",
    ]
    assert service_for("com.amazonaws.us-east-1.s3", "us-east-1") is None
    assert service_for("com.amazonaws.eu-west-1.proton", "us-east-1") is None
    proton = service_for("com.amazonaws.eu-west-1.proton", "eu-west-1")
    assert proton is not None
    detail = service_detail(proton)
    assert detail["ServiceType"] == [{"ServiceType": "Interface"}]
    assert detail["AvailabilityZones"] == ["eu-west-1a", "eu-west-1b", "eu-west-1c"]
    assert detail["BaseEndpointDnsNames"] == ["proton.eu-west-1.vpce.amazonaws.com"]
    assert detail["PrivateDnsName"] == "proton.eu-west-1.amazonaws.com"
    assert detail["VpcEndpointPolicySupported"] is True
    assert detail["AcceptanceRequired"] is False
    assert detail["ServiceId"].startswith("vpce-svc-") and len(detail["ServiceId"]) == 26
    entries = dns_entries(
        "vpce-0123456789abcdef0", "abcd1234", proton, ["eu-west-1b", "eu-west-1a"], "vpc-1", True
    )
    assert [e["DnsName"] for e in entries] == [
        "vpce-0123456789abcdef0-abcd1234.proton.eu-west-1.vpce.amazonaws.com",
        "vpce-0123456789abcdef0-abcd1234-eu-west-1a.proton.eu-west-1.vpce.amazonaws.com",
        "vpce-0123456789abcdef0-abcd1234-eu-west-1b.proton.eu-west-1.vpce.amazonaws.com",
        "proton.eu-west-1.amazonaws.com",
    ]
    assert len({e["HostedZoneId"] for e in entries}) == 2
    without = dns_entries("vpce-1", "s", proton, [], "vpc-1", False)
    assert [e["DnsName"] for e in without] == ["vpce-1-s.proton.eu-west-1.vpce.amazonaws.com"]


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("10.0.0.0/8", errors.InvalidVpcRange),
        ("10.0.0.0/29", errors.InvalidVpcRange),
        ("10.0.0.1/16", errors.Ec2InvalidParameterValue),
        ("10.0.0.0", errors.InvalidVpcRange),
        ("banana", errors.Ec2InvalidParameterValue),
    ],
)
def test_vpc_cidr_errors(text: str, error: type[errors.ServiceError]) -> None:
    with pytest.raises(error):
        vpc_cidr(text)
    assert vpc_cidr("10.0.0.0/16") == "10.0.0.0/16"
    assert subnet_cidr("10.0.1.0/28") == "10.0.1.0/28"
    with pytest.raises(errors.InvalidSubnetRange, match=r"The CIDR '10\.0\.1\.0/29' is invalid\."):
        subnet_cidr("10.0.1.0/29")


def test_tags_for_checks_type_and_values() -> None:
    spec = [
        {"ResourceType": "vpc", "Tags": [{"Key": "a", "Value": "1"}, {"Key": "a", "Value": "2"}]}
    ]
    assert tags_for({"TagSpecifications": spec}, "vpc") == (("a", "2"),)
    assert tags_for({}, "vpc") == ()
    bad: list[tuple[list[dict[str, Any]], str]] = [
        ([{"ResourceType": "subnet", "Tags": [{"Key": "a", "Value": ""}]}], "taggable"),
        ([{"ResourceType": "vpc", "Tags": []}], "at least one tag"),
        ([{"ResourceType": "vpc", "Tags": [{"Key": "aws:x", "Value": ""}]}], "reserved"),
        ([{"ResourceType": "vpc", "Tags": [{"Key": "k" * 129, "Value": ""}]}], "128"),
        ([{"ResourceType": "vpc", "Tags": [{"Key": "k", "Value": "v" * 257}]}], "256"),
        ([{"ResourceType": "vpc", "Tags": [{"Key": "k"}]}], "null"),
        ([{"ResourceType": "vpc", "Tags": [{"Key": "", "Value": "v"}]}], "empty"),
    ]
    for specs, message in bad:
        with pytest.raises(errors.Ec2InvalidParameterValue, match=message):
            tags_for({"TagSpecifications": specs}, "vpc")


def test_rule_specs_from_permissions_and_legacy_parameters() -> None:
    specs = rule_specs(
        {
            "IpPermissions": [
                {
                    "IpProtocol": "TCP",
                    "FromPort": 443,
                    "ToPort": 443,
                    "IpRanges": [{"CidrIp": "10.0.0.0/8", "Description": "office"}],
                    "UserIdGroupPairs": [{"GroupId": "sg-1"}],
                },
                {"IpProtocol": "-1", "FromPort": 5, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]},
            ]
        }
    )
    assert specs == [
        RuleSpec("tcp", 443, 443, "10.0.0.0/8", None, "office"),
        RuleSpec("tcp", 443, 443, None, "sg-1", None),
        RuleSpec("-1", None, None, "0.0.0.0/0", None, None),
    ]
    legacy = {"IpProtocol": "udp", "FromPort": 53, "ToPort": 53, "CidrIp": "127.0.0.0/8"}
    assert rule_specs(legacy) == [RuleSpec("udp", 53, 53, "127.0.0.0/8")]
    icmp = rule_specs(
        {"IpPermissions": [{"IpProtocol": "1", "IpRanges": [{"CidrIp": "1.0.0.0/8"}]}]}
    )
    assert icmp == [RuleSpec("icmp", -1, -1, "1.0.0.0/8")]


@pytest.mark.parametrize(
    ("params", "error"),
    [
        (
            {"IpPermissions": [{"IpProtocol": "gre?", "IpRanges": [{"CidrIp": "1.0.0.0/8"}]}]},
            "protocol",
        ),
        (
            {"IpPermissions": [{"IpProtocol": "tcp", "IpRanges": [{"CidrIp": "1.0.0.0/8"}]}]},
            "portRange",
        ),
        (
            {
                "IpPermissions": [
                    {
                        "IpProtocol": "tcp",
                        "FromPort": 9,
                        "ToPort": 1,
                        "IpRanges": [{"CidrIp": "1.0.0.0/8"}],
                    }
                ]
            },
            "portRange",
        ),
        ({"IpPermissions": [{"IpProtocol": "tcp", "FromPort": 1, "ToPort": 2}]}, "ipRanges"),
        (
            {"IpPermissions": [{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "1.0.0.1/8"}]}]},
            "cidrIp",
        ),
        ({"IpPermissions": [{"IpProtocol": "-1", "Ipv6Ranges": [{"CidrIpv6": "::/0"}]}]}, "IPv4"),
        (
            {"IpPermissions": [{"IpProtocol": "-1", "UserIdGroupPairs": [{"GroupName": "x"}]}]},
            "GroupId",
        ),
        ({"SourceSecurityGroupName": "x"}, "default VPC"),
        (
            {"CidrIp": "1.0.0.0/8", "IpProtocol": "-1", "IpPermissions": [{"IpProtocol": "-1"}]},
            "cannot",
        ),
        ({}, "ipPermissions"),
    ],
)
def test_bad_rules_are_refused(params: dict[str, Any], error: str) -> None:
    with pytest.raises((errors.Ec2InvalidParameterValue, errors.Ec2MissingParameter), match=error):
        rule_specs(params)


def test_fingerprint_ignores_token_and_dry_run() -> None:
    a = fingerprint({"VpcId": "v", "ClientToken": "t1", "DryRun": False})
    assert a == fingerprint({"VpcId": "v", "ClientToken": "t2"})
    assert a != fingerprint({"VpcId": "w"})


def test_endpoint_policies() -> None:
    assert validate_endpoint_policy(DEFAULT_POLICY) == DEFAULT_POLICY
    no_principal = json.dumps({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
    with pytest.raises(errors.InvalidPolicyDocument, match=r"^The Policy Document is not valid\."):
        validate_endpoint_policy(no_principal)
    with pytest.raises(errors.InvalidPolicyDocument):
        validate_endpoint_policy("{not json")
    statement = {"Effect": "Allow", "Principal": "*", "Action": "proton:*", "Resource": "*"}
    big = json.dumps({"Statement": [statement]}, indent=1)
    padded = big.replace("{", "{" + " " * (MAX_POLICY_CHARS - len(big) + 1), 1)
    assert len(padded) == MAX_POLICY_CHARS + 1
    with pytest.raises(errors.InvalidPolicyDocument, match="20480"):
        validate_endpoint_policy(padded)
    exact = big.replace("{", "{" + " " * (MAX_POLICY_CHARS - len(big)), 1)
    assert validate_endpoint_policy(exact) == exact
