"""Cases: who may open which kind, unique Unicode case numbers, reading and finding cases, on both backends."""
from __future__ import annotations

from urllib.parse import quote

from registry.rules.identifiers import case_number

from helpers import assert_problem, ledger_size as tree_size

CASE_FIELDS = ("id", "number", "kind", "applicant", "respondent", "owner_unit", "acting_unit", "assisting_units")
NUMBER = "(2024)沪0113执1234号"


def find(reader, number: str) -> list[dict]:
    """GET /cases?number=… with the number percent-encoded by hand (UTF-8), as any client would send it."""
    r = reader.get(f"/api/v1/cases?number={quote(number, safe='')}")
    assert r.status_code == 200, (number, r.get_json())
    return r.get_json()["items"]


def test_courts_open_preservation_and_execution_police_criminal(units):
    opened = []
    for who, number, kind in (("baoshan", "(2024)沪0113财保88号", "preservation"),
                              ("baoshan", NUMBER, "execution"),
                              ("wuxi", "（2025）苏02执恢7号", "execution"),
                              ("police", "沪公（经）立字〔2026〕1024号", "criminal")):
        body = {"number": number, "kind": kind, "applicant": "某银行股份有限公司上海分行",
                "respondent": "上海某某金属材料有限公司"}
        r = units[who].post("/api/v1/cases", json=body)
        assert r.status_code == 201, (who, kind, r.get_json())
        case = r.get_json()
        missing = [f for f in CASE_FIELDS if f not in case]
        assert not missing, (kind, missing)
        assert isinstance(case["id"], int)
        assert (case["number"], case["kind"]) == (case_number(number), kind)
        assert (case["applicant"], case["respondent"]) == (body["applicant"], body["respondent"])
        assert case["owner_unit"] == case["acting_unit"] == units[who].code
        assert case["assisting_units"] == []
        opened.append((case, number))
    assert len({c["id"] for c, _ in opened}) == 4

    for case, number in opened:  # everyone reads every case, the same as it was created
        for reader in ("auditor", "yangpu", "police"):
            r = units[reader].get(f"/api/v1/cases/{case['id']}")
            assert r.status_code == 200, r.get_json()
            assert {k: r.get_json()[k] for k in CASE_FIELDS} == {k: case[k] for k in CASE_FIELDS}
        for typed in (case["number"], number):
            found = find(units["auditor"], typed)
            assert [c["id"] for c in found] == [case["id"]], typed
    # the test client's own encoding of the query string finds it too; applicant/respondent default to ""
    r = units["high"].get("/api/v1/cases", query_string={"number": NUMBER})
    assert [c["id"] for c in r.get_json()["items"]] == [opened[1][0]["id"]]
    r = units["baoshan"].post("/api/v1/cases", json={"number": "(2026)沪0113执2号", "kind": "execution"})
    assert r.status_code == 201 and (r.get_json()["applicant"], r.get_json()["respondent"]) == ("", "")


def test_case_number_is_unique_and_refusals_change_nothing(units):
    r = units["baoshan"].post("/api/v1/cases", json={"number": NUMBER, "kind": "execution"})
    assert r.status_code == 201, r.get_json()
    first = r.get_json()
    size = tree_size(units["auditor"])
    for who, kind in (("baoshan", "execution"), ("baoshan", "preservation"), ("yangpu", "execution"),
                      ("police", "criminal")):
        r = units[who].post("/api/v1/cases", json={"number": NUMBER, "kind": kind, "applicant": "别人"})
        assert_problem(r, 409, context=(who, kind))
    assert tree_size(units["auditor"]) == size
    found = find(units["auditor"], NUMBER)
    assert [c["id"] for c in found] == [first["id"]]
    assert found[0]["applicant"] == "" and found[0]["owner_unit"] == "SH-BAOSHAN-COURT"
    # a number differing only in its brackets or spaces is the same number; a trailing character makes another
    for variant in ("（2024）沪0113执1234号", "〔2024〕沪0113执1234号", " (２０２４) 沪0113执1234号 "):
        problem = assert_problem(units["baoshan"].post("/api/v1/cases", json={"number": variant, "kind": "execution"}),
                                 409, "case_number_taken", variant)
        assert problem["conflicts"][0]["holder_case_id"] == first["id"], problem
        assert [c["id"] for c in find(units["auditor"], variant)] == [first["id"]]
    other = NUMBER + "之一"
    r = units["baoshan"].post("/api/v1/cases", json={"number": other, "kind": "execution"})
    assert r.status_code == 201, (other, r.get_json())
    assert [c["number"] for c in find(units["auditor"], other)] == [case_number(other)]
    assert [c["id"] for c in find(units["auditor"], NUMBER)] == [first["id"]]

    # bad bodies are 422 naming the field, and change nothing either
    court = units["baoshan"]
    size = tree_size(court)
    listed = court.get("/api/v1/cases", query_string={"limit": 1000}).get_json()
    for body, field in (({"kind": "execution"}, "number"),
                        ({"number": "", "kind": "execution"}, "number"),
                        ({"number": "X" * 201, "kind": "execution"}, "number"),
                        ({"number": "(2026)沪0113执3号", "kind": "civil"}, "kind"),
                        ({"number": "(2026)沪0113执3号"}, "kind"),
                        ({"number": "(2026)沪0113执3号", "kind": "execution", "judge": "张三"}, "judge")):
        problem = assert_problem(court.post("/api/v1/cases", json=body), 422, "validation_error", body)
        assert field in problem["errors"], (body, problem)
    assert tree_size(court) == size
    assert court.get("/api/v1/cases", query_string={"limit": 1000}).get_json() == listed
    assert_problem(court.get("/api/v1/cases/424242"), 404, "not_found")
    assert_problem(court.get("/api/v1/cases/nope"), 404)
    assert find(court, "(2099)不存在1号") == []

    # listing pages through every case in id order
    numbers = [c["number"] for c in listed["items"]] + [f"(2026)沪0113执{i}号" for i in range(1, 6)]
    for number in numbers[len(listed["items"]):]:
        assert court.post("/api/v1/cases", json={"number": number, "kind": "execution"}).status_code == 201
    seen, cursor = [], None
    while True:
        r = court.get("/api/v1/cases", query_string={"limit": 3, **({"cursor": cursor} if cursor else {})})
        assert r.status_code == 200, r.get_json()
        page = r.get_json()
        assert len(page["items"]) <= 3
        seen += [c["number"] for c in page["items"]]
        cursor = page["next"]
        if cursor is None:
            break
    assert seen == [case_number(n) for n in numbers]
    assert_problem(court.get("/api/v1/cases", query_string={"limit": 1001}), 422, "validation_error")
