"""The seizure registry: create_app is the composition root; importing this package does nothing."""
from __future__ import annotations

import os
from typing import Any

from flask import Flask

from .config import Config

__version__ = "0.2.0"


def create_app(config: type[Config] | dict[str, Any] | None = None) -> Flask:
    """Build the app: configuration, database, ledger key, API, request logging, health check."""
    from . import api, db, logs, metrics, observability, proxies
    from .signing import load_signer

    app = Flask(__name__, instance_relative_config=True)
    app.config.from_object(Config)
    if isinstance(config, dict):
        app.config.update(config)
    elif config is not None:
        app.config.from_object(config)
    logs.init_app(app)
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    os.makedirs(app.instance_path, exist_ok=True)
    url = app.config.get("DATABASE_URL") or f"sqlite:///{os.path.join(app.instance_path, 'registry.db')}"
    app.config["DATABASE_URL"] = url
    db.init_app(app, url)
    key_file = app.config.get("LEDGER_KEY_FILE") or os.path.join(app.instance_path, "ledger.key")
    app.config["LEDGER_KEY_FILE"] = key_file
    load_signer(app, key_file, app.config["LEDGER_ORIGIN"])
    observability.init_app(app)  # first, so every later hook and error has a request id
    proxies.init_app(app)
    metrics.init_app(app)  # before the API, so its count comes after the API's last word on the response
    api.init_app(app)
    return app
