"""Endpoint policies in live enforcement, through the real gateway over a real store:
a request that arrives through an endpoint must also be allowed by the endpoint's policy."""

from __future__ import annotations

import ipaddress
import json
import re
import urllib.parse
from pathlib import Path
from typing import Any

import pytest

from hadron.credentials import CredentialResolver, UsageRecorder
from hadron.ec2.endpoints import EndpointsApi
from hadron.ec2.network import NetworkApi
from hadron.enforcement import PolicyAuthorizer
from hadron.gateway import Connection, Gateway
from hadron.keys import new_ring
from hadron.store import open_store
from hadron.types import HttpResponse
from hadron.vpce_policies import DENY_ALL, EndpointPolicyCache
from tests.pipeline import ACCOUNT, NOW, Pipeline

POOL = ipaddress.IPv4Network("127.77.0.0/16")
ADMIN = f"arn:aws:iam::{ACCOUNT}:user/admin"
SEED_POLICY = {
    "Statement": [
        {
            "Principal": "*",
            "Action": ["proton:List*", "proton:Get*"],
            "Effect": "Allow",
            "Resource": "*",
        }
    ]
}


class World:
    """A gateway whose authorizer evaluates endpoint policies, with the EC2 handlers."""

    def __init__(self, tmp_path: Path) -> None:
        store = open_store(f"sqlite:///{tmp_path / 'hadron.db'}", new_ring())
        store.create_account(ACCOUNT, NOW)
        store.create_user(ACCOUNT, "admin", "/", NOW)
        store.attach_user_policy(
            ACCOUNT, "admin", "arn:aws:iam::aws:policy/AdministratorAccess", NOW
        )
        key = store.create_access_key(ACCOUNT, "admin", NOW)
        self.lookups = 0

        def lookup(endpoint_id: str) -> str | None:
            self.lookups += 1
            found = store.get_vpc_endpoint(endpoint_id)
            return None if found is None else found.policy_document

        self.cache = EndpointPolicyCache(lookup, monotonic=lambda: 0.0)
        handlers = (
            NetworkApi(store, POOL).handlers()
            | EndpointsApi(store, POOL, endpoints_changed=self.cache.invalidate).handlers()
        )
        self.authorizer = PolicyAuthorizer(store, endpoint_policy=self.cache.policy)
        gateway = Gateway(
            resolver=CredentialResolver(store),
            authorizer=self.authorizer,
            audit_sink=lambda _event: None,
            usage=UsageRecorder(),
            regions=["us-east-1"],
            clock=lambda: NOW,
            call_handlers=handlers,
        )
        self.pipeline = Pipeline(store, gateway, key.access_key_id, key.secret)

    def ec2(self, action: str, **params: str) -> str:
        form = urllib.parse.urlencode({"Action": action, "Version": "2016-11-15", **params})
        response = self.pipeline.send(self.pipeline.query("ec2", form))
        assert response.status == 200, response.body
        return response.body.decode()

    def endpoint(self, policy: dict[str, Any] | None = None) -> str:
        body = self.ec2("CreateVpc", CidrBlock="10.0.0.0/16")
        vpc = re.findall(r"<vpcId>(vpc-[0-9a-f]+)</vpcId>", body)[0]
        params = {"VpcId": vpc, "ServiceName": "com.amazonaws.us-east-1.proton"}
        params["VpcEndpointType"] = "Interface"
        if policy is not None:
            params["PolicyDocument"] = json.dumps(policy)
        body = self.ec2("CreateVpcEndpoint", **params)
        return str(re.findall(r"<vpcEndpointId>(vpce-[0-9a-f]+)</vpcEndpointId>", body)[0])

    def proton(self, operation: str, body: dict[str, Any], vpce: str | None) -> HttpResponse:
        conn = Connection("10.0.1.9", {"tlsVersion": "TLSv1.3"}, vpce, "vpc-1" if vpce else None)
        return self.pipeline.send(self.pipeline.proton(operation, json.dumps(body).encode()), conn)


def _denied(response: HttpResponse) -> str:
    assert response.status == 400, response.body
    body = json.loads(response.body)
    assert body["__type"] == "AccessDeniedException"
    return str(body["message"])


def _allowed(response: HttpResponse) -> None:
    # Proton's handlers are another branch's: an authorized request reaches "not implemented".
    assert response.status == 501, response.body


@pytest.fixture
def world(tmp_path: Path) -> World:
    return World(tmp_path)


def test_default_policy_allows_everything_the_identity_allows(world: World) -> None:
    vpce = world.endpoint()
    _allowed(world.proton("ListEnvironments", {}, vpce))
    _allowed(world.proton("DeleteEnvironment", {"name": "x"}, vpce))


def test_seed_policy_admits_exactly_its_actions(world: World) -> None:
    vpce = world.endpoint(SEED_POLICY)
    _allowed(world.proton("ListEnvironments", {}, vpce))
    _allowed(world.proton("GetEnvironment", {"name": "x"}, vpce))
    message = _denied(world.proton("DeleteEnvironment", {"name": "x"}, vpce))
    assert message == (
        f"User: {ADMIN} is not authorized to perform: proton:DeleteEnvironment on resource: "
        f"arn:aws:proton:us-east-1:{ACCOUNT}:environment/x because no VPC endpoint policy "
        "allows the proton:DeleteEnvironment action"
    )
    # The same caller on the public listener: the endpoint policy does not apply.
    _allowed(world.proton("DeleteEnvironment", {"name": "x"}, None))


def test_explicit_deny_and_principals(world: World) -> None:
    deny = {
        "Statement": [
            {"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"},
            {"Effect": "Deny", "Principal": "*", "Action": "proton:Delete*", "Resource": "*"},
        ]
    }
    vpce = world.endpoint(deny)
    assert _denied(world.proton("DeleteEnvironment", {"name": "x"}, vpce)).endswith(
        "with an explicit deny in a VPC endpoint policy"
    )
    someone_else = {
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:user/alice"},
                "Action": "*",
                "Resource": "*",
            }
        ]
    }
    other = world.endpoint(someone_else)
    assert "no VPC endpoint policy allows" in _denied(world.proton("ListEnvironments", {}, other))
    named = {
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": ADMIN}, "Action": "*", "Resource": "*"}
        ]
    }
    world.ec2("ModifyVpcEndpoint", VpcEndpointId=other, PolicyDocument=json.dumps(named))
    _allowed(world.proton("ListEnvironments", {}, other))


def test_modify_and_reset_apply_to_the_next_request(world: World) -> None:
    vpce = world.endpoint(SEED_POLICY)
    _denied(world.proton("DeleteEnvironment", {"name": "x"}, vpce))
    lookups = world.lookups
    _denied(world.proton("DeleteEnvironment", {"name": "x"}, vpce))
    assert world.lookups == lookups  # cached
    world.ec2("ModifyVpcEndpoint", VpcEndpointId=vpce, ResetPolicy="true")
    _allowed(world.proton("DeleteEnvironment", {"name": "x"}, vpce))
    world.ec2("DeleteVpcEndpoints", **{"VpcEndpointId.1": vpce})
    # A request naming an endpoint that is gone fails closed (the engine reports an unparsable
    # policy as a deny in that policy).
    assert _denied(world.proton("ListEnvironments", {}, vpce)).endswith(
        "with an explicit deny in a VPC endpoint policy"
    )


def test_identity_policy_can_require_the_endpoint(world: World) -> None:
    vpce = world.endpoint()
    store = world.pipeline.store
    store.detach_user_policy(ACCOUNT, "admin", "arn:aws:iam::aws:policy/AdministratorAccess")
    statement = {
        "Effect": "Allow",
        "Action": ["proton:*", "ec2:*"],
        "Resource": "*",
        "Condition": {"StringEquals": {"aws:SourceVpce": vpce}},
    }
    store.put_user_policy(
        ACCOUNT,
        "admin",
        "vpce-only",
        json.dumps({"Version": "2012-10-17", "Statement": [statement]}),
    )
    world.authorizer.invalidate()
    _allowed(world.proton("ListEnvironments", {}, vpce))
    assert "no identity-based policy allows" in _denied(world.proton("ListEnvironments", {}, None))


def test_unknown_endpoint_is_deny_all() -> None:
    cache = EndpointPolicyCache(lambda _id: None)
    assert cache.policy("vpce-0000000000000000a") == DENY_ALL
    broken = EndpointPolicyCache(lambda _id: '{"Statement": "nope"}')
    assert broken.policy("vpce-0000000000000000a") == DENY_ALL
