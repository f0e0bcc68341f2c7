"""The EC2 handlers cover exactly the operations Hadron claims, all present in botocore's model."""

from __future__ import annotations

import ipaddress
from pathlib import Path

from hadron.ec2.endpoints import EndpointsApi
from hadron.ec2.network import NetworkApi
from hadron.keys import new_ring
from hadron.protocol.models import load_service
from hadron.store import open_store

SERVED = {
    "CreateVpc",
    "DescribeVpcs",
    "DeleteVpc",
    "CreateSubnet",
    "DescribeSubnets",
    "DeleteSubnet",
    "CreateSecurityGroup",
    "AuthorizeSecurityGroupIngress",
    "RevokeSecurityGroupIngress",
    "DescribeSecurityGroups",
    "DeleteSecurityGroup",
    "DescribeVpcEndpointServices",
    "CreateVpcEndpoint",
    "ModifyVpcEndpoint",
    "DescribeVpcEndpoints",
    "DeleteVpcEndpoints",
    "DescribeNetworkInterfaces",
}


def test_handlers_match_the_model(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'h.db'}", new_ring())
    try:
        pool = ipaddress.IPv4Network("127.77.0.0/16")
        keys = set(NetworkApi(store, pool).handlers()) | set(EndpointsApi(store, pool).handlers())
    finally:
        store.close()
    assert {service for service, _ in keys} == {"ec2"}
    assert {operation for _, operation in keys} == SERVED
    model = load_service("ec2")
    assert SERVED <= set(model.operation_names)
