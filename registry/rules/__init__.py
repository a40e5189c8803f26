"""The pure domain: facts and an instant in, a plan or a DomainError out. No Flask, no database."""
from . import decisions, units
from .errors import Conflict, DomainError
from .queue import (HoldView, QueueView, disposer_case_id, latest_act, lot_flags, lot_status, queue_at,
                    seized_until)
from .terms import BEIJING, PROPERTY_CLASSES, beijing_date, end_of_term, max_term_end
from .values import CaseFacts, HoldFacts, LotFacts, UnitFacts

__all__ = ["decisions", "units", "Conflict", "DomainError", "HoldView", "QueueView", "disposer_case_id",
           "latest_act", "lot_flags", "lot_status", "queue_at", "seized_until", "BEIJING", "PROPERTY_CLASSES",
           "beijing_date", "end_of_term", "max_term_end", "CaseFacts", "HoldFacts", "LotFacts", "UnitFacts"]
