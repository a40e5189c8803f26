"""Column types that keep values exact and time zones explicit on SQLite and PostgreSQL alike."""
from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

from sqlalchemy import BigInteger, DateTime
from sqlalchemy.types import TypeDecorator

SCALE = Decimal("0.0001")


class Tonnes(TypeDecorator[Decimal]):
    """A weight in tonnes with 4 decimals, stored as an integer count of 10^-4 t so no backend rounds it."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: Decimal | None, dialect: object) -> int | None:
        if value is None:
            return None
        scaled = value / SCALE
        if scaled != scaled.to_integral_value():
            raise ValueError(f"weight {value} has more than 4 decimals")
        return int(scaled)

    def process_result_value(self, value: int | None, dialect: object) -> Decimal | None:
        return None if value is None else (Decimal(value) * SCALE).quantize(SCALE)


class UTCDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime; SQLite keeps naive text, so the zone is stripped on the way in and restored."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        return None if value is None else value.replace(tzinfo=timezone.utc)
