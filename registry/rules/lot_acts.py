"""Acts on a lot itself rather than on one seizure: objections to its disposal — who may file and lift
them. Pure: facts in, None or a DomainError out."""
from __future__ import annotations

from datetime import datetime
from typing import Mapping

from .decisions import forbid
from .queue import queue_at
from .values import LotFacts


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

