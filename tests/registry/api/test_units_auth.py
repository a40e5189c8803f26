"""Units, bearer tokens and the role table of SPEC §2 (a sample of endpoints), on both backends.

Each test sets up a fresh database (per backend), so related checks share one test to keep the suite fast;
every check names what it was doing when it fails.
"""
from __future__ import annotations

from sqlalchemy import text

from registry.services.units import OPERATOR, revoke_tokens

from helpers import assert_problem, ledger_size as tree_size


def unit_codes(reader) -> list[str]:
    r = reader.get("/api/v1/units")
    assert r.status_code == 200, r.get_json()
    return [u["code"] for u in r.get_json()["items"]]


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


NEW_UNIT = {"code": "ZJ-HANGZHOU-COURT", "name": "浙江省杭州市中级人民法院", "kind": "court"}
ALL_CODES = {"OPERATOR", "SH-HIGH-COURT", "SH-BAOSHAN-COURT", "SH-YANGPU-COURT", "JS-WUXI-COURT", "SH-POLICE-ECON",
             "AUDIT-1"}


# -- creating units and their first token ---------------------------------------------------------------------
def test_admin_creates_unit_and_its_token_is_shown_once_and_works(app, units):
    admin = units["admin"]
    before = tree_size(admin)
    r = admin.post("/api/v1/units", json={**NEW_UNIT, "parent": "SH-HIGH-COURT"})
    assert r.status_code == 201, r.get_json()
    created = r.get_json()
    assert created["code"] == NEW_UNIT["code"] and created["name"] == NEW_UNIT["name"]
    assert created["kind"] == "court"
    token = created["token"]
    assert isinstance(token, str) and len(token) >= 32
    assert tree_size(admin) == before + 1  # one write, one ledger entry

    client = app.test_client()
    r = client.get("/api/v1/units/ZJ-HANGZHOU-COURT", headers=bearer(token))
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["parent"] == "SH-HIGH-COURT"
    # shown once: no later read of the unit, nor the list, carries the token again
    assert "token" not in r.get_json() and token not in r.get_data(as_text=True)
    listed = admin.get("/api/v1/units").get_data(as_text=True)
    assert token not in listed and token.split(".", 1)[-1] not in listed
    # the new court acts as itself
    r = client.post("/api/v1/cases", json={"number": "(2026)浙01执1号", "kind": "execution"},
                    headers=bearer(token))
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["owner_unit"] == "ZJ-HANGZHOU-COURT"


def test_created_unit_body_shows_the_unit_as_get_does(units):
    admin = units["admin"]
    r = admin.post("/api/v1/units", json={**NEW_UNIT, "parent": "SH-HIGH-COURT"})
    assert r.status_code == 201, r.get_json()
    created = r.get_json()
    shown = admin.get(f"/api/v1/units/{NEW_UNIT['code']}").get_json()
    assert shown["parent"] == "SH-HIGH-COURT"
    assert {k: created.get(k) for k in shown} == shown


BAD_UNIT_BODIES = [
    ({"code": "lower-case", "name": "x", "kind": "court"}, "code"),
    ({"code": "X-1", "name": "x", "kind": "judge"}, "kind"),
    ({"code": "X-1", "name": "", "kind": "court"}, "name"),
    ({"code": "X-1", "name": "a\x00b", "kind": "court"}, "name"),
    ({"code": "X-1", "name": "x", "kind": "court", "parent": "NO-SUCH-UNIT"}, "parent"),
    ({"code": "X-1", "name": "x", "kind": "court", "colour": "red"}, "colour"),
    ({"name": "x", "kind": "court"}, "code"),
]


def test_refused_unit_creations_change_nothing(units):
    """Non-admins get 403, a taken code 409, a bad body 422 naming the field; none changes units or ledger."""
    admin = units["admin"]
    codes, size = unit_codes(admin), tree_size(admin)
    for who in ("baoshan", "police", "auditor"):
        assert_problem(units[who].post("/api/v1/units", json=NEW_UNIT), 403, "forbidden", who)
    assert_problem(admin.get(f"/api/v1/units/{NEW_UNIT['code']}"), 404, "not_found")

    r = admin.post("/api/v1/units", json={"code": "SH-BAOSHAN-COURT", "name": "另一个法院", "kind": "police"})
    assert_problem(r, 409, context="duplicate code")
    shown = admin.get("/api/v1/units/SH-BAOSHAN-COURT").get_json()
    assert shown["name"] == "上海市宝山区人民法院" and shown["kind"] == "court"

    for body, field in BAD_UNIT_BODIES:
        problem = assert_problem(admin.post("/api/v1/units", json=body), 422, context=body)
        assert field in problem.get("errors", {}), (body, problem)
    assert unit_codes(admin) == codes
    assert tree_size(admin) == size


# -- reading units ---------------------------------------------------------------------------------------------
def test_list_and_get_units_and_chinese_names_round_trip(units):
    auditor = units["auditor"]
    assert set(unit_codes(auditor)) == ALL_CODES
    r = units["police"].get("/api/v1/units/SH-BAOSHAN-COURT")
    assert r.status_code == 200, r.get_json()
    expected = {"code": "SH-BAOSHAN-COURT", "kind": "court", "name": "上海市宝山区人民法院", "parent": "SH-HIGH-COURT"}
    assert {k: r.get_json().get(k) for k in expected} == expected
    assert units["baoshan"].get("/api/v1/units/SH-HIGH-COURT").get_json()["parent"] is None
    assert_problem(auditor.get("/api/v1/units/NO-SUCH-UNIT"), 404, "not_found")

    name = "新疆维吾尔自治区高级人民法院生产建设兵团分院（执行局）·第𠀀庭 «测试» \"引号\" \\ 😀"
    r = units["admin"].post("/api/v1/units", json={"code": "XJ-BINGTUAN-COURT", "name": name, "kind": "court"})
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["name"] == name
    assert auditor.get("/api/v1/units/XJ-BINGTUAN-COURT").get_json()["name"] == name
    listed = {u["code"]: u["name"] for u in auditor.get("/api/v1/units").get_json()["items"]}
    assert listed["XJ-BINGTUAN-COURT"] == name
    assert listed["SH-POLICE-ECON"] == "上海市公安局经侦总队"


# -- authentication ----------------------------------------------------------------------------------------------
BAD_AUTHORIZATION = [
    None,
    "",
    "Bearer",
    "Bearer ",
    "Basic dXNlcjpwYXNz",
    "Token {token}",
    "{token}",
    "Bearer nodot",
    "Bearer {token_id}.",
    "Bearer .{secret}",
    "Bearer {token_id}.wrong-secret",
    "Bearer {token_id}.{secret}x",
    "Bearer {token_id}.{secret_head}",
    "Bearer 0000000000000000.{secret}",
    "Bearer {token}{pad}",
]
READ_PATHS = ["/api/v1/units", "/api/v1/units/SH-BAOSHAN-COURT", "/api/v1/lots", "/api/v1/lots/1",
              "/api/v1/cases", "/api/v1/cases/1", "/api/v1/seizures/1", "/api/v1/ledger/checkpoint",
              "/api/v1/ledger/key", "/api/v1/ledger/entries?start=0", "/api/v1/notifications"]


def test_missing_bad_or_malformed_token_is_401_and_changes_nothing(app, units):
    token = units["baoshan"].token
    token_id, secret = token.split(".", 1)
    client = app.test_client()
    size = tree_size(units["admin"])
    for header in BAD_AUTHORIZATION:
        headers = {}
        if header is not None:
            headers["Authorization"] = header.format(token=token, token_id=token_id, secret=secret,
                                                     secret_head=secret[:-1], pad="A" * 300)
        assert_problem(client.get("/api/v1/lots", headers=headers), 401, "unauthenticated", header)
        r = client.post("/api/v1/lots", headers=headers, json={"lots": [
            {"card_no": "AUTH-1", "custodian": "货场", "commodity": "铝锭", "weight_t": "1.0000"}]})
        assert_problem(r, 401, "unauthenticated", header)
    for path in READ_PATHS:
        assert_problem(client.get(path), 401, "unauthenticated", path)
    assert tree_size(units["admin"]) == size
    assert units["admin"].get("/api/v1/lots").get_json()["items"] == []
    # the scheme is case-insensitive and surrounding blanks do not matter
    r = client.get("/api/v1/units", headers={"Authorization": f"bearer   {token} "})
    assert r.status_code == 200, r.get_json()


def test_revoked_token_stops_working_at_once_and_tokens_are_stored_hashed(app, session, units):
    admin = units["admin"]
    r = admin.post("/api/v1/units", json=NEW_UNIT)
    assert r.status_code == 201, r.get_json()
    token, token_id = r.get_json()["token"], r.get_json()["token_id"]
    client = app.test_client()
    assert client.get("/api/v1/units", headers=bearer(token)).status_code == 200
    size = tree_size(admin)
    with app.app_context():
        assert revoke_tokens(session, OPERATOR, [token_id]) == [token_id]
    assert tree_size(admin) == size + 1  # the revocation is a ledger entry
    assert_problem(client.get("/api/v1/units", headers=bearer(token)), 401, "unauthenticated")
    r = client.post("/api/v1/cases", json={"number": "(2026)浙01执2号", "kind": "execution"}, headers=bearer(token))
    assert_problem(r, 401, "unauthenticated")
    assert tree_size(admin) == size + 1
    assert admin.get("/api/v1/cases").get_json()["items"] == []
    # other units' tokens are untouched
    assert units["baoshan"].get("/api/v1/units").status_code == 200

    # tokens are stored only as hashes: no column of `tokens` holds a secret, nor does the (public) ledger
    made = [token] + [u.token for u in units.values()]
    secrets = [t.split(".", 1)[1] for t in made]
    with app.app_context():
        rows = session.execute(text("SELECT * FROM tokens")).mappings().all()
        ledger = [bytes(b) for (b,) in session.execute(text("SELECT body FROM ledger_entries"))]
    assert len(rows) == len(made)
    for row in rows:
        for column, value in row.items():
            if value is None:
                continue
            raw = bytes(value) if isinstance(value, (bytes, bytearray, memoryview)) else str(value).encode()
            for secret in secrets:
                assert secret.encode() not in raw, f"tokens.{column} holds a secret"
                assert secret not in raw.decode("latin-1"), f"tokens.{column} holds a secret"
    assert ledger
    for body in ledger:  # the ledger is readable by every unit: it must never carry a secret
        for secret in secrets:
            assert secret.encode() not in body


# -- the role table (SPEC §2), a sample ------------------------------------------------------------------------
LOT = {"card_no": "ROLE-1", "custodian": "上海铁路局何家湾货场", "commodity": "铝锭", "weight_t": "2.0312"}

REFUSED = [
    ("auditor", "/api/v1/lots", {"lots": [LOT]}),
    ("admin", "/api/v1/lots", {"lots": [LOT]}),
    ("police", "/api/v1/cases", {"number": "(2026)沪0113执9号", "kind": "execution"}),
    ("police", "/api/v1/cases", {"number": "(2026)沪0113财保9号", "kind": "preservation"}),
    ("baoshan", "/api/v1/cases", {"number": "沪公经立字〔2026〕9号", "kind": "criminal"}),
    ("auditor", "/api/v1/cases", {"number": "(2026)沪0113执9号", "kind": "execution"}),
    ("admin", "/api/v1/cases", {"number": "(2026)沪0113执9号", "kind": "execution"}),
    ("baoshan", "/api/v1/units", {"code": "NEW-UNIT", "name": "新", "kind": "court"}),
    ("police", "/api/v1/units", {"code": "NEW-UNIT", "name": "新", "kind": "court"}),
]


def test_role_table_sample(units):
    """Refusals are 403 and change nothing; what the table allows works; everyone reads."""
    admin = units["admin"]
    size = tree_size(admin)
    for who, path, body in REFUSED:
        assert_problem(units[who].post(path, json=body), 403, "forbidden", (who, path, body))
    assert tree_size(admin) == size
    assert admin.get("/api/v1/lots").get_json()["items"] == []
    assert admin.get("/api/v1/cases").get_json()["items"] == []
    assert set(unit_codes(admin)) == ALL_CODES
    # and what the table allows
    for who, kind in (("baoshan", "preservation"), ("yangpu", "execution"), ("police", "criminal")):
        r = units[who].post("/api/v1/cases", json={"number": f"号-{who}-{kind}", "kind": kind})
        assert r.status_code == 201, (who, kind, r.get_json())
        assert r.get_json()["kind"] == kind and r.get_json()["owner_unit"] == units[who].code
    r = units["police"].post("/api/v1/lots", json={"lots": [LOT]})
    assert r.status_code == 201, r.get_json()
    assert tree_size(admin) == size + 4

    # every kind reads lots, cases and the ledger
    lot_id = r.get_json()["lots"][0]["id"]
    size = tree_size(units["admin"])
    for who in ("auditor", "admin", "police", "yangpu"):
        reader = units[who]
        r = reader.get("/api/v1/lots")
        assert r.status_code == 200 and [i["id"] for i in r.get_json()["items"]] == [lot_id], who
        r = reader.get(f"/api/v1/lots/{lot_id}")
        assert r.status_code == 200 and r.get_json()["card_no"] == "ROLE-1", who
        assert reader.get("/api/v1/cases").status_code == 200, who
        r = reader.get("/api/v1/ledger/checkpoint")
        assert r.status_code == 200 and r.mimetype == "text/plain", who
        assert tree_size(reader) == size, who
        r = reader.get("/api/v1/ledger/key")
        assert r.status_code == 200 and r.mimetype == "text/plain", who
    # SPEC §2: "read its own notifications" is for courts and police ("—" for auditor and admin)
    assert units["baoshan"].get("/api/v1/notifications").status_code == 200
    assert units["police"].get("/api/v1/notifications").status_code == 200
    assert_problem(units["auditor"].get("/api/v1/notifications"), 403, "forbidden")
    assert_problem(units["admin"].get("/api/v1/notifications"), 403, "forbidden")
