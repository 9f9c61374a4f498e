"""Alembic environment, driven from code by :func:`storemon.data.migrate.upgrade`
(no alembic.ini): the caller passes an open connection in
``config.attributes["connection"]``."""

from __future__ import annotations

from alembic import context

from storemon.data.schema import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata)
with context.begin_transaction():
    context.run_migrations()
