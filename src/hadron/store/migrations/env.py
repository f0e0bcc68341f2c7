"""Alembic environment for Hadron's packaged migrations.

Layer 3 (store, edge). Run by ``hadron.store.migrate.upgrade``, which passes an open connection
(already inside a transaction) in ``config.attributes["connection"]``. Also usable from the
``alembic`` command line with ``-x url=sqlite:///path.db`` for writing new revisions.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine

from hadron.store import schema_ec2, schema_proton
from hadron.store.schema import metadata

# The EC2 and Proton tables register on ``metadata`` when their modules are imported.
_TABLE_MODULES = (schema_ec2, schema_proton)


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        # SQLite can only ALTER a little; batch mode rebuilds tables instead.
        render_as_batch=connection.dialect.name == "sqlite",
        transactional_ddl=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _main() -> None:
    config = context.config
    connection = config.attributes.get("connection")
    if isinstance(connection, Connection):
        _run(connection)
        return
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option(
        "sqlalchemy.url"
    )
    if not url:
        raise RuntimeError("no database: pass -x url=... or run through hadron.store.migrate")
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            _run(conn)
    finally:
        engine.dispose()


_main()
