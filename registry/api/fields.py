"""Marshmallow fields for the registry's value types: exact weights, Beijing dates, clean text."""
from __future__ import annotations

import re
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any, Callable

from marshmallow import ValidationError, fields, validate

from ..rules import identifiers
from ..rules.units import CODE_PATTERN, NAME_MAX, code_problem, name_problem
from .routing import MAX_ID

# At most 9 digits before the point: a billion tonnes a lot keeps even a 1000-lot total far inside 64 bits.
WEIGHT_PATTERN = r"^(0|[1-9][0-9]{0,8})(\.[0-9]{1,4})?$"
WEIGHT = re.compile(WEIGHT_PATTERN[1:-1])
EARLIEST, LATEST = datetime(1900, 1, 1, tzinfo=timezone.utc), datetime(2999, 12, 31, tzinfo=timezone.utc)


def weight_text(value: Decimal | None) -> str | None:
    """Tonnes as the API writes them: always four decimals."""
    return None if value is None else f"{value:.4f}"


class Weight(fields.Field):
    """Tonnes as a decimal string with at most 4 decimals ("2.0312"); numbers are refused, never rounded."""

    def __init__(self, **kwargs: Any) -> None:
        documented = {"type": "string", "pattern": WEIGHT_PATTERN, "example": "2.0312",
                      "description": "tonnes, a decimal string: at most 9 digits before the point and 4 after"}
        super().__init__(metadata={**documented, **kwargs.pop("metadata", {})}, **kwargs)

    def _serialize(self, value: Decimal | None, attr: Any, obj: Any, **kwargs: Any) -> str | None:
        return weight_text(value)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Decimal:
        if not isinstance(value, str):
            raise ValidationError("must be a decimal string such as \"2.0312\", not a JSON number")
        if not WEIGHT.fullmatch(value):
            raise ValidationError("must be a positive decimal with at most 9 digits before the point and 4 "
                                  "after, e.g. \"2.0312\"")
        weight = Decimal(value)
        if weight <= 0:
            raise ValidationError("must be greater than zero")
        return weight


# Control characters and lone UTF-16 surrogates (which no database can store as UTF-8) are never text.
NOT_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
TEXT_PATTERN = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]*$"  # as documented in OpenAPI


def clean_text(value: str) -> None:
    if NOT_TEXT.search(value):
        raise ValidationError("must not contain control characters or lone surrogates")


def Text(max_length: int = 200, required: bool = True, **kwargs: Any) -> fields.String:
    """Any Unicode text without control characters, length 1..max_length."""
    checks = [validate.Length(min=1 if required else 0, max=max_length), clean_text]
    metadata = {"pattern": TEXT_PATTERN, **kwargs.pop("metadata", {})}
    return fields.String(required=required, validate=checks, metadata=metadata, **kwargs)


def Code(**kwargs: Any) -> fields.String:
    """A unit's code, by the one rule the service also applies (`rules.units`)."""
    metadata = {"pattern": CODE_PATTERN, "maxLength": 64, **kwargs.pop("metadata", {})}
    return fields.String(validate=_by_rule(code_problem), metadata=metadata, **kwargs)


def UnitName(**kwargs: Any) -> fields.String:
    """A unit's name, by the one rule the service also applies (`rules.units`)."""
    metadata = {"pattern": TEXT_PATTERN, "minLength": 1, "maxLength": NAME_MAX, **kwargs.pop("metadata", {})}
    return fields.String(validate=_by_rule(name_problem), metadata=metadata, **kwargs)


_SHOWN = "\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f" + identifiers.INVISIBLE_BMP
# As documented: no control or format character, and (when required) something besides whitespace.
IDENTIFIER_PATTERN = f"^[^{_SHOWN}]*[^{_SHOWN}\\s][^{_SHOWN}]*$"
OPTIONAL_IDENTIFIER_PATTERN = f"^[^{_SHOWN}]*$"


class Identifier(fields.String):
    """Text a person typed, loaded as its one canonical form (`rules.identifiers`), or refused saying why.

    The limit holds for what was typed and for the canonical form alike (NFKC may lengthen a few characters).
    `optional`: blank text is the empty value (an owner not known), not a refusal."""

    def __init__(self, canonical: Callable[[str], str], max_length: int, optional: bool = False,
                 **kwargs: Any) -> None:
        self.canonical, self.max_length, self.optional = canonical, max_length, optional
        documented = {"pattern": OPTIONAL_IDENTIFIER_PATTERN if optional else IDENTIFIER_PATTERN,
                      "maxLength": max_length, **({} if optional else {"minLength": 1})}
        super().__init__(metadata={**documented, **kwargs.pop("metadata", {})}, **kwargs)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> str:
        typed = super()._deserialize(value, attr, data, **kwargs)
        clean_text(typed)
        if len(typed) > self.max_length:
            raise ValidationError(f"at most {self.max_length} characters")
        if self.optional and (not typed or typed.isspace()):
            return ""
        try:
            form = self.canonical(typed)
        except identifiers.NotAnIdentifier as refused:
            raise ValidationError(str(refused)) from None
        if len(form) > self.max_length:
            raise ValidationError(f"at most {self.max_length} characters once written in canonical form")
        return form


def CardNo(**kwargs: Any) -> Identifier:
    """A card number (卡号), loaded in its canonical form."""
    return Identifier(identifiers.card_no, 100, **kwargs)


def PartyName(optional: bool = False, **kwargs: Any) -> Identifier:
    """A custodian, owner or party name, loaded in its canonical form."""
    return Identifier(identifiers.name, 200, optional, **kwargs)


def CaseNumber(**kwargs: Any) -> Identifier:
    """A case number (案号), loaded in its canonical form."""
    return Identifier(identifiers.case_number, 200, **kwargs)


def _by_rule(problem_of: Callable[[str], str | None]) -> Callable[[str], None]:
    def check(value: str) -> None:
        if (problem := problem_of(value)) is not None:
            raise ValidationError(problem)
    return check


class Flag(fields.Boolean):
    """A JSON true or false; strings and numbers are refused, not read as truthy."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise ValidationError("must be true or false")
        return value


def within_calendar(value: datetime) -> None:
    """Instants the registry can store and compute with (and a clerk could mean)."""
    if not EARLIEST <= value <= LATEST:
        raise ValidationError("must be between 1900 and 2999")


def Instant(**kwargs: Any) -> fields.AwareDateTime:
    """An RFC 3339 instant with its offset; naive times are refused, not guessed."""
    return fields.AwareDateTime(validate=within_calendar, **kwargs)


def Id(**kwargs: Any) -> fields.Integer:
    return fields.Integer(strict=True, validate=validate.Range(min=1, max=MAX_ID), **kwargs)


def IdList(max_items: int = 1000, **kwargs: Any) -> fields.List:
    return fields.List(Id(), validate=[validate.Length(min=1, max=max_items), unique_items], **kwargs)


def unique_items(values: list[Any]) -> None:
    """No item twice (after loading: two card numbers that are one card in canonical form repeat)."""
    seen: set[Any] = set()
    repeated = next((i for i, value in enumerate(values) if value in seen or seen.add(value)), None)
    if repeated is not None:
        raise ValidationError(f"must not repeat an item (item {repeated} repeats an earlier one)")
