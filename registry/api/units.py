"""Units: the authorities with accounts. Only the operator (admin) creates them."""
from __future__ import annotations

from flask_smorest import Blueprint

from ..db import get_session
from ..services import units
from .auth import READERS, allow, current_unit
from .common import perform
from .schemas import UnitCreated, UnitIn, UnitList, UnitOut  # noqa: F401

blp = Blueprint("units", __name__, url_prefix="/api/v1/units", description="Courts, police units, auditors")


@blp.post("")
@allow("admin")
@blp.arguments(UnitIn())
@blp.response(201, UnitCreated)
def create_unit(args):
    """Create a unit; the response carries its first token, shown once.

    A retry with the same Idempotency-Key answers with `token` null: the secret is never kept in clear.
    Issue another with `seizure-registry tokens issue` if the first answer was lost.
    """
    session = get_session()
    return perform(lambda idem: units.create_unit(session, current_unit().code, args["code"], args["name"],
                                                  args["kind"], args["parent"], idem),
                   lambda issued: {"code": issued.unit.code, "name": issued.unit.name, "kind": issued.unit.kind,
                                   "parent_code": issued.unit.parent_code, "token": issued.token,
                                   "token_id": issued.token_id}, UnitCreated,
                   remember=lambda body: {**body, "token": None})


@blp.get("")
@allow(*READERS)
@blp.response(200, UnitList)
def list_units():
    """All units."""
    return {"items": units.list_units(get_session()), "next": None}


@blp.get("/<string:code>")
@allow(*READERS)
@blp.response(200, UnitOut)
def get_unit(code):
    """One unit by its code."""
    return units.get_unit(get_session(), code)
