"""``proton_resource_tags``: every named resource's tags in one read (``aws:ResourceTag/…``)."""

from __future__ import annotations

import sqlite3

import pytest

from hadron.proton.arns import parse
from hadron.store import SqlStore

from .test_proton_services import _create, world  # noqa: F401 - the fixture
from .test_proton_templates import REGION


def _arns(account: str) -> tuple[str, str, str]:
    service = f"arn:aws:proton:{REGION}:{account}:service/s1"
    return service, f"{service}/service-instance/a", f"{service}/service-instance/b"


def test_tags_of_several_resources_in_one_read(store: SqlStore, world: str) -> None:  # noqa: F811
    _create(store, world)
    service, instance_a, _ = _arns(world)
    ref = parse(instance_a)
    assert ref is not None
    store.tag_proton_resource(ref, [("team", "red"), ("cost", "")])
    missing = f"arn:aws:proton:{REGION}:{world}:service/nope"
    found = store.proton_resource_tags(world, [service, instance_a, missing, service])
    assert set(found) == {service, instance_a}  # untagged or unknown ARNs are left out
    assert found[service] == sorted(store.list_proton_tags(parse(service)))  # type: ignore[arg-type]
    assert ("team", "blue") in found[service]
    assert found[instance_a] == store.list_proton_tags(ref)
    assert ("team", "red") in found[instance_a] and ("cost", "") in found[instance_a]
    assert [k for k, _ in found[instance_a]] == sorted(k for k, _ in found[instance_a])
    managed = dict(found[instance_a])
    assert managed["aws:proton:service"] == service  # AWS-managed tags are there too
    # Another account's view of the same ARNs: nothing (tags belong to the resource's account).
    assert store.proton_resource_tags("000000000000", [service, instance_a]) == {}
    assert store.proton_resource_tags(world, []) == {}


def test_a_tag_change_is_read_at_once(store: SqlStore, world: str) -> None:  # noqa: F811
    _create(store, world)
    service, _, _ = _arns(world)
    ref = parse(service)
    assert ref is not None
    assert dict(store.proton_resource_tags(world, [service])[service])["team"] == "blue"
    store.untag_proton_resource(ref, ["team"])
    assert "team" not in dict(store.proton_resource_tags(world, [service])[service])
    store.tag_proton_resource(ref, [("team", "red")])
    assert dict(store.proton_resource_tags(world, [service])[service])["team"] == "red"


def test_many_arns_are_read_in_chunks(store: SqlStore, world: str) -> None:  # noqa: F811
    _create(store, world)
    service, _, instance_b = _arns(world)
    others = [f"arn:aws:proton:{REGION}:{world}:service/n{i}" for i in range(12)]
    found = store.proton_resource_tags(world, [*others, service, *others, instance_b])
    assert set(found) == {service, instance_b}


def test_a_failed_read_raises(store: SqlStore, world: str) -> None:  # noqa: F811
    _create(store, world)
    arns = _arns(world)[:1]
    assert store.proton_resource_tags(world, arns)  # the direct connection is open
    with store.engine.begin() as conn:  # the read cannot succeed now: it must not answer {}
        conn.exec_driver_sql("DROP TABLE proton_tags")
    with pytest.raises(sqlite3.OperationalError, match="no such table"):
        store.proton_resource_tags(world, arns)
