"""Every ``ServiceError`` code is one the AWS models define, or one of the common codes."""

from __future__ import annotations

import inspect

import pytest

from hadron import errors
from hadron.protocol.models import load_service

# Codes every AWS query/JSON service may answer without modelling them (AWS "Common Errors").
COMMON = frozenset(
    {
        "AccessDenied",
        "ExpiredToken",
        "IncompleteSignature",
        "InternalFailure",
        "InvalidAction",
        "InvalidClientTokenId",
        "InvalidParameterValue",
        "InvalidURIPath",
        "MalformedQueryString",
        "MissingAction",
        "MissingAuthenticationToken",
        "NotImplemented",
        "RequestEntityTooLarge",
        "RequestExpired",
        "RequestTimeout",
        "SerializationException",
        "SignatureDoesNotMatch",
        "UnsupportedMediaType",
        "ValidationError",
    }
)


# EC2's error codes are not in botocore's EC2 model; these are from the EC2 API Reference's
# "Error codes for the Amazon EC2 API" (common and per-action client errors).
EC2_DOCUMENTED = frozenset(
    {
        "AuthFailure",
        "CannotDelete",
        "DependencyViolation",
        "DryRunOperation",
        "DuplicateSubnetsInSameZone",
        "IdempotentParameterMismatch",
        "InsufficientFreeAddressesInSubnet",
        "InvalidGroup.Duplicate",
        "InvalidGroup.NotFound",
        "InvalidGroup.Reserved",
        "InvalidNetworkInterfaceID.NotFound",
        "InvalidPaginationToken",
        "InvalidParameter",
        "InvalidParameterCombination",
        "InvalidPermission.Duplicate",
        "InvalidPermission.NotFound",
        "InvalidPolicyDocument",
        "InvalidServiceName",
        "InvalidSubnet.Conflict",
        "InvalidSubnet.Range",
        "InvalidSubnetID.NotFound",
        "InvalidVpc.Range",
        "InvalidVpcEndpointId.Malformed",
        "InvalidVpcEndpointId.NotFound",
        "InvalidVpcEndpointType",
        "InvalidVpcID.NotFound",
        "MissingParameter",
        "TagLimitExceeded",
        "UnauthorizedOperation",
        "VPCIdNotSpecified",
        "VpcLimitExceeded",
    }
)


def _modelled() -> frozenset[str]:
    codes: set[str] = set()
    for name in ("sts", "iam", "proton", "ec2"):
        service = load_service(name)
        for shape in service.error_shapes:
            codes.add(shape.name)
            code = shape.metadata.get("error", {}).get("code")
            if code:
                codes.add(code)
    return frozenset(codes)


CLASSES = [
    cls
    for _, cls in inspect.getmembers(errors, inspect.isclass)
    if issubclass(cls, errors.ServiceError) and cls is not errors.ServiceError
]


@pytest.mark.parametrize("cls", CLASSES, ids=[c.__name__ for c in CLASSES])
def test_error_code_is_modelled_or_common(cls: type[errors.ServiceError]) -> None:
    assert cls.code in _modelled() | COMMON | EC2_DOCUMENTED, cls.code
