"""Lots: bulk registration, exact weights, search (exact and near-miss card numbers), pagination, filters.

Every test runs on SQLite and PostgreSQL (the `app` fixture); checks that share an expensive setup (500 lots)
share one test.
"""
from __future__ import annotations

import random
from decimal import Decimal
from urllib.parse import quote


from registry.services.lots import encode_cursor

from helpers import assert_problem, ledger_size as tree_size

YARD = "上海铁路局何家湾货场"
ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def all_lots(reader, **filters) -> list[dict]:
    """Every lot matching the filters, following `next` cursors."""
    items, cursor = [], None
    for _ in range(100):
        query = {**filters, "limit": 1000, **({"cursor": cursor} if cursor else {})}
        r = reader.get("/api/v1/lots", query_string=query)
        assert r.status_code == 200, r.get_json()
        page = r.get_json()
        items += page["items"]
        cursor = page["next"]
        if cursor is None:
            return items
    raise AssertionError("pagination does not end")


def state(reader) -> tuple[int, int]:
    """What a refusal must leave unchanged: how many lots, how many ledger entries."""
    return len(all_lots(reader)), tree_size(reader)


def one_edit(a: str, b: str) -> bool:
    """Levenshtein distance <= 1 (independent of the service's implementation)."""
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b)) <= 1
    short, long_ = sorted((a, b), key=len)
    return any(long_[:i] + long_[i + 1:] == short for i in range(len(long_)))


def lot(card_no: str, weight: str = "2.0312", **extra) -> dict:
    return {"card_no": card_no, "custodian": YARD, "commodity": "铝锭", "weight_t": weight, **extra}


def five_hundred(seed: int = 20260302) -> list[dict]:
    """500 lots with random, pairwise distinct card numbers and random 4-decimal weights."""
    rng = random.Random(seed)
    cards: set[str] = set()
    while len(cards) < 500:
        cards.add("".join(rng.choice(ALPHABET) for _ in range(9)))
    lots = []
    for i, card in enumerate(sorted(cards)):
        weight = f"{rng.randint(0, 40)}.{rng.randint(1, 9999):04d}"
        lots.append(lot(card, weight, location=f"{i % 7 + 1}号垛", owner=f"货主{i % 5}"))
    return lots


# -- bulk registration and search ------------------------------------------------------------------------------
def test_500_lots_in_one_request_found_paged_and_refused_again_as_one_409(units):
    court = units["baoshan"]
    lots = five_hundred()
    before = tree_size(court)
    r = court.post("/api/v1/lots", json={"lots": lots})
    assert r.status_code == 201, r.get_json()
    out = r.get_json()["lots"]
    assert tree_size(court) == before + 1  # one request, one ledger entry
    assert len(out) == 500
    ids = [o["id"] for o in out]
    assert all(isinstance(i, int) for i in ids) and len(set(ids)) == 500
    for sent, got in zip(lots, out):  # in request order, weights exactly as sent (4-decimal strings)
        assert got["card_no"] == sent["card_no"]
        assert got["weight_t"] == sent["weight_t"] and isinstance(got["weight_t"], str)
        assert (got["custodian"], got["commodity"], got["location"], got["owner"]) == \
            (sent["custodian"], sent["commodity"], sent["location"], sent["owner"])
        assert got["property_class"] == "movable" and got["status"] == "free" and got["flags"] == []
    by_card = {o["card_no"]: o["id"] for o in out}
    cards = list(by_card)

    target = lots[123]["card_no"]
    r = court.get("/api/v1/lots", query_string={"card_no": target})
    assert r.status_code == 200, r.get_json()
    assert [i["id"] for i in r.get_json()["items"]] == [by_card[target]]
    assert r.get_json()["items"][0]["weight_t"] == lots[123]["weight_t"]

    def near(q: str) -> list[int]:
        r = court.get("/api/v1/lots", query_string={"q": q})
        assert r.status_code == 200, (q, r.get_json())
        return sorted(i["id"] for i in r.get_json()["items"])

    wrong_char = target[:4] + ("Z" if target[4] != "Z" else "Y") + target[5:]
    missing_char = target[:3] + target[4:]
    extra_char = target[:6] + "Q" + target[6:]
    for q in (wrong_char, missing_char, extra_char, target):
        expected = sorted(by_card[c] for c in cards if one_edit(c, q))
        assert by_card[target] in expected
        assert near(q) == expected, q
    far = target[:3] + "??" + target[5:]  # two edits away
    assert by_card[target] not in near(far)

    # pagination: pages of 100 cover every lot exactly once, in id order; 1000 fits in one page
    seen, cursor, pages = [], None, 0
    while True:
        query = {"limit": 100, **({"cursor": cursor} if cursor else {})}
        page = court.get("/api/v1/lots", query_string=query).get_json()
        pages += 1
        assert len(page["items"]) <= 100
        seen += [i["id"] for i in page["items"]]
        cursor = page["next"]
        if cursor is None:
            break
    assert seen == sorted(ids) and pages in (5, 6)
    page = court.get("/api/v1/lots", query_string={"limit": 1000}).get_json()
    assert len(page["items"]) == 500 and page["next"] is None
    page = court.get("/api/v1/lots").get_json()  # default limit 100
    assert len(page["items"]) == 100 and page["next"]
    for bad in ("1001", "0", "-1", "many"):
        assert_problem(court.get("/api/v1/lots", query_string={"limit": bad}), 422, "validation_error", bad)
    assert_problem(court.get("/api/v1/lots", query_string={"cursor": "!!not-a-cursor"}), 422, context="cursor")

    # the same 500 again: ONE 409 card_no_taken naming every lot that blocked it, and nothing stored
    before = state(court)
    problem = assert_problem(court.post("/api/v1/lots", json={"lots": lots}), 409, "card_no_taken")
    conflicts = problem["conflicts"]
    assert len(conflicts) == 500
    assert {c["card_no"] for c in conflicts} == set(by_card)
    assert all(c["code"] == "card_no_taken" for c in conflicts)
    assert {c["card_no"]: c["lot_id"] for c in conflicts} == by_card  # which lot already holds each number
    assert state(court) == before
    # one new lot among 499 taken ones: still all or nothing, and only the taken ones are named
    mixed = lots[1:] + [lot("BRAND-NEW-1")]
    problem = assert_problem(court.post("/api/v1/lots", json={"lots": mixed}), 409, "card_no_taken")
    assert {c["card_no"] for c in problem["conflicts"]} == {x["card_no"] for x in lots[1:]}
    assert state(court) == before
    assert court.get("/api/v1/lots", query_string={"card_no": "BRAND-NEW-1"}).get_json()["items"] == []
    # a card number twice within one request
    body = {"lots": [lot("DUP-1"), lot("OTHER-1"), lot("DUP-1", "3.0000")]}
    problem = assert_problem(court.post("/api/v1/lots", json=body), 409, "card_no_taken")
    assert [c["card_no"] for c in problem["conflicts"]] == ["DUP-1"]
    assert state(court) == before

    # the same card number at another custodian is another lot; at the same custodian it is taken for anyone
    r = units["police"].post("/api/v1/lots", json={"lots": [{**lots[0], "custodian": "无锡物流仓库"}]})
    assert r.status_code == 201, r.get_json()
    found = court.get("/api/v1/lots", query_string={"card_no": lots[0]["card_no"]}).get_json()["items"]
    assert sorted(i["custodian"] for i in found) == sorted([YARD, "无锡物流仓库"])
    problem = assert_problem(units["police"].post("/api/v1/lots", json={"lots": [lots[0]]}), 409, "card_no_taken")
    assert [c["lot_id"] for c in problem["conflicts"]] == [by_card[lots[0]["card_no"]]]


BAD_WEIGHTS = ["1.23456", 1.5, 2, "-1", "0", "0.0000", "-0.0001", "1e3", "NaN", "Infinity", "", "1,5", "0x10",
               "１.５", None, True, ["1.0"], {"t": "1"}, "9" * 20 + ".0001"]
BAD_BODIES = [
    ({"lots": [lot(f"N-{i}", "1.0000") for i in range(1001)]}, "lots"),
    ({"lots": []}, "lots"),
    ({}, "lots"),
    ({"lots": [lot("U-1")], "extra": 1}, "extra"),
    ({"lots": [lot("U-1", colour="red")]}, "lots.0.colour"),
    ({"lots": [{"custodian": YARD, "commodity": "铝", "weight_t": "1.0"}]}, "lots.0.card_no"),
    ({"lots": [{"card_no": "U-1", "commodity": "铝", "weight_t": "1.0"}]}, "lots.0.custodian"),
    ({"lots": [lot("U-1", property_class="vehicle")]}, "lots.0.property_class"),
    ({"lots": [lot("")]}, "lots.0.card_no"),
    ({"lots": [lot("X" * 101)]}, "lots.0.card_no"),
    ({"lots": [lot("U-\x07")]}, "lots.0.card_no"),
    ({"lots": "U-1"}, "lots"),
]


def test_bad_weights_and_bodies_are_422_naming_the_field_and_store_nothing(units):
    court = units["baoshan"]
    before = state(court)
    for weight in BAD_WEIGHTS:
        problem = assert_problem(court.post("/api/v1/lots", json={"lots": [lot("W-0", weight)]}), 422,
                                 "validation_error", weight)
        assert "lots.0.weight_t" in problem["errors"], (weight, problem)
    # the field path names the offending lot, and one bad lot refuses all
    body = {"lots": [lot("W-0"), lot("W-1"), lot("W-2", "3.14159"), lot("W-3", 7)]}
    problem = assert_problem(court.post("/api/v1/lots", json=body), 422, "validation_error")
    assert {"lots.2.weight_t", "lots.3.weight_t"} <= set(problem["errors"]), problem
    assert "lots.0.weight_t" not in problem["errors"]
    assert state(court) == before
    for body, field in BAD_BODIES:
        problem = assert_problem(court.post("/api/v1/lots", json=body), 422, "validation_error", field)
        assert field in problem["errors"], (field, problem["errors"])
    assert state(court) == before
    assert_problem(court.get("/api/v1/lots/987654"), 404, "not_found")
    assert_problem(court.get("/api/v1/lots/0"), 404)
    assert_problem(court.get("/api/v1/lots/abc"), 404)
    assert_problem(court.get("/api/v1/lots/1", query_string={"as_of": "yesterday"}), 422, "validation_error")
    # and what is allowed is echoed with exactly 4 decimals
    r = court.post("/api/v1/lots", json={"lots": [lot("W-A", "2"), lot("W-B", "0.5"), lot("W-C", "0.0001"),
                                                  lot("W-D", "999999999.9999")]})
    assert r.status_code == 201, r.get_json()
    assert [o["weight_t"] for o in r.get_json()["lots"]] == ["2.0000", "0.5000", "0.0001", "999999999.9999"]
    # a billion tonnes a lot at most, so that any 1000-lot total stays exact in 64 bits
    assert_problem(court.post("/api/v1/lots", json={"lots": [lot("W-E", "1000000000")]}), 422, "validation_error")


def test_exact_total_weight(units):
    court = units["baoshan"]
    rng = random.Random(7)
    weights = [Decimal(rng.randint(1, 199999)) / 10000 for _ in range(39)]  # 0.0001 .. 19.9999 t
    total = Decimal("496.8014")
    weights.append(total - sum(weights))
    assert weights[-1] > 0 and all(w == w.quantize(Decimal("0.0001")) for w in weights)
    strings = [f"{w:.4f}" for w in weights]
    assert sum(float(s) for s in strings) != float(total)  # a float sum would be off: the check means something
    r = court.post("/api/v1/lots", json={"lots": [lot(f"T-{i}", s) for i, s in enumerate(strings)]})
    assert r.status_code == 201, r.get_json()
    out = r.get_json()["lots"]
    assert [o["weight_t"] for o in out] == strings
    assert sum(Decimal(o["weight_t"]) for o in out) == total
    listed = all_lots(court, custodian=YARD)
    assert sum(Decimal(o["weight_t"]) for o in listed) == total
    ids = [o["id"] for o in out]
    assert [court.get(f"/api/v1/lots/{ids[-1]}").get_json()["weight_t"]] == [strings[-1]]

    # the service's own total (executions/check) is exact too
    case = court.post("/api/v1/cases", json={"number": "(2026)沪0113执5号", "kind": "execution"}).get_json()
    r = court.post("/api/v1/seizures", json={"case_id": case["id"], "kind": "seal", "document_no": "D-5",
                                             "served_at": "2026-03-01T00:00:00Z", "lot_ids": ids})
    assert r.status_code == 201, r.get_json()
    r = court.post("/api/v1/executions/check", json={"case_id": case["id"], "lot_ids": ids})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["clear"] is True
    assert r.get_json()["total_weight_t"] == "496.8014"


def test_filters_and_chinese_text_in_every_field(units):
    court = units["baoshan"]
    body = {"lots": [
        lot("F-1", owner="甲公司", location="东区3号垛"),
        lot("F-2", owner="乙公司", location="东区4号垛"),
        lot("F-3", owner="甲公司", location="西区1号垛"),
        {**lot("F-4", owner="甲公司", location="东区3号垛"), "custodian": "无锡物流仓库"},
    ]}
    r = court.post("/api/v1/lots", json=body)
    assert r.status_code == 201, r.get_json()
    ids = {o["card_no"]: o["id"] for o in r.get_json()["lots"]}

    def cards(**filters) -> list[str]:
        r = court.get("/api/v1/lots", query_string=filters)
        assert r.status_code == 200, (filters, r.get_json())
        return [i["card_no"] for i in r.get_json()["items"]]

    assert cards(custodian=YARD) == ["F-1", "F-2", "F-3"]
    assert cards(custodian="无锡物流仓库") == ["F-4"]
    assert cards(custodian="无锡") == []  # exact, not a prefix
    assert cards(owner="甲公司") == ["F-1", "F-3", "F-4"]
    assert cards(owner="甲公司", custodian=YARD) == ["F-1", "F-3"]
    assert cards(location="东区") == ["F-1", "F-2", "F-4"]
    assert cards(location="3号垛") == ["F-1", "F-4"]
    assert cards(location="%") == [] and cards(location="_") == []  # no SQL wildcards leak through
    assert cards(status="free") == ["F-1", "F-2", "F-3", "F-4"]
    assert cards(status="seized") == []

    case = court.post("/api/v1/cases", json={"number": "(2026)沪0113执6号", "kind": "execution"}).get_json()
    r = court.post("/api/v1/seizures", json={"case_id": case["id"], "kind": "seal", "document_no": "D-6",
                                             "served_at": "2026-03-01T00:00:00Z",
                                             "lot_ids": [ids["F-1"], ids["F-3"]]})
    assert r.status_code == 201, r.get_json()
    assert cards(status="seized") == ["F-1", "F-3"]
    assert cards(status="free") == ["F-2", "F-4"]
    assert cards(status="seized", location="东区") == ["F-1"]
    assert cards(case_id=case["id"]) == ["F-1", "F-3"]
    assert cards(case_id=case["id"] + 1) == []
    assert_problem(court.get("/api/v1/lots", query_string={"status": "lost"}), 422, "validation_error")

    # Chinese text in every field round-trips (identifiers in their canonical form: NFKC makes the custodian's
    # full-width brackets ASCII), and finds the lot through URL-encoded queries as typed
    sent = {"card_no": "沪铝卡-〇〇一号", "custodian": "中国铁路上海局集团有限公司何家湾货场（北）",
            "commodity": "电解铝锭（A00级）𠮷", "weight_t": "25.0130", "location": "第３库·东区·７号垛",
            "owner": "上海某某金属材料有限公司 «测试» \"引号\"", "property_class": "movable"}
    stored = {**sent, "custodian": "中国铁路上海局集团有限公司何家湾货场(北)"}
    r = court.post("/api/v1/lots", json={"lots": [sent]})
    assert r.status_code == 201, r.get_json()
    got = r.get_json()["lots"][0]
    assert {k: got[k] for k in sent} == stored
    shown = court.get(f"/api/v1/lots/{got['id']}").get_json()
    assert {k: shown[k] for k in sent} == stored
    # found by each text field, through a URL-encoded query string
    for field in ("card_no", "custodian", "owner", "location"):
        for typed in {sent[field], stored[field]}:
            url = f"/api/v1/lots?{field}={quote(typed, safe='')}"
            items = court.get(url).get_json()["items"]
            assert [i["id"] for i in items] == [got["id"]], field
            assert {k: items[0][k] for k in sent} == stored
    url = f"/api/v1/lots?q={quote('沪铝卡-〇〇二号', safe='')}"  # one character off
    assert [i["id"] for i in court.get(url).get_json()["items"]] == [got["id"]]


def test_out_of_range_ids_and_cursors_are_not_500(units):
    """Bad input is never a 500 (SPEC §5): ids and cursors beyond 64 bits are 404 / 422."""
    court = units["baoshan"]
    huge = 2**64
    assert_problem(court.get(f"/api/v1/lots/{huge}"), 404, context="lot id")
    assert_problem(court.get(f"/api/v1/cases/{huge}"), 404, context="case id")
    assert_problem(court.get(f"/api/v1/seizures/{huge}"), 404, context="seizure id")
    r = court.get("/api/v1/lots", query_string={"cursor": encode_cursor(huge)})
    assert r.status_code in (200, 422), r.get_data(as_text=True)
    r = court.get("/api/v1/cases", query_string={"cursor": encode_cursor(huge)})
    assert r.status_code in (200, 422), r.get_data(as_text=True)
