"""Security-group admission and the DNS resolvers' answers (pure cores)."""

from __future__ import annotations

import pytest

from hadron.ec2.admission import admits
from hadron.ec2.resolution import EndpointFacts, Outcome, build_zone, resolve
from hadron.store.ec2_records import RuleSpec

PORT = 8443


@pytest.mark.parametrize(
    ("rule", "source", "admitted"),
    [
        (RuleSpec("tcp", PORT, PORT, cidr_ipv4="127.0.0.0/8"), "127.0.0.1", True),
        (RuleSpec("tcp", PORT, PORT, cidr_ipv4="127.0.0.1/32"), "127.0.0.2", False),
        (RuleSpec("tcp", 1, 1024, cidr_ipv4="0.0.0.0/0"), "127.0.0.1", False),
        (RuleSpec("tcp", 8000, 9000, cidr_ipv4="0.0.0.0/0"), "127.0.0.1", True),
        (RuleSpec("6", PORT, PORT, cidr_ipv4="0.0.0.0/0"), "127.0.0.1", True),
        (RuleSpec("-1", None, None, cidr_ipv4="127.0.0.0/8"), "127.9.9.9", True),
        (RuleSpec("udp", PORT, PORT, cidr_ipv4="0.0.0.0/0"), "127.0.0.1", False),
        (RuleSpec("icmp", -1, -1, cidr_ipv4="0.0.0.0/0"), "127.0.0.1", False),
        (RuleSpec("tcp", PORT, PORT, cidr_ipv4="10.0.0.0/8"), "not-an-ip", False),
    ],
)
def test_rules(rule: RuleSpec, source: str, admitted: bool) -> None:
    assert admits([rule], source, PORT) is admitted


def test_no_rule_admits_nothing_and_group_references_admit_members() -> None:
    assert not admits([], "127.0.0.1", PORT)
    rule = RuleSpec("-1", None, None, referenced_group_id="sg-1")
    members = {"sg-1": frozenset({"127.77.0.5"})}
    assert admits([rule], "127.77.0.5", PORT, members)
    assert not admits([rule], "127.0.0.1", PORT, members)
    assert not admits([rule], "127.77.0.5", PORT, None)


def _facts(private_dns: bool, vpc: str = "vpc-1") -> EndpointFacts:
    return EndpointFacts(
        vpc_endpoint_id="vpce-0123456789abcdef0",
        vpc_id=vpc,
        region="us-east-1",
        service_name="com.amazonaws.us-east-1.proton",
        dns_suffix="abcd1234",
        private_dns_enabled=private_dns,
        interfaces=(("us-east-1a", "127.77.0.2"), ("us-east-1b", "127.77.0.3")),
    )


def test_names_of_an_endpoint_and_private_dns() -> None:
    zone = build_zone([_facts(True)], ["us-east-1"], "127.0.0.1")
    regional = "vpce-0123456789abcdef0-abcd1234.proton.us-east-1.vpce.amazonaws.com"
    zonal = "vpce-0123456789abcdef0-abcd1234-us-east-1b.proton.us-east-1.vpce.amazonaws.com"
    for vpc in (None, "vpc-1", "vpc-2"):
        assert resolve(zone, regional + ".", vpc).addresses == ("127.77.0.2", "127.77.0.3")
        assert resolve(zone, zonal.upper(), vpc).addresses == ("127.77.0.3",)
    host = "proton.us-east-1.amazonaws.com"
    assert resolve(zone, host, "vpc-1").addresses == ("127.77.0.2", "127.77.0.3")
    assert resolve(zone, host, "vpc-2").addresses == ("127.0.0.1",)
    assert resolve(zone, host, None).addresses == ("127.0.0.1",)
    assert resolve(zone, "sts.us-east-1.amazonaws.com", "vpc-1").addresses == ("127.0.0.1",)
    assert resolve(zone, "nothing.amazonaws.com", None).outcome is Outcome.NXDOMAIN
    assert resolve(zone, "example.com", "vpc-1").outcome is Outcome.REFUSED
    assert resolve(zone, "amazonaws.com.evil.org", None).outcome is Outcome.REFUSED


def test_private_dns_disabled_leaves_the_public_answer() -> None:
    zone = build_zone([_facts(False)], ["us-east-1"], "127.0.0.1")
    assert resolve(zone, "proton.us-east-1.amazonaws.com", "vpc-1").addresses == ("127.0.0.1",)
