"""Conflicts told the way a clerk reads them: the holder's unit by the name it is known by, not only its code."""
from __future__ import annotations

from dataclasses import replace

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Unit
from ..rules import Conflict
from .sets import among


def unit_names(session: Session, conflicts: list[Conflict]) -> dict[str, str]:
    """The names of the units the conflicts name as holders, in one query (none when they name no unit)."""
    return names_of(session, {c.holder_unit for c in conflicts
                              if c.holder_unit is not None and c.holder_unit_name is None})


def names_of(session: Session, codes: set[str]) -> dict[str, str]:
    """Unit code → name for the codes given, in one query (none for no codes)."""
    if not codes:
        return {}
    query = select(Unit.code, Unit.name).where(among(session, Unit.code, codes))
    return dict(session.connection().execute(query).all())


def named(conflicts: list[Conflict], names: dict[str, str]) -> list[Conflict]:
    return [replace(c, holder_unit_name=names[c.holder_unit]) if c.holder_unit in names else c for c in conflicts]


def name_holders(session: Session, conflicts: list[Conflict]) -> list[Conflict]:
    """The conflicts with each holder unit's name filled in."""
    return named(conflicts, unit_names(session, conflicts))
