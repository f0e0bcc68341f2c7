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


# The EC2 model defines no error shapes; its codes are listed in "Error codes for the Amazon EC2
# API" (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html). These are
# the ones Hadron answers.
EC2_DOCUMENTED = frozenset(
    {
        "CannotDelete",
        "DependencyViolation",
        "DryRunOperation",
        "DuplicateSubnetsInSameZone",
        "IdempotentParameterMismatch",
        "InsufficientFreeAddressesInSubnet",
        "InvalidGroup.Duplicate",
        "InvalidGroup.NotFound",
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
