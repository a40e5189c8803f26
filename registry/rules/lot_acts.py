"""Acts on a lot itself rather than on one seizure: objections to its disposal and corrections of its
particulars — who may make them, and when. Pure: facts in, None or a DomainError out."""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Iterable, Mapping

from .decisions import _closed, forbid
from .errors import DomainError
from .queue import queue_at
from .values import LotFacts

CORRECTABLE = ("card_no", "weight_t", "commodity", "location", "owner")
"""A lot's particulars a correction may change; its custodian and class of property are not among them."""


def file_objection(lot: LotFacts, actor: str, parents: Mapping[str, str | None], now: datetime) -> None:
    """案外人异议 goes to a court acting for a case with a live seizure on the lot, or to the superior court
    of the one acting for the effective holder. `parents`: the parent of each unit acting for a case of the
    lot."""
    live = queue_at(lot, now).live
    holders = list(dict.fromkeys(lot.cases[v.hold.case_id].acting_unit for v in live))
    superior = parents.get(holders[0]) if holders else None
    if actor in holders or (superior is not None and actor == superior):
        return
    if not holders:
        raise forbid(f"no case holds a live seizure on lot {lot.id}: an objection is filed with a court acting "
                     "for a case that holds one, or with the superior court of the effective holder's")
    may = ", ".join(holders) + (f", or {superior}, superior court of {holders[0]}" if superior else "")
    raise forbid(f"an objection to lot {lot.id} is filed by a court acting for a case with a live seizure on "
                 f"it, or by the superior court of the effective holder's: {may}")


def lift_objection(filed_by: str, filer_parent: str | None, actor: str) -> None:
    """An objection is lifted by the court that filed it or by that court's superior."""
    if actor not in (filed_by, filer_parent):
        superior = f" or {filer_parent}, its superior court," if filer_parent else ""
        raise forbid(f"only {filed_by}, which filed it,{superior} may lift this objection")


def correct(lot: LotFacts, actor: str, admin: bool, changed: Iterable[str], now: datetime) -> None:
    """A lot's particulars are corrected by the unit that registered it, or an admin (`admin`: the actor is
    one), while the lot is neither disposed of nor split, and only where a value changes (`changed`: the
    fields that would). The weight decides what a case may take: while a case another unit acts for holds a
    live seizure on the lot, only an admin corrects it."""
    if actor != lot.registered_by and not admin:
        raise forbid(f"only {lot.registered_by}, which registered lot {lot.id}, or an admin may correct it")
    if (closed := _closed(lot, now)):
        detail = "was split: correct its parts" if closed.code == "lot_split" else \
            "has been disposed of: its record is final"
        raise DomainError(closed.code, f"lot {lot.id} {detail}", [replace(closed, detail=detail)])
    changed = set(changed)
    if not changed:
        raise DomainError("lot_unchanged", f"lot {lot.id} already has these values; nothing was changed")
    if "weight_t" not in changed or admin:
        return
    others = [case for v in queue_at(lot, now).live if (case := lot.cases[v.hold.case_id]).acting_unit != actor]
    if others:
        held = ", ".join(f"case {c.number} ({c.acting_unit})" for c in others)
        raise forbid(f"lot {lot.id} is seized for {held}: only an admin may correct its weight")
