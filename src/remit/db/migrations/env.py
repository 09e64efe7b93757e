"""Alembic environment: runs on the connection remit hands it (see :mod:`remit.db.migrate`)."""

from __future__ import annotations

from alembic import context

from remit.db.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - remit always passes one
    raise RuntimeError("run migrations through `remit migrate` or remit.db.migrate")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    version_table="remit_alembic_version",
)
with context.begin_transaction():
    context.run_migrations()
