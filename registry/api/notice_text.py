"""The sentence each notification carries for a person: Simplified Chinese, or English when the request's
`Accept-Language` prefers it; times in Beijing time, units by their names."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from flask import request

from ..rules import BEIJING

LANGUAGES = ("zh", "en")

_ZH = {
    "queued": "{case}对卡号 {card} 的查封于 {at}登记，轮候第 {rank} 位，排在{behind_unit}（{behind_case}）之后。",
    "effective": "{case}对卡号 {card} 的查封于 {at}起成为生效查封（第 1 顺位）{term}。",
    "expired": "{case}对卡号 {card} 的查封已于 {at}期限届满。",
    "voided": "{case}对卡号 {card} 的轮候查封已于 {at}因该批货物被处分而失效。",
    "expiring": "{case}对卡号 {card} 的查封将于 {term_end} 24:00 期限届满，如需续行查封请及时办理。",
    "joined_queue": "{joined_unit}（{joined_case}）于 {at}对卡号 {card} 轮候查封，排第 {rank} 位；"
                    "{case}的查封为生效查封。",
}
_EN = {
    "queued": "The seizure of card {card} in case {case} was registered at {at} and is queued at rank {rank}, "
              "behind {behind_unit} (case {behind_case}).",
    "effective": "The seizure of card {card} in case {case} became the effective seizure (rank 1) at {at}{term}.",
    "expired": "The seizure of card {card} in case {case} reached the end of its term at {at}.",
    "voided": "The queued seizure of card {card} in case {case} lapsed at {at}: the goods were disposed of.",
    "expiring": "The seizure of card {card} in case {case} ends at 24:00 on {term_end} unless it is renewed.",
    "joined_queue": "{joined_unit} (case {joined_case}) queued a seizure of card {card} at {at}, at rank "
                    "{rank}, behind the effective seizure of case {case}.",
}


def language() -> str:
    """`zh` unless the request's Accept-Language prefers English."""
    return request.accept_languages.best_match(["zh", "zh-CN", "zh-Hans", "en"], default="zh")[:2]


def _when(at: datetime, lang: str) -> str:
    local = at.astimezone(BEIJING)
    if lang == "zh":
        return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}（北京时间）"
    return f"{local:%H:%M} on {local.day} {local:%B %Y} Beijing time"


def _day(day: date | None, lang: str) -> str:
    if day is None:
        return ""
    return f"{day.year}年{day.month}月{day.day}日" if lang == "zh" else f"{day.day} {day:%B %Y}"


def text(item: dict[str, Any], lang: str) -> str:
    """One sentence for the notification `item` (as services.notifications gives it)."""
    zh = lang == "zh"
    unnamed = "未知单位" if zh else "an unknown unit"
    term = ""
    if item["type"] == "effective" and item["term_end"] is not None:
        term = f"，期限至 {_day(item['term_end'], lang)}" if zh else f", its term running to {_day(item['term_end'], lang)}"
    values = {
        "case": (f"您的案件{item['case_number']}" if zh else item["case_number"]) if item["case_number"] else "",
        "card": item["card_no"], "at": _when(item["at"], lang), "rank": item["rank"],
        "term_end": _day(item["term_end"], lang), "term": term,
        "behind_unit": item.get("behind_unit_name") or item.get("behind_unit") or unnamed,
        "behind_case": item["behind_case_number"] or "",
        "joined_unit": item.get("joined_unit_name") or item.get("joined_unit") or unnamed,
        "joined_case": item["joined_case_number"] or "",
    }
    return (_ZH if zh else _EN)[item["type"]].format(**values)
