"""Configuration from the environment (SPEC §7). Nothing here opens files or connections."""
from __future__ import annotations

import ipaddress
import os
import re

Networks = tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]
HOST = re.compile(r"[^\s/\\@*?#]+")


class ConfigurationError(ValueError):
    """A setting the operator must correct before the service starts; the message says which and how."""


class Config:
    DATABASE_URL: str | None = os.environ.get("REGISTRY_DATABASE_URL")
    LEDGER_KEY_FILE: str | None = os.environ.get("REGISTRY_LEDGER_KEY_FILE")
    LEDGER_ORIGIN: str = os.environ.get("REGISTRY_LEDGER_ORIGIN", "seizure-registry.local/ledger")
    MAX_CONTENT_LENGTH = 8 * 1024 * 1024  # 1000 lots with long Chinese names fit easily
    AUTH_FAILURES_PER_MINUTE = int(os.environ.get("REGISTRY_AUTH_FAILURES_PER_MINUTE", "30"))
    TRUSTED_PROXIES: str | None = os.environ.get("REGISTRY_TRUSTED_PROXIES")
    TRUSTED_HOSTS: str | None = os.environ.get("REGISTRY_TRUSTED_HOSTS")  # Flask's list once the app is made
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


def trusted_proxies(setting: str | int | None) -> int | Networks | None:
    """REGISTRY_TRUSTED_PROXIES: a number of proxy hops, or comma-separated networks; None when unset or 0."""
    text = str(setting if setting is not None else "").strip()
    if re.fullmatch(r"[0-9]{1,2}", text):
        return int(text) or None
    networks = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        try:
            networks.append(ipaddress.ip_network(part))
        except ValueError:
            raise ConfigurationError(
                f"REGISTRY_TRUSTED_PROXIES: {part!r} is neither a number of proxy hops (such as 1) nor a network "
                "(such as 10.0.0.0/8, host bits zero); set it to one or the other, or unset it") from None
    return tuple(networks) or None


def trusted_hosts(setting: str | list[str] | None) -> list[str] | None:
    """REGISTRY_TRUSTED_HOSTS: comma-separated host names (a leading dot admits subdomains); None: any host."""
    if setting is None or isinstance(setting, list):
        return setting
    hosts = [h.strip() for h in setting.split(",") if h.strip()]
    for host in hosts:
        if not HOST.fullmatch(host):
            raise ConfigurationError(
                f"REGISTRY_TRUSTED_HOSTS: {host!r} is not a host name; list names such as registry.example.cn, "
                "separated by commas")
    return hosts or None
