"""The terms the law sets for a seizure: one table, by kind of case, kind of seizure and class of property.

A seizure records, on each lot, the key of the row it was made under (`term_rule`); its term on that lot is
counted by that row ever after, by the live path and by whatever reads the replayed facts alike. So a row's
figures never change once holds name it: a change in the law is a new row. A hold recorded before this table
names no row and keeps the term the registry gave it then: its class's civil maximum, whatever the case
(`BEFORE_THE_TABLE`).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

SEIZURE_KINDS = ("seal", "distrain", "freeze")  # 查封, 扣押, 冻结
PROPERTY_CLASSES = ("movable", "real_estate", "deposit")
CIVIL, CRIMINAL = "civil", "criminal"

_CIVIL_SOURCE = ("《最高人民法院关于适用〈中华人民共和国民事诉讼法〉的解释》第四百八十五条（2015年施行时为第四百八十七条）："
                 "冻结银行存款不超过一年，查封、扣押动产不超过两年，查封不动产、冻结其他财产权不超过三年；"
                 "续行期限不超过上述期限")
_CRIMINAL_FREEZE_SOURCE = ("《公安机关办理刑事案件程序规定》第二百四十三条第一款及《人民检察院刑事诉讼规则》："
                           "冻结存款、汇款、证券交易结算资金、期货保证金等财产的期限为六个月，每次续冻不超过六个月")
_CRIMINAL_MAJOR_SOURCE = ("《公安机关办理刑事案件程序规定》第二百四十三条第二款：重大、复杂案件经设区的市一级以上"
                          "公安机关负责人批准，冻结期限可以为一年，每次续冻不超过一年")
_CRIMINAL_GOODS_SOURCE = ("《中华人民共和国刑事诉讼法》第一百四十一条、第一百四十五条：查封、扣押不设法定期限，"
                          "至解除或者处理时止；文书载明期限的，依其期限")


@dataclass(frozen=True)
class TermRule:
    """One row: the seizures it governs, the longest term and renewal, and the law that sets them."""

    key: str | None                    # recorded with each hold made under it; None: before the table
    procedure: str                     # civil (preservation, execution) or criminal
    seizure_kinds: tuple[str, ...]
    property_class: str
    max_months: int | None             # the longest term, and the default; None: the law sets none
    renewal_months: int | None         # the most one renewal (续封) may add; None: the law sets none
    source: str
    major_case: bool = False           # on the named approval document of a major case

    @property
    def term_required(self) -> bool:
        """Whether every seizure under the row has a term (the maximum when none is asked for); if not, it
        has no fixed term unless the document sets one."""
        return self.max_months is not None


RULES = (
    TermRule("civil.movable", CIVIL, SEIZURE_KINDS, "movable", 24, 24, _CIVIL_SOURCE),
    TermRule("civil.real_estate", CIVIL, SEIZURE_KINDS, "real_estate", 36, 36, _CIVIL_SOURCE),
    TermRule("civil.deposit", CIVIL, SEIZURE_KINDS, "deposit", 12, 12, _CIVIL_SOURCE),
    TermRule("criminal.freeze.deposit", CRIMINAL, ("freeze",), "deposit", 6, 6, _CRIMINAL_FREEZE_SOURCE),
    TermRule("criminal.freeze.deposit.major", CRIMINAL, ("freeze",), "deposit", 12, 12,
             _CRIMINAL_MAJOR_SOURCE, major_case=True),
    TermRule("criminal.goods.movable", CRIMINAL, ("seal", "distrain"), "movable", None, None,
             _CRIMINAL_GOODS_SOURCE),
    # Real estate is sealed, never taken away.
    TermRule("criminal.goods.real_estate", CRIMINAL, ("seal",), "real_estate", None, None,
             _CRIMINAL_GOODS_SOURCE),
)
RULES_BY_KEY = {rule.key: rule for rule in RULES}

_BEFORE_SOURCE = "登记簿启用本期限表之前登记的查封、扣押、冻结：按财产类别适用民事最长期限，不分案件类别"
BEFORE_THE_TABLE = {rule.property_class: TermRule(None, rule.procedure, SEIZURE_KINDS, rule.property_class,
                                                  rule.max_months, rule.renewal_months, _BEFORE_SOURCE)
                    for rule in RULES if rule.procedure == CIVIL}


def procedure_of(case_kind: str) -> str:
    return CRIMINAL if case_kind == "criminal" else CIVIL


def rule_for(case_kind: str, seizure_kind: str, property_class: str, major_case: bool = False) -> TermRule | None:
    """The row governing a new seizure of this kind on property of this class in a case of this kind;
    None: the law provides no such seizure (a criminal case freezes funds and seals or distrains goods)."""
    procedure = procedure_of(case_kind)
    found = [r for r in RULES if r.procedure == procedure and seizure_kind in r.seizure_kinds
             and r.property_class == property_class]
    return next((r for r in found if r.major_case == major_case), None)


def takes_approval(case_kind: str, seizure_kind: str) -> bool:
    """Whether a major case's approval document can lengthen this kind of seizure in this kind of case."""
    procedure = procedure_of(case_kind)
    return any(r.major_case and r.procedure == procedure and seizure_kind in r.seizure_kinds for r in RULES)


def recorded_rule(key: str | None, property_class: str) -> TermRule:
    """The row a hold was recorded under; a hold recorded before the table: its class's civil maximum."""
    return BEFORE_THE_TABLE[property_class] if key is None else RULES_BY_KEY[key]


def no_fixed_term(term_rule: str | None, property_class: str, term_days: int | None,
                  term_end: date | None) -> bool:
    """A hold with no last day set, whose rule sets no maximum: it lasts until it is released or the lot
    disposed of."""
    return term_end is None and term_days is None and recorded_rule(term_rule, property_class).max_months is None
