"""The role table of SPEC §2 over every operation of SPEC §5, on both backends.

One table, `MATRIX`, says for every documented operation (checked against the served OpenAPI document) and
every kind of unit what the registry must answer: the success status when the unit may, 403 `forbidden`
when it may not. Where a case is involved the table distinguishes the case's own (acting) unit from other
units: another court, the superior court, an assisting court, a police unit, another police unit.

Every refused request must change nothing: the signed checkpoint (size and root) and the whole recorded state
(`GET /ledger/state`) are compared before and after. Allowed requests are made on fresh lots and cases, so
each one shows that the unit really may (not merely that it was not refused).

Units (from the `units` fixture, plus two made here):
    admin    OPERATOR           admin
    high     SH-HIGH-COURT      court, superior of Baoshan, Yangpu and Jing'an
    baoshan  SH-BAOSHAN-COURT   court — opens the civil cases below and acts for them ("own")
    yangpu   SH-YANGPU-COURT    court under High — assisting unit (协同) of the civil cases below
    wuxi     JS-WUXI-COURT      court with no relation to the others ("another court")
    police   SH-POLICE-ECON     police — opens the criminal cases below and acts for them
    police2  SH-POLICE-2        another police unit
    auditor  AUDIT-1            auditor
"""
from __future__ import annotations

from typing import Any, Callable

from helpers import (API, SERVED, assert_audit_clean, assert_problem, checkpoint, lot_body, ok, open_case,
                     register_lots, release, seize, seize_body, transfer)
from registry.services.units import OPERATOR, issue_token, revoke_tokens

ROLES = ("baoshan", "yangpu", "wuxi", "high", "police", "police2", "auditor", "admin")
COURTS = ("baoshan", "yangpu", "wuxi", "high")
POLICE = ("police", "police2")
PUBLIC = ("/healthz", "/api/v1/openapi.json", "/api/v1/docs")
F = 403


class World:
    """Builds fresh lots, cases, seizures and objections through HTTP; every name and number is unique."""

    def __init__(self, units: dict, make_unit: Callable) -> None:
        self.u = dict(units)
        self.u["police2"] = make_unit("SH-POLICE-2", "police", name="上海市公安局某分局")
        self.u["jingan"] = make_unit("SH-JINGAN-COURT", "court", "SH-HIGH-COURT", "上海市静安区人民法院")
        self.n = 0

    def next(self) -> int:
        self.n += 1
        return self.n

    def lot(self) -> dict:
        return register_lots(self.u["baoshan"], ["5.0000"], prefix=f"MX{self.next()}")[0]

    def case(self, by: str = "baoshan", kind: str = "execution") -> dict:
        return open_case(self.u[by], f"(2026)矩{self.next()}号", kind)

    def civil(self, kind: str = "execution", assisted: bool = True) -> tuple[dict, dict, dict]:
        """A case Baoshan acts for (Yangpu assisting), holding the effective seizure on a fresh lot."""
        case, lot = self.case("baoshan", kind), self.lot()
        made = seize(self.u["baoshan"], case, [lot], f"沪0113封{self.n}")
        if assisted:
            ok(transfer(self.u["high"], case, "assist", "SH-YANGPU-COURT", f"沪高协{self.n}"), 201)
        return case, lot, made

    def criminal(self) -> tuple[dict, dict, dict]:
        """A criminal case the police unit acts for, holding the effective seizure on a fresh lot."""
        case, lot = self.case("police", "criminal"), self.lot()
        return case, lot, seize(self.u["police"], case, [lot], f"沪公扣{self.n}", kind="distrain")

    def objection(self) -> dict:
        lot = self.lot()
        return ok(self.u["baoshan"].post(f"{API}/lots/{lot['id']}/objections",
                                         json={"document_no": f"沪0113执异{self.next()}号", "claimant": "案外人"}), 201)


Request = tuple[str, str, Any]  # method, path, JSON body


# -- how to make one request of each operation, on fresh data -------------------------------------------------
def new_unit(w: World) -> Request:
    return "POST", f"{API}/units", {"code": f"NEW-{w.next()}", "name": "新单位", "kind": "court"}


def rename_unit(w: World) -> Request:
    return "PATCH", f"{API}/units/SH-JINGAN-COURT", {"name": f"上海市静安区人民法院（{w.next()}）"}


def new_lots(w: World) -> Request:
    return "POST", f"{API}/lots", {"lots": [lot_body(f"NEW-{w.next()}", "1.0000")]}


def read(path: str) -> Callable[[World], Request]:
    return lambda w: ("GET", path, None)


def read_lot(w: World) -> Request:
    return "GET", f"{API}/lots/{w.civil()[1]['id']}", None


def read_case(w: World) -> Request:
    return "GET", f"{API}/cases/{w.civil()[0]['id']}", None


def read_seizure(w: World) -> Request:
    return "GET", f"{API}/seizures/{w.civil()[2]['id']}", None


def split_lot(w: World) -> Request:
    lot = w.civil()[1]
    return "POST", f"{API}/lots/{lot['id']}/split", {
        "parts": [{"card_no": f"{lot['card_no']}-A", "weight_t": "2.0000"},
                  {"card_no": f"{lot['card_no']}-B", "weight_t": "3.0000"}], "document_no": "拆"}


def transfer_disposal(w: World) -> Request:
    lot, to_case = w.civil()[1], w.case("wuxi")
    return "POST", f"{API}/lots/{lot['id']}/disposal-transfer", {"to_case_id": to_case["id"], "document_no": "移送"}


def file_objection(w: World) -> Request:
    return "POST", f"{API}/lots/{w.lot()['id']}/objections", {"document_no": "执异", "claimant": "案外人"}


def lift_objection(w: World) -> Request:  # filed by Baoshan
    return "POST", f"{API}/objections/{w.objection()['id']}/lift", {"document_no": "撤异"}


def new_case(kind: str) -> Callable[[World], Request]:
    return lambda w: ("POST", f"{API}/cases", {"number": f"(2026)新{w.next()}号", "kind": kind})


def transfer_case(mode: str, to_unit: str) -> Callable[[World], Request]:
    def build(w: World) -> Request:
        case = w.criminal()[0] if mode == "takeover" else w.civil(assisted=False)[0]
        return "POST", f"{API}/cases/{case['id']}/transfers", {"mode": mode, "to_unit": to_unit, "document_no": "移"}
    return build


def convert_case(w: World) -> Request:
    case = w.civil(kind="preservation")[0]
    return "POST", f"{API}/cases/{case['id']}/convert", {"number": f"(2026)转执{w.next()}号", "document_no": "转"}


def new_seizure(criminal: bool) -> Callable[[World], Request]:
    def build(w: World) -> Request:
        case = w.case("police", "criminal") if criminal else w.case("baoshan")
        return "POST", f"{API}/seizures", seize_body(case, [w.lot()], "封", served_at=SERVED)
    return build


def renew_seizure(criminal: bool) -> Callable[[World], Request]:
    def build(w: World) -> Request:
        made = (w.criminal() if criminal else w.civil())[2]
        return "POST", f"{API}/seizures/{made['id']}/renew", {"term_end": "2029-06-30", "document_no": "续"}
    return build


def release_seizure(criminal: bool) -> Callable[[World], Request]:
    def build(w: World) -> Request:
        made = (w.criminal() if criminal else w.civil())[2]
        return "POST", f"{API}/seizures/{made['id']}/release", {"document_no": "解", "reason": "撤回"}
    return build


def check_lots(w: World) -> Request:
    case, lot, _ = w.civil()
    return "POST", f"{API}/executions/check", {"case_id": case["id"], "lot_ids": [lot["id"]]}


def dispose(criminal: bool) -> Callable[[World], Request]:
    def build(w: World) -> Request:
        case, lot, _ = w.criminal() if criminal else w.civil()
        body = {"case_id": case["id"], "kind": "delivery", "document_no": "交付", "lot_ids": [lot["id"]],
                "recipient": "申请执行人"}
        return "POST", f"{API}/executions", body
    return build


def everyone(status: int) -> dict[str, int]:
    return {who: status for who in ROLES}


def only(status: int, *allowed: str) -> dict[str, int]:
    return {who: status if who in allowed else F for who in ROLES}


READ_ALL = everyone(200)
# (operation as the OpenAPI document names it, variant, how to build the request, who → expected status)
MATRIX: list[tuple[str, str, Callable[[World], Request], dict[str, int]]] = [
    ("POST /api/v1/units", "", new_unit, only(201, "admin")),
    ("GET /api/v1/units", "", read(f"{API}/units"), READ_ALL),
    ("GET /api/v1/units/{code}", "", read(f"{API}/units/SH-BAOSHAN-COURT"), READ_ALL),
    ("PATCH /api/v1/units/{code}", "rename", rename_unit, only(200, "admin")),
    ("POST /api/v1/lots", "", new_lots, only(201, *COURTS, *POLICE)),
    ("GET /api/v1/lots", "", read(f"{API}/lots?limit=5"), READ_ALL),
    ("GET /api/v1/lots/{lot_id}", "another unit's lot", read_lot, READ_ALL),
    ("POST /api/v1/lots/{lot_id}/split", "a lot Baoshan's case holds, Yangpu assisting", split_lot,
     only(201, "baoshan", "yangpu")),
    ("POST /api/v1/lots/{lot_id}/disposal-transfer", "by the holder's acting unit", transfer_disposal,
     only(201, "baoshan")),
    ("POST /api/v1/lots/{lot_id}/objections", "any court records an objection", file_objection, only(201, *COURTS)),
    ("POST /api/v1/objections/{objection_id}/lift", "only the filing court (Baoshan)", lift_objection,
     only(200, "baoshan")),
    ("POST /api/v1/cases", "execution", new_case("execution"), only(201, *COURTS)),
    ("POST /api/v1/cases", "preservation", new_case("preservation"), only(201, *COURTS)),
    ("POST /api/v1/cases", "criminal", new_case("criminal"), only(201, *POLICE)),
    ("GET /api/v1/cases", "", read(f"{API}/cases?limit=5"), READ_ALL),
    ("GET /api/v1/cases/{case_id}", "another unit's case", read_case, READ_ALL),
    ("POST /api/v1/cases/{case_id}/transfers", "elevate to High (superior of the acting Baoshan)",
     transfer_case("elevate", "SH-HIGH-COURT"), only(201, "high")),
    ("POST /api/v1/cases/{case_id}/transfers", "designate Jing'an (a court under High)",
     transfer_case("designate", "SH-JINGAN-COURT"), only(201, "high")),
    ("POST /api/v1/cases/{case_id}/transfers", "assist: add Jing'an", transfer_case("assist", "SH-JINGAN-COURT"),
     only(201, "high")),
    ("POST /api/v1/cases/{case_id}/transfers", "takeover of a criminal case by Baoshan",
     transfer_case("takeover", "SH-BAOSHAN-COURT"), only(201, "police")),
    ("POST /api/v1/cases/{case_id}/convert", "Baoshan's preservation case", convert_case, only(201, "baoshan")),
    ("POST /api/v1/seizures", "for Baoshan's case", new_seizure(criminal=False), only(201, "baoshan")),
    ("POST /api/v1/seizures", "for the police unit's criminal case", new_seizure(criminal=True), only(201, "police")),
    ("GET /api/v1/seizures/{seizure_id}", "another unit's seizure", read_seizure, READ_ALL),
    ("POST /api/v1/seizures/{seizure_id}/renew", "Baoshan's seizure, Yangpu assisting", renew_seizure(False),
     only(200, "baoshan")),
    ("POST /api/v1/seizures/{seizure_id}/renew", "the police unit's seizure", renew_seizure(True),
     only(200, "police")),
    ("POST /api/v1/seizures/{seizure_id}/release", "Baoshan's seizure, Yangpu assisting", release_seizure(False),
     only(200, "baoshan")),
    ("POST /api/v1/seizures/{seizure_id}/release", "the police unit's seizure", release_seizure(True),
     only(200, "police")),
    ("POST /api/v1/executions/check", "changes nothing: any reader", check_lots, READ_ALL),
    ("POST /api/v1/executions", "Baoshan's case, Yangpu assisting", dispose(False), only(201, "baoshan", "yangpu")),
    ("POST /api/v1/executions", "the police unit's criminal case: courts only dispose", dispose(True), only(201)),
    ("GET /api/v1/notifications", "", read(f"{API}/notifications"), only(200, *COURTS, *POLICE)),
    ("GET /api/v1/ledger/checkpoint", "", read(f"{API}/ledger/checkpoint"), READ_ALL),
    ("GET /api/v1/ledger/key", "", read(f"{API}/ledger/key"), READ_ALL),
    ("GET /api/v1/ledger/entries", "", read(f"{API}/ledger/entries?start=0&end=2"), READ_ALL),
    ("GET /api/v1/ledger/proof/inclusion", "", read(f"{API}/ledger/proof/inclusion?index=0&size=2"), READ_ALL),
    ("GET /api/v1/ledger/proof/consistency", "", read(f"{API}/ledger/proof/consistency?old=1&new=2"), READ_ALL),
    ("GET /api/v1/ledger/state", "", read(f"{API}/ledger/state"), READ_ALL),
]


def documented_operations(client) -> set[str]:
    spec = client.get("/api/v1/openapi.json").get_json()
    return {f"{method.upper()} {path}" for path, item in spec["paths"].items() for method in item
            if method in ("get", "post", "put", "patch", "delete")}


def concrete(path: str) -> str:
    """A documented path with every parameter filled in."""
    return (path.replace("{code}", "SH-BAOSHAN-COURT").replace("{lot_id}", "1").replace("{case_id}", "1")
            .replace("{seizure_id}", "1").replace("{objection_id}", "1"))


def send(unit, request: Request):
    method, path, body = request
    r = unit.get(path) if method == "GET" else getattr(unit, method.lower())(path, json=body)
    r.get_data()  # read streamed bodies (ledger entries) to the end, so their generators close
    return r


def recorded(reader) -> tuple:
    """The signed tree and every recorded fact: equal before and after means nothing changed."""
    r = reader.get(f"{API}/ledger/state")
    assert r.status_code == 200, r.get_data(as_text=True)
    return checkpoint(reader), r.get_data()  # JSON Lines, records in key order: equal bytes, equal facts


# -- the tests ------------------------------------------------------------------------------------------------
def test_every_unit_gets_what_spec_section_2_gives_it_and_a_refusal_changes_nothing(app, session, units,
                                                                                    make_unit):
    w = World(units, make_unit)
    reader = w.u["auditor"]
    failures: list[str] = []
    # The refusals first, all against one set of data built up front: none of them may change anything.
    shared = {(op, variant): build(w) for op, variant, build, _ in MATRIX}
    before = recorded(reader)
    refused = 0
    for op, variant, _, expected in MATRIX:
        refusers = [who for who, status in expected.items() if status == F]
        for who in refusers:
            refused += 1
            r = send(w.u[who], shared[(op, variant)])
            body = r.get_json(silent=True) or {}
            if (r.status_code, r.mimetype, body.get("code")) != (403, "application/problem+json", "forbidden"):
                failures.append(f"{op} [{variant}] as {who}: want 403 forbidden, got {r.status_code} "
                                f"{r.get_data(as_text=True)[:300]}")
            if checkpoint(reader) != before[0]:  # cheap, after each refusal: no ledger entry
                failures.append(f"{op} [{variant}] as {who}: a refused request wrote to the ledger")
                before = recorded(reader)
        if refusers and recorded(reader) != before:  # every recorded fact, after each operation's refusals
            failures.append(f"{op} [{variant}]: a refusal by one of {refusers} changed the registry")
            before = recorded(reader)
    assert refused >= 100, refused
    # Then every allowed request, each on fresh data so it shows the unit really may.
    for op, variant, build, expected in MATRIX:
        for who, status in expected.items():
            if status == F:
                continue
            request = shared[(op, variant)] if op.startswith("GET") or op.endswith("/check") else build(w)
            r = send(w.u[who], request)
            if r.status_code != status:
                failures.append(f"{op} [{variant}] as {who}: want {status}, got {r.status_code} "
                                f"{r.get_data(as_text=True)[:300]}")
    assert not failures, "\n".join(failures)
    assert_audit_clean(app, session, reader)


def test_the_acting_unit_follows_transfers(app, session, units, make_unit):
    """After elevation the old acting court loses renew/release; after a takeover the police unit does."""
    w = World(units, make_unit)
    b, high, police = w.u["baoshan"], w.u["high"], w.u["police"]
    case, _, made = w.civil(assisted=False)
    ok(transfer(high, case, "elevate", "SH-HIGH-COURT", "沪高执提1号"), 201)
    before = recorded(w.u["auditor"])
    assert_problem(release(b, made, "解"), 403, "forbidden")
    assert_problem(b.post(f"{API}/seizures/{made['id']}/renew", json={"term_end": "2029-06-30",
                                                                      "document_no": "续"}), 403, "forbidden")
    assert_problem(transfer(b, case, "designate", "SH-YANGPU-COURT", "指"), 403, "forbidden")
    assert recorded(w.u["auditor"]) == before
    ok(release(high, made, "沪高解1号"))

    case, _, made = w.criminal()
    ok(transfer(police, case, "takeover", "SH-BAOSHAN-COURT", "移交1号"), 201)
    before = recorded(w.u["auditor"])
    assert_problem(release(police, made, "解"), 403, "forbidden")
    assert_problem(transfer(police, case, "takeover", "SH-YANGPU-COURT", "再移交"), 403, "forbidden")
    assert recorded(w.u["auditor"]) == before
    ok(release(b, made, "沪0113解1号"))
    assert_audit_clean(app, session, b)


AUTHORIZATIONS = [None, "", "Bearer", "Bearer not-a-token", "Bearer 0123456789abcdef.secret",
                  "Basic T1BFUkFUT1I6cGFzc3dvcmQ=", "Bearer <script>alert(1)</script>",
                  "Bearer ' OR '1'='1.' OR '1'='1"]


def test_the_matrix_covers_every_documented_operation_and_without_a_token_each_is_401(app, units):
    """The table covers exactly the served OpenAPI document; each operation needs a valid token, but for
    /healthz, /api/v1/openapi.json and /api/v1/docs."""
    client = app.test_client()
    documented = documented_operations(client)
    covered = {op for op, *_ in MATRIX}
    assert covered == documented, {"not in the matrix": documented - covered, "not documented": covered - documented}
    for op, variant, _, expected in MATRIX:
        assert set(expected) == set(ROLES), (op, variant)
    operations = sorted(documented)
    before = recorded(units["auditor"])
    for op in operations:
        method, path = op.split(" ", 1)
        for authorization in AUTHORIZATIONS:
            headers = {} if authorization is None else {"Authorization": authorization}
            r = client.open(concrete(path), method=method, headers=headers,
                            json={} if method == "POST" else None)
            r.get_data()
            assert_problem(r, 401, "unauthenticated")
    # paths that only look public do not skip authentication
    for path in ("/api/v1/docs/../lots", "/api/v1/openapi.json/../units", "/api/v1/docs/assets/../../units",
                 "/api/v1/docsx", "/api/v1/openapi.jsonx"):
        r = client.get(path)
        assert r.status_code in (401, 404), (path, r.status_code)
        assert "SH-BAOSHAN-COURT" not in r.get_data(as_text=True), path
    assert recorded(units["auditor"]) == before
    for path in PUBLIC:
        r = client.get(path, follow_redirects=True)
        assert r.status_code == 200, (path, r.status_code, r.get_data(as_text=True)[:200])
    assert client.get("/healthz").get_json()["status"] == "ok"


def test_a_known_token_revoked_elsewhere_is_refused_by_its_next_request_whatever_it_asks(app, session, units):
    """A process that has authenticated a token lets the write's lock statement confirm it on later writes.
    Revoked by anyone else (another worker, the command line), it is refused with 401 by its next request,
    whether that request would write, is invalid, or is one its unit may not make, and nothing is recorded."""
    b = units["baoshan"]
    [lot] = register_lots(b, ["1.0000"], prefix="KNOWN")
    case = open_case(b, "(2026)沪0113执9号")
    body = {"case_id": case["id"], "kind": "seal", "document_no": "(2026)沪0113执9号之一", "served_at": SERVED,
            "lot_ids": [lot["id"]]}
    asks = [({"json": body}, "a write it could make"),
            ({"json": {"case_id": case["id"]}}, "an invalid body"),
            ({"json": body, "headers": {"Idempotency-Key": "k" * 201}}, "an invalid Idempotency-Key"),
            ({"json": {"code": "X", "name": "X", "kind": "court"}, "path": "/units"}, "an admin's operation")]
    with app.app_context():
        tokens = [issue_token(session, OPERATOR, "SH-BAOSHAN-COURT") for _ in asks]
    client = app.test_client()
    for issued in tokens:  # one write each: every token is now known to this process
        r = client.post(f"{API}/cases", json={"number": f"(2026)沪0113执{issued.token_id[:6]}号",
                                              "kind": "execution"},
                        headers={"Authorization": f"Bearer {issued.token}"})
        assert r.status_code == 201, r.get_json()
    with app.app_context():  # not through this app: the tokens it knows are untouched
        revoke_tokens(session, OPERATOR, [t.token_id for t in tokens])
    before = recorded(units["auditor"])
    for issued, (ask, what) in zip(tokens, asks):
        headers = {"Authorization": f"Bearer {issued.token}", **ask.get("headers", {})}
        r = client.post(API + ask.get("path", "/seizures"), json=ask["json"], headers=headers)
        assert r.status_code == 401, what
        assert_problem(r, 401, "unauthenticated")
    assert recorded(units["auditor"]) == before
    assert units["yangpu"].post(f"{API}/cases", json={"number": "(2026)沪0110执9号", "kind": "execution"}) \
        .status_code == 201  # other units' known tokens still write


def test_a_revoked_token_is_refused_on_the_very_next_request(app, session, units):
    b = units["baoshan"]
    token_id = b.token.split(".", 1)[0]
    assert b.get(f"{API}/lots").status_code == 200
    with app.app_context():
        assert revoke_tokens(session, OPERATOR, [token_id]) == [token_id]
    before = recorded(units["auditor"])
    assert_problem(b.get(f"{API}/lots"), 401, "unauthenticated")
    assert_problem(b.post(f"{API}/lots", json={"lots": [lot_body("REVOKED-1", "1.0000")]}), 401, "unauthenticated")
    assert_problem(b.post(f"{API}/cases", json={"number": "(2026)撤1号", "kind": "execution"}), 401,
                   "unauthenticated")
    assert recorded(units["auditor"]) == before
    # the unit itself is not locked out: a newly issued token works, the revoked one still does not
    with app.app_context():
        fresh = issue_token(session, OPERATOR, "SH-BAOSHAN-COURT").token
    r = b.client.get(f"{API}/lots", headers={"Authorization": f"Bearer {fresh}"})
    assert r.status_code == 200, r.get_data(as_text=True)
    assert_problem(b.get(f"{API}/units"), 401, "unauthenticated")
    assert units["yangpu"].get(f"{API}/lots").status_code == 200  # other units' tokens are untouched
    assert_audit_clean(app, session, units["auditor"])
