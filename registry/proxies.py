"""Which client sent a request and which host it named, believing only the proxies the operator trusts."""
from __future__ import annotations

import ipaddress
from typing import Any, Callable, Iterable

from flask import Flask, request
from werkzeug.exceptions import SecurityError
from werkzeug.middleware.proxy_fix import ProxyFix

from .config import Networks, trusted_hosts, trusted_proxies


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _trusted(text: str, networks: Networks) -> bool:
    address = _address(text)
    return address is not None and any(address in network for network in networks)


def client_address(peer: str, forwarded: str, networks: Networks) -> str:
    """The client behind trusted proxies: X-Forwarded-For walked from the right past trusted addresses.

    Each trusted proxy appends the address it was connected from, so the first untrusted address from the
    right is the one a trusted proxy saw; anything further left was written by the client and is not
    believed. A peer outside the networks is the client itself, whatever the header says.
    """
    client = peer
    if not _trusted(peer, networks):
        return client
    for hop in reversed([h.strip() for h in forwarded.split(",")]):
        if _address(hop) is None:  # not an address a proxy writes: stop at the last trusted hop
            break
        client = hop
        if not _trusted(hop, networks):
            break
    return client


class TrustedNetworks:
    """WSGI middleware: REMOTE_ADDR becomes the client named by trusted proxies (`client_address`)."""

    def __init__(self, app: Callable[..., Iterable[bytes]], networks: Networks):
        self.app, self.networks = app, networks

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        peer = environ.get("REMOTE_ADDR", "")
        environ["REMOTE_ADDR"] = client_address(peer, environ.get("HTTP_X_FORWARDED_FOR", ""), self.networks)
        return self.app(environ, start_response)


def refuse_untrusted_host() -> None:
    """before_request, first: a Host outside REGISTRY_TRUSTED_HOSTS is refused (400) before anything else."""
    if isinstance(request.routing_exception, SecurityError):
        raise request.routing_exception


def init_app(app: Flask) -> None:
    """Read forwarded addresses only from trusted proxies, and answer only for trusted host names.

    A hop count trusts X-Forwarded-For and X-Forwarded-Proto from that many proxies (werkzeug's ProxyFix);
    X-Forwarded-Host is never trusted, so the Host checked against the trusted names is the one the
    nearest proxy sent.
    """
    proxies = trusted_proxies(app.config.get("TRUSTED_PROXIES"))
    if isinstance(proxies, int):
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)  # type: ignore[method-assign]
    elif proxies:
        app.wsgi_app = TrustedNetworks(app.wsgi_app, proxies)  # type: ignore[method-assign]
    app.config["TRUSTED_HOSTS"] = trusted_hosts(app.config.get("TRUSTED_HOSTS"))
    app.before_request(refuse_untrusted_host)
