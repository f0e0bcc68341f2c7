"""The one error type of Hadron, carrying the AWS code and HTTP status.

Raised anywhere, rendered only by the protocol layer (``hadron.protocol``). ``code``/``status`` are
the Query-protocol (STS/IAM) values; an error class may override them for the JSON protocol
(``json_code``/``json_status``) and the EC2 protocol (``ec2_code``/``ec2_status``/``ec2_message``),
because AWS answers the same failure differently per wire protocol (security.md §1.9).

Exception tree::

    ServiceError
    ├── MissingAuthenticationToken (403 / JSON MissingAuthenticationTokenException 400)
    ├── IncompleteSignature (400 / JSON IncompleteSignatureException 400)
    ├── SignatureDoesNotMatch (403 / JSON InvalidSignatureException 400 / EC2 AuthFailure 401)
    ├── RequestExpired (400 / JSON InvalidSignatureException 400)
    ├── InvalidClientTokenId (403 / JSON UnrecognizedClientException 400 / EC2 AuthFailure 401)
    ├── ExpiredToken (403 / JSON ExpiredTokenException 400 / EC2 RequestExpired 400)
    ├── MalformedQueryString (400)
    ├── InvalidURIPath (400)
    ├── AccessDenied (403 / JSON AccessDeniedException 400 / EC2 UnauthorizedOperation 403)
    ├── ValidationError (400 / JSON ValidationException 400 / EC2 InvalidParameterValue 400)
    ├── MissingAction (400)
    ├── InvalidAction (400 / JSON UnknownOperationException 400)
    ├── SerializationException (400, JSON only in practice)
    ├── UnsupportedMediaType (400 / JSON: SerializationException)
    ├── RequestEntityTooLarge (413)
    ├── RequestTimeout (408)
    ├── NotImplementedOperation (501 NotImplemented)
    ├── InternalFailure (500 / JSON InternalServerException 500)
    ├── LimitExceeded (409, IAM)
    ├── NoSuchEntity (404, IAM)
    ├── EntityAlreadyExists (409, IAM)
    ├── MalformedPolicyDocument (400, IAM)
    ├── InvalidInput (400, IAM)
    ├── DeleteConflict (409, IAM)
    ├── InvalidAuthenticationCode (403, IAM: an MFA device's codes do not match)
    ├── ConflictException (409, Proton)
    ├── ResourceNotFoundException (404, Proton)
    ├── ServiceQuotaExceededException (402, Proton)
    ├── PackedPolicyTooLarge (400, STS)
    ├── InvalidAuthorizationMessageException (400, STS)
    └── InvalidParameterValue (400, common)
"""

from __future__ import annotations

from typing import ClassVar, Literal

__all__ = [
    "AccessDenied",
    "ConflictException",
    "DeleteConflict",
    "EntityAlreadyExists",
    "ExpiredToken",
    "IncompleteSignature",
    "InternalFailure",
    "InvalidAction",
    "InvalidAuthenticationCode",
    "InvalidAuthorizationMessageException",
    "InvalidClientTokenId",
    "InvalidInput",
    "InvalidParameterValue",
    "InvalidURIPath",
    "LimitExceeded",
    "MalformedPolicyDocument",
    "MalformedQueryString",
    "MissingAction",
    "MissingAuthenticationToken",
    "NoSuchEntity",
    "NotImplementedOperation",
    "PackedPolicyTooLarge",
    "Protocol",
    "RequestEntityTooLarge",
    "RequestExpired",
    "RequestTimeout",
    "ResourceNotFoundException",
    "SerializationException",
    "ServiceError",
    "ServiceQuotaExceededException",
    "SignatureDoesNotMatch",
    "UnmodifiableEntity",
    "UnsupportedMediaType",
    "ValidationError",
]

Protocol = Literal["json", "query", "ec2"]


class ServiceError(Exception):
    """Base of every error answered to a client."""

    code: ClassVar[str] = "InternalFailure"
    status: ClassVar[int] = 400
    sender_fault: ClassVar[bool] = True
    json_code: ClassVar[str | None] = None
    json_status: ClassVar[int | None] = None
    ec2_code: ClassVar[str | None] = None
    ec2_status: ClassVar[int | None] = None
    ec2_message: ClassVar[str | None] = None

    def __init__(self, message: str = "", *, code: str | None = None, status: int | None = None):
        super().__init__(message)
        self.message = message
        # Instance overrides, for errors created from a model shape at run time.
        self._code = code
        self._status = status

    def wire(self, protocol: Protocol) -> tuple[str, int, str]:
        """(code, HTTP status, message) as this error is written on ``protocol``."""
        if self._code is not None:
            return self._code, self._status or self.status, self.message
        if protocol == "json":
            return (
                self.json_code or self.code,
                self.json_status or self.status,
                self.message,
            )
        if protocol == "ec2":
            return (
                self.ec2_code or self.code,
                self.ec2_status or self.status,
                self.ec2_message if self.ec2_message is not None else self.message,
            )
        return self.code, self.status, self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"


class MissingAuthenticationToken(ServiceError):
    code = "MissingAuthenticationToken"
    status = 403
    json_code = "MissingAuthenticationTokenException"
    json_status = 400


class IncompleteSignature(ServiceError):
    code = "IncompleteSignature"
    status = 400
    json_code = "IncompleteSignatureException"


class SignatureDoesNotMatch(ServiceError):
    code = "SignatureDoesNotMatch"
    status = 403
    json_code = "InvalidSignatureException"
    json_status = 400
    ec2_code = "AuthFailure"
    ec2_status = 401
    ec2_message = "AWS was not able to validate the provided access credentials"


class RequestExpired(ServiceError):
    code = "RequestExpired"
    status = 400
    json_code = "InvalidSignatureException"


class InvalidClientTokenId(ServiceError):
    code = "InvalidClientTokenId"
    status = 403
    json_code = "UnrecognizedClientException"
    json_status = 400
    ec2_code = "AuthFailure"
    ec2_status = 401
    ec2_message = "AWS was not able to validate the provided access credentials"


class ExpiredToken(ServiceError):
    code = "ExpiredToken"
    status = 403
    json_code = "ExpiredTokenException"
    json_status = 400
    ec2_code = "RequestExpired"
    ec2_status = 400
    ec2_message = "Request has expired."


class MalformedQueryString(ServiceError):
    code = "MalformedQueryString"
    status = 400


class InvalidURIPath(ServiceError):
    code = "InvalidURIPath"
    status = 400


class AccessDenied(ServiceError):
    code = "AccessDenied"
    status = 403
    json_code = "AccessDeniedException"
    json_status = 400
    ec2_code = "UnauthorizedOperation"
    ec2_status = 403


class ValidationError(ServiceError):
    code = "ValidationError"
    status = 400
    json_code = "ValidationException"
    ec2_code = "InvalidParameterValue"


class MissingAction(ServiceError):
    code = "MissingAction"
    status = 400
    json_code = "UnknownOperationException"


class InvalidAction(ServiceError):
    code = "InvalidAction"
    status = 400
    json_code = "UnknownOperationException"


class SerializationException(ServiceError):
    code = "SerializationException"
    status = 400


class UnsupportedMediaType(ServiceError):
    code = "UnsupportedMediaType"
    status = 415
    json_code = "SerializationException"
    json_status = 400


class RequestEntityTooLarge(ServiceError):
    code = "RequestEntityTooLarge"
    status = 413


class RequestTimeout(ServiceError):
    code = "RequestTimeout"
    status = 408


class NotImplementedOperation(ServiceError):
    code = "NotImplemented"
    status = 501
    sender_fault = False


class InternalFailure(ServiceError):
    code = "InternalFailure"
    status = 500
    sender_fault = False
    json_code = "InternalServerException"


class LimitExceeded(ServiceError):
    code = "LimitExceeded"
    status = 409


class NoSuchEntity(ServiceError):
    code = "NoSuchEntity"
    status = 404


class EntityAlreadyExists(ServiceError):
    code = "EntityAlreadyExists"
    status = 409


class MalformedPolicyDocument(ServiceError):
    code = "MalformedPolicyDocument"
    status = 400


class InvalidInput(ServiceError):
    code = "InvalidInput"
    status = 400


class DeleteConflict(ServiceError):
    code = "DeleteConflict"
    status = 409


class InvalidAuthenticationCode(ServiceError):
    code = "InvalidAuthenticationCode"
    status = 403


class UnmodifiableEntity(ServiceError):
    code = "UnmodifiableEntity"
    status = 400


# --- Proton (proton.md §1.2: JSON protocol only; statuses from the Smithy model) ----------------


class ConflictException(ServiceError):
    code = "ConflictException"
    status = 409


class ResourceNotFoundException(ServiceError):
    code = "ResourceNotFoundException"
    status = 404


class ServiceQuotaExceededException(ServiceError):
    code = "ServiceQuotaExceededException"
    status = 402


# --- EC2 (VPC endpoint slice) ---------------------------------------------------------------------
# EC2 error codes are not modelled in botocore's EC2 model (EC2 documents them in its API
# reference, "Error codes"); the codes contain dots, so class names drop them. Every one is a
# client error with HTTP 400 on the EC2 protocol, except DryRunOperation (412).
#
#   ServiceError
#   ├── DryRunOperation (412)
#   ├── Ec2MissingParameter (MissingParameter), Ec2InvalidParameter (InvalidParameter),
#   │   Ec2InvalidParameterValue (InvalidParameterValue),
#   │   Ec2InvalidParameterCombination (InvalidParameterCombination)
#   ├── InvalidVpcIdNotFound, InvalidSubnetIdNotFound, InvalidGroupNotFound,
#   │   InvalidVpcEndpointIdNotFound, InvalidNetworkInterfaceIdNotFound (….NotFound)
#   ├── InvalidVpcEndpointIdMalformed, InvalidGroupDuplicate, InvalidServiceName
#   ├── InvalidSubnetConflict, InvalidSubnetRange, InvalidVpcRange
#   ├── InvalidPermissionDuplicate, InvalidPermissionNotFound, CannotDelete
#   ├── DependencyViolation, DuplicateSubnetsInSameZone, InvalidPolicyDocument
#   ├── InsufficientFreeAddressesInSubnet, VpcLimitExceeded, TagLimitExceeded
#   └── IdempotentParameterMismatch, InvalidPaginationToken, InvalidVpcEndpointType


class DryRunOperation(ServiceError):
    code = "DryRunOperation"
    status = 412


class Ec2MissingParameter(ServiceError):
    code = "MissingParameter"


class Ec2InvalidParameter(ServiceError):
    code = "InvalidParameter"


class Ec2InvalidParameterValue(ServiceError):
    code = "InvalidParameterValue"


class Ec2InvalidParameterCombination(ServiceError):
    code = "InvalidParameterCombination"


class InvalidVpcIdNotFound(ServiceError):
    code = "InvalidVpcID.NotFound"


class InvalidSubnetIdNotFound(ServiceError):
    code = "InvalidSubnetID.NotFound"


class InvalidGroupNotFound(ServiceError):
    code = "InvalidGroup.NotFound"


class InvalidVpcEndpointIdNotFound(ServiceError):
    code = "InvalidVpcEndpointId.NotFound"


class InvalidNetworkInterfaceIdNotFound(ServiceError):
    code = "InvalidNetworkInterfaceID.NotFound"


class InvalidVpcEndpointIdMalformed(ServiceError):
    code = "InvalidVpcEndpointId.Malformed"


class InvalidGroupDuplicate(ServiceError):
    code = "InvalidGroup.Duplicate"


class InvalidServiceName(ServiceError):
    code = "InvalidServiceName"


class InvalidSubnetConflict(ServiceError):
    code = "InvalidSubnet.Conflict"


class InvalidSubnetRange(ServiceError):
    code = "InvalidSubnet.Range"


class InvalidVpcRange(ServiceError):
    code = "InvalidVpc.Range"


class InvalidPermissionDuplicate(ServiceError):
    code = "InvalidPermission.Duplicate"


class InvalidPermissionNotFound(ServiceError):
    code = "InvalidPermission.NotFound"


class CannotDelete(ServiceError):
    code = "CannotDelete"


class DependencyViolation(ServiceError):
    code = "DependencyViolation"


class DuplicateSubnetsInSameZone(ServiceError):
    code = "DuplicateSubnetsInSameZone"


class InvalidPolicyDocument(ServiceError):
    code = "InvalidPolicyDocument"


class InsufficientFreeAddressesInSubnet(ServiceError):
    code = "InsufficientFreeAddressesInSubnet"


class VpcLimitExceeded(ServiceError):
    code = "VpcLimitExceeded"


class TagLimitExceeded(ServiceError):
    code = "TagLimitExceeded"


class IdempotentParameterMismatch(ServiceError):
    code = "IdempotentParameterMismatch"


class InvalidPaginationToken(ServiceError):
    code = "InvalidPaginationToken"


class InvalidVpcEndpointType(ServiceError):
    code = "InvalidVpcEndpointType"


__all__ += [
    "CannotDelete",
    "DependencyViolation",
    "DryRunOperation",
    "DuplicateSubnetsInSameZone",
    "Ec2InvalidParameter",
    "Ec2InvalidParameterCombination",
    "Ec2InvalidParameterValue",
    "Ec2MissingParameter",
    "IdempotentParameterMismatch",
    "InsufficientFreeAddressesInSubnet",
    "InvalidGroupDuplicate",
    "InvalidGroupNotFound",
    "InvalidNetworkInterfaceIdNotFound",
    "InvalidPaginationToken",
    "InvalidPermissionDuplicate",
    "InvalidPermissionNotFound",
    "InvalidPolicyDocument",
    "InvalidServiceName",
    "InvalidSubnetConflict",
    "InvalidSubnetIdNotFound",
    "InvalidSubnetRange",
    "InvalidVpcEndpointIdMalformed",
    "InvalidVpcEndpointIdNotFound",
    "InvalidVpcEndpointType",
    "InvalidVpcIdNotFound",
    "InvalidVpcRange",
    "TagLimitExceeded",
    "VpcLimitExceeded",
]


class PackedPolicyTooLarge(ServiceError):
    code = "PackedPolicyTooLarge"
    status = 400


class InvalidAuthorizationMessageException(ServiceError):
    code = "InvalidAuthorizationMessageException"
    status = 400


class InvalidParameterValue(ServiceError):
    """AWS's common error for a parameter value outside what the operation accepts."""

    code = "InvalidParameterValue"
    status = 400
