"""Comparing a replayed state with the one a service shows: whole, or streamed one record at a time."""

from __future__ import annotations

import copy
from typing import Any

from ledger.replay import State, compare_records, differences, empty_state


def token(unit: str, revoked_at: str | None = None) -> dict[str, Any]:
    return {"unit": unit, "revoked_at": revoked_at}


def states() -> tuple[State, State]:
    """A replay and a shown state that differ in every way: a field, a record missing, one extra."""
    replayed, shown = empty_state(), empty_state()
    # token ids are hex: one of all digits must sort with the others, not fail int < str
    replayed["tokens"] = {"0123456789012345": token("A"), "abcdef0123456789": token("B"), "9f": token("C")}
    shown["tokens"] = {"0123456789012345": token("A", "2026-03-02T01:00:00.000000Z"), "9f": token("C"),
                       "ffff": token("D")}
    replayed["holds"] = {"1:2": {"position": 3}, "1:10": {"position": 4}}
    shown["holds"] = {"1:10": {"position": 4}}
    return replayed, shown


def test_the_streamed_comparison_names_what_the_whole_one_does() -> None:
    replayed, shown = states()
    whole = list(differences(replayed, shown))
    assert whole == [
        "tokens 0123456789012345: revoked_at is '2026-03-02T01:00:00.000000Z' in the registry, None by the ledger",
        "tokens abcdef0123456789: in the ledger, missing from the registry",
        "tokens ffff: in the registry, not in the ledger",
        "holds 1:2: in the ledger, missing from the registry",
    ]
    records = ((table, key, record) for table, rows in shown.items() for key, record in rows.items())
    assert sorted(compare_records(copy.deepcopy(replayed), records)) == sorted(whole)


def test_the_streamed_comparison_consumes_the_replay() -> None:
    replayed, _ = states()
    shown = [(table, key, record) for table, rows in replayed.items() for key, record in rows.items()]
    assert list(compare_records(replayed, shown)) == []
    assert replayed == empty_state()  # matched records are dropped as they are compared


def test_a_record_of_an_unknown_table_or_shown_twice_is_not_in_the_ledger() -> None:
    replayed, _ = states()
    shown = [("tokens", "9f", token("C")), ("tokens", "9f", token("C")), ("ghosts", "1", {})]
    found = list(compare_records(replayed, shown))
    assert found[:2] == ["tokens 9f: in the registry, not in the ledger",
                         "ghosts 1: in the registry, not in the ledger"]
