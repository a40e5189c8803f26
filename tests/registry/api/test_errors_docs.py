"""HTTP errors as problem+json, the OpenAPI document, offline docs, the health check and response headers."""
from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit


import registry

from helpers import PROBLEM_FIELDS, assert_problem, ledger_size as tree_size

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

# SPEC §5, with path parameters written as {}
SPEC_OPERATIONS = {
    ("post", "/units"), ("get", "/units"), ("get", "/units/{}"),
    ("post", "/lots"), ("get", "/lots"), ("get", "/lots/{}"), ("post", "/lots/{}/split"),
    ("post", "/lots/{}/disposal-transfer"), ("post", "/lots/{}/objections"), ("post", "/objections/{}/lift"),
    ("post", "/cases"), ("get", "/cases/{}"), ("get", "/cases"), ("post", "/cases/{}/transfers"),
    ("post", "/cases/{}/convert"),
    ("post", "/seizures"), ("get", "/seizures/{}"), ("post", "/seizures/{}/renew"),
    ("post", "/seizures/{}/release"),
    ("post", "/executions/check"), ("post", "/executions"),
    ("get", "/notifications"),
    ("get", "/ledger/checkpoint"), ("get", "/ledger/key"), ("get", "/ledger/entries"),
    ("get", "/ledger/proof/inclusion"), ("get", "/ledger/proof/consistency"),
}
SPEC_QUERY = {
    ("get", "/lots"): {"card_no", "custodian", "owner", "location", "status", "case_id", "cursor", "limit", "q"},
    ("get", "/lots/{}"): {"as_of"},
    ("get", "/cases"): {"number"},
    ("get", "/notifications"): {"after"},
    ("get", "/ledger/entries"): {"start", "end"},
    ("get", "/ledger/proof/inclusion"): {"index", "size"},
    ("get", "/ledger/proof/consistency"): {"old", "new"},
}


def state(reader) -> tuple[int, int]:
    return len(reader.get("/api/v1/lots", query_string={"limit": 1000}).get_json()["items"]), tree_size(reader)


# -- errors -----------------------------------------------------------------------------------------------------
def test_http_errors_are_problem_json_and_never_500(app, units):
    court = units["baoshan"]
    before = state(court)
    for path in ("/api/v1/nope", "/api/v1/lots/1/nope", "/nope", "/api/v2/lots"):
        assert_problem(court.get(path), 404, "not_found", path)

    for method, path in (("delete", "/api/v1/lots"), ("put", "/api/v1/cases"), ("patch", "/api/v1/units"),
                         ("get", "/api/v1/executions/check"), ("put", "/api/v1/lots/1")):
        r = court.client.open(path, method=method.upper(), headers=court._headers(None))
        assert_problem(r, 405, "method_not_allowed", (method, path))
        assert r.headers.get("Allow"), (method, path)
        assert method.upper() not in r.headers["Allow"], (method, path, r.headers["Allow"])

    lots = "/api/v1/lots"
    for raw in (b"{not json", b'{"lots": [', b'{"lots": "\xff\xfe"}', b"\xef\xbb\xbf\x00", b"'single'",
                b'{"lots": [{"card_no": "A", "weight_t": "1"}]} trailing'):
        r = court.post(lots, data=raw, content_type="application/json")
        assert_problem(r, 400, context=raw)
    for raw in (b"[1, 2]", b'"lots"', b"null", b"42", b'{"lots": [null]}', b'{"lots": [[]]}'):
        r = court.post(lots, data=raw, content_type="application/json")
        assert 400 <= r.status_code < 500, (raw, r.status_code, r.get_data(as_text=True))
        assert_problem(r, r.status_code, context=raw)
    r = court.post(lots, data='{"lots": []}', content_type="text/plain")
    assert 400 <= r.status_code < 500, r.status_code
    assert_problem(r, r.status_code)

    limit = app.config["MAX_CONTENT_LENGTH"]
    big = b'{"lots": [{"card_no": "' + b"A" * (limit + 1) + b'"}]}'
    assert_problem(court.post(lots, data=big, content_type="application/json"), 413)
    assert state(court) == before


# -- the OpenAPI document ------------------------------------------------------------------------------------------
def _resolve(spec: dict, ref: str) -> object:
    assert ref.startswith("#/"), ref
    node: object = spec
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        assert isinstance(node, dict) and part in node, f"dangling $ref {ref}"
        node = node[part]
    return node


def _refs(node: object):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def test_openapi_document_and_offline_docs(app):
    """openapi.json is valid OpenAPI 3 listing SPEC §5; /api/v1/docs uses local assets only."""
    client = app.test_client()
    r = client.get("/api/v1/openapi.json")  # no token needed
    assert r.status_code == 200, r.get_data(as_text=True)
    assert r.mimetype == "application/json"
    spec = r.get_json()

    try:
        from openapi_spec_validator import validate
    except ImportError:
        validate = None
    if validate is not None:
        validate(spec)

    assert re.fullmatch(r"3\.[01]\.\d+", spec["openapi"]), spec.get("openapi")
    assert spec["info"]["title"] and spec["info"]["version"]
    assert isinstance(spec["paths"], dict) and spec["paths"]
    for ref in set(_refs(spec)):
        _resolve(spec, ref)

    operations = {}
    for path, item in spec["paths"].items():
        assert path.startswith("/"), path
        params_in_path = re.findall(r"{([^}]+)}", path)
        for method, op in item.items():
            if method not in HTTP_METHODS:
                continue
            assert isinstance(op.get("responses"), dict) and op["responses"], (method, path)
            for status in op["responses"]:
                assert status == "default" or re.fullmatch(r"[1-5](\d\d|XX)", status), (method, path, status)
            declared = [p if "$ref" not in p else _resolve(spec, p["$ref"])
                        for p in item.get("parameters", []) + op.get("parameters", [])]
            in_path = {p["name"] for p in declared if p["in"] == "path"}
            assert in_path == set(params_in_path), (method, path, in_path)
            for p in declared:
                assert p["in"] in ("query", "header", "path", "cookie"), p
                if p["in"] == "path":
                    assert p.get("required") is True, (method, path, p)
            short = re.sub(r"{[^}]+}", "{}", path.removeprefix("/api/v1"))
            operations[(method, short)] = {p["name"] for p in declared if p["in"] == "query"}
    missing = SPEC_OPERATIONS - set(operations)
    assert not missing, f"SPEC §5 operations not documented: {sorted(missing)}"
    for operation, names in SPEC_QUERY.items():
        assert names <= operations[operation], (operation, names - operations[operation])

    # the bearer scheme is declared, and errors are documented as problem+json
    schemes = spec["components"]["securitySchemes"]
    assert any(s.get("type") == "http" and s.get("scheme", "").lower() == "bearer" for s in schemes.values())
    default = spec["paths"]["/api/v1/lots"]["post"]["responses"].get("default")
    assert default is not None
    default = _resolve(spec, default["$ref"]) if "$ref" in default else default
    problem = default["content"]["application/problem+json"]["schema"]
    problem = _resolve(spec, problem["$ref"]) if "$ref" in problem else problem
    assert set(PROBLEM_FIELDS) <= set(problem["properties"])

    # -- the human docs work offline: the page references only local assets, and they are served
    r = client.get("/api/v1/docs")  # no token needed
    if r.status_code in (301, 302, 308):
        r = client.get(r.headers["Location"])
    assert r.status_code == 200, r.get_data(as_text=True)
    assert r.mimetype == "text/html"
    html = r.get_data(as_text=True)

    external = [u for u in re.findall(r"(?:https?:)?//[^\s\"'<>)]+", html)
                if urlsplit(u if u.startswith("http") else "http:" + u).hostname not in ("localhost", "127.0.0.1")]
    assert not external, f"the docs page loads from other hosts: {external}"
    references = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", html)
    references += re.findall(r"""url\s*:\s*["']([^"']+)["']""", html)
    assets = [urljoin("/api/v1/docs", ref) for ref in references if not ref.startswith(("#", "data:"))]
    assert any(a.endswith(".js") for a in assets) and any(a.endswith(".css") for a in assets), assets
    assert "/api/v1/openapi.json" in assets
    for asset in assets:
        with client.get(asset) as got:  # files are streamed: close them
            assert got.status_code == 200, asset
            assert got.get_data(), asset
            if asset.endswith(".js"):
                assert "javascript" in got.mimetype, (asset, got.mimetype)
            if asset.endswith(".css"):
                assert got.mimetype == "text/css", (asset, got.mimetype)
    # the page's content security policy forbids loading anything from elsewhere
    csp = r.headers.get("Content-Security-Policy", "")
    assert "default-src 'self'" in csp and "http" not in csp, csp
    # the asset route serves its bundle only
    for path in ("/api/v1/docs/assets/..%2F..%2F..%2Fregistry%2Fconfig.py", "/api/v1/docs/assets/no-such-file.js"):
        with client.get(path) as got:
            assert got.status_code == 404, path


# -- health ------------------------------------------------------------------------------------------------------------
def test_healthz_reports_a_database_gone_since_the_start(app, units):
    """The start checked the database; if it goes away later, readiness says so (and the app keeps running)."""
    from registry.db import Database
    started = app.extensions["registry.db"]
    app.extensions["registry.db"] = Database("postgresql+psycopg://postgres@127.0.0.1:1/none")
    try:
        r = app.test_client().get("/healthz")
    finally:
        app.extensions["registry.db"].dispose()
        app.extensions["registry.db"] = started
    assert r.status_code == 503, r.get_data(as_text=True)
    assert r.get_json()["database"] != "ok" and r.get_json()["ledger_key"] == "ok"
    assert r.get_json()["version"] == registry.__version__


# -- headers on every response ---------------------------------------------------------------------------------------
def test_healthz_and_every_response_carries_request_id_and_security_headers(app, units):
    court, client = units["baoshan"], app.test_client()
    lot = {"card_no": "H-1", "custodian": "货场", "commodity": "铝锭", "weight_t": "1.0000"}
    responses = {
        "201": court.post("/api/v1/lots", json={"lots": [lot]}),
        "200 json": court.get("/api/v1/lots"),
        "200 text": court.get("/api/v1/ledger/checkpoint"),
        "200 jsonl": court.get("/api/v1/ledger/entries", query_string={"start": 0}),
        "400": court.post("/api/v1/lots", data="{", content_type="application/json"),
        "401": client.get("/api/v1/lots"),
        "403": units["auditor"].post("/api/v1/lots", json={"lots": [lot]}),
        "404": court.get("/api/v1/lots/4242"),
        "405": court.client.delete("/api/v1/lots", headers=court._headers(None)),
        "409": court.post("/api/v1/lots", json={"lots": [lot]}),
        "422": court.post("/api/v1/lots", json={"lots": [{**lot, "weight_t": 1}]}),
        "healthz": client.get("/healthz"),
        "openapi": client.get("/api/v1/openapi.json"),
        "docs": client.get("/api/v1/docs"),
        "docs asset": client.get("/api/v1/docs/assets/swagger-ui.css"),
    }
    expected = {"201": 201, "200 json": 200, "200 text": 200, "200 jsonl": 200, "400": 400, "401": 401,
                "403": 403, "404": 404, "405": 405, "409": 409, "422": 422}
    for r in responses.values():
        r.close()  # the docs asset is a streamed file
    ids = []
    for name, r in responses.items():
        if name in expected:
            assert r.status_code == expected[name], (name, r.get_data(as_text=True))
        request_id = r.headers.get("X-Request-Id")
        assert request_id and re.fullmatch(r"[A-Za-z0-9._-]{1,64}", request_id), (name, request_id)
        ids.append(request_id)
        assert r.headers.get("X-Content-Type-Options") == "nosniff", name
        if r.mimetype == "application/problem+json":
            assert r.get_json().get("request_id", request_id) == request_id, name
    assert len(set(ids)) == len(ids), "request ids repeat"
    health = responses["healthz"]  # needs no token; reports the database, the ledger key and the version
    assert health.status_code == 200, health.get_data(as_text=True)
    assert {k: health.get_json().get(k) for k in ("status", "database", "ledger_key", "version")} == \
        {"status": "ok", "database": "ok", "ledger_key": "ok", "version": registry.__version__}
    for name in ("200 json", "401", "404", "422"):
        assert responses[name].headers.get("X-Frame-Options") == "DENY", name
        assert "no-store" in responses[name].headers.get("Cache-Control", ""), name

    # the request id is always the server's own, whatever the client sends (its own is logged beside it)
    for given in ("trace-2026.03.02_x", "has space", "x" * 65, "<script>", "a/b"):
        r = court.get("/api/v1/lots/4242", headers={"X-Request-Id": given})
        assert r.headers["X-Request-Id"] != given and re.fullmatch(r"[0-9a-f]{32}", r.headers["X-Request-Id"])
        assert r.get_json()["request_id"] == r.headers["X-Request-Id"]


def test_text_responses_have_one_well_formed_content_type(units):
    for path in ("/api/v1/ledger/checkpoint", "/api/v1/ledger/key"):
        r = units["auditor"].get(path)
        assert r.status_code == 200, path
        assert r.headers["Content-Type"].lower().count("charset") == 1, (path, r.headers["Content-Type"])
