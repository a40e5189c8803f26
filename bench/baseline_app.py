"""The baselines: the registry's own app (create_app: same config, hooks, engine and session per request)
with two bare endpoints added, served by gunicorn exactly like the service.

- GET /bench/select/<id>?pad=N: one SELECT of a lot row by primary key, returned as JSON padded with N
  bytes so the response is as large as the lot view it is compared with.
- POST /bench/insert: parses the JSON body, one INSERT into `bench_inserts`, COMMIT, returns the row.

Neither authenticates: `identify` only guards /api/v1, which is the point of a bare endpoint.
"""
from __future__ import annotations

import json

from flask import Flask, jsonify, request
from sqlalchemy import BigInteger, Column, Integer, MetaData, Table, Text, create_engine, insert, select

from registry import create_app
from registry.db import get_session
from registry.models import Lot

metadata = MetaData()
bench_inserts = Table("bench_inserts", metadata,
                      Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                             autoincrement=True),
                      Column("body", Text, nullable=False))
LOTS = Lot.__table__


def create_tables(url: str) -> None:
    """The baseline's own table, outside the registry's schema (the bench owns the database)."""
    engine = create_engine(url)
    metadata.create_all(engine)
    engine.dispose()


def add_baselines(app: Flask) -> Flask:
    @app.get("/bench/select/<int:lot_id>")
    def bench_select(lot_id: int):
        row = get_session().execute(select(LOTS).where(LOTS.c.id == lot_id)).mappings().one()
        body = dict(row)
        pad = request.args.get("pad", 0, type=int)
        if pad > 0:
            body["pad"] = "x" * pad
        return jsonify(body)

    @app.post("/bench/insert")
    def bench_insert():
        payload = request.get_json()
        session = get_session()
        result = session.execute(insert(bench_inserts).values(body=json.dumps(payload, ensure_ascii=False)))
        session.commit()
        return jsonify({"id": result.inserted_primary_key[0], **payload}), 201

    return app


def baseline_app() -> Flask:
    """gunicorn's app factory (`bench.baseline_app:baseline_app()`): made in the worker, never at import, since
    the app checks its database when it is made and the bench imports this module before that exists."""
    return add_baselines(create_app())
