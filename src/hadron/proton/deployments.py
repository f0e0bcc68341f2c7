"""Deployment state machines, the guards of update/cancel/delete, and template-version targeting.

Layer: pure core (no I/O, no clock). Implements proton.md §2.5-§2.9 and §2.16 the way h11 does
its connection states: one transition table, one ``step`` function, nothing else moves a status.

* ``DeploymentStatus`` is shared by environments, service instances, service pipelines, components
  and deployment records (the model's enum). :data:`TRANSITIONS` maps ``(status, Event)`` to the
  next status; ``None`` is "the resource does not exist yet". :func:`step` raises
  :class:`InvalidTransition` (a programming error, never sent to a client) for any other pair.
* The API asks the guards first: :func:`check_update`, :func:`check_cancel` and
  :func:`check_delete` raise ``ConflictException`` while a deployment is in progress; a delete of a
  resource already being deleted is idempotent (proton.md §1.4) and answers ``ALREADY_DELETING``.
* ``ServiceStatus`` (the service's aggregate) has its own small table (:data:`SERVICE_TRANSITIONS`).
* Crash safety: :func:`recover` says what a status found at server start becomes. We fail
  in-flight work explicitly rather than resume it (the run's process died with the server):
  ``IN_PROGRESS``/``CANCELLING`` become ``FAILED``, ``DELETE_IN_PROGRESS`` ``DELETE_FAILED``,
  with :data:`RECOVERY_MESSAGE`. Deployments that wait for an external callback (self-managed
  provisioning) are left alone.
* :func:`target_version` applies the ``deploymentType`` rules (NONE, CURRENT_VERSION,
  MINOR_VERSION, MAJOR_VERSION) and :func:`create_version` the create-time default (recommended
  minor). Defaults resolve only to PUBLISHED versions; an explicit DRAFT is refused unless
  ``allow_draft`` (proton.md §2.4, UNCONFIRMED item 3).

AWS publishes no message texts for these errors (proton.md §12.2); ours name the resource, its
status and the field, and are listed in the README.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

from hadron.errors import ConflictException, ResourceNotFoundException, ValidationError

__all__ = [
    "CANCELLED_MESSAGE",
    "RECOVERY_MESSAGE",
    "SERVICE_TRANSITIONS",
    "TRANSITIONS",
    "DeleteDecision",
    "DeploymentStatus",
    "DeploymentType",
    "Event",
    "InvalidTransition",
    "ResourceKind",
    "ServiceEvent",
    "ServiceStatus",
    "VersionInfo",
    "VersionRef",
    "check_cancel",
    "check_delete",
    "check_deployment_deletable",
    "check_service_change",
    "check_update",
    "create_version",
    "initial_status",
    "is_busy",
    "is_final",
    "notify_event",
    "recommended_minor",
    "recover",
    "recover_service",
    "service_step",
    "step",
    "target_version",
]

#: ``deploymentStatusMessage`` of a cancelled deployment (proton.md §2.5, documented by AWS).
CANCELLED_MESSAGE = "User initiated cancellation."
#: ``deploymentStatusMessage`` of work failed by :func:`recover` (our wording).
RECOVERY_MESSAGE = (
    "Deployment interrupted: the Hadron server stopped while it was in progress. "
    "Retry by updating or deleting the resource."
)


class DeploymentStatus(StrEnum):
    IN_PROGRESS = "IN_PROGRESS"
    FAILED = "FAILED"
    SUCCEEDED = "SUCCEEDED"
    DELETE_IN_PROGRESS = "DELETE_IN_PROGRESS"
    DELETE_FAILED = "DELETE_FAILED"
    DELETE_COMPLETE = "DELETE_COMPLETE"
    CANCELLING = "CANCELLING"
    CANCELLED = "CANCELLED"


class Event(StrEnum):
    DEPLOY = "DEPLOY"  # create, or update with a deploymentType other than NONE
    CANCEL = "CANCEL"  # Cancel*Deployment accepted
    CANCELLED = "CANCELLED"  # the engine stopped the run and reverted
    SUCCEED = "SUCCEED"  # provisioning finished
    FAIL = "FAIL"  # provisioning failed (or cancellation failed)
    DELETE = "DELETE"  # Delete* accepted
    DELETE_SUCCEED = "DELETE_SUCCEED"
    DELETE_FAIL = "DELETE_FAIL"
    RECOVER = "RECOVER"  # found in flight at server start


class ResourceKind(StrEnum):
    """The model's ``DeploymentTargetResourceType``."""

    ENVIRONMENT = "ENVIRONMENT"
    SERVICE_INSTANCE = "SERVICE_INSTANCE"
    SERVICE_PIPELINE = "SERVICE_PIPELINE"
    COMPONENT = "COMPONENT"

    @property
    def label(self) -> str:
        return self.value.lower().replace("_", " ")


_S = DeploymentStatus
_SETTLED = (_S.SUCCEEDED, _S.FAILED, _S.CANCELLED, _S.DELETE_FAILED)
_BUSY = frozenset({_S.IN_PROGRESS, _S.CANCELLING, _S.DELETE_IN_PROGRESS})

# INVARIANT: DELETE_COMPLETE has no outgoing transition; the record is gone for the API.
# INVARIANT: only IN_PROGRESS can be cancelled; a cancel that loses the race ends SUCCEEDED/FAILED.
TRANSITIONS: Mapping[tuple[DeploymentStatus | None, Event], DeploymentStatus] = MappingProxyType(
    {
        (None, Event.DEPLOY): _S.IN_PROGRESS,
        **{(s, Event.DEPLOY): _S.IN_PROGRESS for s in _SETTLED},
        **{(s, Event.DELETE): _S.DELETE_IN_PROGRESS for s in _SETTLED},
        (_S.IN_PROGRESS, Event.SUCCEED): _S.SUCCEEDED,
        (_S.IN_PROGRESS, Event.FAIL): _S.FAILED,
        (_S.IN_PROGRESS, Event.CANCEL): _S.CANCELLING,
        (_S.IN_PROGRESS, Event.RECOVER): _S.FAILED,
        (_S.CANCELLING, Event.CANCELLED): _S.CANCELLED,
        (_S.CANCELLING, Event.SUCCEED): _S.SUCCEEDED,
        (_S.CANCELLING, Event.FAIL): _S.FAILED,
        (_S.CANCELLING, Event.RECOVER): _S.FAILED,
        (_S.DELETE_IN_PROGRESS, Event.DELETE_SUCCEED): _S.DELETE_COMPLETE,
        (_S.DELETE_IN_PROGRESS, Event.DELETE_FAIL): _S.DELETE_FAILED,
        (_S.DELETE_IN_PROGRESS, Event.RECOVER): _S.DELETE_FAILED,
    }
)


class InvalidTransition(Exception):
    """``step`` was asked for a transition the table does not have."""

    def __init__(self, status: DeploymentStatus | str | None, event: str) -> None:
        super().__init__(f"no transition from {status} on {event}")
        self.status = status
        self.event = event


def step(status: DeploymentStatus | None, event: Event) -> DeploymentStatus:
    """The next status, or :class:`InvalidTransition`."""
    try:
        return TRANSITIONS[(status, event)]
    except KeyError:
        raise InvalidTransition(status, event) from None


def initial_status(event: Event) -> DeploymentStatus:
    """Status of a new deployment record: DEPLOY → IN_PROGRESS, DELETE → DELETE_IN_PROGRESS."""
    if event is Event.DEPLOY:
        return _S.IN_PROGRESS
    if event is Event.DELETE:
        return _S.DELETE_IN_PROGRESS
    raise InvalidTransition(None, event)


def is_busy(status: DeploymentStatus) -> bool:
    """A deployment is running (IN_PROGRESS, CANCELLING or DELETE_IN_PROGRESS)."""
    return status in _BUSY


def is_final(status: DeploymentStatus) -> bool:
    """The status of a finished deployment record (``completedAt`` is set)."""
    return status not in _BUSY


def _busy_reason(status: DeploymentStatus) -> str:
    if status is _S.DELETE_IN_PROGRESS:
        return "it is being deleted (deploymentStatus DELETE_IN_PROGRESS)"
    return f"a deployment is in progress (deploymentStatus {status})"


def check_update(kind: ResourceKind, name: str, status: DeploymentStatus) -> None:
    """Refuse an update (any deploymentType) while the resource is busy or deleted."""
    if status in _BUSY:
        raise ConflictException(f"Cannot update {kind.label} {name}: {_busy_reason(status)}.")
    if status is _S.DELETE_COMPLETE:
        raise ConflictException(f"Cannot update {kind.label} {name}: it has been deleted.")


def check_cancel(kind: ResourceKind, name: str, status: DeploymentStatus) -> None:
    """Only an IN_PROGRESS deployment can be cancelled."""
    if status is not _S.IN_PROGRESS:
        raise ConflictException(
            f"Cannot cancel the deployment of {kind.label} {name}: its deploymentStatus is "
            f"{status}; only IN_PROGRESS deployments can be cancelled."
        )


class DeleteDecision(StrEnum):
    START = "START"  # start a delete deployment
    ALREADY_DELETING = "ALREADY_DELETING"  # idempotent retry: answer the current detail


def check_delete(kind: ResourceKind, name: str, status: DeploymentStatus) -> DeleteDecision:
    """Delete is refused while a deployment runs; a retry during deletion is idempotent."""
    if status is _S.DELETE_IN_PROGRESS:
        return DeleteDecision.ALREADY_DELETING
    if status in _BUSY:
        raise ConflictException(f"Cannot delete {kind.label} {name}: {_busy_reason(status)}.")
    if status is _S.DELETE_COMPLETE:
        return DeleteDecision.ALREADY_DELETING
    return DeleteDecision.START


def check_deployment_deletable(deployment_id: str, status: DeploymentStatus, current: bool) -> None:
    """DeleteDeployment refuses a running deployment and the resource's current (last succeeded)
    one with ValidationException (proton.md §2.16, UNCONFIRMED; the model lists no Conflict)."""
    if status in _BUSY:
        raise ValidationError(
            f"Deployment {deployment_id} cannot be deleted while its status is {status}."
        )
    if current:
        raise ValidationError(
            f"Deployment {deployment_id} is the current deployment of its resource "
            "and cannot be deleted."
        )


def notify_event(status: DeploymentStatus, reported: str) -> Event | None:
    """Event for a ``NotifyResourceDeploymentStatusChange`` status on a resource in ``status``.

    ``reported`` is the model's ``ResourceDeploymentStatus`` (IN_PROGRESS, SUCCEEDED, FAILED) or
    empty (outputs only). None means "no status change". ConflictException when nothing is running.
    """
    deleting = status is _S.DELETE_IN_PROGRESS
    if status not in _BUSY:
        raise ConflictException(
            f"The resource has no deployment in progress (deploymentStatus {status})."
        )
    if reported in ("", "IN_PROGRESS"):
        return None
    if reported == "SUCCEEDED":
        return Event.DELETE_SUCCEED if deleting else Event.SUCCEED
    if reported == "FAILED":
        return Event.DELETE_FAIL if deleting else Event.FAIL
    raise ValidationError(f"status must be one of IN_PROGRESS, SUCCEEDED, FAILED, got {reported}")


def recover(
    status: DeploymentStatus, *, awaiting_callback: bool = False
) -> tuple[DeploymentStatus, str] | None:
    """At server start: the (status, message) a busy resource/record moves to, or None."""
    if awaiting_callback or status not in _BUSY:
        return None
    return step(status, Event.RECOVER), RECOVERY_MESSAGE


# -- services ----------------------------------------------------------------------------------


class ServiceStatus(StrEnum):
    CREATE_IN_PROGRESS = "CREATE_IN_PROGRESS"
    CREATE_FAILED_CLEANUP_IN_PROGRESS = "CREATE_FAILED_CLEANUP_IN_PROGRESS"
    CREATE_FAILED_CLEANUP_COMPLETE = "CREATE_FAILED_CLEANUP_COMPLETE"
    CREATE_FAILED_CLEANUP_FAILED = "CREATE_FAILED_CLEANUP_FAILED"
    CREATE_FAILED = "CREATE_FAILED"
    ACTIVE = "ACTIVE"
    DELETE_IN_PROGRESS = "DELETE_IN_PROGRESS"
    DELETE_FAILED = "DELETE_FAILED"
    UPDATE_IN_PROGRESS = "UPDATE_IN_PROGRESS"
    UPDATE_FAILED_CLEANUP_IN_PROGRESS = "UPDATE_FAILED_CLEANUP_IN_PROGRESS"
    UPDATE_FAILED_CLEANUP_COMPLETE = "UPDATE_FAILED_CLEANUP_COMPLETE"
    UPDATE_FAILED_CLEANUP_FAILED = "UPDATE_FAILED_CLEANUP_FAILED"
    UPDATE_FAILED = "UPDATE_FAILED"
    UPDATE_COMPLETE_CLEANUP_FAILED = "UPDATE_COMPLETE_CLEANUP_FAILED"


class ServiceEvent(StrEnum):
    CREATE = "CREATE"
    UPDATE = "UPDATE"  # UpdateService with a spec (instances added/removed)
    DELETE = "DELETE"
    SUCCEED = "SUCCEED"  # every child deployment succeeded
    FAIL = "FAIL"  # a child deployment failed, no cleanup attempted
    CLEANUP = "CLEANUP"  # a child failed; removing what was created
    CLEANUP_SUCCEED = "CLEANUP_SUCCEED"
    CLEANUP_FAIL = "CLEANUP_FAIL"  # cleanup failed, or (update) removals failed after success
    RECOVER = "RECOVER"


_V = ServiceStatus
_SERVICE_SETTLED = (
    _V.ACTIVE,
    _V.UPDATE_FAILED,
    _V.UPDATE_FAILED_CLEANUP_COMPLETE,
    _V.UPDATE_FAILED_CLEANUP_FAILED,
    _V.UPDATE_COMPLETE_CLEANUP_FAILED,
)
_SERVICE_DELETABLE = (
    *_SERVICE_SETTLED,
    _V.CREATE_FAILED,
    _V.CREATE_FAILED_CLEANUP_COMPLETE,
    _V.CREATE_FAILED_CLEANUP_FAILED,
    _V.DELETE_FAILED,
)
_SERVICE_BUSY = frozenset(
    {
        _V.CREATE_IN_PROGRESS,
        _V.CREATE_FAILED_CLEANUP_IN_PROGRESS,
        _V.UPDATE_IN_PROGRESS,
        _V.UPDATE_FAILED_CLEANUP_IN_PROGRESS,
        _V.DELETE_IN_PROGRESS,
    }
)

SERVICE_TRANSITIONS: Mapping[tuple[ServiceStatus | None, ServiceEvent], ServiceStatus] = (
    MappingProxyType(
        {
            (None, ServiceEvent.CREATE): _V.CREATE_IN_PROGRESS,
            (_V.CREATE_IN_PROGRESS, ServiceEvent.SUCCEED): _V.ACTIVE,
            (_V.CREATE_IN_PROGRESS, ServiceEvent.FAIL): _V.CREATE_FAILED,
            (_V.CREATE_IN_PROGRESS, ServiceEvent.CLEANUP): _V.CREATE_FAILED_CLEANUP_IN_PROGRESS,
            (_V.CREATE_IN_PROGRESS, ServiceEvent.RECOVER): _V.CREATE_FAILED,
            (_V.CREATE_FAILED_CLEANUP_IN_PROGRESS, ServiceEvent.CLEANUP_SUCCEED): (
                _V.CREATE_FAILED_CLEANUP_COMPLETE
            ),
            (_V.CREATE_FAILED_CLEANUP_IN_PROGRESS, ServiceEvent.CLEANUP_FAIL): (
                _V.CREATE_FAILED_CLEANUP_FAILED
            ),
            (_V.CREATE_FAILED_CLEANUP_IN_PROGRESS, ServiceEvent.RECOVER): (
                _V.CREATE_FAILED_CLEANUP_FAILED
            ),
            **{(s, ServiceEvent.UPDATE): _V.UPDATE_IN_PROGRESS for s in _SERVICE_SETTLED},
            (_V.UPDATE_IN_PROGRESS, ServiceEvent.SUCCEED): _V.ACTIVE,
            (_V.UPDATE_IN_PROGRESS, ServiceEvent.FAIL): _V.UPDATE_FAILED,
            (_V.UPDATE_IN_PROGRESS, ServiceEvent.CLEANUP): _V.UPDATE_FAILED_CLEANUP_IN_PROGRESS,
            (_V.UPDATE_IN_PROGRESS, ServiceEvent.CLEANUP_FAIL): _V.UPDATE_COMPLETE_CLEANUP_FAILED,
            (_V.UPDATE_IN_PROGRESS, ServiceEvent.RECOVER): _V.UPDATE_FAILED,
            (_V.UPDATE_FAILED_CLEANUP_IN_PROGRESS, ServiceEvent.CLEANUP_SUCCEED): (
                _V.UPDATE_FAILED_CLEANUP_COMPLETE
            ),
            (_V.UPDATE_FAILED_CLEANUP_IN_PROGRESS, ServiceEvent.CLEANUP_FAIL): (
                _V.UPDATE_FAILED_CLEANUP_FAILED
            ),
            (_V.UPDATE_FAILED_CLEANUP_IN_PROGRESS, ServiceEvent.RECOVER): (
                _V.UPDATE_FAILED_CLEANUP_FAILED
            ),
            **{(s, ServiceEvent.DELETE): _V.DELETE_IN_PROGRESS for s in _SERVICE_DELETABLE},
            (_V.DELETE_IN_PROGRESS, ServiceEvent.FAIL): _V.DELETE_FAILED,
            (_V.DELETE_IN_PROGRESS, ServiceEvent.RECOVER): _V.DELETE_FAILED,
        }
    )
)
# A successful delete removes the service record; there is no DELETE_COMPLETE service status.


def service_step(status: ServiceStatus | None, event: ServiceEvent) -> ServiceStatus:
    """The next service status, or :class:`InvalidTransition`."""
    try:
        return SERVICE_TRANSITIONS[(status, event)]
    except KeyError:
        raise InvalidTransition(status, event) from None


def check_service_change(name: str, status: ServiceStatus, action: str) -> None:
    """UpdateService/DeleteService/UpdateServicePipeline while the service is busy: Conflict.

    ``action`` is ``"update"`` or ``"delete"``; deleting a service already being deleted is the
    caller's idempotent case and is not refused here.
    """
    if action == "delete" and status is _V.DELETE_IN_PROGRESS:
        return
    if status in _SERVICE_BUSY:
        raise ConflictException(f"Cannot {action} service {name}: its status is {status}.")
    if action == "update" and status not in _SERVICE_SETTLED:
        raise ConflictException(
            f"Cannot update service {name}: its status is {status}; delete and recreate it."
        )


def recover_service(status: ServiceStatus) -> tuple[ServiceStatus, str] | None:
    """At server start: the status a busy service moves to, or None."""
    if status not in _SERVICE_BUSY:
        return None
    return service_step(status, ServiceEvent.RECOVER), RECOVERY_MESSAGE


# -- template versions -------------------------------------------------------------------------


class DeploymentType(StrEnum):
    NONE = "NONE"
    CURRENT_VERSION = "CURRENT_VERSION"
    MINOR_VERSION = "MINOR_VERSION"
    MAJOR_VERSION = "MAJOR_VERSION"


@dataclass(frozen=True, slots=True, order=True)
class VersionRef:
    """A template version ``major.minor``; ordering is numeric."""

    major: int
    minor: int

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}"


@dataclass(frozen=True, slots=True)
class VersionInfo:
    """A registered version and its ``TemplateVersionStatus``."""

    ref: VersionRef
    status: str


def recommended_minor(major: int, versions: Sequence[VersionInfo]) -> VersionRef | None:
    """The highest PUBLISHED minor of ``major`` (proton.md §2.4)."""
    published = [v.ref for v in versions if v.ref.major == major and v.status == "PUBLISHED"]
    return max(published, default=None)


def _usable(ref: VersionRef, versions: Sequence[VersionInfo], allow_draft: bool) -> VersionRef:
    found = next((v for v in versions if v.ref == ref), None)
    if found is None:
        raise ResourceNotFoundException(f"Template version {ref} does not exist.")
    if found.status == "PUBLISHED" or (allow_draft and found.status == "DRAFT"):
        return ref
    raise ValidationError(
        f"Template version {ref} has status {found.status}; "
        "only PUBLISHED versions can be deployed."
    )


def _int(value: str | None, field: str) -> int | None:
    if value is None:
        return None
    if not value.isdigit() or (len(value) > 1 and value[0] == "0"):
        raise ValidationError(f"{field} must be a version number like 1, got {value!r}")
    return int(value)


def _pick(
    major: int, minor: int | None, versions: Sequence[VersionInfo], allow_draft: bool
) -> VersionRef:
    if minor is not None:
        return _usable(VersionRef(major, minor), versions, allow_draft)
    found = recommended_minor(major, versions)
    if found is None:
        raise ValidationError(f"Template major version {major} has no published minor version.")
    return found


def create_version(
    major: str, minor: str | None, versions: Sequence[VersionInfo], *, allow_draft: bool = False
) -> VersionRef:
    """Create*: ``templateMajorVersion`` is required; an omitted minor is the recommended one."""
    major_n = _int(major, "templateMajorVersion")
    assert major_n is not None  # noqa: S101 - major is a str
    if not any(v.ref.major == major_n for v in versions):
        raise ResourceNotFoundException(f"Template major version {major_n} does not exist.")
    return _pick(major_n, _int(minor, "templateMinorVersion"), versions, allow_draft)


def target_version(
    deployment_type: DeploymentType,
    current: VersionRef,
    major: str | None,
    minor: str | None,
    versions: Sequence[VersionInfo],
    *,
    allow_draft: bool = False,
) -> VersionRef | None:
    """The version an Update* with ``deployment_type`` deploys; None for NONE (no deployment).

    * NONE and CURRENT_VERSION take no version fields (CURRENT_VERSION may repeat the current one).
    * MINOR_VERSION stays in the current major: the given minor, else the recommended one.
    * MAJOR_VERSION moves to a higher major: the given one (else the highest major with a published
      minor), at the given minor or its recommended one.
    """
    major_n = _int(major, "templateMajorVersion")
    minor_n = _int(minor, "templateMinorVersion")
    kind = deployment_type.value
    if deployment_type in (DeploymentType.NONE, DeploymentType.CURRENT_VERSION):
        given = (major_n, minor_n)
        if given != (None, None) and (
            deployment_type is DeploymentType.NONE or given != (current.major, current.minor)
        ):
            raise ValidationError(
                f"templateMajorVersion and templateMinorVersion must not be given with "
                f"deploymentType {kind}."
            )
        return None if deployment_type is DeploymentType.NONE else current
    if deployment_type is DeploymentType.MINOR_VERSION:
        if major_n is not None and major_n != current.major:
            raise ValidationError(
                f"templateMajorVersion must be the current major version {current.major} with "
                "deploymentType MINOR_VERSION; use MAJOR_VERSION to change it."
            )
        return _pick(current.major, minor_n, versions, allow_draft)
    if major_n is None:
        majors = [v.ref.major for v in versions if v.status == "PUBLISHED"]
        if minor_n is not None or not majors:
            raise ValidationError(
                "templateMajorVersion is required with deploymentType MAJOR_VERSION."
            )
        major_n = max(majors)
    if major_n <= current.major:
        raise ValidationError(
            f"templateMajorVersion {major_n} must be higher than the current major version "
            f"{current.major} with deploymentType MAJOR_VERSION."
        )
    if not any(v.ref.major == major_n for v in versions):
        raise ResourceNotFoundException(f"Template major version {major_n} does not exist.")
    return _pick(major_n, minor_n, versions, allow_draft)
