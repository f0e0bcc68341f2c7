"""VPCs, subnets, security groups and interface VPC endpoints, black-box: the AWS CLI and
boto3 against a real server."""

from __future__ import annotations

import ipaddress
import json
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.e2e.server import Server

AWS = str(Path(sys.executable).parent / "aws")
PROTON = "com.amazonaws.us-east-1.proton"
STS = "com.amazonaws.us-east-1.sts"
DEFAULT_POLICY = {
    "Statement": [{"Action": "*", "Effect": "Allow", "Principal": "*", "Resource": "*"}]
}
# The example policy: a fully privileged principal may call exactly these through it.
SEED_POLICY = {
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


def _cli_error(server: Server, *args: str) -> str:
    out = subprocess.run(
        [AWS, "ec2", *args],
        env=server.aws_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode != 0
    return out.stderr


def _error(info: pytest.ExceptionInfo[ClientError]) -> tuple[str, str, int]:
    response = info.value.response
    return (
        str(response["Error"]["Code"]),
        str(response["Error"]["Message"]),
        int(response["ResponseMetadata"]["HTTPStatusCode"]),
    )


def _network(
    ec2: Any, zones: tuple[str, ...] = ("us-east-1a", "us-east-1b")
) -> tuple[str, list[str]]:
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=zone)["Subnet"][
            "SubnetId"
        ]
        for i, zone in enumerate(zones, start=1)
    ]
    return vpc, subnets


def test_endpoint_lifecycle_with_the_aws_cli(server: Server) -> None:
    vpc = _cli(server, "create-vpc", "--cidr-block", "10.0.0.0/16")["Vpc"]
    assert vpc["CidrBlock"] == "10.0.0.0/16" and vpc["VpcId"].startswith("vpc-")
    vpc_id = vpc["VpcId"]
    subnet = _cli(
        server,
        "create-subnet",
        "--vpc-id",
        vpc_id,
        "--cidr-block",
        "10.0.1.0/24",
        "--availability-zone",
        "us-east-1a",
    )["Subnet"]
    assert subnet["AvailabilityZoneId"] == "use1-az1" and subnet["AvailableIpAddressCount"] == 251
    created = _cli(
        server,
        "create-vpc-endpoint",
        "--vpc-endpoint-type",
        "Interface",
        "--service-name",
        PROTON,
        "--vpc-id",
        vpc_id,
        "--subnet-ids",
        subnet["SubnetId"],
        "--tag-specifications",
        "ResourceType=vpc-endpoint,Tags=[{Key=team,Value=platform}]",
    )["VpcEndpoint"]
    endpoint_id = created["VpcEndpointId"]
    assert endpoint_id.startswith("vpce-") and len(endpoint_id) == 22
    assert created["State"] == "available" and created["PrivateDnsEnabled"] is True
    assert created["VpcEndpointType"] == "Interface" and created["ServiceName"] == PROTON
    assert json.loads(created["PolicyDocument"]) == DEFAULT_POLICY
    assert [g["GroupName"] for g in created["Groups"]] == ["default"]
    assert created["Tags"] == [{"Key": "team", "Value": "platform"}]
    names = [e["DnsName"] for e in created["DnsEntries"]]
    regional, zonal, private = names
    assert regional.startswith(f"{endpoint_id}-")
    assert regional.endswith(".proton.us-east-1.vpce.amazonaws.com")
    assert zonal == regional.replace(".proton.", "-us-east-1a.proton.", 1)
    assert private == "proton.us-east-1.amazonaws.com"

    for flt in (
        f"Name=vpc-id,Values={vpc_id}",
        f"Name=service-name,Values={PROTON}",
        "Name=vpc-endpoint-state,Values=available",
        "Name=tag:team,Values=plat*",
        "Name=tag-key,Values=team",
        f"Name=vpc-endpoint-id,Values={endpoint_id}",
    ):
        found = _cli(server, "describe-vpc-endpoints", "--filters", flt)["VpcEndpoints"]
        assert endpoint_id in [e["VpcEndpointId"] for e in found], flt
    none = _cli(
        server,
        "describe-vpc-endpoints",
        "--filters",
        f"Name=vpc-id,Values={vpc_id}",
        "Name=service-name,Values=" + STS,
    )
    assert none["VpcEndpoints"] == []

    (interface,) = _cli(
        server,
        "describe-network-interfaces",
        "--network-interface-ids",
        created["NetworkInterfaceIds"][0],
    )["NetworkInterfaces"]
    assert interface["InterfaceType"] == "vpc_endpoint"
    assert interface["RequesterManaged"] is True
    assert interface["Description"] == f"VPC Endpoint Interface {endpoint_id}"
    assert interface["PrivateIpAddress"].startswith("127.77.")
    assert interface["SubnetId"] == subnet["SubnetId"]

    _cli(
        server,
        "modify-vpc-endpoint",
        "--vpc-endpoint-id",
        endpoint_id,
        "--policy-document",
        json.dumps(SEED_POLICY),
    )
    (after,) = _cli(server, "describe-vpc-endpoints", "--vpc-endpoint-ids", endpoint_id)[
        "VpcEndpoints"
    ]
    assert json.loads(after["PolicyDocument"]) == SEED_POLICY
    _cli(server, "modify-vpc-endpoint", "--vpc-endpoint-id", endpoint_id, "--reset-policy")
    (reset,) = _cli(server, "describe-vpc-endpoints", "--vpc-endpoint-ids", endpoint_id)[
        "VpcEndpoints"
    ]
    assert json.loads(reset["PolicyDocument"]) == DEFAULT_POLICY

    message = _cli_error(server, "delete-vpc", "--vpc-id", vpc_id)
    assert "DependencyViolation" in message and "has dependencies" in message
    deleted = _cli(server, "delete-vpc-endpoints", "--vpc-endpoint-ids", endpoint_id)
    assert deleted["Unsuccessful"] == []
    message = _cli_error(server, "describe-vpc-endpoints", "--vpc-endpoint-ids", endpoint_id)
    assert "InvalidVpcEndpointId.NotFound" in message
    _cli(server, "delete-subnet", "--subnet-id", subnet["SubnetId"])
    _cli(server, "delete-vpc", "--vpc-id", vpc_id)
    assert "InvalidVpcID.NotFound" in _cli_error(server, "describe-vpcs", "--vpc-ids", vpc_id)


def test_endpoint_services_are_described_as_aws_does(server: Server) -> None:
    ec2 = server.client("ec2")
    out = ec2.describe_vpc_endpoint_services()
    assert out["ServiceNames"] == [PROTON, STS]
    proton = out["ServiceDetails"][0]
    assert proton["ServiceName"] == PROTON
    assert proton["ServiceType"] == [{"ServiceType": "Interface"}]
    assert proton["AvailabilityZones"] == ["us-east-1a", "us-east-1b", "us-east-1c"]
    assert proton["BaseEndpointDnsNames"] == ["proton.us-east-1.vpce.amazonaws.com"]
    assert proton["PrivateDnsName"] == "proton.us-east-1.amazonaws.com"
    assert proton["VpcEndpointPolicySupported"] is True
    assert proton["AcceptanceRequired"] is False and proton["Owner"] == "amazon"
    only = ec2.describe_vpc_endpoint_services(
        Filters=[{"Name": "service-name", "Values": ["*.sts"]}]
    )
    assert only["ServiceNames"] == [STS]
    with pytest.raises(ClientError) as info:
        ec2.describe_vpc_endpoint_services(ServiceNames=["com.amazonaws.us-east-1.s3"])
    assert _error(info)[:2] == (
        "InvalidServiceName",
        "The Vpc Endpoint Service 'com.amazonaws.us-east-1.s3' does not exist",
    )


def test_create_errors_leave_nothing_behind(server: Server) -> None:
    ec2 = server.client("ec2")
    vpc, (a, b) = _network(ec2)
    other_vpc, (foreign,) = _network(ec2, ("us-east-1c",))
    a2 = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.9.0/24", AvailabilityZone="us-east-1a")[
        "Subnet"
    ]["SubnetId"]
    base: dict[str, Any] = {"VpcEndpointType": "Interface", "ServiceName": PROTON, "VpcId": vpc}
    no_principal = json.dumps({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"VpcId": "vpc-0000000000000000a"}, "InvalidVpcID.NotFound", "vpc-0000000000000000a"),
        ({"SubnetIds": ["subnet-0000000000000000a"]}, "InvalidSubnetID.NotFound", "subnet-0"),
        (
            {"SubnetIds": [a], "SecurityGroupIds": ["sg-0000000000000000a"]},
            "InvalidGroup.NotFound",
            "sg-0",
        ),
        ({"SubnetIds": [foreign]}, "InvalidParameter", "does not belong"),
        ({"SubnetIds": [a, a2]}, "DuplicateSubnetsInSameZone", "availability zone"),
        ({"ServiceName": "com.amazonaws.us-east-1.s3"}, "InvalidServiceName", "does not exist"),
        ({"VpcEndpointType": "Gateway"}, "InvalidVpcEndpointType", "Gateway"),
        ({"RouteTableIds": ["rtb-1"]}, "InvalidParameter", "Gateway type"),
        ({"PolicyDocument": no_principal}, "InvalidPolicyDocument", "not valid"),
        ({"PolicyDocument": "{" + " " * 20480 + "}"}, "InvalidPolicyDocument", "20480"),
        ({"IpAddressType": "dualstack"}, "InvalidParameter", "dualstack"),
        (
            {"TagSpecifications": [{"ResourceType": "vpc", "Tags": [{"Key": "k", "Value": "v"}]}]},
            "InvalidParameterValue",
            "taggable",
        ),
    ]
    for change, code, fragment in cases:
        with pytest.raises(ClientError) as info:
            ec2.create_vpc_endpoint(**{**base, **change})
        got_code, message, status = _error(info)
        assert (got_code, status) == (code, 400), change
        assert fragment in message, (change, message)
    for target in (vpc, other_vpc):
        assert (
            ec2.describe_vpc_endpoints(Filters=[{"Name": "vpc-id", "Values": [target]}])[
                "VpcEndpoints"
            ]
            == []
        )
        assert (
            ec2.describe_network_interfaces(Filters=[{"Name": "vpc-id", "Values": [target]}])[
                "NetworkInterfaces"
            ]
            == []
        )
    with pytest.raises(ClientError) as info:
        ec2.create_vpc_endpoint(VpcId=vpc, VpcEndpointType="Interface")
    assert _error(info)[:2] == (
        "MissingParameter",
        "The request must contain the parameter ServiceName",
    )
    endpoint = ec2.create_vpc_endpoint(**base, SubnetIds=[a, b])["VpcEndpoint"]
    assert len(endpoint["NetworkInterfaceIds"]) == 2
    with pytest.raises(ClientError) as info:
        ec2.create_vpc_endpoint(**base, SubnetIds=[a])
    code, message, _ = _error(info)
    assert code == "InvalidParameter"
    assert message == (
        "private-dns-enabled cannot be set because there is already a conflicting DNS domain "
        f"for proton.us-east-1.amazonaws.com in the VPC {vpc}"
    )
    second = ec2.create_vpc_endpoint(**base, SubnetIds=[a], PrivateDnsEnabled=False)
    assert [e["DnsName"] for e in second["VpcEndpoint"]["DnsEntries"]][-1].endswith(
        "vpce.amazonaws.com"
    )
    with pytest.raises(ClientError) as info:
        ec2.delete_subnet(SubnetId=a)
    assert _error(info)[:2] == (
        "DependencyViolation",
        f"The subnet '{a}' has dependencies and cannot be deleted.",
    )
    ids = [endpoint["VpcEndpointId"], second["VpcEndpoint"]["VpcEndpointId"]]
    assert ec2.delete_vpc_endpoints(VpcEndpointIds=ids)["Unsuccessful"] == []


def test_modify_endpoint(server: Server) -> None:
    ec2 = server.client("ec2")
    vpc, (a, b) = _network(ec2)
    web = ec2.create_security_group(VpcId=vpc, GroupName="web", Description="web")["GroupId"]
    endpoint = ec2.create_vpc_endpoint(
        VpcEndpointType="Interface", ServiceName=STS, VpcId=vpc, SubnetIds=[a]
    )["VpcEndpoint"]
    eid = endpoint["VpcEndpointId"]
    assert ec2.modify_vpc_endpoint(
        VpcEndpointId=eid,
        AddSubnetIds=[b],
        RemoveSubnetIds=[a],
        AddSecurityGroupIds=[web],
        PrivateDnsEnabled=False,
    )["Return"]
    (now,) = ec2.describe_vpc_endpoints(VpcEndpointIds=[eid])["VpcEndpoints"]
    assert now["SubnetIds"] == [b] and now["PrivateDnsEnabled"] is False
    assert [g["GroupId"] for g in now["Groups"]][-1] == web
    assert [e["DnsName"] for e in now["DnsEntries"]][1].endswith(
        "-us-east-1b.sts.us-east-1.vpce.amazonaws.com"
    )
    ec2.delete_subnet(SubnetId=a)  # its interface went with the modification
    bad: list[tuple[dict[str, Any], str]] = [
        ({"PolicyDocument": "[]"}, "InvalidPolicyDocument"),
        ({"PolicyDocument": "{}", "ResetPolicy": True}, "InvalidParameter"),
        ({"AddSecurityGroupIds": ["sg-0000000000000000a"]}, "InvalidGroup.NotFound"),
        ({"AddSubnetIds": ["subnet-0000000000000000a"]}, "InvalidSubnetID.NotFound"),
        ({"AddRouteTableIds": ["rtb-1"]}, "InvalidParameter"),
    ]
    for change, code in bad:
        with pytest.raises(ClientError) as info:
            ec2.modify_vpc_endpoint(VpcEndpointId=eid, **change)
        assert _error(info)[0] == code, change
    with pytest.raises(ClientError) as info:
        ec2.modify_vpc_endpoint(VpcEndpointId="vpce-0000000000000000a", ResetPolicy=True)
    assert _error(info)[:2] == (
        "InvalidVpcEndpointId.NotFound",
        "The Vpc Endpoint Id 'vpce-0000000000000000a' does not exist",
    )
    with pytest.raises(ClientError) as info:
        ec2.modify_vpc_endpoint(VpcEndpointId="vpce-x", ResetPolicy=True)
    assert _error(info)[0] == "InvalidVpcEndpointId.Malformed"
    ec2.delete_vpc_endpoints(VpcEndpointIds=[eid])


def test_delete_endpoints_reports_each_failure(server: Server) -> None:
    ec2 = server.client("ec2")
    vpc, _ = _network(ec2, ())
    eid = ec2.create_vpc_endpoint(VpcEndpointType="Interface", ServiceName=PROTON, VpcId=vpc)[
        "VpcEndpoint"
    ]["VpcEndpointId"]
    missing = "vpce-0000000000000000b"
    out = ec2.delete_vpc_endpoints(VpcEndpointIds=[missing, eid, "bogus"])
    assert out["Unsuccessful"] == [
        {
            "ResourceId": missing,
            "Error": {
                "Code": "InvalidVpcEndpoint.NotFound",
                "Message": f"The VPC Endpoint Id '{missing}' does not exist",
            },
        },
        {
            "ResourceId": "bogus",
            "Error": {
                "Code": "InvalidVpcEndpointId.Malformed",
                "Message": "Invalid Id: 'bogus' (expecting 'vpce-...'). Use the full VPC "
                "endpoint ID in the form vpce-xxxxxxxxxxxxxxxxx.",
            },
        },
    ]
    assert (
        ec2.describe_vpc_endpoints(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["VpcEndpoints"]
        == []
    )
    ec2.delete_vpc(VpcId=vpc)


def test_client_token_and_pagination(server: Server) -> None:
    ec2 = server.client("ec2")
    vpc, _ = _network(ec2, ())
    token = uuid.uuid4().hex
    args: dict[str, Any] = {
        "VpcEndpointType": "Interface",
        "ServiceName": PROTON,
        "VpcId": vpc,
        "PrivateDnsEnabled": False,
        "TagSpecifications": [
            {"ResourceType": "vpc-endpoint", "Tags": [{"Key": "k", "Value": "v"}]}
        ],
    }
    first = ec2.create_vpc_endpoint(**args, ClientToken=token)
    again = ec2.create_vpc_endpoint(**args, ClientToken=token)
    assert first["ClientToken"] == again["ClientToken"] == token
    assert first["VpcEndpoint"]["VpcEndpointId"] == again["VpcEndpoint"]["VpcEndpointId"]
    with pytest.raises(ClientError) as info:
        ec2.create_vpc_endpoint(**{**args, "ServiceName": STS}, ClientToken=token)
    assert _error(info)[0] == "IdempotentParameterMismatch"
    ids = {first["VpcEndpoint"]["VpcEndpointId"]}
    ids |= {ec2.create_vpc_endpoint(**args)["VpcEndpoint"]["VpcEndpointId"] for _ in range(4)}
    pages = ec2.get_paginator("describe_vpc_endpoints").paginate(
        Filters=[{"Name": "vpc-id", "Values": [vpc]}], PaginationConfig={"PageSize": 2}
    )
    sizes = [len(p["VpcEndpoints"]) for p in pages]
    assert sizes == [2, 2, 1]
    listed = ec2.describe_vpc_endpoints(Filters=[{"Name": "tag:k", "Values": ["v"]}])
    assert ids <= {e["VpcEndpointId"] for e in listed["VpcEndpoints"]}
    assert ec2.delete_vpc_endpoints(VpcEndpointIds=sorted(ids))["Unsuccessful"] == []


def test_network_errors(server: Server) -> None:
    ec2 = server.client("ec2")
    vpc, (a,) = _network(ec2, ("us-east-1a",))
    cases: list[tuple[str, dict[str, Any], str, str]] = [
        (
            "create_vpc",
            {"CidrBlock": "10.0.0.0/8"},
            "InvalidVpc.Range",
            "The CIDR '10.0.0.0/8' is invalid.",
        ),
        (
            "create_vpc",
            {"CidrBlock": "banana"},
            "InvalidParameterValue",
            "Value (banana) for parameter cidrBlock is invalid. This is not a valid CIDR block.",
        ),
        (
            "create_subnet",
            {"VpcId": vpc, "CidrBlock": "10.0.1.128/25"},
            "InvalidSubnet.Conflict",
            "The CIDR '10.0.1.128/25' conflicts with another subnet",
        ),
        (
            "create_subnet",
            {"VpcId": vpc, "CidrBlock": "10.9.0.0/24"},
            "InvalidSubnet.Range",
            "The CIDR '10.9.0.0/24' is invalid.",
        ),
        (
            "create_subnet",
            {"VpcId": "vpc-0000000000000000c", "CidrBlock": "10.0.5.0/24"},
            "InvalidVpcID.NotFound",
            "The vpc ID 'vpc-0000000000000000c' does not exist",
        ),
        (
            "create_subnet",
            {"VpcId": vpc, "CidrBlock": "10.0.5.0/24", "AvailabilityZone": "us-east-1z"},
            "InvalidParameterValue",
            "Value (us-east-1z) for parameter availabilityZone is invalid. Subnets can currently "
            "only be created in the following availability zones: us-east-1a, us-east-1b, "
            "us-east-1c.",
        ),
        (
            "describe_subnets",
            {"SubnetIds": ["subnet-0000000000000000c"]},
            "InvalidSubnetID.NotFound",
            "The subnet ID 'subnet-0000000000000000c' does not exist",
        ),
        (
            "describe_security_groups",
            {"GroupIds": ["sg-0000000000000000c"]},
            "InvalidGroup.NotFound",
            "The security group 'sg-0000000000000000c' does not exist",
        ),
        (
            "describe_vpcs",
            {"Filters": [{"Name": "bogus", "Values": ["x"]}]},
            "InvalidParameterValue",
            "The filter 'bogus' is invalid",
        ),
        (
            "create_security_group",
            {"VpcId": vpc, "GroupName": "default", "Description": "d"},
            "InvalidGroup.Reserved",
            "The security group 'default' is reserved",
        ),
        (
            "delete_vpc",
            {"VpcId": vpc},
            "DependencyViolation",
            f"The vpc '{vpc}' has dependencies and cannot be deleted.",
        ),
    ]
    for operation, params, code, message in cases:
        with pytest.raises(ClientError) as info:
            getattr(ec2, operation)(**params)
        assert _error(info) == (code, message, 400), operation
    assert (
        ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"][0][
            "SubnetId"
        ]
        == a
    )


def test_security_groups(server: Server) -> None:
    ec2 = server.client("ec2")
    vpc, _ = _network(ec2, ())
    created = ec2.create_security_group(
        VpcId=vpc,
        GroupName="endpoint",
        Description="who may reach the endpoint",
        TagSpecifications=[
            {"ResourceType": "security-group", "Tags": [{"Key": "a", "Value": "b"}]}
        ],
    )
    gid = created["GroupId"]
    assert created["Tags"] == [{"Key": "a", "Value": "b"}]
    rules = ec2.authorize_security_group_ingress(
        GroupId=gid,
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 443,
                "ToPort": 443,
                "IpRanges": [{"CidrIp": "127.0.0.0/8", "Description": "loopback"}],
            }
        ],
    )["SecurityGroupRules"]
    assert [(r["IpProtocol"], r["FromPort"], r["CidrIpv4"]) for r in rules] == [
        ("tcp", 443, "127.0.0.0/8")
    ]
    with pytest.raises(ClientError) as info:
        ec2.authorize_security_group_ingress(
            GroupId=gid, IpProtocol="tcp", FromPort=443, ToPort=443, CidrIp="127.0.0.0/8"
        )
    assert _error(info)[:2] == (
        "InvalidPermission.Duplicate",
        'the specified rule "peer: 127.0.0.0/8, TCP, from port: 443, to port: 443, ALLOW" '
        "already exists",
    )
    (group,) = ec2.describe_security_groups(
        Filters=[
            {"Name": "vpc-id", "Values": [vpc]},
            {"Name": "group-name", "Values": ["endpoint"]},
        ]
    )["SecurityGroups"]
    assert group["IpPermissions"] == [
        {
            "IpProtocol": "tcp",
            "FromPort": 443,
            "ToPort": 443,
            "IpRanges": [{"CidrIp": "127.0.0.0/8", "Description": "loopback"}],
            "Ipv6Ranges": [],
            "PrefixListIds": [],
            "UserIdGroupPairs": [],
        }
    ]
    endpoint = ec2.create_vpc_endpoint(
        VpcEndpointType="Interface", ServiceName=PROTON, VpcId=vpc, SecurityGroupIds=[gid]
    )["VpcEndpoint"]
    assert [g["GroupId"] for g in endpoint["Groups"]] == [gid]
    with pytest.raises(ClientError) as info:
        ec2.delete_security_group(GroupId=gid)
    assert _error(info)[:2] == ("DependencyViolation", f"resource {gid} has a dependent object")
    ec2.delete_vpc_endpoints(VpcEndpointIds=[endpoint["VpcEndpointId"]])
    revoked = ec2.revoke_security_group_ingress(
        GroupId=gid, SecurityGroupRuleIds=[rules[0]["SecurityGroupRuleId"]]
    )
    assert revoked["Return"] is True
    with pytest.raises(ClientError) as info:
        ec2.revoke_security_group_ingress(
            GroupId=gid, IpProtocol="tcp", FromPort=443, ToPort=443, CidrIp="127.0.0.0/8"
        )
    assert _error(info)[0] == "InvalidPermission.NotFound"
    assert ec2.delete_security_group(GroupId=gid)["Return"] is True
    default = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc]}])[
        "SecurityGroups"
    ]
    assert [g["GroupName"] for g in default] == ["default"]
    with pytest.raises(ClientError) as info:
        ec2.delete_security_group(GroupId=default[0]["GroupId"])
    assert _error(info)[0] == "CannotDelete"
    ec2.delete_vpc(VpcId=vpc)


def test_dry_run_answers_after_authorization(server: Server) -> None:
    ec2 = server.client("ec2")
    with pytest.raises(ClientError) as info:
        ec2.create_vpc(CidrBlock="10.0.0.0/16", DryRun=True)
    assert _error(info) == (
        "DryRunOperation",
        "Request would have succeeded, but DryRun flag is set.",
        412,
    )
    with pytest.raises(ClientError) as info:
        ec2.describe_vpc_endpoints(DryRun=True)
    assert _error(info)[0] == "DryRunOperation"
    iam = server.client("iam")
    user = f"nobody-{uuid.uuid4().hex[:8]}"
    iam.create_user(UserName=user)
    key = iam.create_access_key(UserName=user)["AccessKey"]
    stranger = server.session().client(
        "ec2", aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"]
    )
    with pytest.raises(ClientError) as info:
        stranger.create_vpc(CidrBlock="10.0.0.0/16", DryRun=True)
    code, message, status = _error(info)
    assert (code, status) == ("UnauthorizedOperation", 403)
    assert "ec2:CreateVpc" in message
    before = len(ec2.describe_vpcs()["Vpcs"])
    with pytest.raises(ClientError):
        stranger.create_vpc(CidrBlock="10.0.0.0/16")
    assert len(ec2.describe_vpcs()["Vpcs"]) == before


def test_interfaces_tags_and_filters(server: Server) -> None:
    ec2 = server.client("ec2")
    vpc = ec2.create_vpc(
        CidrBlock="10.3.0.0/16",
        TagSpecifications=[{"ResourceType": "vpc", "Tags": [{"Key": "Name", "Value": "lab"}]}],
    )["Vpc"]
    assert vpc["State"] == "pending" and vpc["Tags"] == [{"Key": "Name", "Value": "lab"}]
    vpc_id = vpc["VpcId"]
    (found,) = ec2.describe_vpcs(
        Filters=[{"Name": "tag:Name", "Values": ["lab"]}, {"Name": "vpc-id", "Values": [vpc_id]}]
    )["Vpcs"]
    assert found["CidrBlockAssociationSet"][0]["CidrBlockState"] == {"State": "associated"}
    subnet = ec2.create_subnet(
        VpcId=vpc_id,
        CidrBlock="10.3.1.0/28",
        AvailabilityZoneId="use1-az2",
        TagSpecifications=[{"ResourceType": "subnet", "Tags": [{"Key": "tier", "Value": "a"}]}],
    )["Subnet"]
    assert subnet["AvailabilityZone"] == "us-east-1b" and subnet["AvailableIpAddressCount"] == 11
    endpoint = ec2.create_vpc_endpoint(
        VpcEndpointType="Interface",
        ServiceName=PROTON,
        VpcId=vpc_id,
        SubnetIds=[subnet["SubnetId"]],
    )["VpcEndpoint"]
    assert endpoint["CreationTimestamp"].microsecond % 1000 == 0
    (described,) = ec2.describe_subnets(
        Filters=[{"Name": "tag:tier", "Values": ["a"]}, {"Name": "vpc-id", "Values": [vpc_id]}]
    )["Subnets"]
    assert described["AvailableIpAddressCount"] == 10  # the endpoint's interface uses one
    eid = endpoint["VpcEndpointId"]
    for flt in (
        {"Name": "vpc-id", "Values": [vpc_id]},
        {"Name": "description", "Values": [f"VPC Endpoint Interface {eid}"]},
        {"Name": "interface-type", "Values": ["vpc_endpoint"]},
        {"Name": "subnet-id", "Values": [subnet["SubnetId"]]},
    ):
        interfaces = ec2.describe_network_interfaces(Filters=[flt])["NetworkInterfaces"]
        assert endpoint["NetworkInterfaceIds"][0] in [
            i["NetworkInterfaceId"] for i in interfaces
        ], flt
    (interface,) = ec2.describe_network_interfaces(
        Filters=[{"Name": "vpc-id", "Values": [vpc_id]}]
    )["NetworkInterfaces"]
    address = interface["PrivateIpAddress"]
    assert ipaddress.IPv4Address(address) in ipaddress.IPv4Network("127.77.0.0/16")
    by_address = ec2.describe_network_interfaces(
        Filters=[{"Name": "private-ip-address", "Values": [address]}]
    )["NetworkInterfaces"]
    assert [i["NetworkInterfaceId"] for i in by_address] == [interface["NetworkInterfaceId"]]
    with pytest.raises(ClientError) as info:
        ec2.describe_network_interfaces(NetworkInterfaceIds=["eni-0000000000000000a"])
    assert _error(info)[:2] == (
        "InvalidNetworkInterfaceID.NotFound",
        "The networkInterface ID 'eni-0000000000000000a' does not exist",
    )
    ec2.delete_vpc_endpoints(VpcEndpointIds=[eid])
    assert (
        ec2.describe_network_interfaces(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])[
            "NetworkInterfaces"
        ]
        == []
    )


def test_endpoints_and_addresses_survive_a_restart(fresh_dir: Path) -> None:
    srv = Server(fresh_dir, args=("--endpoint-address-pool", "127.79.0.0/29")).start()
    try:
        ec2 = srv.client("ec2")
        vpc, (a, b) = _network(ec2)
        endpoint = ec2.create_vpc_endpoint(
            VpcEndpointType="Interface", ServiceName=PROTON, VpcId=vpc, SubnetIds=[a, b]
        )["VpcEndpoint"]
        before = ec2.describe_network_interfaces()["NetworkInterfaces"]
        # The resolver took .1, the interfaces .2 and .3.
        assert sorted(i["PrivateIpAddress"] for i in before) == ["127.79.0.2", "127.79.0.3"]
    finally:
        srv.stop()
    srv.start()
    try:
        ec2 = srv.client("ec2")
        (again,) = ec2.describe_vpc_endpoints()["VpcEndpoints"]
        assert again["VpcEndpointId"] == endpoint["VpcEndpointId"]
        assert again["DnsEntries"] == endpoint["DnsEntries"]
        assert ec2.describe_network_interfaces()["NetworkInterfaces"] == before
        # Three hosts remain in the /29 (.4-.6): a second VPC's resolver takes one, so three
        # interfaces do not fit.
        vpc2, (c, d, e) = _network(ec2, ("us-east-1a", "us-east-1b", "us-east-1c"))
        with pytest.raises(ClientError) as info:
            ec2.create_vpc_endpoint(
                VpcEndpointType="Interface",
                ServiceName=STS,
                VpcId=vpc2,
                SubnetIds=[c, d, e],
                PrivateDnsEnabled=False,
            )
        assert _error(info)[0] == "InsufficientFreeAddressesInSubnet"
        assert (
            ec2.describe_vpc_endpoints(Filters=[{"Name": "vpc-id", "Values": [vpc2]}])[
                "VpcEndpoints"
            ]
            == []
        )
        single = ec2.create_vpc_endpoint(
            VpcEndpointType="Interface", ServiceName=STS, VpcId=vpc2, SubnetIds=[c]
        )["VpcEndpoint"]
        assert len(single["NetworkInterfaceIds"]) == 1
        ec2.create_vpc(CidrBlock="10.0.0.0/16")  # the last address (.6)
        with pytest.raises(ClientError) as info:
            ec2.create_vpc(CidrBlock="10.0.0.0/16")
        assert _error(info)[0] == "VpcLimitExceeded"
    finally:
        srv.stop()


def test_bad_address_pool_is_refused(fresh_dir: Path) -> None:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "hadron",
            "serve",
            "--data-dir",
            str(fresh_dir),
            "--port",
            "0",
            "--endpoint-address-pool",
            "127.77.0.1/16",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 2
    assert "--endpoint-address-pool '127.77.0.1/16'" in out.stderr
