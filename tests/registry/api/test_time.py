"""Time (SPEC §4.2–4.4): expiry at 24:00 Beijing with no act, `as_of`, terms that start on promotion, warnings.

The registry's clock is the `clock` fixture; moving it is the only thing that happens between two reads
unless a test writes, and the ledger size proves that no write (no background job) was needed.
"""
from __future__ import annotations

from datetime import timedelta

from helpers import (API, assert_audit_clean, assert_conflict, assert_problem, beijing_midnight_after, history,
                     iso, ledger_size, lot_view, nothing_changes, notifications, ok, open_case, per_lot, queue,
                     register_lots, release, renew, seize, seizure_view, try_seize)

W_NO, B_NO, Y_NO = "（2026）苏02执保1号", "（2026）沪0113执1号", "（2026）沪0110执1号"  # canonical


def three_in_a_queue(units, weights=("12.0000",), w_term="2026-03-10", b_term=None, y_term=None):
    """Wuxi effective until `w_term`, Baoshan queued 2nd, Yangpu queued 3rd on each lot."""
    b, w, y = units["baoshan"], units["wuxi"], units["yangpu"]
    lots = register_lots(b, list(weights))
    cw, cb, cy = open_case(w, W_NO), open_case(b, B_NO), open_case(y, Y_NO)
    sw = seize(w, cw, lots, "W-1", term_end=w_term)
    sb = seize(b, cb, lots, "B-1", term_end=b_term)
    sy = seize(y, cy, lots, "Y-1", term_end=y_term)
    return lots, (cw, cb, cy), (sw, sb, sy)


def test_expiry_is_exactly_24_00_beijing_and_promotes_with_no_write(app, session, units, clock):
    lots, (cw, cb, cy), (sw, sb, sy) = three_in_a_queue(units, ("12.0000", "13.0000"), b_term="2026-03-31")
    reader = units["auditor"]
    end = beijing_midnight_after("2026-03-10")
    assert iso(end) == "2026-03-10T16:00:00Z"
    size = ledger_size(reader)

    clock.now = end - timedelta(microseconds=1)  # 23:59:59.999999 Beijing on the last day
    for lot in lots:
        assert queue(reader, lot) == [(sw["id"], 1, "effective"), (sb["id"], 2, "queued"), (sy["id"], 3, "queued")]
    assert {x["status"] for x in seizure_view(reader, sw)["lots"]} == {"effective"}
    assert [n["type"] for n in notifications(units["wuxi"]) if n["type"] != "joined_queue"] == ["expiring"] * 2

    clock.now = end  # 24:00 Beijing: the seizure has ended, whether or not anyone acts
    for lot in lots:
        view = lot_view(reader, lot)
        assert [(s["seizure_id"], s["rank"], s["status"]) for s in view["seizures"]] == [
            (sb["id"], 1, "effective"), (sy["id"], 2, "queued")]
        head = view["seizures"][0]
        assert head["effective_from"].startswith("2026-03-10T16:00:00") and head["effective_from"].endswith("+00:00")
        assert head["term_end"] == "2026-04-09"  # its 30-day term (2 … 31 March) runs from 11 March
        (ended,) = view["history"]
        assert (ended["seizure_id"], ended["rank"], ended["status"], ended["term_end"]) == (
            sw["id"], None, "expired", "2026-03-10")
        assert ended["ended_at"] == head["effective_from"]
        assert view["disposer"] == {"case_id": cb["id"], "unit": "SH-BAOSHAN-COURT"}
    assert {(x["rank"], x["status"]) for x in seizure_view(reader, sw)["lots"]} == {(None, "expired")}
    assert {(x["rank"], x["status"]) for x in seizure_view(reader, sb)["lots"]} == {(1, "effective")}
    assert sorted((n["type"], n["lot_id"]) for n in notifications(units["wuxi"]) if n["type"] == "expired") == [
        ("expired", lots[0]["id"]), ("expired", lots[1]["id"])]
    promoted = [n for n in notifications(units["baoshan"]) if n["type"] == "effective"]
    assert sorted(n["lot_id"] for n in promoted) == [lots[0]["id"], lots[1]["id"]]
    assert {(n["at"], n["term_end"]) for n in promoted} == {(head["effective_from"], "2026-04-09")}
    assert ledger_size(reader) == size
    # a seizure made effective by an expiry is released like any other, promoting the next at that instant
    clock.advance(hours=1)
    r = ok(release(units["baoshan"], sb, "B-解", lot_ids=[lots[1]["id"]]))
    assert [(p["lot_id"], p["seizure_id"]) for p in r["promoted"]] == [(lots[1]["id"], sy["id"])]
    head = lot_view(reader, lots[1])["seizures"][0]
    released_at = per_lot(r["seizure"])[lots[1]["id"]]["ended_at"]
    assert (head["seizure_id"], head["effective_from"]) == (sy["id"], released_at)
    size = ledger_size(reader)
    # and the whole queue runs out in turn, still with no act: the lot is free again
    clock.now = beijing_midnight_after("2028-04-10")
    view = lot_view(reader, lots[0])
    assert (view["status"], view["seizures"], view["disposer"]) == ("free", [], None)
    assert [(s["seizure_id"], s["status"]) for s in view["history"]] == [
        (sw["id"], "expired"), (sb["id"], "expired"), (sy["id"], "expired")]
    assert ledger_size(reader) == size
    assert_audit_clean(app, session, reader)


def test_as_of_shows_the_past_queue_and_the_future_expiries(app, session, units, clock):
    lots, (cw, cb, cy), (sw, sb, sy) = three_in_a_queue(units, w_term="2026-06-30", b_term="2026-03-31")
    reader, lot = units["auditor"], lots[0]
    then = lot_view(reader, lot)
    t0 = then["as_of"]

    clock.advance(days=5)
    ok(units["high"].post(f"{API}/cases/{cb['id']}/transfers", json={
        "mode": "elevate", "to_unit": "SH-HIGH-COURT", "document_no": "(2026)沪执监1号"}), 201)
    r = ok(release(units["wuxi"], sw, "W-解"))
    released_at = per_lot(r["seizure"])[lot["id"]]["ended_at"]
    assert queue(reader, lot) == [(sb["id"], 1, "effective"), (sy["id"], 2, "queued")]

    past = lot_view(reader, lot, as_of=t0)  # as it stood before the elevation and the release
    assert {k: v for k, v in past.items() if k != "as_of"} == {k: v for k, v in then.items() if k != "as_of"}
    assert past["seizures"][1]["unit"] == "SH-BAOSHAN-COURT"
    assert lot_view(reader, lot)["seizures"][0]["unit"] == "SH-HIGH-COURT"
    assert queue(reader, lot, as_of=iso_minus(released_at)) == [
        (sw["id"], 1, "effective"), (sb["id"], 2, "queued"), (sy["id"], 3, "queued")]
    assert queue(reader, lot, as_of=released_at) == [(sb["id"], 1, "effective"), (sy["id"], 2, "queued")]

    # the future: Baoshan's 30-day term (2 … 31 March asked for) counts from the release on 7 March: 5 April
    b_view = lot_view(reader, lot)["seizures"][0]
    assert b_view["term_end"] == "2026-04-05"
    size = ledger_size(reader)
    future = lot_view(reader, lot, as_of="2026-04-05T15:59:59Z")
    assert [(s["seizure_id"], s["status"]) for s in future["seizures"]] == [(sb["id"], "effective"),
                                                                            (sy["id"], "queued")]
    future = lot_view(reader, lot, as_of="2026-04-05T16:00:00+00:00")
    assert [(s["seizure_id"], s["rank"], s["status"]) for s in future["seizures"]] == [(sy["id"], 1, "effective")]
    assert future["seizures"][0]["effective_from"].startswith("2026-04-05T16:00:00")
    assert future["disposer"] == {"case_id": cy["id"], "unit": "SH-YANGPU-COURT"}
    assert [(s["seizure_id"], s["status"]) for s in future["history"]] == [(sw["id"], "released"),
                                                                           (sb["id"], "expired")]
    far = lot_view(reader, lot, as_of="2029-01-01T00:00:00+08:00")
    assert far["status"] == "free" and far["seizures"] == []
    # asking about the future changed nothing: now is still now
    assert queue(reader, lot) == [(sb["id"], 1, "effective"), (sy["id"], 2, "queued")]
    assert ledger_size(reader) == size
    assert_problem(reader.get(f"{API}/lots/{lot['id']}?as_of=2026-03-02T09:00:00"), 422)  # no zone: ambiguous
    assert_audit_clean(app, session, reader)


def iso_minus(instant: str) -> str:
    """One microsecond before an RFC 3339 instant as the API writes it."""
    from datetime import datetime
    return iso(datetime.fromisoformat(instant) - timedelta(microseconds=1))


def test_renewal_after_expiry_is_409_and_only_a_new_seizure_at_the_end_follows(app, session, units, clock):
    lots, (cw, cb, cy), (sw, sb, sy) = three_in_a_queue(units, ("12.0000", "14.0000"), w_term="2026-03-31")
    w = units["wuxi"]
    clock.now = beijing_midnight_after("2026-03-31") - timedelta(seconds=1)
    ok(renew(w, sw, "2026-05-31", "W-续1"))  # one second before the end: still possible
    clock.now = beijing_midnight_after("2026-05-31")
    with nothing_changes(units["auditor"], lots, [sw, sb]):
        problem = assert_problem(renew(w, sw, "2026-12-31", "W-续2"), 409, "seizure_expired")
        for lot in lots:
            assert_conflict(problem, lot, "seizure_expired")
        assert_problem(release(w, sw, "W-解"), 409, "seizure_expired")
    again = seize(w, cw, lots, "W-2")
    assert {(x["rank"], x["status"]) for x in again["lots"]} == {(3, "queued")}
    assert queue(w, lots[0]) == [(sb["id"], 1, "effective"), (sy["id"], 2, "queued"), (again["id"], 3, "queued")]
    assert history(w, lots[0]) == [(sw["id"], None, "expired")]
    assert_audit_clean(app, session, w)


def test_a_queued_term_starts_on_promotion_counts_beijing_days_and_is_capped(app, session, units, clock):
    lots, (cw, cb, cy), (sw, sb, sy) = three_in_a_queue(units, ("12.0000",), w_term=None, b_term="2026-03-31")
    (lot,) = lots
    assert per_lot(sw)[lot["id"]]["term_end"] == "2028-03-01"  # default: the 2-year maximum, 2 Mar 2026 … 1 Mar 2028
    assert lot_view(units["auditor"], lot)["seizures"][1]["term_end"] is None

    # days are Beijing days: half an hour after midnight in Beijing it is 3 March, though still 2 March in UTC
    clock.now = beijing_midnight_after("2026-03-02") + timedelta(minutes=30)
    (late,) = register_lots(units["baoshan"], ["9.0000"], prefix="LATE")
    with nothing_changes(units["auditor"], [late]):
        problem = assert_problem(try_seize(units["wuxi"], cw, [late], "W-2", term_end="2026-03-02"), 422,
                                 "validation_error")
        assert "term_end" in problem["errors"]
    sw2 = seize(units["wuxi"], cw, [late], "W-2")
    assert per_lot(sw2)[late["id"]]["term_end"] == "2028-03-02"  # 3 March 2026 … 2 March 2028
    sb2 = seize(units["baoshan"], cb, [late], "B-2")  # 731 days too: 3 March 2026 … 2 March 2028 holds 29 Feb

    # Baoshan asked for 30 days (2 … 31 March); the days count from when it becomes effective
    clock.now = beijing_midnight_after("2026-03-11") + timedelta(hours=3)  # 12 March, 03:00 Beijing
    ok(release(units["wuxi"], sw, "W-解", lot_ids=[lot["id"]]))
    head = lot_view(units["auditor"], lot)["seizures"][0]
    assert (head["seizure_id"], head["term_end"]) == (sb["id"], "2026-04-10")
    # Yangpu took the default (731 days from 2 March 2026, a span with 29 Feb 2028); promoted on 11 April 2026
    # that is 2026-04-11 … 2028-04-10 = 731 days again, inside the maximum
    clock.now = beijing_midnight_after("2026-04-10")
    head = lot_view(units["auditor"], lot)["seizures"][0]
    assert (head["seizure_id"], head["status"], head["term_end"]) == (sy["id"], "effective", "2028-04-10")

    # on the late lot Baoshan's 731 days would run from 3 March 2028 to 3 March 2030, but two years from
    # 3 March 2028 end on 2 March 2030: the maximum caps the term
    clock.now = beijing_midnight_after("2028-03-02")
    head = lot_view(units["auditor"], late)["seizures"][0]
    assert (head["seizure_id"], head["status"], head["term_end"]) == (sb2["id"], "effective", "2030-03-02")
    assert head["effective_from"].startswith("2028-03-02T16:00:00")
    assert_audit_clean(app, session, units["auditor"])


def test_expiring_flag_and_notification_30_days_before_the_end(app, session, units, clock):
    lots, _, (sw, sb, sy) = three_in_a_queue(units, ("12.0000",), w_term="2026-04-30")
    (lot,) = lots
    w, b = units["wuxi"], units["baoshan"]
    warn = beijing_midnight_after("2026-04-30") - timedelta(days=30)
    assert iso(warn) == "2026-03-31T16:00:00Z"
    clock.now = warn - timedelta(seconds=1)
    assert lot_view(b, lot)["flags"] == []
    assert [n["type"] for n in notifications(w)] == ["joined_queue"] * 2  # Baoshan's and Yangpu's
    assert ok(b.get(f"{API}/lots"))["items"][0]["flags"] == []
    clock.now = warn
    assert lot_view(b, lot)["flags"] == ["expiring"]
    assert ok(b.get(f"{API}/lots"))["items"][0]["flags"] == ["expiring"]
    (n,) = [n for n in notifications(w) if n["type"] == "expiring"]
    assert (n["type"], n["lot_id"], n["seizure_id"], n["term_end"], n["case_number"]) == (
        "expiring", lot["id"], sw["id"], "2026-04-30", W_NO)
    assert n["at"].startswith("2026-03-31T16:00:00")
    assert "expiring" not in [x["type"] for x in notifications(b)]  # Baoshan's seizure is queued, not ending
    # a renewal lifts the warning
    ok(renew(w, sw, "2026-08-31", "W-续"))
    assert lot_view(b, lot)["flags"] == []
    assert_audit_clean(app, session, b)


def test_notifications_after_a_cursor_are_only_the_newer_ones(app, session, units, clock):
    lots, _, (sw, sb, sy) = three_in_a_queue(units, ("12.0000", "13.0000"), w_term="2026-04-30",
                                             b_term="2026-04-30")
    b = units["baoshan"]
    first = notifications(b)
    assert [(n["type"], n["behind_case_number"], n["behind_unit"]) for n in first] == [
        ("queued", W_NO, "JS-WUXI-COURT")] * 2
    assert [n["id"] for n in first] == sorted(n["id"] for n in first)
    assert notifications(b, after=first[-1]["id"]) == []
    assert notifications(b, after=first[0]["id"]) == first[1:]

    clock.now = beijing_midnight_after("2026-04-30")  # Wuxi's seal ends; Baoshan's becomes effective
    newer = notifications(b, after=first[-1]["id"])
    assert sorted((n["type"], n["lot_id"]) for n in newer) == [
        ("effective", lots[0]["id"]), ("effective", lots[1]["id"])]
    assert all(n["id"] > first[-1]["id"] for n in newer)
    assert [n["id"] for n in notifications(b)] == [n["id"] for n in first + newer]
    assert notifications(b, after=newer[-1]["id"]) == []
    # Baoshan's term now runs 1 May … 29 June (60 days): the warning comes 30 days before its end
    clock.now = beijing_midnight_after("2026-06-29") - timedelta(days=30)
    latest = notifications(b, after=newer[-1]["id"])
    assert [(n["type"], n["term_end"]) for n in latest] == [("expiring", "2026-06-29")] * 2
    assert_problem(b.get(f"{API}/notifications?after=not-a-cursor"), 422, "validation_error")
    assert_audit_clean(app, session, units["auditor"])


def test_a_new_short_seizure_warns_a_client_that_polls_with_after(app, session, units, clock):
    lots, _, (sw, sb, sy) = three_in_a_queue(units, ("12.0000", "13.0000"), w_term="2026-04-30")
    b = units["baoshan"]
    seen = notifications(b)[-1]["id"]  # Baoshan polled: it is queued on both lots
    clock.advance(hours=1)
    cb2 = open_case(b, "(2026)沪0113执2号")
    short = seize(b, cb2, [register_lots(b, ["1.0000"], prefix="NEW")[0]], "B2-1", term_end="2026-03-12")
    newer = notifications(b, after=seen)  # dated when it entered the window, so a polling client sees it
    assert [(n["type"], n["seizure_id"]) for n in newer] == [("expiring", short["id"])]
    assert_audit_clean(app, session, units["auditor"])


def test_as_of_before_a_renewal_shows_the_term_as_it_stood(app, session, units, clock):
    lots, _, (sw, sb, sy) = three_in_a_queue(units, ("12.0000",), w_term="2026-04-30")
    (lot,) = lots
    t0 = lot_view(units["auditor"], lot)["as_of"]
    clock.advance(days=10)
    ok(renew(units["wuxi"], sw, "2026-10-31", "W-续"))
    assert lot_view(units["auditor"], lot)["seizures"][0]["term_end"] == "2026-10-31"
    assert lot_view(units["auditor"], lot, as_of=t0)["seizures"][0]["term_end"] == "2026-04-30"
    assert_audit_clean(app, session, units["auditor"])


def test_the_effective_holder_hears_of_every_case_that_queues_behind_it_in_a_sentence(app, session, units, clock):
    lots, (cw, cb, cy), (sw, sb, sy) = three_in_a_queue(units, ("12.0000",), w_term="2026-04-30")
    (lot,) = lots
    w, b = units["wuxi"], units["baoshan"]
    joined = [n for n in notifications(w) if n["type"] == "joined_queue"]
    assert [(n["seizure_id"], n["case_number"], n["joined_case_number"], n["joined_unit"], n["joined_unit_name"],
             n["rank"], n["card_no"]) for n in joined] == [
        (sw["id"], W_NO, B_NO, "SH-BAOSHAN-COURT", "上海市宝山区人民法院", 2, lot["card_no"]),
        (sw["id"], W_NO, Y_NO, "SH-YANGPU-COURT", "上海市杨浦区人民法院", 3, lot["card_no"])]
    first = joined[0]
    at = first["at"]
    assert first["text"].startswith("上海市宝山区人民法院（（2026）沪0113执1号）于 ")
    assert f"对卡号 {lot['card_no']} 轮候查封，排第 2 位；您的案件（2026）苏02执保1号的查封为生效查封。" in first["text"]
    assert "（北京时间）" in first["text"]
    # The queued case hears whom it is behind, by name; the same notifications read in English on request.
    (queued,) = [n for n in notifications(b) if n["type"] == "queued"]
    assert (queued["behind_unit_name"], queued["rank"]) == ("无锡市中级人民法院", 2)
    assert "排在无锡市中级人民法院（（2026）苏02执保1号）之后" in queued["text"]
    english = ok(w.get(f"{API}/notifications", headers={"Accept-Language": "en-GB,en;q=0.9,zh;q=0.5"}))["items"]
    (first_en,) = [n for n in english if n["type"] == "joined_queue" and n["rank"] == 2]
    assert first_en["text"].startswith(f"上海市宝山区人民法院 (case {B_NO}) queued a seizure of card {lot['card_no']} at ")
    assert first_en["text"].endswith(f"Beijing time, at rank 2, behind the effective seizure of case {W_NO}.")
    assert (first_en["id"], first_en["at"]) == (first["id"], at)
    chinese_first = ok(w.get(f"{API}/notifications", headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"}))
    assert chinese_first["items"][0]["text"] == notifications(w)[0]["text"]
    assert_audit_clean(app, session, units["auditor"])
