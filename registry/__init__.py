"""The seizure registry: create_app is the composition root; importing this package does nothing."""
from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from flask import Flask

from .config import Config

if TYPE_CHECKING:
    from .db import Database
    from .startup import LedgerSeen

__version__ = "0.3.0"


def create_app(config: type[Config] | dict[str, Any] | None = None, *, upgrade: bool = False) -> Flask:
    """Build the app: configuration, database, ledger key, API, request logging, health check.

    The database must answer at the newest schema (`upgrade=True` brings it there first, as `serve` and
    `db upgrade` do); anything that stops the start is a `startup.StartupError` saying how to fix it."""
    from . import api, db, metrics, observability
    from .signing import load_signer
    from .startup import database_url, refuse_missing_file

    app = configured_app(config)
    if not upgrade:
        refuse_missing_file(database_url(app.config["DATABASE_URL"]))  # rather than leave an empty file behind
    database = db.init_app(app, app.config["DATABASE_URL"])
    try:
        ledger = _open_database(database, upgrade)
        load_signer(app, app.config["LEDGER_KEY_FILE"], app.config["LEDGER_ORIGIN"], ledger)
        if upgrade:
            _refresh_standing(app, database)
    except BaseException:
        database.dispose()
        raise
    observability.init_app(app)  # first, so every later hook and error has a request id
    metrics.init_app(app)  # before the API, so its count comes after the API's last word on the response
    api.init_app(app)
    return app


def configured_app(config: type[Config] | dict[str, Any] | None = None) -> Flask:
    """The Flask app with its settings, its database URL and file folders checked, the instance folder made 0700."""
    from . import logs, proxies
    from .config import ConfigurationError
    from .startup import StartupError, database_url, existing_folder, private_folder

    app = Flask(__name__, instance_relative_config=True)
    app.config.from_object(Config)
    if isinstance(config, dict):
        app.config.update(config)
    elif config is not None:
        app.config.from_object(config)
    logs.init_app(app)
    try:
        proxies.init_app(app)
    except ConfigurationError as error:
        raise StartupError("bad_setting", str(error)) from None
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    if not app.config.get("DATABASE_URL") or not app.config.get("LEDGER_KEY_FILE"):
        private_folder(app.instance_path)
    default_url = f"sqlite:///{os.path.join(app.instance_path, 'registry.db')}"
    app.config["DATABASE_URL"] = app.config.get("DATABASE_URL") or default_url
    database_url(app.config["DATABASE_URL"])
    app.config["LEDGER_KEY_FILE"] = app.config.get("LEDGER_KEY_FILE") or os.path.join(app.instance_path, "ledger.key")
    existing_folder(app.config["LEDGER_KEY_FILE"], "ledger key file", "REGISTRY_LEDGER_KEY_FILE")
    return app


def _refresh_standing(app: Flask, database: Database) -> None:
    """Each lot's status bound that a migration or an earlier version left unknown or stale, computed with
    this version's rules (services.standing)."""
    import logging

    from .services.standing import refresh

    session = database.sessions()
    try:
        with app.app_context():
            stored = refresh(session)
    finally:
        session.close()
    if stored:
        logging.getLogger("registry.upgrade").info("stored the status bound of %d lot(s)", stored)


def _open_database(database: Database, upgrade: bool) -> LedgerSeen:
    """Reach the database, upgrade it if asked, check its schema and read what its ledger holds."""
    from sqlalchemy.exc import DBAPIError

    from . import migrate, startup

    url = startup.database_url(database.url)
    try:
        if upgrade:
            migrate.upgrade(database.url)
        with database.engine.connect() as connection:
            startup.check_schema(connection, url)
            return startup.read_ledger(connection)
    except DBAPIError as error:
        raise startup.unreachable(error, url) from None
