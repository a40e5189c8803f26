"""Cases: open, read, transfer who acts for them, convert preservation to execution."""
from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import RAISE

from ..db import get_session
from ..services import cases as case_service
from ..services.lots import decode_cursor, encode_cursor
from ..services.views import case_dict, case_view
from .auth import READERS, allow, current_unit
from .common import perform
from .schemas import CaseIn, CaseOut, CasePage, CaseSearchArgs, CaseTransferIn, ConvertIn

blp = Blueprint("cases", __name__, url_prefix="/api/v1/cases", description="Cases and who acts for them")


def _present(case):
    return case_dict(get_session(), case)


@blp.post("")
@allow("court", "police")
@blp.arguments(CaseIn())
@blp.response(201, CaseOut)
def open_case(args):
    """Open a case: courts open preservation and execution cases, police criminal ones."""
    session = get_session()
    return perform(lambda idem: case_service.open_case(session, current_unit().code, args, idem), _present,
                   CaseOut)


@blp.get("")
@allow(*READERS)
@blp.arguments(CaseSearchArgs(), location="query", unknown=RAISE)
@blp.response(200, CasePage)
def find_cases(args):
    """Cases in id order, or the one with a given number (案号)."""
    session = get_session()
    found = case_service.find_cases(session, args.get("number"), decode_cursor(args.get("cursor")), args["limit"])
    page = found[:args["limit"]]
    return {"items": [case_dict(session, c) for c in page],
            "next": encode_cursor(page[-1].id) if len(found) > len(page) else None}


@blp.get("/<id:case_id>")
@allow(*READERS)
@blp.response(200, CaseOut)
def get_case(case_id):
    """One case with its acting and assisting units and every transfer."""
    return case_view(get_session(), case_id)


@blp.post("/<id:case_id>/transfers")
@allow("court", "police")
@blp.arguments(CaseTransferIn())
@blp.response(201, CaseOut)
def transfer_case(args, case_id):
    """提级 elevate / 指令 designate / 协同 assist (a superior court), or takeover (the acting police unit)."""
    session = get_session()
    return perform(lambda idem: case_service.transfer_case(session, current_unit().code, case_id, args["mode"],
                                                           args["to_unit"], args["document_no"], idem),
                   _present, CaseOut)


@blp.post("/<id:case_id>/convert")
@allow("court")
@blp.arguments(ConvertIn())
@blp.response(201, CaseOut)
def convert_case(args, case_id):
    """Convert a preservation case to execution under a new number, keeping seizures, ranks and terms."""
    session = get_session()
    return perform(lambda idem: case_service.convert_case(session, current_unit().code, case_id, args["number"],
                                                          args["document_no"], idem), _present, CaseOut)
