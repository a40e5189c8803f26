"""Request and response shapes (SPEC §5); the OpenAPI document is generated from these."""
from __future__ import annotations

from marshmallow import Schema, fields, post_load, validate, validates_schema, ValidationError, RAISE

from ..rules import PROPERTY_CLASSES
from ..rules.units import UNIT_KINDS
from .fields import (CardNo, CaseNumber, Code, Flag, Id, IdList, Instant, PartyName, Text, UnitName, Weight,
                     clean_text, unique_items)
from .routing import MAX_ID

CASE_KINDS = ("preservation", "execution", "criminal")
SEIZURE_KINDS = ("seal", "distrain", "freeze")
EXECUTION_KINDS = ("delivery", "auction", "sale", "offset")
TRANSFER_MODES = ("elevate", "designate", "assist", "takeover")
LOT_STATUSES = ("free", "seized", "disposed", "split")


class Strict(Schema):
    class Meta:
        unknown = RAISE


class Page(Schema):
    next = fields.String(allow_none=True, metadata={"description": "cursor for the next page, or null"})


class PageArgs(Strict):
    cursor = fields.String(validate=[clean_text, validate.Length(max=200)])
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))


# -- units ---------------------------------------------------------------------------------------------------
class UnitIn(Strict):
    code = Code(required=True)
    name = UnitName(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(UNIT_KINDS))
    parent = Code(load_default=None, allow_none=True,
                  metadata={"description": "a unit of the same kind (courts under courts, police under police); "
                                           "auditors and admins have none"})


class UnitPatch(Strict):
    name = UnitName()
    parent = Code(allow_none=True, metadata={"description": "the new parent, of the unit's own kind and not under "
                                                            "it; null: no parent"})
    active = Flag(metadata={"description": "false: the unit's tokens stop at once and it can no longer open "
                                           "cases, register lots or seize; its cases and history stay readable"})

    @validates_schema
    def something_to_change(self, data, **kwargs):
        if not data:
            raise ValidationError("give at least one of name, parent, active", "_schema")


class UnitListArgs(Strict):
    parent = Code(metadata={"description": "only the units directly under this one"})
    kind = fields.String(validate=validate.OneOf(UNIT_KINDS))


class UnitOut(Schema):
    code = fields.String()
    name = fields.String()
    kind = fields.String()
    parent = fields.String(attribute="parent_code", allow_none=True)
    active = fields.Boolean(metadata={"description": "false once an admin deactivated the unit"})


class UnitCreated(UnitOut):
    token = fields.String(allow_none=True,
                          metadata={"description": "the unit's first bearer token; shown only once (null on a retry)"})
    token_id = fields.String()


class UnitList(Page):
    items = fields.List(fields.Nested(UnitOut))


# -- lots ----------------------------------------------------------------------------------------------------
class LotIn(Strict):
    card_no = CardNo(required=True)
    custodian = PartyName(required=True)
    commodity = Text()
    weight_t = Weight(required=True)
    location = Text(required=False, load_default="")
    owner = PartyName(optional=True, load_default="")
    property_class = fields.String(load_default="movable", validate=validate.OneOf(PROPERTY_CLASSES))


class LotsIn(Strict):
    lots = fields.List(fields.Nested(LotIn), required=True, validate=validate.Length(min=1, max=1000))


class LotOut(Schema):
    id = fields.Integer()
    card_no = fields.String()
    commodity = fields.String()
    weight_t = Weight()
    location = fields.String()
    custodian = fields.String()
    owner = fields.String()
    property_class = fields.String()
    parent_id = fields.Integer(allow_none=True)
    status = fields.String(metadata={"enum": list(LOT_STATUSES)})
    flags = fields.List(fields.String(), metadata={"description": "criminal_civil, objection, expiring"})


class LotsOut(Schema):
    lots = fields.List(fields.Nested(LotOut))


class NearMiss(Schema):
    """A lot whose card number is one edit (a typo) away from the one given."""

    lot_id = fields.Integer()
    card_no = fields.String()


class RegisteredLot(LotOut):
    similar = fields.List(fields.Nested(NearMiss), metadata={
        "description": "lots already at the custodian whose card number is one edit from this one: registered "
                       "all the same, but check it is not a mistyped twin"})


class RegisteredLots(Schema):
    lots = fields.List(fields.Nested(RegisteredLot))


class LotPage(Page):
    items = fields.List(fields.Nested(LotOut))


class LotSearchArgs(PageArgs):
    card_no = CardNo(metadata={"description": "any way of typing the card number (卡号) finds it"})
    custodian = PartyName()
    owner = PartyName()
    location = fields.String(validate=[clean_text, validate.Length(max=200)])
    status = fields.String(validate=validate.OneOf(LOT_STATUSES))
    case_id = fields.Integer(validate=validate.Range(min=1, max=MAX_ID))  # query strings are text: not strict
    q = CardNo(metadata={"description": "card numbers within one edit (a typo) of this one"})


class AsOfArgs(Strict):
    as_of = Instant(metadata={"description": "RFC 3339 instant; past or future"})


class QueueEntry(Schema):
    seizure_id = fields.Integer()
    case_id = fields.Integer()
    case_number = fields.String()
    unit = fields.String(metadata={"description": "acting unit of the case"})
    kind = fields.String()
    document_no = fields.String()
    rank = fields.Integer(allow_none=True)
    status = fields.String()
    registered_at = fields.AwareDateTime()
    effective_from = fields.AwareDateTime(allow_none=True)
    term_end = fields.Date(allow_none=True, metadata={"description": "last day (Beijing); null while queued"})
    term_days = fields.Integer(allow_none=True, metadata={"description": "null: the statutory maximum"})
    ended_at = fields.AwareDateTime(allow_none=True)


class Disposer(Schema):
    case_id = fields.Integer()
    unit = fields.String()


class LotDetail(LotOut):
    as_of = fields.AwareDateTime()
    seizures = fields.List(fields.Nested(QueueEntry))
    history = fields.List(fields.Nested(QueueEntry))
    disposer = fields.Nested(Disposer, allow_none=True)
    children = fields.List(fields.Integer())
    objections = fields.List(fields.Integer(), metadata={"description": "pending objection ids"})


class SplitPart(Strict):
    card_no = CardNo(required=True)
    weight_t = Weight(required=True)
    location = Text(required=False)


class SplitIn(Strict):
    parts = fields.List(fields.Nested(SplitPart), required=True, validate=validate.Length(min=2, max=1000))
    document_no = Text()


class DisposalTransferIn(Strict):
    to_case_id = Id(required=True)
    document_no = Text()


class DisposalTransferOut(Schema):
    id = fields.Integer()
    lot_id = fields.Integer()
    from_case_id = fields.Integer()
    to_case_id = fields.Integer()
    document_no = fields.String()
    at = fields.AwareDateTime()


class ObjectionIn(Strict):
    document_no = Text()
    claimant = Text(required=False, load_default="")


class LiftIn(Strict):
    document_no = Text()


class ObjectionOut(Schema):
    id = fields.Integer()
    lot_id = fields.Integer()
    unit = fields.String(attribute="unit_code")
    claimant = fields.String()
    document_no = fields.String()
    filed_at = fields.AwareDateTime()
    lifted_at = fields.AwareDateTime(allow_none=True)


# -- cases ---------------------------------------------------------------------------------------------------
class CaseIn(Strict):
    number = CaseNumber(required=True, metadata={
        "description": "案号; stored in canonical form (NFKC, no spaces, the year bracket written （2025）)"})
    kind = fields.String(required=True, validate=validate.OneOf(CASE_KINDS))
    applicant = Text(required=False, load_default="")
    respondent = Text(required=False, load_default="")


class TransferOut(Schema):
    mode = fields.String()
    from_unit = fields.String()
    to_unit = fields.String(allow_none=True)
    document_no = fields.String()
    at = fields.AwareDateTime()


class CaseOut(Schema):
    id = fields.Integer()
    number = fields.String()
    kind = fields.String()
    applicant = fields.String()
    respondent = fields.String()
    owner_unit = fields.String()
    acting_unit = fields.String()
    assisting_units = fields.List(fields.String())
    previous_number = fields.String(allow_none=True)
    opened_at = fields.AwareDateTime()
    transfers = fields.List(fields.Nested(TransferOut))


class CasePage(Page):
    items = fields.List(fields.Nested(CaseOut))


class CaseSearchArgs(PageArgs):
    number = CaseNumber(metadata={"description": "any way of typing the case number finds it"})


class CaseTransferIn(Strict):
    mode = fields.String(required=True, validate=validate.OneOf(TRANSFER_MODES))
    to_unit = Code(required=True)
    document_no = Text()


class ConvertIn(Strict):
    number = CaseNumber(required=True)
    document_no = Text()


# -- seizures ------------------------------------------------------------------------------------------------
class SeizeIn(Strict):
    case_id = Id(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(SEIZURE_KINDS))
    document_no = Text()
    served_at = Instant(required=True)
    term_end = fields.Date(load_default=None, allow_none=True,
                           metadata={"description": "last day (Beijing); default the statutory maximum"})
    lot_ids = IdList(required=True)


class SeizureLot(Schema):
    lot_id = fields.Integer()
    card_no = fields.String()
    rank = fields.Integer(allow_none=True)
    status = fields.String()
    effective_from = fields.AwareDateTime(allow_none=True)
    term_end = fields.Date(allow_none=True)
    ended_at = fields.AwareDateTime(allow_none=True)


class SeizureOut(Schema):
    id = fields.Integer()
    case_id = fields.Integer()
    unit = fields.String()
    kind = fields.String()
    document_no = fields.String()
    served_at = fields.AwareDateTime()
    recorded_at = fields.AwareDateTime()
    term_end = fields.Date(allow_none=True)
    lots = fields.List(fields.Nested(SeizureLot))


class RenewIn(Strict):
    term_end = fields.Date(required=True)
    document_no = Text()
    lot_ids = IdList(load_default=None)


class ReleaseIn(Strict):
    document_no = Text()
    reason = Text(1000)
    lot_ids = IdList(load_default=None)


class Promoted(Schema):
    lot_id = fields.Integer()
    seizure_id = fields.Integer()
    case_id = fields.Integer()


class ReleaseOut(Schema):
    seizure = fields.Nested(SeizureOut)
    promoted = fields.List(fields.Nested(Promoted))


# -- executions ----------------------------------------------------------------------------------------------
class NamedLots(Strict):
    """Lots named by id, or by card number at one custodian as a clerk has them (the check and disposal)."""

    lot_ids = IdList(metadata={"description": "the lots by id; or give card_nos and custodian"})
    card_nos = fields.List(CardNo(), validate=[validate.Length(min=1, max=1000), unique_items],
                           metadata={"uniqueItems": True, "description": (
                               "card numbers at the custodian, typed any way (full-width, any dash, spaces); "
                               "two that are one card in canonical form are refused as a repeat")})
    custodian = PartyName(metadata={"description": "needed with card_nos"})

    @validates_schema
    def one_way_to_name_lots(self, data, **kwargs):
        if ("lot_ids" in data) == ("card_nos" in data):
            raise ValidationError("give lot_ids, or card_nos with custodian", "lot_ids")
        if "card_nos" in data and "custodian" not in data:
            raise ValidationError("card_nos need the custodian", "custodian")

    @post_load(pass_original=True)
    def keep_as_typed(self, data, original, **kwargs):
        """Answers name each card as the clerk typed it too, where that differs from the canonical form."""
        if "card_nos" in data:
            data["card_nos_as_typed"] = list(original["card_nos"])
        return data


class CheckIn(NamedLots):
    case_id = Id(required=True)
    override_document_no = Text(required=False)


class ConflictOut(Schema):
    lot_id = fields.Integer(allow_none=True)
    card_no = fields.String(allow_none=True, metadata={"description": "canonical form"})
    card_no_as_typed = fields.String(metadata={"description": "the card number as given, where it differs"})
    code = fields.String()
    holder_case_id = fields.Integer(allow_none=True)
    holder_case_number = fields.String(allow_none=True)
    holder_unit = fields.String(allow_none=True, metadata={"description": "the holder's unit code"})
    holder_unit_name = fields.String(allow_none=True, metadata={"description": "the name a clerk knows it by"})
    term_end = fields.Date(allow_none=True, metadata={
        "description": "last day (Beijing) of the holder's seizure on the lot; null while it queues"})
    suggestions = fields.List(fields.Nested(NearMiss), metadata={
        "description": "unknown_card_no: the lots at the custodian whose card number is one edit away"})
    detail = fields.String()


class CheckLot(Schema):
    lot_id = fields.Integer(allow_none=True)
    card_no = fields.String(metadata={"description": "canonical form"})
    card_no_as_typed = fields.String(metadata={"description": "the card number as given, where it differs"})
    weight_t = Weight(allow_none=True)
    clear = fields.Boolean()
    conflicts = fields.List(fields.Nested(ConflictOut))


class CheckOut(Schema):
    clear = fields.Boolean()
    lots = fields.List(fields.Nested(CheckLot))
    total_weight_t = Weight(metadata={"description": "total of the clear lots"})


class ExecuteIn(NamedLots):
    case_id = Id(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(EXECUTION_KINDS))
    document_no = Text()
    recipient = Text()
    override_document_no = Text(required=False, load_default=None)


class ExecutedLot(Schema):
    lot_id = fields.Integer()
    card_no = fields.String(metadata={"description": "canonical form"})
    card_no_as_typed = fields.String(metadata={"description": "the card number as given, where it differs"})
    weight_t = Weight()
    voided = fields.List(fields.Integer(), metadata={"description": "seizures voided on this lot"})


class ExecutionOut(Schema):
    id = fields.Integer()
    case_id = fields.Integer()
    kind = fields.String()
    document_no = fields.String()
    recipient = fields.String()
    override_document_no = fields.String(allow_none=True)
    at = fields.AwareDateTime()
    lots = fields.List(fields.Nested(ExecutedLot))
    total_weight_t = Weight()


# -- notifications -------------------------------------------------------------------------------------------
class NotificationArgs(PageArgs):
    after = fields.String(validate=[clean_text, validate.Length(max=200)],
                          metadata={"description": "a notification id (or an RFC 3339 instant) already seen"})


class NotificationOut(Schema):
    id = fields.String()
    type = fields.String(metadata={"enum": ["queued", "effective", "expired", "voided", "expiring",
                                            "joined_queue"]})
    text = fields.String(metadata={"description": "one sentence for a person: Simplified Chinese, English when "
                                                  "Accept-Language prefers it; Beijing time"})
    at = fields.AwareDateTime()
    lot_id = fields.Integer()
    card_no = fields.String()
    seizure_id = fields.Integer()
    case_id = fields.Integer()
    case_number = fields.String(allow_none=True)
    term_end = fields.Date(allow_none=True)
    behind_case_id = fields.Integer(allow_none=True)
    behind_case_number = fields.String(allow_none=True)
    behind_unit = fields.String(allow_none=True)
    behind_unit_name = fields.String(allow_none=True)
    unit = fields.String(allow_none=True, metadata={"description": "the acting unit of the notified case"})
    unit_name = fields.String(allow_none=True)
    rank = fields.Integer(allow_none=True, metadata={
        "description": "queued: its place when it joined; joined_queue: the joining seizure's place"})
    joined_case_id = fields.Integer(allow_none=True, metadata={"description": "joined_queue: the case that joined"})
    joined_case_number = fields.String(allow_none=True)
    joined_unit = fields.String(allow_none=True)
    joined_unit_name = fields.String(allow_none=True)


class NotificationPage(Page):
    items = fields.List(fields.Nested(NotificationOut))


# -- ledger --------------------------------------------------------------------------------------------------
class EntriesArgs(Strict):
    start = fields.Integer(required=True, validate=validate.Range(min=0))
    end = fields.Integer(validate=validate.Range(min=0))


class InclusionArgs(Strict):
    index = fields.Integer(required=True, validate=validate.Range(min=0))
    size = fields.Integer(required=True, validate=validate.Range(min=1))


class ConsistencyArgs(Strict):
    old = fields.Integer(required=True, validate=validate.Range(min=0))
    new = fields.Integer(required=True, validate=validate.Range(min=1))


class InclusionOut(Schema):
    index = fields.Integer()
    size = fields.Integer()
    leaf_hash = fields.String()
    hashes = fields.List(fields.String())


class ConsistencyOut(Schema):
    old = fields.Integer()
    new = fields.Integer()
    hashes = fields.List(fields.String())


class ProblemOut(Schema):
    """RFC 9457 problem details, as every error is answered (application/problem+json)."""

    type = fields.String()
    title = fields.String()
    status = fields.Integer()
    detail = fields.String()
    code = fields.String(metadata={"description": "stable machine-readable reason, e.g. not_effective_holder"})
    request_id = fields.String()
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()),
                         metadata={"description": "on 422: field path → messages"})
    conflicts = fields.List(fields.Nested(ConflictOut), metadata={"description": "on 409: every blocking lot"})
