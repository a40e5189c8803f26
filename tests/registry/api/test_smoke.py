from registry.audit import run_audit


def test_story_audits_clean(app, units, session):
    baoshan = units["baoshan"]
    r = baoshan.post("/api/v1/lots", json={"lots": [{"card_no": "AL-1", "custodian": "Yard", "commodity": "铝锭",
                                                     "weight_t": "2.0312"}]})
    assert r.status_code == 201, r.get_json()
    lot = r.get_json()["lots"][0]
    r = baoshan.post("/api/v1/cases", json={"number": "(2024)沪0113执1234号", "kind": "execution"})
    assert r.status_code == 201, r.get_json()
    case = r.get_json()
    r = baoshan.post("/api/v1/seizures", json={"case_id": case["id"], "kind": "seal", "document_no": "D1",
                                               "served_at": "2026-03-01T00:00:00Z", "lot_ids": [lot["id"]]})
    assert r.status_code == 201, r.get_json()
    with app.app_context():
        diffs, size = run_audit(session)
    assert diffs == [] and size == 10
