"""The unit that registered each lot, for lots stored without one: by a release before lots recorded it, or by
an instance of such a release still serving while the database was upgraded. `db upgrade` runs `fill`.

It is what the ledger's replay gives: the actor of the `lot.registered` entry that made the lot, and for a
split part its parent's."""
from __future__ import annotations

import json

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from ..models import LedgerEntry, Lot

BATCH = 10_000
# Canonical JSON (RFC 8785) has no spaces and escapes every quote inside a string: only a registration's own
# type field holds this text, so every other entry is passed over unparsed.
REGISTERED = b'"type":"lot.registered"'
_BY_ENTRY = text("UPDATE lots SET registered_by = :unit WHERE id = :id AND registered_by IS NULL")
_FROM_PARENT = text(
    "UPDATE lots SET registered_by = (SELECT p.registered_by FROM lots p WHERE p.id = lots.parent_id) "
    "WHERE registered_by IS NULL AND EXISTS "
    "(SELECT 1 FROM lots p WHERE p.id = lots.parent_id AND p.registered_by IS NOT NULL)")


def fill(session: Session) -> int:
    """Give every lot without a registering unit the one its entries give; return how many were given one.

    Only the entries from the earliest such lot's registration on are read (none when every lot has one);
    split parts follow, one generation a statement."""
    since, missing = session.execute(select(func.min(Lot.registered_at), func.count())
                                     .where(Lot.registered_by.is_(None))).one()
    if since is None:
        session.rollback()
        return 0
    connection = session.connection()
    pending: list[dict[str, object]] = []
    entries = connection.execute(select(LedgerEntry.body).where(LedgerEntry.time >= since)
                                 .order_by(LedgerEntry.seq), execution_options={"yield_per": BATCH})
    for body in entries.scalars():
        if REGISTERED in bytes(body):
            entry = json.loads(bytes(body))
            if entry["type"] == "lot.registered":
                pending += [{"unit": entry["actor"], "id": lot["id"]} for lot in entry["data"]["lots"]]
        if len(pending) >= BATCH:
            connection.execute(_BY_ENTRY, pending)
            pending = []
    if pending:
        connection.execute(_BY_ENTRY, pending)
    while connection.execute(_FROM_PARENT).rowcount:
        pass
    left = session.scalar(select(func.count()).where(Lot.registered_by.is_(None)))
    session.commit()
    return missing - left
