"""The HTTP API: one blueprint per resource, errors in one place, docs served from the package."""
from __future__ import annotations

from flask import Flask
from flask_smorest import Api

from . import cases, errors, executions, ledger, lots, notifications, seizures, units
from .auth import identify, no_control_in_url, no_stray_query, settle_unconfirmed
from .docs import register_docs
from .routing import IdConverter, id_schema
from .schemas import ProblemOut

BLUEPRINTS = (units.blp, lots.blp, cases.blp, seizures.blp, executions.blp, notifications.blp, ledger.blp)


class RegistryApi(Api):
    """Documents every error as the problem+json the service really answers with."""

    ERROR_SCHEMA = ProblemOut

    def _register_responses(self) -> None:
        self.DEFAULT_RESPONSE_CONTENT_TYPE, saved = "application/problem+json", self.DEFAULT_RESPONSE_CONTENT_TYPE
        try:
            super()._register_responses()
        finally:
            self.DEFAULT_RESPONSE_CONTENT_TYPE = saved


def init_app(app: Flask) -> Api:
    app.config.setdefault("API_SPEC_OPTIONS", {
        "info": {"description": "The shared record of who holds which seizure on which lot, in rank order, "
                                "with a signed, append-only ledger. Errors are RFC 9457 problem+json."},
        "security": [{"bearer": []}],
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    })
    app.url_map.converters["id"] = IdConverter
    api = RegistryApi(app)
    api.register_converter(IdConverter, id_schema)
    for blueprint in BLUEPRINTS:
        api.register_blueprint(blueprint)
    app.before_request(identify)  # first: a request without a valid token learns nothing else (SPEC §2)
    app.before_request(no_control_in_url)
    app.before_request(no_stray_query)
    app.after_request(settle_unconfirmed)
    errors.register(app)
    register_docs(app)
    return api
