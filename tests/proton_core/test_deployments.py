"""Deployment state machines, guards, crash recovery and deploymentType version targeting."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hadron.errors import ConflictException, ResourceNotFoundException, ValidationError
from hadron.proton.deployments import (
    CANCELLED_MESSAGE,
    RECOVERY_MESSAGE,
    SERVICE_TRANSITIONS,
    TRANSITIONS,
    DeleteDecision,
    DeploymentStatus,
    DeploymentType,
    Event,
    InvalidTransition,
    ResourceKind,
    ServiceEvent,
    ServiceStatus,
    VersionInfo,
    VersionRef,
    check_cancel,
    check_delete,
    check_deployment_deletable,
    check_service_change,
    check_update,
    create_version,
    initial_status,
    is_busy,
    is_final,
    notify_event,
    recommended_minor,
    recover,
    recover_service,
    service_step,
    step,
    target_version,
)

S = DeploymentStatus
ENV = ResourceKind.ENVIRONMENT

# The full expected table, written out independently of the module's construction.
EXPECTED = {
    (None, Event.DEPLOY): S.IN_PROGRESS,
    (S.SUCCEEDED, Event.DEPLOY): S.IN_PROGRESS,
    (S.FAILED, Event.DEPLOY): S.IN_PROGRESS,
    (S.CANCELLED, Event.DEPLOY): S.IN_PROGRESS,
    (S.DELETE_FAILED, Event.DEPLOY): S.IN_PROGRESS,
    (S.SUCCEEDED, Event.DELETE): S.DELETE_IN_PROGRESS,
    (S.FAILED, Event.DELETE): S.DELETE_IN_PROGRESS,
    (S.CANCELLED, Event.DELETE): S.DELETE_IN_PROGRESS,
    (S.DELETE_FAILED, Event.DELETE): S.DELETE_IN_PROGRESS,
    (S.IN_PROGRESS, Event.SUCCEED): S.SUCCEEDED,
    (S.IN_PROGRESS, Event.FAIL): S.FAILED,
    (S.IN_PROGRESS, Event.CANCEL): S.CANCELLING,
    (S.IN_PROGRESS, Event.RECOVER): S.FAILED,
    (S.CANCELLING, Event.CANCELLED): S.CANCELLED,
    (S.CANCELLING, Event.SUCCEED): S.SUCCEEDED,
    (S.CANCELLING, Event.FAIL): S.FAILED,
    (S.CANCELLING, Event.RECOVER): S.FAILED,
    (S.DELETE_IN_PROGRESS, Event.DELETE_SUCCEED): S.DELETE_COMPLETE,
    (S.DELETE_IN_PROGRESS, Event.DELETE_FAIL): S.DELETE_FAILED,
    (S.DELETE_IN_PROGRESS, Event.RECOVER): S.DELETE_FAILED,
}

ALL_PAIRS = list(itertools.product([None, *DeploymentStatus], Event))


def test_table_is_exactly_the_expected_one() -> None:
    assert dict(TRANSITIONS) == EXPECTED


@pytest.mark.parametrize(("status", "event"), ALL_PAIRS, ids=lambda x: str(x))
def test_every_pair(status: DeploymentStatus | None, event: Event) -> None:
    if (status, event) in EXPECTED:
        assert step(status, event) is EXPECTED[(status, event)]
    else:
        with pytest.raises(InvalidTransition) as info:
            step(status, event)
        assert info.value.status == status and info.value.event == event


def test_delete_complete_is_terminal() -> None:
    assert not [k for k in TRANSITIONS if k[0] is S.DELETE_COMPLETE]


def test_initial_status() -> None:
    assert initial_status(Event.DEPLOY) is S.IN_PROGRESS
    assert initial_status(Event.DELETE) is S.DELETE_IN_PROGRESS
    with pytest.raises(InvalidTransition):
        initial_status(Event.SUCCEED)


def test_busy_and_final() -> None:
    busy = {s for s in S if is_busy(s)}
    assert busy == {S.IN_PROGRESS, S.CANCELLING, S.DELETE_IN_PROGRESS}
    assert {s for s in S if is_final(s)} == set(S) - busy


@pytest.mark.parametrize("status", list(S))
def test_update_guard(status: DeploymentStatus) -> None:
    if status in (S.IN_PROGRESS, S.CANCELLING, S.DELETE_IN_PROGRESS, S.DELETE_COMPLETE):
        with pytest.raises(ConflictException, match="Cannot update environment env1") as info:
            check_update(ENV, "env1", status)
        assert info.value.wire("json")[:2] == ("ConflictException", 409)
    else:
        check_update(ENV, "env1", status)


def test_update_guard_messages() -> None:
    with pytest.raises(ConflictException, match=r"deployment is in progress \(deploymentStatus "):
        check_update(ResourceKind.SERVICE_INSTANCE, "i", S.CANCELLING)
    with pytest.raises(ConflictException, match="service instance i: it is being deleted"):
        check_update(ResourceKind.SERVICE_INSTANCE, "i", S.DELETE_IN_PROGRESS)


@pytest.mark.parametrize("status", list(S))
def test_cancel_guard(status: DeploymentStatus) -> None:
    if status is S.IN_PROGRESS:
        check_cancel(ResourceKind.SERVICE_PIPELINE, "svc", status)
        assert step(status, Event.CANCEL) is S.CANCELLING
    else:
        with pytest.raises(
            ConflictException,
            match=f"deployment of service pipeline svc: its deploymentStatus is {status}",
        ):
            check_cancel(ResourceKind.SERVICE_PIPELINE, "svc", status)


@pytest.mark.parametrize("status", list(S))
def test_delete_guard(status: DeploymentStatus) -> None:
    if status in (S.IN_PROGRESS, S.CANCELLING):
        with pytest.raises(ConflictException, match="Cannot delete component c"):
            check_delete(ResourceKind.COMPONENT, "c", status)
    elif status in (S.DELETE_IN_PROGRESS, S.DELETE_COMPLETE):
        assert check_delete(ResourceKind.COMPONENT, "c", status) is DeleteDecision.ALREADY_DELETING
    else:
        assert check_delete(ResourceKind.COMPONENT, "c", status) is DeleteDecision.START
        assert step(status, Event.DELETE) is S.DELETE_IN_PROGRESS


def test_guards_agree_with_table() -> None:
    # Whatever a guard lets through, the table can perform.
    for status in S:
        try:
            check_update(ENV, "e", status)
        except ConflictException:
            continue
        assert step(status, Event.DEPLOY) is S.IN_PROGRESS


def test_deployment_deletion_rules() -> None:
    check_deployment_deletable("d", S.FAILED, current=False)
    for status in (S.IN_PROGRESS, S.CANCELLING, S.DELETE_IN_PROGRESS):
        with pytest.raises(ValidationError, match=f"Deployment d cannot be deleted.*{status}"):
            check_deployment_deletable("d", status, current=False)
    with pytest.raises(ValidationError, match="is the current deployment"):
        check_deployment_deletable("d", S.SUCCEEDED, current=True)


@pytest.mark.parametrize(
    ("status", "reported", "expected"),
    [
        (S.IN_PROGRESS, "SUCCEEDED", Event.SUCCEED),
        (S.IN_PROGRESS, "FAILED", Event.FAIL),
        (S.IN_PROGRESS, "IN_PROGRESS", None),
        (S.IN_PROGRESS, "", None),
        (S.CANCELLING, "SUCCEEDED", Event.SUCCEED),
        (S.DELETE_IN_PROGRESS, "SUCCEEDED", Event.DELETE_SUCCEED),
        (S.DELETE_IN_PROGRESS, "FAILED", Event.DELETE_FAIL),
    ],
)
def test_notify_event(status: DeploymentStatus, reported: str, expected: Event | None) -> None:
    event = notify_event(status, reported)
    assert event is expected
    if event is not None:
        step(status, event)  # always a valid transition


@pytest.mark.parametrize("status", [S.SUCCEEDED, S.FAILED, S.CANCELLED, S.DELETE_FAILED])
def test_notify_without_running_deployment_conflicts(status: DeploymentStatus) -> None:
    with pytest.raises(ConflictException, match="no deployment in progress"):
        notify_event(status, "SUCCEEDED")


def test_notify_unknown_status() -> None:
    with pytest.raises(ValidationError, match="status must be one of"):
        notify_event(S.IN_PROGRESS, "DONE")


@pytest.mark.parametrize("status", list(S))
def test_recover(status: DeploymentStatus) -> None:
    result = recover(status)
    expected = {
        S.IN_PROGRESS: S.FAILED,
        S.CANCELLING: S.FAILED,
        S.DELETE_IN_PROGRESS: S.DELETE_FAILED,
    }.get(status)
    if expected is None:
        assert result is None
    else:
        assert result == (expected, RECOVERY_MESSAGE)
    assert recover(status, awaiting_callback=True) is None


def test_messages() -> None:
    assert CANCELLED_MESSAGE == "User initiated cancellation."
    assert "server stopped" in RECOVERY_MESSAGE


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(list(Event)), max_size=40))
def test_random_event_sequences_stay_in_the_enum(events: list[Event]) -> None:
    status: DeploymentStatus | None = None
    for event in events:
        try:
            nxt = step(status, event)
        except InvalidTransition:
            continue
        assert isinstance(nxt, DeploymentStatus)
        assert (status, event) in TRANSITIONS
        if status is not None and is_final(status) and event not in (Event.DEPLOY, Event.DELETE):
            pytest.fail(f"final {status} moved on {event}")
        status = nxt
        # After recovery nothing is left running.
        rec = recover(status)
        assert rec is None or not is_busy(rec[0])


# -- services ----------------------------------------------------------------------------------

V = ServiceStatus
SETTLED = {
    V.ACTIVE,
    V.UPDATE_FAILED,
    V.UPDATE_FAILED_CLEANUP_COMPLETE,
    V.UPDATE_FAILED_CLEANUP_FAILED,
    V.UPDATE_COMPLETE_CLEANUP_FAILED,
}
BUSY = {
    V.CREATE_IN_PROGRESS,
    V.CREATE_FAILED_CLEANUP_IN_PROGRESS,
    V.UPDATE_IN_PROGRESS,
    V.UPDATE_FAILED_CLEANUP_IN_PROGRESS,
    V.DELETE_IN_PROGRESS,
}


def test_service_lifecycles() -> None:
    s = service_step(None, ServiceEvent.CREATE)
    assert s is V.CREATE_IN_PROGRESS
    assert service_step(s, ServiceEvent.SUCCEED) is V.ACTIVE
    assert service_step(s, ServiceEvent.FAIL) is V.CREATE_FAILED
    c = service_step(s, ServiceEvent.CLEANUP)
    assert c is V.CREATE_FAILED_CLEANUP_IN_PROGRESS
    assert service_step(c, ServiceEvent.CLEANUP_SUCCEED) is V.CREATE_FAILED_CLEANUP_COMPLETE
    assert service_step(c, ServiceEvent.CLEANUP_FAIL) is V.CREATE_FAILED_CLEANUP_FAILED
    u = service_step(V.ACTIVE, ServiceEvent.UPDATE)
    assert u is V.UPDATE_IN_PROGRESS
    assert service_step(u, ServiceEvent.SUCCEED) is V.ACTIVE
    assert service_step(u, ServiceEvent.FAIL) is V.UPDATE_FAILED
    assert service_step(u, ServiceEvent.CLEANUP_FAIL) is V.UPDATE_COMPLETE_CLEANUP_FAILED
    uc = service_step(u, ServiceEvent.CLEANUP)
    assert service_step(uc, ServiceEvent.CLEANUP_SUCCEED) is V.UPDATE_FAILED_CLEANUP_COMPLETE
    assert service_step(uc, ServiceEvent.CLEANUP_FAIL) is V.UPDATE_FAILED_CLEANUP_FAILED
    d = service_step(V.ACTIVE, ServiceEvent.DELETE)
    assert d is V.DELETE_IN_PROGRESS
    assert service_step(d, ServiceEvent.FAIL) is V.DELETE_FAILED
    assert service_step(V.DELETE_FAILED, ServiceEvent.DELETE) is V.DELETE_IN_PROGRESS
    with pytest.raises(InvalidTransition):
        service_step(V.CREATE_FAILED, ServiceEvent.UPDATE)


@pytest.mark.parametrize(("status", "event"), list(itertools.product([None, *V], ServiceEvent)))
def test_every_service_pair_is_defined_or_refused(
    status: ServiceStatus | None, event: ServiceEvent
) -> None:
    try:
        nxt = service_step(status, event)
    except InvalidTransition:
        assert (status, event) not in SERVICE_TRANSITIONS
        return
    assert SERVICE_TRANSITIONS[(status, event)] is nxt
    if event is ServiceEvent.UPDATE:
        assert status in SETTLED
    if event is ServiceEvent.RECOVER:
        assert status in BUSY and nxt not in BUSY


@pytest.mark.parametrize("status", list(V))
def test_service_guards_and_recovery(status: ServiceStatus) -> None:
    if status in BUSY:
        with pytest.raises(
            ConflictException, match=f"Cannot update service s: its status is {status}"
        ):
            check_service_change("s", status, "update")
        assert recover_service(status) is not None
    else:
        assert recover_service(status) is None
        if status in SETTLED:
            check_service_change("s", status, "update")
        else:
            with pytest.raises(ConflictException, match="delete and recreate"):
                check_service_change("s", status, "update")
    if status in BUSY - {V.DELETE_IN_PROGRESS}:
        with pytest.raises(ConflictException, match="Cannot delete service s"):
            check_service_change("s", status, "delete")
    else:
        check_service_change("s", status, "delete")
        if status is not V.DELETE_IN_PROGRESS:
            assert service_step(status, ServiceEvent.DELETE) is V.DELETE_IN_PROGRESS


# -- versions ----------------------------------------------------------------------------------


def v(major: int, minor: int, status: str = "PUBLISHED") -> VersionInfo:
    return VersionInfo(VersionRef(major, minor), status)


VERSIONS = [
    v(1, 0),
    v(1, 1),
    v(1, 2, "DRAFT"),
    v(1, 10),
    v(2, 0, "REGISTRATION_FAILED"),
    v(2, 1),
    v(3, 0, "DRAFT"),
]
CURRENT = VersionRef(1, 0)


def test_version_ordering_is_numeric() -> None:
    assert VersionRef(1, 10) > VersionRef(1, 9)
    assert str(VersionRef(1, 10)) == "1.10"
    assert recommended_minor(1, VERSIONS) == VersionRef(1, 10)
    assert recommended_minor(3, VERSIONS) is None


def test_create_version() -> None:
    assert create_version("1", None, VERSIONS) == VersionRef(1, 10)
    assert create_version("1", "1", VERSIONS) == VersionRef(1, 1)
    assert create_version("1", "2", VERSIONS, allow_draft=True) == VersionRef(1, 2)
    with pytest.raises(ValidationError, match=r"1.2 has status DRAFT"):
        create_version("1", "2", VERSIONS)
    with pytest.raises(ValidationError, match=r"2.0 has status REGISTRATION_FAILED"):
        create_version("2", "0", VERSIONS, allow_draft=True)
    with pytest.raises(ResourceNotFoundException, match="major version 9 does not exist"):
        create_version("9", None, VERSIONS)
    with pytest.raises(ResourceNotFoundException, match=r"version 1.7 does not exist"):
        create_version("1", "7", VERSIONS)
    with pytest.raises(ValidationError, match="major version 3 has no published minor"):
        create_version("3", None, VERSIONS)
    with pytest.raises(ValidationError, match="templateMajorVersion must be a version number"):
        create_version("01", None, VERSIONS)


@pytest.mark.parametrize(
    ("kind", "major", "minor", "expected"),
    [
        (DeploymentType.NONE, None, None, None),
        (DeploymentType.CURRENT_VERSION, None, None, CURRENT),
        (DeploymentType.CURRENT_VERSION, "1", "0", CURRENT),
        (DeploymentType.MINOR_VERSION, None, None, VersionRef(1, 10)),
        (DeploymentType.MINOR_VERSION, "1", None, VersionRef(1, 10)),
        (DeploymentType.MINOR_VERSION, None, "1", VersionRef(1, 1)),
        (DeploymentType.MAJOR_VERSION, None, None, VersionRef(2, 1)),
        (DeploymentType.MAJOR_VERSION, "2", None, VersionRef(2, 1)),
        (DeploymentType.MAJOR_VERSION, "2", "1", VersionRef(2, 1)),
    ],
)
def test_target_version(
    kind: DeploymentType, major: str | None, minor: str | None, expected: VersionRef | None
) -> None:
    assert target_version(kind, CURRENT, major, minor, VERSIONS) == expected


@pytest.mark.parametrize(
    ("kind", "major", "minor", "error", "match"),
    [
        (
            DeploymentType.NONE,
            "1",
            None,
            ValidationError,
            "must not be given with deploymentType NONE",
        ),
        (DeploymentType.CURRENT_VERSION, "1", "1", ValidationError, "CURRENT_VERSION"),
        (DeploymentType.MINOR_VERSION, "2", None, ValidationError, "current major version 1"),
        (DeploymentType.MINOR_VERSION, None, "2", ValidationError, "DRAFT"),
        (DeploymentType.MINOR_VERSION, None, "5", ResourceNotFoundException, "1.5 does not exist"),
        (DeploymentType.MAJOR_VERSION, "1", None, ValidationError, "must be higher than"),
        (DeploymentType.MAJOR_VERSION, "3", None, ValidationError, "no published minor"),
        (DeploymentType.MAJOR_VERSION, "4", None, ResourceNotFoundException, "4 does not exist"),
        (
            DeploymentType.MAJOR_VERSION,
            None,
            "1",
            ValidationError,
            "templateMajorVersion is required",
        ),
        (DeploymentType.MINOR_VERSION, None, "x", ValidationError, "templateMinorVersion must be"),
    ],
)
def test_target_version_errors(
    kind: DeploymentType,
    major: str | None,
    minor: str | None,
    error: type[Exception],
    match: str,
) -> None:
    with pytest.raises(error, match=match):
        target_version(kind, CURRENT, major, minor, VERSIONS)


def test_major_version_with_nothing_published_higher() -> None:
    with pytest.raises(ValidationError, match="must be higher than"):
        target_version(DeploymentType.MAJOR_VERSION, VersionRef(2, 1), None, None, VERSIONS)
    with pytest.raises(ValidationError, match="templateMajorVersion is required"):
        target_version(DeploymentType.MAJOR_VERSION, CURRENT, None, None, [v(1, 0, "DRAFT")])


def test_minor_version_draft_allowed_by_switch() -> None:
    got = target_version(
        DeploymentType.MINOR_VERSION, CURRENT, None, "2", VERSIONS, allow_draft=True
    )
    assert got == VersionRef(1, 2)
