"""GetResourcesSummary's pure rules: staleness against the recommended version, and which
members each count carries (the model's documentation of CountsSummary)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from hadron.proton.deployments import VersionInfo, VersionRef
from hadron.proton.summary import (
    Deployed,
    Staleness,
    counts_summary,
    recommended_version,
    resource_counts,
    staleness,
)

P, D = "PUBLISHED", "DRAFT"


def _versions(*items: tuple[int, int, str]) -> list[VersionInfo]:
    return [VersionInfo(VersionRef(a, b), s) for a, b, s in items]


VERSIONS = _versions((1, 0, P), (1, 1, P), (1, 2, D), (2, 0, P), (2, 1, P), (3, 0, D))


def test_recommended_is_the_highest_published_major_and_its_highest_minor() -> None:
    assert recommended_version(VERSIONS) == VersionRef(2, 1)
    assert recommended_version(_versions((1, 0, D))) is None


def test_staleness_rows() -> None:
    assert staleness(2, 1, VERSIONS) is Staleness.UP_TO_DATE
    assert staleness(2, 0, VERSIONS) is Staleness.BEHIND_MINOR
    # Behind the major wins over behind a minor of the old major.
    assert staleness(1, 0, VERSIONS) is Staleness.BEHIND_MAJOR
    assert staleness(1, 1, VERSIONS) is Staleness.BEHIND_MAJOR
    # A newer, unpublished major (explicitly deployed draft) is not behind.
    assert staleness(3, 0, VERSIONS) is Staleness.UP_TO_DATE
    # Nothing published: nothing to be behind.
    assert staleness(1, 0, _versions((1, 0, D))) is Staleness.UP_TO_DATE
    assert staleness(1, 0, []) is Staleness.UP_TO_DATE


def test_members_per_detail() -> None:
    rows = [
        Deployed("t", 2, 1, "SUCCEEDED"),
        Deployed("t", 2, 0, "FAILED"),
        Deployed("t", 1, 1, "DELETE_FAILED"),
        Deployed("t", 1, 0, "IN_PROGRESS"),
    ]
    versions = {"t": VERSIONS}
    assert resource_counts(rows, versions, detail="total") == {"total": 4}
    assert resource_counts(rows, versions, detail="failed") == {"total": 4, "failed": 2}
    assert resource_counts(rows, versions, detail="staleness") == {
        "total": 4,
        "failed": 2,
        "upToDate": 1,
        "behindMinor": 1,
        "behindMajor": 2,
    }


def test_service_statuses_that_count_as_failed() -> None:
    statuses = [
        "ACTIVE",
        "CREATE_FAILED",
        "UPDATE_FAILED_CLEANUP_COMPLETE",
        "UPDATE_COMPLETE_CLEANUP_FAILED",
        "DELETE_FAILED",
        "CREATE_IN_PROGRESS",
    ]
    rows = [Deployed("t", 2, 1, s) for s in statuses]
    assert resource_counts(rows, {"t": VERSIONS}, detail="failed")["failed"] == 4


def test_an_empty_account() -> None:
    assert counts_summary(
        templates={}, environments=[], environment_versions={}, service_versions={}
    ) == {
        "environmentTemplates": {"total": 0},
        "serviceTemplates": {"total": 0},
        "environments": {"total": 0},
        "services": {"total": 0, "failed": 0, "upToDate": 0, "behindMajor": 0, "behindMinor": 0},
        "serviceInstances": {
            "total": 0, "failed": 0, "upToDate": 0, "behindMajor": 0, "behindMinor": 0,
        },
        "pipelines": {"total": 0, "failed": 0, "upToDate": 0, "behindMajor": 0, "behindMinor": 0},
        "components": {"total": 0, "failed": 0},
    }  # fmt: skip


_version = st.tuples(st.integers(1, 4), st.integers(0, 4), st.sampled_from([P, D]))


@given(st.lists(_version, max_size=12), st.lists(st.tuples(st.integers(1, 4),
       st.integers(0, 4)), max_size=12))  # fmt: skip
def test_staleness_counts_add_up(
    versions: list[tuple[int, int, str]], deployed: list[tuple[int, int]]
) -> None:
    infos = _versions(*versions)
    rows = [Deployed("t", a, b, "SUCCEEDED") for a, b in deployed]
    counts = resource_counts(rows, {"t": infos}, detail="staleness")
    assert counts["upToDate"] + counts["behindMajor"] + counts["behindMinor"] == len(rows)
    recommended = recommended_version(infos)
    for a, b in deployed:
        s = staleness(a, b, infos)
        if recommended is not None and (a, b) >= (recommended.major, recommended.minor):
            assert s is Staleness.UP_TO_DATE
        if s is Staleness.BEHIND_MAJOR:
            assert recommended is not None and a < recommended.major
