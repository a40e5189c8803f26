"""The unit vocabulary and what makes a unit's code, name and parent acceptable. Pure.

A unit's parent is its superior of the same kind: courts under courts, police units under police units.
Auditors and admins stand outside any hierarchy and have no parent, nor are they anyone's parent.
"""
from __future__ import annotations

import re
from typing import Iterable

from .errors import DomainError

UNIT_KINDS = ("court", "police", "auditor", "admin")
PARENT_KINDS = {"court": ("court",), "police": ("police",), "auditor": (), "admin": ()}
"""For each kind of unit, the kinds its parent may be (none: it has no parent)."""

CODE_PATTERN = r"^[A-Z0-9][A-Z0-9_-]{0,63}$"
CODE_RULE = "upper-case letters, digits, - and _, starting with a letter or digit (at most 64)"
_CODE = re.compile(CODE_PATTERN[1:-1])
NAME_MAX = 200
# Control characters and lone UTF-16 surrogates (which no database can store as UTF-8) are never text.
_NOT_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def code_problem(code: str) -> str | None:
    """Why `code` cannot be a unit code, or None when it can."""
    return None if _CODE.fullmatch(code) else CODE_RULE


def name_problem(name: str) -> str | None:
    """Why `name` cannot be a unit's name, or None when it can (any Unicode text, 1 to 200 characters)."""
    if not name.strip():
        return "must not be empty"
    if len(name) > NAME_MAX:
        return f"at most {NAME_MAX} characters"
    if _NOT_TEXT.search(name):
        return "must not contain control characters or lone surrogates"
    return None


def check_unit(code: str, name: str, kind: str) -> None:
    """Refuse (validation_error, naming each field) a code, name or kind no unit may have."""
    errors = {field: [problem] for field, problem in (
        ("code", code_problem(code)), ("name", name_problem(name)),
        ("kind", None if kind in UNIT_KINDS else f"one of {', '.join(UNIT_KINDS)}")) if problem}
    if errors:
        raise DomainError("validation_error", "the unit is not valid", errors=errors)


def check_parent(kind: str, parent_kind: str | None) -> None:
    """A parent, if any, is of a kind this kind of unit may stand under (`PARENT_KINDS`)."""
    if parent_kind is not None and parent_kind not in PARENT_KINDS[kind]:
        allowed = PARENT_KINDS[kind]
        rule = f"a {kind} unit's parent must be a {' or '.join(allowed)} unit" if allowed else \
            f"a {kind} unit has no parent"
        raise DomainError("parent_kind_mismatch", f"{rule}, not a {parent_kind}",
                          errors={"parent": [rule]})


def check_move(code: str, parent: str | None, parent_ancestors: Iterable[str]) -> None:
    """A unit never becomes its own ancestor: its new parent is neither itself nor below it."""
    if parent is not None and (parent == code or code in parent_ancestors):
        raise DomainError("parent_cycle", f"{parent} is {code} or stands under it; the move would make a cycle",
                          errors={"parent": ["must not be the unit itself or a unit under it"]})


def require_active(code: str, active: bool) -> None:
    """An inactive unit keeps its history but acts no more."""
    if not active:
        raise DomainError("unit_inactive", f"unit {code} is deactivated; an admin can reactivate it")
