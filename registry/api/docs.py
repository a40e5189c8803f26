"""Swagger UI assets served by the service itself, so the docs work with no internet access."""
from __future__ import annotations

import swagger_ui_bundle
from flask import Flask, send_from_directory


def register_docs(app: Flask) -> None:
    @app.get("/api/v1/docs/assets/<path:filename>")
    def docs_assets(filename: str):
        return send_from_directory(swagger_ui_bundle.swagger_ui_path, filename, max_age=86400)
