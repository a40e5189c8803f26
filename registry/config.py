"""Configuration from the environment (SPEC §7). Nothing here opens files or connections."""
from __future__ import annotations

import os


class Config:
    DATABASE_URL: str | None = os.environ.get("REGISTRY_DATABASE_URL")
    LEDGER_KEY_FILE: str | None = os.environ.get("REGISTRY_LEDGER_KEY_FILE")
    LEDGER_ORIGIN: str = os.environ.get("REGISTRY_LEDGER_ORIGIN", "seizure-registry.local/ledger")
    MAX_CONTENT_LENGTH = 8 * 1024 * 1024  # 1000 lots with long Chinese names fit easily
    AUTH_FAILURES_PER_MINUTE = int(os.environ.get("REGISTRY_AUTH_FAILURES_PER_MINUTE", "30"))
    JSON_AS_ASCII = False
    API_TITLE = "Seizure registry"
    API_VERSION = "1"
    OPENAPI_VERSION = "3.0.3"
    OPENAPI_URL_PREFIX = "/api/v1"
    OPENAPI_JSON_PATH = "openapi.json"
    OPENAPI_SWAGGER_UI_PATH = "docs"
    OPENAPI_SWAGGER_UI_URL = "/api/v1/docs/assets/"
    TESTING = False


class TestingConfig(Config):
    TESTING = True
    AUTH_FAILURES_PER_MINUTE = 1000


class ProductionConfig(Config):
    pass
