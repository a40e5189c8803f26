"""Bring a database to the newest schema with Alembic; the schema is made only by migrations.

The migrations ship inside the package, so an installed wheel upgrades a database from any folder.
"""
from __future__ import annotations

import os

from alembic import command
from alembic.config import Config as AlembicConfig

MIGRATIONS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "migrations")


def alembic_config(url: str) -> AlembicConfig:
    config = AlembicConfig(os.path.join(MIGRATIONS, "alembic.ini"))
    config.set_main_option("script_location", MIGRATIONS)
    config.attributes["url"] = url
    return config


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)
