"""Units: the authorities with accounts. Only the operator (admin) creates and changes them."""
from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import RAISE

from ..db import get_session
from ..services import units
from .auth import READERS, allow, current_unit
from .common import perform
from .schemas import UnitCreated, UnitIn, UnitList, UnitListArgs, UnitOut, UnitPatch

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
                                   "parent_code": issued.unit.parent_code, "active": issued.unit.active,
                                   "token": issued.token,
                                   "token_id": issued.token_id}, UnitCreated,
                   remember=lambda body: {**body, "token": None})


@blp.get("")
@allow(*READERS)
@blp.arguments(UnitListArgs(), location="query", unknown=RAISE)
@blp.response(200, UnitList)
def list_units(args):
    """Units in code order: all, those directly under `parent`, or those of one `kind`."""
    return {"items": units.list_units(get_session(), args.get("parent"), args.get("kind")), "next": None}


@blp.get("/<string:code>")
@allow(*READERS)
@blp.response(200, UnitOut)
def get_unit(code):
    """One unit by its code."""
    return units.get_unit(get_session(), code)


@blp.patch("/<string:code>")
@allow("admin")
@blp.arguments(UnitPatch())
@blp.response(200, UnitOut)
def update_unit(args, code):
    """Rename a unit, move it under another parent (null: none), deactivate or reactivate it.

    Each change is one `unit.updated` ledger entry naming the fields that changed. A parent is of the unit's
    own kind (`parent_kind_mismatch`) and never the unit itself or below it (`parent_cycle`). A deactivated
    unit's tokens are refused at once, in every worker; its cases and history stay readable, and an admin
    can reactivate it (its tokens work again). A request that changes nothing is `unit_unchanged`.
    """
    session = get_session()
    return perform(lambda idem: units.update_unit(session, current_unit().code, code, args, idem),
                   lambda unit: unit, UnitOut, status=200)
