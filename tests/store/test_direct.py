"""Direct reads (``hadron.store.direct``) return exactly what the engine returns, see one
snapshot per block, fall back to the engine for databases they cannot open, and close."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, select

from hadron.keys import MasterKeyRing
from hadron.store import SqlStore
from hadron.store.direct import DirectReads
from hadron.store.proton_environments import _ENVIRONMENT_TEMPLATE
from hadron.store.proton_services import _PIPELINE_ROW, _SERVICE, _SERVICE_TEMPLATE
from hadron.store.proton_tags import _tags_of
from hadron.store.schema_proton import proton_services

from .test_proton_services import _create, world  # noqa: F401 - the fixture
from .test_proton_templates import REGION

# Every statement that goes through DirectReads, with the parameters it is read with.
STATEMENTS = (_SERVICE, _PIPELINE_ROW, _SERVICE_TEMPLATE)


def _engine_rows(store: SqlStore, params: dict[str, Any]) -> list[Any]:
    with store.engine.connect() as conn:
        return [conn.execute(stmt, params).first() for stmt in STATEMENTS]


def test_direct_rows_equal_the_engine_rows(store: SqlStore, world: str) -> None:  # noqa: F811
    _create(store, world)
    params = {"account": world, "region": REGION, "name": "s1"}
    direct = DirectReads(store.engine)
    try:
        with direct.snapshot() as reader:
            got = [reader.first(stmt, params) for stmt in STATEMENTS]
    finally:
        direct.close()
    expected = _engine_rows(store, params)
    assert all(row is not None for row in expected)
    for mine, theirs in zip(got, expected, strict=True):
        assert tuple(mine) == tuple(theirs)  # the same values, types (aware datetimes) included
        assert mine._fields == tuple(theirs._fields)
        assert [type(v) for v in mine] == [type(v) for v in theirs]
    assert got[0].created_at.tzinfo is not None
    # Outside a snapshot: one statement on its own.
    assert store._direct.first(_SERVICE_TEMPLATE, params).template_name == "svc"
    env = {"account": world, "region": REGION, "name": "e1"}
    with store.engine.connect() as conn:
        expected_env = conn.execute(_ENVIRONMENT_TEMPLATE, env).first()
    assert expected_env is not None
    assert tuple(store._direct.first(_ENVIRONMENT_TEMPLATE, env)) == tuple(expected_env)
    assert store.environment_template(world, REGION, "e1") == expected_env.template_name
    assert store.environment_template(world, REGION, "nope") is None
    assert store.service_template(world, REGION, "s1") == "svc"
    assert store.service_template(world, REGION, "nope") is None
    missing = {"account": world, "region": REGION, "name": "nope"}
    with store._direct.snapshot() as reader:
        assert reader.first(_SERVICE, missing) is None


def test_a_snapshot_does_not_see_a_later_commit(store: SqlStore, world: str) -> None:  # noqa: F811
    _create(store, world)
    params = {"account": world, "region": REGION, "name": "s1"}
    direct = DirectReads(store.engine)
    try:
        with direct.snapshot() as reader:
            before = reader.first(_SERVICE, params)
            with store.engine.begin() as conn:  # another connection commits meanwhile
                conn.execute(
                    proton_services.update()
                    .where(proton_services.c.name == "s1")
                    .values(description="changed")
                )
            assert reader.first(_SERVICE, params).description == before.description
        with direct.snapshot() as reader:
            assert reader.first(_SERVICE, params).description == "changed"
    finally:
        direct.close()


def test_databases_it_cannot_open_fall_back_to_the_engine(tmp_path: Path) -> None:
    engine = create_engine("sqlite://")  # in memory: only the engine's connection has it
    proton_services.metadata.create_all(engine, tables=[proton_services])
    direct = DirectReads(engine)
    stmt = select(proton_services).where(proton_services.c.name == "x")
    with direct.snapshot() as reader:
        assert reader.first(stmt, {}) is None
    direct.close()
    engine.dispose()


def test_close_then_read_again(store: SqlStore, world: str, ring: MasterKeyRing) -> None:  # noqa: F811
    _create(store, world)
    assert store.service_view(world, REGION, "s1") is not None
    store.close()
    # A closed store's direct connections are gone; a new read opens a fresh one.
    assert store.service_view(world, REGION, "s1") is not None
    store.close()


def test_literal_values_in_a_statement_are_bound(store: SqlStore, world: str) -> None:  # noqa: F811
    _create(store, world)
    stmt = select(proton_services.c.name, proton_services.c.created_at).where(
        proton_services.c.name == "s1"
    )
    direct = DirectReads(store.engine)
    try:
        with direct.snapshot() as reader:
            row = reader.first(stmt, {})
    finally:
        direct.close()
    with store.engine.connect() as conn:
        expected = conn.execute(stmt).first()
    assert expected is not None
    assert tuple(row) == tuple(expected)


def test_all_rows_equal_the_engine_rows(store: SqlStore, world: str) -> None:  # noqa: F811
    _create(store, world)
    service = f"arn:aws:proton:{REGION}:{world}:service/s1"
    instance = f"{service}/service-instance/a"
    stmt = _tags_of(2)
    params = {"account": world, "arn0": service, "arn1": instance}
    with store.engine.connect() as conn:
        expected = conn.execute(stmt, params).all()
    assert len(expected) > 2  # both resources are tagged (team=blue, aws:proton:*)
    direct = DirectReads(store.engine)
    try:
        with direct.snapshot() as reader:
            in_snapshot = reader.all(stmt, params)
        alone = direct.all(stmt, params)
    finally:
        direct.close()
    for got in (in_snapshot, alone):
        assert [tuple(r) for r in got] == [tuple(r) for r in expected]
        assert got[0]._fields == tuple(expected[0]._fields)
    assert direct.all(stmt, {**params, "account": "000000000000"}) == []
    direct.close()


def test_all_falls_back_to_the_engine(tmp_path: Path) -> None:
    engine = create_engine("sqlite://")
    proton_services.metadata.create_all(engine, tables=[proton_services])
    direct = DirectReads(engine)
    stmt = select(proton_services.c.name).where(proton_services.c.name == "x")
    with direct.snapshot() as reader:
        assert reader.all(stmt, {}) == []
    assert direct.all(stmt, {}) == []
    direct.close()
    engine.dispose()
