"""Alembic environment: the URL comes from the registry's configuration, never from alembic.ini."""
from __future__ import annotations

import os

from alembic import context
from sqlalchemy import text

from registry.db import make_engine
from registry.models import Base

config = context.config


def database_url() -> str:
    url = config.attributes.get("url") or os.environ.get("REGISTRY_DATABASE_URL")
    if not url:
        raise SystemExit("set REGISTRY_DATABASE_URL (or run `seizure-registry db upgrade`)")
    return url


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(database_url())
    with engine.connect() as connection:
        _run(connection)
    engine.dispose()


def _run(connection) -> None:
    is_sqlite = connection.dialect.name == "sqlite"
    context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=is_sqlite,
                      compare_type=True)
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":  # several workers may start at once
            connection.execute(text("SELECT pg_advisory_xact_lock(7310461)"))
        context.run_migrations()


if context.is_offline_mode():
    context.configure(url=database_url(), target_metadata=Base.metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    run_migrations_online()
