"""The EC2 repository on a real SQLite store: conflicts, dependencies, atomicity, addresses."""

from __future__ import annotations

import ipaddress
import re
import threading

import pytest
from sqlalchemy import func, select

from hadron import errors
from hadron.ec2.policies import DEFAULT_POLICY
from hadron.store import SqlStore
from hadron.store.ec2_records import EndpointChange, NewEndpoint, RuleSpec
from hadron.store.schema_ec2 import (
    ec2_network_interfaces,
    ec2_tags,
    ec2_vpc_endpoint_groups,
    ec2_vpc_endpoints,
)

from .conftest import ACCOUNT, NOW

REGION = "us-east-1"
POOL = ipaddress.IPv4Network("127.77.0.0/16")
PROTON = "com.amazonaws.us-east-1.proton"
PRIVATE = "proton.us-east-1.amazonaws.com"


def _endpoint(vpc_id: str, subnets: list[str], **kwargs: object) -> NewEndpoint:
    values: dict[str, object] = {
        "account_id": ACCOUNT,
        "region": REGION,
        "vpc_id": vpc_id,
        "service_name": PROTON,
        "private_dns_name": PRIVATE,
        "subnet_ids": subnets,
        "group_ids": None,
        "private_dns_enabled": True,
        "policy_document": DEFAULT_POLICY,
    }
    values.update(kwargs)
    return NewEndpoint(**values)  # type: ignore[arg-type]


def _count(store: SqlStore, table: object) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


@pytest.fixture
def vpc(store: SqlStore, account: str) -> str:
    return store.create_vpc(account, REGION, "10.0.0.0/16", NOW, POOL).vpc_id


def test_vpc_has_default_group_and_resolver(store: SqlStore, vpc: str) -> None:
    got = store.get_vpc(ACCOUNT, REGION, vpc)
    assert got is not None and got.resolver_address == "127.77.0.1"
    assert store.get_vpc(ACCOUNT, "eu-west-1", vpc) is None
    groups = store.list_security_groups(ACCOUNT, REGION)
    assert [(g.group_name, g.description) for g in groups] == [
        ("default", "default VPC security group")
    ]
    (rule,) = groups[0].rules
    assert rule.spec == RuleSpec("-1", None, None, None, groups[0].group_id)
    other = store.create_vpc(ACCOUNT, REGION, "10.0.0.0/16", NOW, POOL, tags=(("k", "v"),))
    assert other.resolver_address == "127.77.0.2" and other.tags == (("k", "v"),)
    assert store.vpc_resolvers() == sorted([(vpc, "127.77.0.1"), (other.vpc_id, "127.77.0.2")])


def test_subnets_must_fit_the_vpc_and_not_overlap(store: SqlStore, vpc: str) -> None:
    store.create_subnet(ACCOUNT, REGION, vpc, "10.0.1.0/24", "us-east-1a", NOW)
    with pytest.raises(errors.InvalidSubnetConflict, match=re.escape("'10.0.0.0/20' conflicts")):
        store.create_subnet(ACCOUNT, REGION, vpc, "10.0.0.0/20", "us-east-1a", NOW)
    with pytest.raises(errors.InvalidSubnetRange, match=re.escape("'10.1.0.0/24' is invalid")):
        store.create_subnet(ACCOUNT, REGION, vpc, "10.1.0.0/24", "us-east-1a", NOW)
    with pytest.raises(errors.InvalidVpcIdNotFound, match="The vpc ID 'vpc-nope' does not exist"):
        store.create_subnet(ACCOUNT, REGION, "vpc-nope", "10.0.2.0/24", "us-east-1a", NOW)
    assert [s.cidr_block for s in store.list_subnets(ACCOUNT, REGION)] == ["10.0.1.0/24"]


def test_vpc_delete_waits_for_dependencies(store: SqlStore, vpc: str) -> None:
    subnet = store.create_subnet(ACCOUNT, REGION, vpc, "10.0.1.0/24", "us-east-1a", NOW)
    group = store.create_security_group(ACCOUNT, REGION, vpc, "web", "web tier")
    with pytest.raises(errors.DependencyViolation, match="has dependencies"):
        store.delete_vpc(ACCOUNT, REGION, vpc)
    store.delete_subnet(ACCOUNT, REGION, subnet.subnet_id)
    with pytest.raises(errors.DependencyViolation):
        store.delete_vpc(ACCOUNT, REGION, vpc)
    store.delete_security_group(ACCOUNT, REGION, group.group_id)
    store.delete_vpc(ACCOUNT, REGION, vpc)
    assert store.list_vpcs(ACCOUNT, REGION) == []
    assert store.list_security_groups(ACCOUNT, REGION) == []
    with pytest.raises(errors.InvalidVpcIdNotFound):
        store.delete_vpc(ACCOUNT, REGION, vpc)


def test_security_group_rules_and_deletion(store: SqlStore, vpc: str) -> None:
    web = store.create_security_group(ACCOUNT, REGION, vpc, "web", "web tier")
    with pytest.raises(errors.InvalidGroupDuplicate, match="already exists for VPC"):
        store.create_security_group(ACCOUNT, REGION, vpc, "web", "again")
    db = store.create_security_group(ACCOUNT, REGION, vpc, "db", "db tier")
    https = RuleSpec("tcp", 443, 443, "10.0.0.0/8")
    added = store.authorize_ingress(
        ACCOUNT, REGION, db.group_id, [https, RuleSpec("tcp", 5432, 5432, None, web.group_id)]
    )
    assert [r.rule_id.startswith("sgr-") for r in added] == [True, True]
    with pytest.raises(errors.InvalidPermissionDuplicate, match=re.escape("peer: 10.0.0.0/8, TCP")):
        store.authorize_ingress(ACCOUNT, REGION, db.group_id, [https])
    with pytest.raises(errors.DependencyViolation, match=f"resource {web.group_id} has a"):
        store.delete_security_group(ACCOUNT, REGION, web.group_id)
    store.revoke_ingress(ACCOUNT, REGION, db.group_id, rule_ids=[added[1].rule_id])
    with pytest.raises(errors.InvalidPermissionNotFound):
        store.revoke_ingress(ACCOUNT, REGION, db.group_id, [RuleSpec("udp", 1, 1, "1.0.0.0/8")])
    assert store.revoke_ingress(ACCOUNT, REGION, db.group_id, [https]) == [added[0]]
    store.delete_security_group(ACCOUNT, REGION, web.group_id)
    default = next(
        g for g in store.list_security_groups(ACCOUNT, REGION) if g.group_name == "default"
    )
    with pytest.raises(errors.CannotDelete, match='name: "default" cannot be deleted'):
        store.delete_security_group(ACCOUNT, REGION, default.group_id)
    with pytest.raises(errors.InvalidGroupNotFound):
        store.get_security_group(ACCOUNT, REGION, "sg-0000000000000000f")


def test_endpoint_interfaces_get_pool_addresses(store: SqlStore, vpc: str) -> None:
    a = store.create_subnet(ACCOUNT, REGION, vpc, "10.0.1.0/24", "us-east-1a", NOW).subnet_id
    b = store.create_subnet(ACCOUNT, REGION, vpc, "10.0.2.0/24", "us-east-1b", NOW).subnet_id
    endpoint, created = store.create_vpc_endpoint(
        _endpoint(vpc, [a, b], tags=(("team", "x"),)), NOW, POOL
    )
    assert created and endpoint.state == "available" and endpoint.tags == (("team", "x"),)
    assert sorted(i.private_ip for i in endpoint.interfaces) == ["127.77.0.2", "127.77.0.3"]
    assert [g[1] for g in endpoint.groups] == ["default"]
    assert store.live_vpc_endpoints() == [endpoint]
    assert store.get_vpc_endpoint(endpoint.vpc_endpoint_id) == endpoint
    with pytest.raises(errors.DependencyViolation, match="subnet"):
        store.delete_subnet(ACCOUNT, REGION, a)
    with pytest.raises(errors.DependencyViolation):
        store.delete_vpc(ACCOUNT, REGION, vpc)
    store.delete_vpc_endpoint(ACCOUNT, REGION, endpoint.vpc_endpoint_id)
    assert store.live_vpc_endpoints() == []
    for table in (ec2_network_interfaces, ec2_vpc_endpoint_groups, ec2_vpc_endpoints):
        assert _count(store, table) == 0
    with pytest.raises(errors.InvalidVpcEndpointIdNotFound, match="does not exist"):
        store.delete_vpc_endpoint(ACCOUNT, REGION, endpoint.vpc_endpoint_id)


def test_pool_exhaustion_leaves_nothing_behind(store: SqlStore, account: str) -> None:
    tiny = ipaddress.IPv4Network("127.78.0.0/30")  # two hosts
    vpc = store.create_vpc(account, REGION, "10.0.0.0/16", NOW, tiny).vpc_id
    a = store.create_subnet(ACCOUNT, REGION, vpc, "10.0.1.0/24", "us-east-1a", NOW).subnet_id
    b = store.create_subnet(ACCOUNT, REGION, vpc, "10.0.2.0/24", "us-east-1b", NOW).subnet_id
    with pytest.raises(errors.InsufficientFreeAddressesInSubnet):
        store.create_vpc_endpoint(_endpoint(vpc, [a, b], tags=(("k", "v"),)), NOW, tiny)
    for table in (ec2_network_interfaces, ec2_vpc_endpoint_groups, ec2_vpc_endpoints):
        assert _count(store, table) == 0
    assert _count(store, ec2_tags) == 0
    store.create_vpc_endpoint(_endpoint(vpc, [a]), NOW, tiny)
    with pytest.raises(errors.VpcLimitExceeded):
        store.create_vpc(account, REGION, "10.0.0.0/16", NOW, tiny)


def test_client_tokens_are_idempotent(store: SqlStore, vpc: str) -> None:
    first, created = store.create_vpc_endpoint(
        _endpoint(vpc, [], client_token="t", fingerprint="f1"), NOW, POOL
    )
    again, created_again = store.create_vpc_endpoint(
        _endpoint(vpc, [], client_token="t", fingerprint="f1"), NOW, POOL
    )
    assert created and not created_again and again == first
    with pytest.raises(errors.IdempotentParameterMismatch):
        store.create_vpc_endpoint(_endpoint(vpc, [], client_token="t", fingerprint="f2"), NOW, POOL)
    assert len(store.list_vpc_endpoints(ACCOUNT, REGION)) == 1


def test_one_private_dns_endpoint_per_service_and_vpc(store: SqlStore, vpc: str) -> None:
    first, _ = store.create_vpc_endpoint(_endpoint(vpc, []), NOW, POOL)
    message = f"conflicting DNS domain for {PRIVATE} in the VPC {vpc}"
    with pytest.raises(errors.Ec2InvalidParameter, match=message):
        store.create_vpc_endpoint(_endpoint(vpc, []), NOW, POOL)
    second, _ = store.create_vpc_endpoint(_endpoint(vpc, [], private_dns_enabled=False), NOW, POOL)
    sts, _ = store.create_vpc_endpoint(
        _endpoint(vpc, [], service_name="com.amazonaws.us-east-1.sts"), NOW, POOL
    )
    assert sts.private_dns_enabled
    change = EndpointChange(private_dns_enabled=True, private_dns_name=PRIVATE)
    with pytest.raises(errors.Ec2InvalidParameter, match=message):
        store.modify_vpc_endpoint(ACCOUNT, REGION, second.vpc_endpoint_id, change, NOW, POOL)
    store.modify_vpc_endpoint(
        ACCOUNT, REGION, first.vpc_endpoint_id, EndpointChange(private_dns_enabled=False), NOW, POOL
    )
    done = store.modify_vpc_endpoint(ACCOUNT, REGION, second.vpc_endpoint_id, change, NOW, POOL)
    assert done.private_dns_enabled


def test_endpoint_subnet_and_group_checks(store: SqlStore, vpc: str) -> None:
    a = store.create_subnet(ACCOUNT, REGION, vpc, "10.0.1.0/24", "us-east-1a", NOW).subnet_id
    a2 = store.create_subnet(ACCOUNT, REGION, vpc, "10.0.2.0/24", "us-east-1a", NOW).subnet_id
    b = store.create_subnet(ACCOUNT, REGION, vpc, "10.0.3.0/24", "us-east-1b", NOW).subnet_id
    other_vpc = store.create_vpc(ACCOUNT, REGION, "10.1.0.0/16", NOW, POOL).vpc_id
    foreign = store.create_subnet(ACCOUNT, REGION, other_vpc, "10.1.1.0/24", "us-east-1c", NOW)
    foreign_group = store.create_security_group(ACCOUNT, REGION, other_vpc, "x", "x")
    cases: list[tuple[NewEndpoint, type[errors.ServiceError]]] = [
        (_endpoint(vpc, [a, a2]), errors.DuplicateSubnetsInSameZone),
        (_endpoint(vpc, ["subnet-0000000000000000a"]), errors.InvalidSubnetIdNotFound),
        (_endpoint(vpc, [foreign.subnet_id]), errors.Ec2InvalidParameter),
        (_endpoint(vpc, [a], group_ids=["sg-0000000000000000a"]), errors.InvalidGroupNotFound),
        (_endpoint(vpc, [a], group_ids=[foreign_group.group_id]), errors.Ec2InvalidParameter),
        (_endpoint("vpc-0000000000000000a", []), errors.InvalidVpcIdNotFound),
    ]
    for new, error in cases:
        with pytest.raises(error):
            store.create_vpc_endpoint(new, NOW, POOL)
    assert store.list_vpc_endpoints() == []
    web = store.create_security_group(ACCOUNT, REGION, vpc, "web", "web")
    endpoint, _ = store.create_vpc_endpoint(_endpoint(vpc, [a]), NOW, POOL)
    eid = endpoint.vpc_endpoint_id
    with pytest.raises(errors.DuplicateSubnetsInSameZone):
        store.modify_vpc_endpoint(
            ACCOUNT, REGION, eid, EndpointChange(add_subnet_ids=[a2, b]), NOW, POOL
        )
    moved = store.modify_vpc_endpoint(
        ACCOUNT,
        REGION,
        eid,
        EndpointChange(
            add_subnet_ids=[a2, b],
            remove_subnet_ids=[a],
            add_group_ids=[web.group_id],
            policy_document='{"Statement":[]}',
        ),
        NOW,
        POOL,
    )
    assert moved.subnet_ids == tuple(sorted([a2, b]))
    assert [n for _, n in moved.groups] == ["default", "web"]
    assert moved.policy_document == '{"Statement":[]}'
    with pytest.raises(errors.DependencyViolation):
        store.delete_security_group(ACCOUNT, REGION, web.group_id)
    with pytest.raises(errors.Ec2InvalidParameter, match="not associated"):
        store.modify_vpc_endpoint(
            ACCOUNT, REGION, eid, EndpointChange(remove_subnet_ids=[a]), NOW, POOL
        )
    with pytest.raises(errors.InvalidVpcEndpointIdNotFound):
        store.modify_vpc_endpoint(
            ACCOUNT, "eu-west-1", eid, EndpointChange(policy_document="{}"), NOW, POOL
        )
    store.delete_subnet(ACCOUNT, REGION, a)  # its interface is gone


def test_concurrent_creates_never_share_an_address(store: SqlStore, vpc: str) -> None:
    zones = ["us-east-1a", "us-east-1b", "us-east-1c"]
    subnets = [
        store.create_subnet(ACCOUNT, REGION, vpc, f"10.0.{i}.0/24", zones[i % 3], NOW).subnet_id
        for i in range(3)
    ]
    results: list[object] = []

    def create(i: int) -> None:
        try:
            endpoint, _ = store.create_vpc_endpoint(
                _endpoint(vpc, subnets, private_dns_enabled=False, client_token=f"t{i}"),
                NOW,
                POOL,
            )
            results.append(endpoint)
        except Exception as exc:  # collected and asserted below
            results.append(exc)

    threads = [threading.Thread(target=create, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not [r for r in results if isinstance(r, Exception)]
    addresses = [i.private_ip for e in store.list_vpc_endpoints() for i in e.interfaces]
    assert len(addresses) == 24 == len(set(addresses))


def test_accounts_and_regions_are_isolated(store: SqlStore, vpc: str) -> None:
    other = "210987654321"
    store.create_account(other, NOW)
    subnet = store.create_subnet(ACCOUNT, REGION, vpc, "10.0.1.0/24", "us-east-1a", NOW)
    assert store.list_vpcs(other, REGION) == [] and store.list_subnets(other, REGION) == []
    assert store.list_vpcs(ACCOUNT, "eu-west-1") == []
    with pytest.raises(errors.InvalidVpcIdNotFound):
        store.delete_vpc(other, REGION, vpc)
    with pytest.raises(errors.InvalidSubnetIdNotFound):
        store.delete_subnet(other, REGION, subnet.subnet_id)
    with pytest.raises(errors.InvalidVpcIdNotFound):
        store.create_security_group(other, REGION, vpc, "x", "x")
    theirs = store.create_vpc(other, REGION, "10.0.0.0/16", NOW, POOL).vpc_id
    new = _endpoint(theirs, [subnet.subnet_id], account_id=other)
    with pytest.raises(errors.InvalidSubnetIdNotFound):
        store.create_vpc_endpoint(new, NOW, POOL)
    mine, _ = store.create_vpc_endpoint(_endpoint(vpc, [subnet.subnet_id]), NOW, POOL)
    with pytest.raises(errors.InvalidVpcEndpointIdNotFound):
        store.delete_vpc_endpoint(other, REGION, mine.vpc_endpoint_id)
    assert store.list_vpc_endpoints(other, REGION) == []
    assert [e.vpc_endpoint_id for e in store.live_vpc_endpoints()] == [mine.vpc_endpoint_id]
