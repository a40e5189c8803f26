"""The pure domain: facts and an instant in, a plan or a DomainError out. No Flask, no database."""
from . import decisions, units
from .errors import Conflict, DomainError
from .queue import (HoldView, QueueView, disposer_case_id, latest_act, lot_flags, lot_status, queue_at,
                    seized_until)
from .term_policy import PROPERTY_CLASSES, RULES, SEIZURE_KINDS, TermRule, recorded_rule, rule_for
from .terms import BEIJING, beijing_date, end_of_term
from .values import CaseFacts, HoldFacts, LotFacts, UnitFacts

__all__ = ["decisions", "units", "Conflict", "DomainError", "HoldView", "QueueView", "disposer_case_id",
           "latest_act", "lot_flags", "lot_status", "queue_at", "seized_until", "BEIJING", "PROPERTY_CLASSES",
           "RULES", "SEIZURE_KINDS", "TermRule", "recorded_rule", "rule_for", "beijing_date", "end_of_term",
           "CaseFacts", "HoldFacts", "LotFacts", "UnitFacts"]
