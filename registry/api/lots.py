"""Lots: register, search, read as of any instant, split, transfer the disposal right, objections."""
from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import RAISE

from ..db import get_session
from ..services import lots as lot_service
from ..services.tx import read_now
from ..services.views import lot_summaries, lot_view
from ..models import Lot
from .auth import READERS, allow, current_unit, reads_by_statement
from .common import perform
from .schemas import (AsOfArgs, DisposalTransferIn, DisposalTransferOut, LiftIn, LotDetail, LotPage, LotsIn,
                      LotsOut, LotSearchArgs, ObjectionIn, ObjectionOut, RegisteredLots, SplitIn)

blp = Blueprint("lots", __name__, url_prefix="/api/v1", description="Lots of goods and their seizure queues")


def _lots(ids: list[int]) -> dict:
    session = get_session()
    rows = {lot.id: lot for lot in session.query(Lot).filter(Lot.id.in_(ids))}
    return {"lots": lot_summaries(session, [rows[i] for i in ids], read_now(session))}


def _registered(registered: lot_service.Registered) -> dict:
    shown = _lots(registered.ids)["lots"]
    return {"lots": [{**lot, "similar": [{"lot_id": i, "card_no": c} for i, c in registered.similar[lot["id"]]]}
                     for lot in shown]}


@blp.post("/lots")
@allow("court", "police")
@blp.arguments(LotsIn())
@blp.response(201, RegisteredLots)
def register_lots(args):
    """Register up to 1000 lots, all or none; a card number is unique per custodian (409 card_no_taken), and
    a card number one edit from one already there is registered with those lots listed as `similar`."""
    session = get_session()
    return perform(lambda idem: lot_service.register_lots(session, current_unit().code, args["lots"], idem),
                   _registered, RegisteredLots)


@blp.get("/lots")
@allow(*READERS)
@blp.arguments(LotSearchArgs(), location="query", unknown=RAISE)
@blp.response(200, LotPage)
def search_lots(args):
    """Search lots; `q` finds card numbers one typo away; status is judged at request time."""
    session = get_session()
    now = read_now(session)
    fields = ("card_no", "custodian", "owner", "location", "status", "case_id", "q")
    query = lot_service.LotQuery(**{k: args.get(k) for k in fields})
    page, cursor = lot_service.search_lots(session, query, args.get("cursor"), args["limit"], now)
    return {"items": lot_summaries(session, page, now), "next": cursor}


@blp.get("/lots/<id:lot_id>")
@allow(*READERS)
@reads_by_statement
@blp.arguments(AsOfArgs(), location="query", unknown=RAISE)
@blp.response(200, LotDetail)
def get_lot(args, lot_id):
    """The lot, its live queue in rank order, its history and who may dispose, now or `as_of` any instant."""
    return lot_view(get_session(), lot_id, args.get("as_of"))


@blp.post("/lots/<id:lot_id>/split")
@allow("court", "police")
@blp.arguments(SplitIn())
@blp.response(201, LotsOut)
def split_lot(args, lot_id):
    """Split into parts whose weights sum exactly to the lot's; live seizures carry over with their ranks."""
    session = get_session()
    return perform(lambda idem: lot_service.split_lot(session, current_unit().code, lot_id, args["parts"],
                                                      args["document_no"], idem), _lots, LotsOut)


@blp.post("/lots/<id:lot_id>/disposal-transfer")
@allow("court")
@blp.arguments(DisposalTransferIn())
@blp.response(201, DisposalTransferOut)
def transfer_disposal(args, lot_id):
    """移送处分权: the effective holder lets another case dispose of the lot; ranks do not change."""
    session = get_session()
    return perform(lambda idem: lot_service.transfer_disposal(session, current_unit().code, lot_id,
                                                              args["to_case_id"], args["document_no"], idem),
                   lambda row: row, DisposalTransferOut)


@blp.post("/lots/<id:lot_id>/objections")
@allow("court")
@blp.arguments(ObjectionIn())
@blp.response(201, ObjectionOut)
def file_objection(args, lot_id):
    """Record a third party's objection (案外人异议); it blocks disposal until the filing court lifts it."""
    session = get_session()
    return perform(lambda idem: lot_service.file_objection(session, current_unit().code, lot_id,
                                                           args["document_no"], args["claimant"], idem),
                   lambda row: row, ObjectionOut)


@blp.post("/objections/<id:objection_id>/lift")
@allow("court")
@blp.arguments(LiftIn())
@blp.response(200, ObjectionOut)
def lift_objection(args, objection_id):
    """Lift an objection; only the court that filed it may."""
    session = get_session()
    return perform(lambda idem: lot_service.lift_objection(session, current_unit().code, objection_id,
                                                           args["document_no"], idem),
                   lambda row: row, ObjectionOut, status=200)
