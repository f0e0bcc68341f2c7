"""VPC endpoint listeners, black-box: a real server, the AWS CLI, boto3 and raw sockets.

A request that passes authorization is answered by the operation (``ListEnvironmentTemplates``
succeeds: ``"OK"``; an operation on a resource that does not exist answers its not-found error or,
while unserved, 501 ``NotImplemented``); a refused one answers ``AccessDeniedException`` — which
tells "allowed through the endpoint" from "denied".
"""

from __future__ import annotations

import json
import socket
import ssl
import subprocess
import sys
import time
import urllib.parse
import uuid
from pathlib import Path
from typing import Any

import dns.exception
import dns.message
import dns.query
import dns.rcode
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from hadron.proxy_protocol import build_header
from tests.e2e.server import Server
from tests.vpce.wire import error_code, refused_before_tls, signed_call, signed_request, tls

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


# What an allowed call on a resource that does not exist may answer.
PAST_AUTHORIZATION = frozenset({"ResourceNotFoundException", "NotImplemented"})


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
    assert _code(through.list_environment_templates)[0] == "OK"
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
    assert _code(_client(server, "proton", keys, url).list_environment_templates)[0] == ("OK")
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
    assert _code(_client(server, "proton", keys, url).list_environment_templates)[0] == ("OK")
    _cli(server, "modify-vpc-endpoint", "--vpc-endpoint-id", endpoint_id, "--reset-policy")
    assert _code(admin_through.list_environment_templates)[0] == "OK"


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
        assert _code(sts_check.list_environment_templates)[0] == "OK"
        ec2.modify_vpc_endpoint(VpcEndpointId=endpoint_id, RemoveSubnetIds=[subnet_b])
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.77.0.3", server.port), timeout=5).close()

        server.stop()
        server.start()  # listeners come back with the server (on its new port)
        through = _client(server, "proton", None, f"https://{address}:{server.port}")
        assert _code(through.list_environment_templates)[0] == "OK"
        # An open keep-alive connection on the endpoint is ended when the endpoint goes.
        raw = socket.create_connection((address, server.port), timeout=10)
        held = tls(raw, server.ca, address)
        assert error_code(signed_call(held, f"{address}:{server.port}", server.credentials())) == (
            "OK"
        )
        _cli(server, "delete-vpc-endpoints", "--vpc-endpoint-ids", endpoint_id)
        held.settimeout(5)
        try:
            assert held.recv(1) == b""
        except (ConnectionResetError, ssl.SSLError):
            pass
        held.close()
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


# --- DNS ------------------------------------------------------------------------------------


def _resolver(server: Server, vpc: str | None = None) -> tuple[str, int]:
    cmd = [sys.executable, "-m", "hadron", "dns", "resolver", "--data-dir", str(server.data_dir)]
    if vpc is not None:
        cmd += ["--vpc-id", vpc]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=True)
    address, port = out.stdout.strip().rsplit(":", 1)
    return address, int(port)


def _query(where: tuple[str, int], name: str) -> tuple[str, list[str]]:
    """(rcode, A addresses); retried for a few seconds while a new VPC's resolver opens."""
    query = dns.message.make_query(name, "A")
    deadline = time.monotonic() + 5
    while True:
        try:
            reply = dns.query.udp(query, where[0], port=where[1], timeout=1)
            break
        except (dns.exception.Timeout, ConnectionRefusedError):
            if time.monotonic() > deadline:
                raise
    addresses = [item.address for rrset in reply.answer for item in rrset]
    return dns.rcode.to_text(reply.rcode()), sorted(addresses)


def test_dns_answers_and_a_client_calling_proton_by_its_aws_hostname(server: Server) -> None:
    vpc, subnet, group = _network(server)
    endpoint_id, address = _endpoint(server, vpc, [subnet], [group])
    other_vpc, other_subnet, other_group = _network(server)
    ec2 = server.client("ec2")
    ec2.create_vpc_endpoint(
        VpcEndpointType="Interface",
        ServiceName=PROTON,
        VpcId=other_vpc,
        SubnetIds=[other_subnet],
        SecurityGroupIds=[other_group],
        PrivateDnsEnabled=False,
    )
    described = ec2.describe_vpc_endpoints(VpcEndpointIds=[endpoint_id])["VpcEndpoints"][0]
    regional, zonal, private = [e["DnsName"] for e in described["DnsEntries"]]
    assert private == "proton.us-east-1.amazonaws.com"
    public = _resolver(server)
    in_vpc = _resolver(server, vpc)
    in_other = _resolver(server, other_vpc)
    assert public[0] == "127.0.0.1" and in_vpc[0].startswith("127.77.")
    assert in_vpc[1] == public[1] == in_other[1]
    unknown = f"vpce-0000000000000000-x.{regional.split('.', 1)[1]}"
    for where in (public, in_vpc, in_other):
        assert _query(where, regional) == ("NOERROR", [address])
        assert _query(where, zonal) == ("NOERROR", [address])
        assert _query(where, unknown)[0] == "NXDOMAIN"
        assert _query(where, "example.com")[0] == "REFUSED"
    assert _query(in_vpc, private) == ("NOERROR", [address])
    assert _query(public, private) == ("NOERROR", ["127.0.0.1"])
    assert _query(in_other, private) == ("NOERROR", ["127.0.0.1"])  # private DNS off there
    # The same over TCP.
    for where, expected in ((in_vpc, address), (public, "127.0.0.1")):
        over_tcp = dns.query.tcp(
            dns.message.make_query(private, "A"), where[0], port=where[1], timeout=5
        )
        assert [item.address for rrset in over_tcp.answer for item in rrset] == [expected]
    refused = dns.query.tcp(
        dns.message.make_query("example.com", "A"), public[0], port=public[1], timeout=5
    )
    assert dns.rcode.to_text(refused.rcode()) == "REFUSED"

    # A client that resolves through the VPC's resolver and calls Proton by its AWS hostname
    # (SNI, certificate check and Host header all use the name) reaches the endpoint.
    _arn, keys = _user(
        server,
        [
            {
                "Effect": "Allow",
                "Action": "proton:*",
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:SourceVpce": endpoint_id}},
            }
        ],
    )
    host = f"{private}:{server.port}"
    for where, expected in ((in_vpc, "OK"), (public, "AccessDeniedException")):
        resolved = _query(where, private)[1][0]
        with socket.create_connection((resolved, server.port), timeout=10) as raw:
            with tls(raw, server.ca, private) as sock:
                reply = signed_call(sock, host, keys)
                assert error_code(reply) == expected, reply

    # Deleting the endpoint removes its names at once.
    ec2.delete_vpc_endpoints(VpcEndpointIds=[endpoint_id])
    assert _query(in_vpc, regional)[0] == "NXDOMAIN"
    assert _query(in_vpc, private) == ("NOERROR", ["127.0.0.1"])


def test_dns_resolver_command_errors(fresh_dir: Path) -> None:
    cmd = [sys.executable, "-m", "hadron", "dns", "resolver", "--data-dir", str(fresh_dir)]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 1 and "not a Hadron data directory" in out.stderr
    server = Server(fresh_dir).start()
    try:
        out = subprocess.run(
            [*cmd, "--vpc-id", "vpc-0123456789abcdef0"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert out.returncode == 1 and "no VPC vpc-0123456789abcdef0" in out.stderr
    finally:
        server.stop()


# --- PROXY protocol v2 ----------------------------------------------------------------------


def test_proxy_protocol_v2_source_address_endpoint_tlv_and_refusals(fresh_dir: Path) -> None:
    server = Server(fresh_dir, args=["--port", str(_free_port()), "--proxy-protocol"]).start()
    try:
        _proxy_checks(server)
    finally:
        server.stop()


def _call_with_header(
    server: Server, address: str, header: bytes, keys: tuple[str, str] | None = None
) -> str:
    with socket.create_connection((address, server.port), timeout=10) as raw:
        raw.sendall(header)
        with tls(raw, server.ca, address) as sock:
            reply = signed_call(sock, f"{address}:{server.port}", keys or server.credentials())
            return error_code(reply)


def _find(text: str, tag: str) -> str:
    start = text.index(f"<{tag}>") + len(tag) + 2
    return text[start : text.index(f"</{tag}>", start)]


def _proxy_checks(server: Server) -> None:
    # boto3 cannot send PROXY headers: the set-up goes through raw sockets as well.
    def call(service: str, action: str, version: str, **params: str) -> str:
        fields = {"Action": action, "Version": version, **params}
        query = "&".join(f"{k}={v}" for k, v in fields.items())
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as raw:
            raw.sendall(build_header(("127.0.0.1", 40000)))
            with tls(raw, server.ca, "127.0.0.1") as sock:
                status, _headers, body = signed_request(
                    sock, f"127.0.0.1:{server.port}", server.credentials(), service, query.encode()
                )
        assert status == 200, body
        return body.decode()

    def ec2(action: str, **params: str) -> str:
        return call("ec2", action, "2016-11-15", **params)

    find = _find
    vpc = find(ec2("CreateVpc", CidrBlock="10.0.0.0/16"), "vpcId")
    subnet = find(ec2("CreateSubnet", VpcId=vpc, CidrBlock="10.0.1.0/24"), "subnetId")
    group = find(
        ec2("CreateSecurityGroup", GroupName="nlb", GroupDescription="nlb", VpcId=vpc), "groupId"
    )
    ec2(
        "AuthorizeSecurityGroupIngress",
        GroupId=group,
        **{
            "IpPermissions.1.IpProtocol": "tcp",
            "IpPermissions.1.FromPort": str(server.port),
            "IpPermissions.1.ToPort": str(server.port),
            "IpPermissions.1.IpRanges.1.CidrIp": "10.0.5.0/24",
        },
    )
    created = ec2(
        "CreateVpcEndpoint",
        VpcId=vpc,
        ServiceName=PROTON,
        VpcEndpointType="Interface",
        **{"SubnetId.1": subnet, "SecurityGroupId.1": group},
    )
    endpoint_id = find(created, "vpcEndpointId")
    address = find(
        ec2("DescribeNetworkInterfaces", **{"Filter.1.Name": "vpc-id", "Filter.1.Value.1": vpc}),
        "privateIpAddress",
    )

    # Identity policies that look at the PROXY source address and at the endpoint.
    keys: dict[str, tuple[str, str]] = {}
    for name, condition in (
        ("by-ip", {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}),
        ("by-vpce", {"StringEquals": {"aws:SourceVpce": endpoint_id}}),
    ):
        call("iam", "CreateUser", "2010-05-08", UserName=name)
        statement = {
            "Effect": "Allow",
            "Action": "proton:*",
            "Resource": "*",
            "Condition": condition,
        }
        document = json.dumps({"Version": "2012-10-17", "Statement": [statement]})
        call(
            "iam",
            "PutUserPolicy",
            "2010-05-08",
            UserName=name,
            PolicyName="p",
            PolicyDocument=urllib.parse.quote(document, safe=""),
        )
        key = call("iam", "CreateAccessKey", "2010-05-08", UserName=name)
        keys[name] = (find(key, "AccessKeyId"), find(key, "SecretAccessKey"))

    public = "127.0.0.1"
    assert _call_with_header(server, public, build_header(("203.0.113.7", 1)), keys["by-ip"]) == (
        "OK"
    )
    assert _call_with_header(server, public, build_header(("198.51.100.1", 1)), keys["by-ip"]) == (
        "AccessDeniedException"
    )
    # The AWS TLV on the public listener (an NLB in front): an endpoint connection.
    through = build_header(("10.0.5.9", 1), vpc_endpoint_id=endpoint_id)
    assert _call_with_header(server, public, through, keys["by-vpce"]) == "OK"
    assert _call_with_header(server, public, through, keys["by-ip"]) == "AccessDeniedException"
    # ... and its security groups apply to the PROXY source address.
    outside = build_header(("192.0.2.1", 1), vpc_endpoint_id=endpoint_id)
    assert refused_before_tls(public, server.port, outside)
    # The endpoint's own listener: its endpoint, and the PROXY source for the groups.
    assert _call_with_header(server, address, build_header(("10.0.5.9", 1)), keys["by-vpce"]) == (
        "OK"
    )
    assert refused_before_tls(address, server.port, build_header(("127.0.0.1", 1)))
    other = build_header(("10.0.5.9", 1), vpc_endpoint_id="vpce-0123456789abcdef0")
    assert refused_before_tls(address, server.port, other)
    # A LOCAL (health-check) header keeps the peer address; an unknown endpoint id is the
    # public path.
    assert _call_with_header(server, public, build_header(None)) == "OK"
    assert _call_with_header(server, public, other, keys["by-vpce"]) == "AccessDeniedException"
    # Missing, malformed and forged headers close the connection.
    hello = b"\x16\x03\x01\x00\xc8\x01\x00\x00\xc4\x03\x03" + b"\x00" * 32
    assert refused_before_tls(public, server.port, hello)
    assert refused_before_tls(public, server.port, b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n")
    forged = bytearray(build_header(("10.0.5.9", 1), vpc_endpoint_id=endpoint_id))
    forged[15] += 3  # the declared length runs past the TLVs
    assert refused_before_tls(public, server.port, bytes(forged) + b"\x00\x00\x00")


def test_endpoint_listener_answers_without_a_delayed_ack_stall(server: Server) -> None:
    """Responses go out in two writes; without TCP_NODELAY on the accepted socket each request
    on a keep-alive connection waited ~40 ms for the client's delayed ACK."""
    vpc, subnet, group = _network(server)
    _endpoint_id, address = _endpoint(server, vpc, [subnet], [group])
    with socket.create_connection((address, server.port), timeout=10) as raw:
        with tls(raw, server.ca, address) as sock:
            signed_call(sock, f"{address}:{server.port}", server.credentials())
            started = time.monotonic()
            for _ in range(10):
                reply = signed_call(sock, f"{address}:{server.port}", server.credentials())
                assert error_code(reply) == "OK"
            assert time.monotonic() - started < 0.35


def test_the_issue_example_endpoint_policy_through_the_listener(server: Server) -> None:
    vpc, subnet, group = _network(server)
    endpoint_id, address = _endpoint(server, vpc, [subnet], [group])
    seed = {
        "Statement": [
            {
                "Sid": "ProtonReadOnly",
                "Principal": "*",
                "Action": ["proton:List*", "proton:Get*"],
                "Effect": "Allow",
                "Resource": "*",
            }
        ]
    }
    _cli(
        server,
        "modify-vpc-endpoint",
        "--vpc-endpoint-id",
        endpoint_id,
        "--policy-document",
        json.dumps(seed),
    )
    through = _client(server, "proton", None, f"https://{address}:{server.port}")
    public = _client(server, "proton", None, None)
    assert _code(through.list_environment_templates)[0] == "OK"
    assert _code(lambda: through.get_environment(name="env"))[0] in PAST_AUTHORIZATION
    code, message = _code(lambda: through.delete_environment(name="env"))
    assert code == "AccessDeniedException"
    assert "because no VPC endpoint policy allows the proton:DeleteEnvironment action" in message
    assert _code(lambda: public.delete_environment(name="env"))[0] in PAST_AUTHORIZATION


def test_a_wildcard_host_needs_its_own_endpoint_port(fresh_dir: Path) -> None:
    cmd = [sys.executable, "-m", "hadron", "serve", "--data-dir", str(fresh_dir)]
    out = subprocess.run(
        [*cmd, "--host", "0.0.0.0", "--port", "0"],  # noqa: S104
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 2
    assert "give the VPC endpoint listeners their own --endpoint-port" in out.stderr
    assert not fresh_dir.exists()  # refused before anything was created
