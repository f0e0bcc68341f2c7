"""VPC endpoint listeners, black-box: a real server, the AWS CLI, boto3 and raw sockets.

Proton operations are not served yet in this tree: a request that passes authorization answers
501 ``NotImplemented``, a refused one ``AccessDeniedException`` — which tells "allowed through the
endpoint" from "denied".
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.e2e.server import Server
from tests.vpce.wire import refused_before_tls, tls

AWS = str(Path(sys.executable).parent / "aws")
PROTON = "com.amazonaws.us-east-1.proton"
STS = "com.amazonaws.us-east-1.sts"


def _cli(server: Server, *args: str) -> Any:
    out = subprocess.run(
        [AWS, "ec2", *args, "--output", "json"],
        env=server.aws_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout) if out.stdout.strip() else {}


def _network(server: Server, *, cidr: str | None = "127.0.0.0/8") -> tuple[str, str, str]:
    """A VPC and subnet (AWS CLI), and a security group admitting ``cidr`` on the port."""
    vpc = _cli(server, "create-vpc", "--cidr-block", "10.0.0.0/16")["Vpc"]["VpcId"]
    subnet = _cli(server, "create-subnet", "--vpc-id", vpc, "--cidr-block", "10.0.1.0/24")[
        "Subnet"
    ]["SubnetId"]
    group = _cli(
        server,
        "create-security-group",
        "--group-name",
        f"endpoint-{uuid.uuid4().hex[:6]}",
        "--description",
        "endpoint",
        "--vpc-id",
        vpc,
    )["GroupId"]
    if cidr is not None:
        _cli(
            server,
            "authorize-security-group-ingress",
            "--group-id",
            group,
            "--protocol",
            "tcp",
            "--port",
            str(server.port),
            "--cidr",
            cidr,
        )
    return vpc, subnet, group


def _endpoint(
    server: Server, vpc: str, subnets: list[str], groups: list[str], service: str = PROTON
) -> tuple[str, str]:
    """An interface endpoint created with the AWS CLI: (id, its first interface address)."""
    created = _cli(
        server,
        "create-vpc-endpoint",
        "--vpc-endpoint-type",
        "Interface",
        "--service-name",
        service,
        "--vpc-id",
        vpc,
        "--subnet-ids",
        *subnets,
        "--security-group-ids",
        *groups,
    )["VpcEndpoint"]
    enis = _cli(
        server,
        "describe-network-interfaces",
        "--network-interface-ids",
        *created["NetworkInterfaceIds"],
    )["NetworkInterfaces"]
    return created["VpcEndpointId"], enis[0]["PrivateIpAddress"]


def _user(server: Server, statements: list[dict[str, Any]]) -> tuple[str, tuple[str, str]]:
    iam = server.client("iam")
    name = f"vpce-{uuid.uuid4().hex[:8]}"
    arn = iam.create_user(UserName=name)["User"]["Arn"]
    document = {"Version": "2012-10-17", "Statement": statements}
    iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=json.dumps(document))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return arn, (key["AccessKeyId"], key["SecretAccessKey"])


def _client(server: Server, service: str, keys: tuple[str, str] | None, url: str | None) -> Any:
    extra: dict[str, Any] = {}
    if keys is not None:
        extra = {"aws_access_key_id": keys[0], "aws_secret_access_key": keys[1]}
    if url is not None:
        extra["endpoint_url"] = url
    return server.session().client(
        service,
        region_name="us-east-1",
        config=Config(retries={"max_attempts": 1, "mode": "standard"}),
        verify=str(server.ca),
        **extra,
    )


def _code(call: Any) -> tuple[str, str]:
    try:
        call()
    except ClientError as exc:
        return str(exc.response["Error"]["Code"]), str(exc.response["Error"]["Message"])
    return "OK", ""


def test_identity_policy_requiring_the_endpoint(server: Server) -> None:
    vpc, subnet, group = _network(server)
    endpoint_id, address = _endpoint(server, vpc, [subnet], [group])
    _arn, keys = _user(
        server,
        [
            {"Effect": "Allow", "Action": "proton:*", "Resource": "*"},
            {
                "Effect": "Deny",
                "Action": "proton:*",
                "Resource": "*",
                "Condition": {"StringNotEquals": {"aws:SourceVpce": endpoint_id}},
            },
        ],
    )
    through = _client(server, "proton", keys, f"https://{address}:{server.port}")
    public = _client(server, "proton", keys, None)
    assert _code(through.list_environment_templates)[0] == "NotImplemented"
    code, message = _code(public.list_environment_templates)
    assert code == "AccessDeniedException"
    assert "with an explicit deny in an identity-based policy" in message


def test_source_vpc_condition_and_endpoint_policy_principal(server: Server) -> None:
    vpc, subnet, group = _network(server)
    endpoint_id, address = _endpoint(server, vpc, [subnet], [group])
    user_arn, keys = _user(
        server,
        [
            {
                "Effect": "Allow",
                "Action": "proton:*",
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:SourceVpc": vpc}},
            }
        ],
    )
    url = f"https://{address}:{server.port}"
    assert _code(_client(server, "proton", keys, url).list_environment_templates)[0] == (
        "NotImplemented"
    )
    assert _code(_client(server, "proton", keys, None).list_environment_templates)[0] == (
        "AccessDeniedException"
    )
    # An endpoint policy naming only that user: the admin is refused through the endpoint.
    policy = {
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": user_arn}, "Action": "*", "Resource": "*"}
        ]
    }
    _cli(
        server,
        "modify-vpc-endpoint",
        "--vpc-endpoint-id",
        endpoint_id,
        "--policy-document",
        json.dumps(policy),
    )
    admin_through = _client(server, "proton", None, url)
    code, message = _code(admin_through.list_environment_templates)
    assert code == "AccessDeniedException"
    assert "because no VPC endpoint policy allows the proton:ListEnvironmentTemplates" in message
    assert _code(_client(server, "proton", keys, url).list_environment_templates)[0] == (
        "NotImplemented"
    )
    _cli(server, "modify-vpc-endpoint", "--vpc-endpoint-id", endpoint_id, "--reset-policy")
    assert _code(admin_through.list_environment_templates)[0] == "NotImplemented"


def test_proton_endpoint_serves_proton_only_and_sts_endpoint_serves_sts(server: Server) -> None:
    vpc, subnet, group = _network(server)
    _proton_id, proton_address = _endpoint(server, vpc, [subnet], [group])
    code, message = _code(
        _client(server, "sts", None, f"https://{proton_address}:{server.port}").get_caller_identity
    )
    assert code == "AccessDenied"
    assert "serves proton only" in message
    sts_id, sts_address = _endpoint(server, vpc, [subnet], [group], service=STS)
    sts = _client(server, "sts", None, f"https://{sts_address}:{server.port}")
    assert sts.get_caller_identity()["Account"] == server.account_id
    assert sts_id.startswith("vpce-")


def test_security_groups_refuse_before_tls_and_rule_changes_apply(server: Server) -> None:
    vpc, subnet, group = _network(server, cidr=None)
    _endpoint_id, address = _endpoint(server, vpc, [subnet], [group])
    assert refused_before_tls(address, server.port)
    ec2 = server.client("ec2")
    other_port = [
        {"IpProtocol": "tcp", "FromPort": 1, "ToPort": 2, "IpRanges": [{"CidrIp": "127.0.0.0/8"}]}
    ]
    ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=other_port)
    assert refused_before_tls(address, server.port)
    other_source = [{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "10.0.0.0/8"}]}]
    ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=other_source)
    assert refused_before_tls(address, server.port)
    admit = [
        {
            "IpProtocol": "tcp",
            "FromPort": server.port,
            "ToPort": server.port,
            "IpRanges": [{"CidrIp": "127.0.0.1/32"}],
        }
    ]
    ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=admit)
    with socket.create_connection((address, server.port), timeout=10) as raw:
        with tls(raw, server.ca, address) as sock:
            assert sock.version() in ("TLSv1.2", "TLSv1.3")
    ec2.revoke_security_group_ingress(GroupId=group, IpPermissions=admit)
    assert refused_before_tls(address, server.port)


def _free_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        return int(probe.getsockname()[1])


def test_listener_lifecycle_rollback_delete_and_restart(fresh_dir: Path) -> None:
    # A fixed port: the security group's rule names it, and it must hold across the restart.
    server = Server(fresh_dir, args=["--port", str(_free_port())]).start()
    try:
        vpc, subnet, group = _network(server)
        subnet_b = _cli(
            server,
            "create-subnet",
            "--vpc-id",
            vpc,
            "--cidr-block",
            "10.0.2.0/24",
            "--availability-zone",
            "us-east-1b",
        )["Subnet"]["SubnetId"]
        ec2 = server.client("ec2")
        # The resolver took 127.77.0.1: the first endpoint gets 127.77.0.2. Occupy it first.
        with socket.create_server(("127.77.0.2", server.port)):
            with pytest.raises(ClientError) as info:
                ec2.create_vpc_endpoint(
                    VpcEndpointType="Interface",
                    ServiceName=PROTON,
                    VpcId=vpc,
                    SubnetIds=[subnet],
                    SecurityGroupIds=[group],
                )
            assert info.value.response["Error"]["Code"] == "InternalError"
            assert "127.77.0.2" in info.value.response["Error"]["Message"]
            assert ec2.describe_vpc_endpoints()["VpcEndpoints"] == []
            assert ec2.describe_network_interfaces()["NetworkInterfaces"] == []
        endpoint_id, address = _endpoint(server, vpc, [subnet], [group])
        assert address == "127.77.0.2"
        # AddSubnetIds whose address cannot be opened: the added interface is removed again.
        with socket.create_server(("127.77.0.3", server.port)):
            with pytest.raises(ClientError) as info:
                ec2.modify_vpc_endpoint(VpcEndpointId=endpoint_id, AddSubnetIds=[subnet_b])
            assert info.value.response["Error"]["Code"] == "InternalError"
        described = ec2.describe_vpc_endpoints(VpcEndpointIds=[endpoint_id])["VpcEndpoints"][0]
        assert described["SubnetIds"] == [subnet]
        ec2.modify_vpc_endpoint(VpcEndpointId=endpoint_id, AddSubnetIds=[subnet_b])
        sts_check = _client(server, "proton", None, f"https://127.77.0.3:{server.port}")
        assert _code(sts_check.list_environment_templates)[0] == "NotImplemented"
        ec2.modify_vpc_endpoint(VpcEndpointId=endpoint_id, RemoveSubnetIds=[subnet_b])
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.77.0.3", server.port), timeout=5).close()

        server.stop()
        server.start()  # listeners come back with the server (on its new port)
        through = _client(server, "proton", None, f"https://{address}:{server.port}")
        assert _code(through.list_environment_templates)[0] == "NotImplemented"
        _cli(server, "delete-vpc-endpoints", "--vpc-endpoint-ids", endpoint_id)
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection((address, server.port), timeout=5).close()
        server.stop()
        server.start()
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection((address, server.port), timeout=5).close()
    finally:
        server.stop()


def test_start_fails_when_an_endpoint_listener_cannot_open(fresh_dir: Path) -> None:
    port = _free_port()
    server = Server(fresh_dir, args=["--endpoint-port", str(port)]).start()
    try:
        vpc, subnet, group = _network(server)
        _endpoint(server, vpc, [subnet], [group])
    finally:
        server.stop()
    with socket.create_server(("127.77.0.2", port)):
        with pytest.raises(RuntimeError) as info:
            server.start()
    assert "cannot open the listener of VPC endpoint vpce-" in str(info.value)
    assert f"127.77.0.2:{port}" in str(info.value)
    server.start()
    server.stop()
