"""Notifications for the caller's unit: its seizures queued, promoted, expired, voided or expiring, and other
cases queued behind its effective seizures."""
from __future__ import annotations

from datetime import datetime

from flask_smorest import Blueprint
from marshmallow import ValidationError
from marshmallow import RAISE

from ..db import get_session
from ..rules import DomainError
from ..services.ledger_log import ledger_time
from ..services.notifications import notifications
from ..services.tx import read_now
from .auth import allow, current_unit
from .fields import within_calendar
from .notice_text import language, text
from .schemas import NotificationArgs, NotificationPage

blp = Blueprint("notifications", __name__, url_prefix="/api/v1/notifications",
                description="What happened to the caller's seizures")


def _cursor(after: str | None) -> str | None:
    if after is None or "~" in after:
        return after
    try:  # an instant: everything strictly after it
        instant = datetime.fromisoformat(after.replace("Z", "+00:00"))
        if instant.tzinfo is None:
            raise ValueError("no offset")
        within_calendar(instant)
        return ledger_time(instant) + "~~"
    except (ValueError, OverflowError, ValidationError):
        raise DomainError("validation_error", "bad `after`", errors={
            "after": ["a notification id, or an RFC 3339 instant with its offset between 1900 and 2999"]})


@blp.get("")
@allow("court", "police")
@blp.arguments(NotificationArgs(), location="query", unknown=RAISE)
@blp.response(200, NotificationPage)
def list_notifications(args):
    """Oldest first; pass the last id seen as `after` to get only newer ones."""
    session = get_session()
    items, cursor = notifications(session, current_unit().code, read_now(session), _cursor(args.get("after")),
                                  args["limit"])
    lang = language()
    return {"items": [{**item, "text": text(item, lang)} for item in items], "next": cursor}
