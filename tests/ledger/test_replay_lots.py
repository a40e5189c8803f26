"""The replay of the entries that make and change lots: who registered each lot, and corrections that name
every changed field before and after."""

from __future__ import annotations

from typing import Any

import pytest

from ledger.chain import Entry
from ledger.replay import Replay

LOT = {"card_no": "AL-1", "custodian": "宝山站", "commodity": "铝锭", "weight_t": "10.0000", "location": "A区",
       "owner": "", "property_class": "movable", "parent_id": None}


def entry(seq: int, actor: str, type_: str, data: dict[str, Any]) -> Entry:
    return Entry(seq, f"2026-03-02T01:00:00.00000{seq}Z", actor, type_, data, "0" * 64)


def registered() -> Replay:
    """Lot 1 registered by Baoshan, split by an admin into lots 2 and 3."""
    replay = Replay()
    replay.apply(entry(0, "SH-BAOSHAN-COURT", "lot.registered", {"lots": [{**LOT, "id": 1}]}))
    parts = [{**LOT, "card_no": f"AL-1-{i}", "weight_t": "5.0000", "id": i, "parent_id": 1} for i in (2, 3)]
    replay.apply(entry(1, "OPERATOR", "lot.split", {"lot_id": 1, "document_no": "拆", "parts": parts, "holds": []}))
    return replay


def test_a_lot_is_registered_by_the_entrys_actor_and_its_parts_by_the_same_unit():
    lots = registered().state["lots"]
    assert {key: lot["registered_by"] for key, lot in lots.items()} == {
        "1": "SH-BAOSHAN-COURT", "2": "SH-BAOSHAN-COURT", "3": "SH-BAOSHAN-COURT"}


def test_a_correction_changes_the_fields_it_names_and_is_kept_with_its_values_before_and_after():
    replay = registered()
    data = {"id": 7, "lot_id": 2, "document_no": "更正", "reason": "笔误",
            "old": {"card_no": "AL-1-2", "weight_t": "5.0000"}, "new": {"card_no": "AL-9", "weight_t": "4.9000"}}
    replay.apply(entry(2, "SH-BAOSHAN-COURT", "lot.corrected", data))
    lot = replay.state["lots"]["2"]
    assert (lot["card_no"], lot["weight_t"], lot["commodity"]) == ("AL-9", "4.9000", "铝锭")
    assert replay.state["lot_corrections"] == {"7": {
        "lot_id": 2, "unit": "SH-BAOSHAN-COURT", "document_no": "更正", "reason": "笔误", "old": data["old"],
        "new": data["new"], "at": "2026-03-02T01:00:00.000002Z"}}


@pytest.mark.parametrize("old, new, said", [
    ({"card_no": "AL-0"}, {"card_no": "AL-9"}, "had card_no 'AL-1-2', not 'AL-0'"),  # not what the ledger gave it
    ({"card_no": "AL-1-2"}, {"card_no": "AL-9", "owner": "某"}, "the same fields before and after"),
    ({"custodian": "宝山站"}, {"custodian": "北站"}, "the same fields before and after"),  # not a particular
])
def test_a_correction_that_does_not_fit_the_replayed_lot_cannot_be_applied(old, new, said):
    replay = registered()
    data = {"id": 7, "lot_id": 2, "document_no": "更正", "reason": "笔误", "old": old, "new": new}
    with pytest.raises(ValueError, match=said):
        replay.apply(entry(2, "SH-BAOSHAN-COURT", "lot.corrected", data))
