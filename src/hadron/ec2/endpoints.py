"""EC2 handlers for VPC interface endpoints: endpoint services, endpoints, their interfaces.

Layer: handlers (use the store). Spec: security.md §7.2 (operations, parameters, errors), §7.3
(ids, DNS names), §7.4 (policies). Conventions as in :mod:`hadron.ec2.network`. Only
``Interface`` endpoints to the services of :mod:`hadron.ec2.services` exist; the other endpoint
types and cross-region endpoints are refused with EC2's errors. Every write that can change what
an endpoint admits (policy, groups, interfaces, deletion) calls ``endpoints_changed(id)`` so
caches (the endpoint-policy cache of ``hadron.enforcement``, a listener manager) follow at once.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Callable, Mapping
from typing import Any

from hadron.ec2.filters import matches, page, parse_filters, resource_values
from hadron.ec2.ids import is_id
from hadron.ec2.params import dry_run, fingerprint, required, tags_for
from hadron.ec2.policies import DEFAULT_POLICY, validate_endpoint_policy
from hadron.ec2.services import (
    EndpointService,
    service_detail,
    service_for,
    service_names,
)
from hadron.ec2.shapes import endpoint_shape, interface_shape
from hadron.errors import (
    Ec2InvalidParameter,
    InvalidNetworkInterfaceIdNotFound,
    InvalidServiceName,
    InvalidVpcEndpointIdMalformed,
    InvalidVpcEndpointType,
    ServiceError,
)
from hadron.gateway import Call, CallHandler
from hadron.store.ec2_records import EndpointChange, NewEndpoint
from hadron.store.vpc_endpoints import SqlVpcEndpoints, endpoint_not_found

__all__ = ["EndpointsApi"]

Result = dict[str, Any]
RNG = Callable[[int], bytes]

_SERVICE_FILTERS = (
    "service-name",
    "service-type",
    "owner",
    "service-region",
    "supported-ip-address-types",
)
_ENDPOINT_FILTERS = (
    "vpc-id",
    "service-name",
    "service-region",
    "vpc-endpoint-state",
    "vpc-endpoint-id",
    "vpc-endpoint-type",
    "ip-address-type",
)
_INTERFACE_FILTERS = (
    "network-interface-id",
    "vpc-id",
    "subnet-id",
    "availability-zone",
    "interface-type",
    "requester-managed",
    "private-ip-address",
    "addresses.private-ip-address",
    "description",
    "group-id",
    "group-name",
    "status",
    "owner-id",
    "mac-address",
    "private-dns-name",
    "source-dest-check",
    "addresses.primary",
)
_ROUTE_TABLES_GATEWAY_ONLY = "Route table IDs are only supported for Gateway type VPC Endpoint."


def _malformed(endpoint_id: str) -> InvalidVpcEndpointIdMalformed:
    return InvalidVpcEndpointIdMalformed(
        f"Invalid Id: '{endpoint_id}' (expecting 'vpce-...'). Use the full VPC endpoint ID in "
        "the form vpce-xxxxxxxxxxxxxxxxx."
    )


def _service(name: str, region: str) -> EndpointService:
    service = service_for(name, region)
    if service is None:
        raise InvalidServiceName(f"The Vpc Endpoint Service '{name}' does not exist")
    return service


def _policy(params: Mapping[str, Any]) -> str | None:
    if params.get("PolicyDocument") is None:
        return None
    return validate_endpoint_policy(str(params["PolicyDocument"]))


def _options(params: Mapping[str, Any], region: str) -> None:
    """Refuse the options Hadron's IPv4-only, same-region interface endpoints do not have."""
    if params.get("IpAddressType") not in (None, "ipv4"):
        raise Ec2InvalidParameter(
            f"The IP address type {params['IpAddressType']} is not supported by the service; "
            "supported: ipv4."
        )
    dns = params.get("DnsOptions") or {}
    if dns.get("DnsRecordIpType") not in (None, "ipv4", "service-defined"):
        raise Ec2InvalidParameter(
            f"The DNS record IP type {dns['DnsRecordIpType']} is not supported by the service; "
            "supported: ipv4."
        )
    for name in ("SubnetConfigurations", "ServiceNetworkArn", "ResourceConfigurationArn"):
        if params.get(name):
            raise Ec2InvalidParameter(
                f"{name} is not supported for Interface endpoints to AWS services by Hadron."
            )
    if params.get("ServiceRegion") not in (None, region):
        raise Ec2InvalidParameter(
            f"Cross-region endpoints are not supported: ServiceRegion {params['ServiceRegion']} "
            f"differs from the request's region {region}."
        )


class EndpointsApi:
    """DescribeVpcEndpointServices, Create/Modify/Describe/DeleteVpcEndpoints and
    DescribeNetworkInterfaces (endpoint interfaces), bound to a store and an address pool."""

    def __init__(
        self,
        store: SqlVpcEndpoints,
        pool: ipaddress.IPv4Network,
        *,
        endpoints_changed: Callable[[str], None] = lambda _endpoint_id: None,
        rng: RNG = os.urandom,
    ) -> None:
        self._store = store
        self._pool = pool
        self._changed = endpoints_changed
        self._rng = rng

    def handlers(self) -> dict[tuple[str, str], CallHandler]:
        ops: dict[str, CallHandler] = {
            "DescribeVpcEndpointServices": self.describe_vpc_endpoint_services,
            "CreateVpcEndpoint": self.create_vpc_endpoint,
            "ModifyVpcEndpoint": self.modify_vpc_endpoint,
            "DescribeVpcEndpoints": self.describe_vpc_endpoints,
            "DeleteVpcEndpoints": self.delete_vpc_endpoints,
            "DescribeNetworkInterfaces": self.describe_network_interfaces,
        }
        return {("ec2", name): handler for name, handler in ops.items()}

    def describe_vpc_endpoint_services(self, call: Call) -> Result:
        params = call.params
        dry_run(params)
        filters = parse_filters(params.get("Filters"), _SERVICE_FILTERS)
        regions = [str(r) for r in params.get("ServiceRegions") or ()]
        if regions and call.region not in regions:
            return {"ServiceNames": [], "ServiceDetails": []}
        services = [_service(n, call.region) for n in service_names(call.region)]
        wanted = [str(n) for n in params.get("ServiceNames") or ()]
        if wanted:
            services = [_service(n, call.region) for n in dict.fromkeys(wanted)]
        selected = [
            s
            for s in services
            if matches(
                resource_values(
                    {
                        "service-name": s.name,
                        "service-type": "Interface",
                        "owner": "amazon",
                        "service-region": s.region,
                        "supported-ip-address-types": "ipv4",
                    }
                ),
                filters,
            )
        ]
        chunk, token = page(
            sorted(selected, key=lambda s: s.name),
            lambda s: s.name,
            params.get("MaxResults"),
            params.get("NextToken"),
        )
        out: Result = {
            "ServiceNames": [s.name for s in chunk],
            "ServiceDetails": [service_detail(s) for s in chunk],
        }
        if token:
            out["NextToken"] = token
        return out

    def create_vpc_endpoint(self, call: Call) -> Result:
        params = call.params
        dry_run(params)
        name = str(required(params, "ServiceName", "ServiceName"))
        service = _service(name, call.region)
        kind = params.get("VpcEndpointType") or "Gateway"
        if kind != "Interface":
            raise InvalidVpcEndpointType(
                f"The Vpc Endpoint Service '{name}' does not support the VPC endpoint type "
                f"{kind}; it supports Interface."
            )
        if params.get("RouteTableIds"):
            raise Ec2InvalidParameter(_ROUTE_TABLES_GATEWAY_ONLY)
        _options(params, call.region)
        dns = params.get("DnsOptions") or {}
        if dns.get("PrivateDnsOnlyForInboundResolverEndpoint"):
            raise Ec2InvalidParameter(
                "To set PrivateDnsOnlyForInboundResolverEndpoint to true, the VPC "
                f"{params['VpcId']} must have a Gateway endpoint for the service."
            )
        policy = _policy(params) or DEFAULT_POLICY
        tags = tags_for(params, "vpc-endpoint")
        group_ids = params.get("SecurityGroupIds")
        token = params.get("ClientToken")
        private_dns = params.get("PrivateDnsEnabled")
        new = NewEndpoint(
            account_id=call.principal.account_id,
            region=call.region,
            vpc_id=str(params["VpcId"]),
            service_name=service.name,
            private_dns_name=service.private_dns_name,
            subnet_ids=[str(s) for s in dict.fromkeys(params.get("SubnetIds") or ())],
            group_ids=None if not group_ids else [str(g) for g in group_ids],
            private_dns_enabled=True if private_dns is None else bool(private_dns),
            policy_document=policy,
            tags=tags,
            client_token=None if token is None else str(token),
            fingerprint=fingerprint(params),
        )
        # EC2 reports creation times to the millisecond.
        now = call.now.replace(microsecond=call.now.microsecond // 1000 * 1000)
        endpoint, created = self._store.create_vpc_endpoint(new, now, self._pool, rng=self._rng)
        if created:
            self._changed(endpoint.vpc_endpoint_id)
        out: Result = {"VpcEndpoint": endpoint_shape(endpoint)}
        if token is not None:
            out["ClientToken"] = token
        return out

    def modify_vpc_endpoint(self, call: Call) -> Result:
        params = call.params
        dry_run(params)
        endpoint_id = str(params["VpcEndpointId"])
        if not is_id(endpoint_id, "vpce"):
            raise _malformed(endpoint_id)
        if params.get("AddRouteTableIds") or params.get("RemoveRouteTableIds"):
            raise Ec2InvalidParameter(_ROUTE_TABLES_GATEWAY_ONLY)
        if params.get("ResetPolicy") and params.get("PolicyDocument") is not None:
            raise Ec2InvalidParameter(
                "The parameters PolicyDocument and ResetPolicy cannot be used together."
            )
        _options(params, call.region)
        policy = DEFAULT_POLICY if params.get("ResetPolicy") else _policy(params)
        current = self._store.get_vpc_endpoint(endpoint_id)
        if current is None or (current.account_id, current.region) != (
            call.principal.account_id,
            call.region,
        ):
            raise endpoint_not_found(endpoint_id)
        service = service_for(current.service_name, call.region)
        private_dns = params.get("PrivateDnsEnabled")
        change = EndpointChange(
            policy_document=policy,
            private_dns_enabled=None if private_dns is None else bool(private_dns),
            private_dns_name="" if service is None else service.private_dns_name,
            add_subnet_ids=[str(s) for s in params.get("AddSubnetIds") or ()],
            remove_subnet_ids=[str(s) for s in dict.fromkeys(params.get("RemoveSubnetIds") or ())],
            add_group_ids=[str(g) for g in params.get("AddSecurityGroupIds") or ()],
            remove_group_ids=[
                str(g) for g in dict.fromkeys(params.get("RemoveSecurityGroupIds") or ())
            ],
        )
        self._store.modify_vpc_endpoint(
            call.principal.account_id,
            call.region,
            endpoint_id,
            change,
            call.now,
            self._pool,
            rng=self._rng,
        )
        self._changed(endpoint_id)
        return {"Return": True}

    def describe_vpc_endpoints(self, call: Call) -> Result:
        params = call.params
        dry_run(params)
        filters = parse_filters(params.get("Filters"), _ENDPOINT_FILTERS)
        endpoints = self._store.list_vpc_endpoints(call.principal.account_id, call.region)
        wanted = [str(v) for v in params.get("VpcEndpointIds") or ()]
        if wanted:
            known = {e.vpc_endpoint_id for e in endpoints}
            for endpoint_id in wanted:
                if not is_id(endpoint_id, "vpce"):
                    raise _malformed(endpoint_id)
                if endpoint_id not in known:
                    raise endpoint_not_found(endpoint_id)
            endpoints = [e for e in endpoints if e.vpc_endpoint_id in set(wanted)]
        selected = [
            e
            for e in endpoints
            if matches(
                resource_values(
                    {
                        "vpc-id": e.vpc_id,
                        "service-name": e.service_name,
                        "service-region": e.region,
                        "vpc-endpoint-state": e.state,
                        "vpc-endpoint-id": e.vpc_endpoint_id,
                        "vpc-endpoint-type": "Interface",
                        "ip-address-type": "ipv4",
                    },
                    e.tags,
                ),
                filters,
            )
        ]
        chunk, token = page(
            selected,
            lambda e: e.vpc_endpoint_id,
            params.get("MaxResults"),
            params.get("NextToken"),
        )
        out: Result = {"VpcEndpoints": [endpoint_shape(e) for e in chunk]}
        if token:
            out["NextToken"] = token
        return out

    def delete_vpc_endpoints(self, call: Call) -> Result:
        params = call.params
        dry_run(params)
        unsuccessful: list[Result] = []
        for endpoint_id in dict.fromkeys(str(v) for v in params["VpcEndpointIds"]):
            try:
                if not is_id(endpoint_id, "vpce"):
                    raise _malformed(endpoint_id)
                self._store.delete_vpc_endpoint(call.principal.account_id, call.region, endpoint_id)
            except ServiceError as exc:
                code, _status, message = exc.wire("ec2")
                if code == "InvalidVpcEndpointId.NotFound":
                    code = "InvalidVpcEndpoint.NotFound"
                    message = f"The VPC Endpoint Id '{endpoint_id}' does not exist"
                unsuccessful.append(
                    {"ResourceId": endpoint_id, "Error": {"Code": code, "Message": message}}
                )
                continue
            self._changed(endpoint_id)
        return {"Unsuccessful": unsuccessful}

    def describe_network_interfaces(self, call: Call) -> Result:
        params = call.params
        dry_run(params)
        filters = parse_filters(params.get("Filters"), _INTERFACE_FILTERS)
        interfaces = self._store.list_network_interfaces(call.principal.account_id, call.region)
        wanted = [str(v) for v in params.get("NetworkInterfaceIds") or ()]
        if wanted:
            known = {i.network_interface_id for i in interfaces}
            for interface_id in wanted:
                if interface_id not in known:
                    raise InvalidNetworkInterfaceIdNotFound(
                        f"The networkInterface ID '{interface_id}' does not exist"
                    )
            interfaces = [i for i in interfaces if i.network_interface_id in set(wanted)]
        selected = []
        for i in interfaces:
            shape = interface_shape(i)
            values = resource_values(
                {
                    "network-interface-id": i.network_interface_id,
                    "vpc-id": i.vpc_id,
                    "subnet-id": i.subnet_id,
                    "availability-zone": i.availability_zone,
                    "interface-type": "vpc_endpoint",
                    "requester-managed": True,
                    "private-ip-address": i.private_ip,
                    "addresses.private-ip-address": i.private_ip,
                    "description": f"VPC Endpoint Interface {i.vpc_endpoint_id}",
                    "group-id": [g for g, _ in i.groups],
                    "group-name": [n for _, n in i.groups],
                    "status": "in-use",
                    "owner-id": i.account_id,
                    "mac-address": shape["MacAddress"],
                    "private-dns-name": shape["PrivateDnsName"],
                    "source-dest-check": True,
                    "addresses.primary": True,
                }
            )
            if matches(values, filters):
                selected.append(i)
        chunk, token = page(
            selected,
            lambda i: i.network_interface_id,
            params.get("MaxResults"),
            params.get("NextToken"),
        )
        out: Result = {"NetworkInterfaces": [interface_shape(i) for i in chunk]}
        if token:
            out["NextToken"] = token
        return out
