"""Seizures: record, read, renew, release."""
from __future__ import annotations

from flask_smorest import Blueprint

from ..db import get_session
from ..services import seizures as seizure_service
from ..services.tx import read_now
from ..services.views import seizure_view
from .auth import READERS, allow, current_unit
from .common import perform
from .schemas import ReleaseIn, ReleaseOut, RenewIn, SeizeIn, SeizureOut

blp = Blueprint("seizures", __name__, url_prefix="/api/v1/seizures", description="查封 / 扣押 / 冻结")


def _present(seizure_id: int) -> dict:
    session = get_session()
    return seizure_view(session, seizure_id, read_now(session))


@blp.post("")
@allow("court", "police")
@blp.arguments(SeizeIn())
@blp.response(201, SeizureOut)
def seize(args):
    """Seize lots for a case, all or none; per lot the rank (1 = effective, else queued 轮候)."""
    session = get_session()
    return perform(lambda idem: seizure_service.seize(
        session, current_unit().code, args["case_id"], args["kind"], args["document_no"], args["served_at"],
        args["term_end"], args["lot_ids"], idem), _present_new, SeizureOut)


def _present_new(seized: seizure_service.Seized) -> dict:
    """A new seizure as it stood when recorded: the decision says it all, no need to read it back."""
    s = seized.seizure
    return {"id": s.id, "case_id": s.case_id, "unit": s.unit_code, "kind": s.kind, "document_no": s.document_no,
            "served_at": s.served_at, "recorded_at": s.recorded_at, "term_end": s.term_end, "lots": seized.lots}


@blp.get("/<id:seizure_id>")
@allow(*READERS)
@blp.response(200, SeizureOut)
def get_seizure(seizure_id):
    """One seizure with its rank and status on each lot, at request time."""
    return _present(seizure_id)


@blp.post("/<id:seizure_id>/renew")
@allow("court", "police")
@blp.arguments(RenewIn())
@blp.response(200, SeizureOut)
def renew(args, seizure_id):
    """续封 before expiry: a new last day, rank kept; at most one statutory maximum beyond the current one."""
    session = get_session()
    return perform(lambda idem: seizure_service.renew(
        session, current_unit().code, seizure_id, args["term_end"], args["document_no"], args["lot_ids"], idem),
        _present, SeizureOut, status=200)


@blp.post("/<id:seizure_id>/release")
@allow("court", "police")
@blp.arguments(ReleaseIn())
@blp.response(200, ReleaseOut)
def release(args, seizure_id):
    """Release on all (or the listed) lots; returns the seizures promoted by it."""
    session = get_session()
    return perform(lambda idem: seizure_service.release(
        session, current_unit().code, seizure_id, args["document_no"], args["reason"], args["lot_ids"], idem),
        lambda result: {"seizure": _present(result[0]),
                        "promoted": [{"lot_id": lot, "seizure_id": s, "case_id": c} for lot, s, c in result[1]]},
        ReleaseOut, status=200)
