"""The canonical forms of identifiers (registry/rules/identifiers.py): idempotent, every way a person types one
maps to one form, and what cannot be an identifier is refused. Property tests (hypothesis) and tables."""
from __future__ import annotations

import re
import sys

import pytest
import unicodedataplus as ucd
from hypothesis import example, given, settings, strategies as st

from registry.rules import identifiers
from registry.rules.identifiers import DASHES, NotAnIdentifier, card_no, case_number, name

FORMS = (card_no, name, case_number)
SPACES = (" ", "\u3000", "\t", "\u00a0", "  ")
BRACKETS = ("()", "（）", "〔〕", "[]", "【】")


def full_width(text: str) -> str:
    """As a Chinese IME types ASCII: every printable ASCII character in its full-width form."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else "\u3000" if c == " " else c for c in text)


def refused(form, typed: str) -> str:
    with pytest.raises(NotAnIdentifier) as caught:
        form(typed)
    return str(caught.value)


# -- idempotent, whatever the text --------------------------------------------------------------------------
@settings(max_examples=500)
@given(st.text(st.characters(codec="utf-8"), max_size=40))
@example("ﬃ㍻ＡＬ－０１")
@example("\u0041\u0301 \u3000x")
@example("(２０２５)(2026)")
def test_every_form_is_idempotent(typed):
    for form in FORMS:
        try:
            once = form(typed)
        except NotAnIdentifier:
            continue
        assert form(once) == once, (form.__name__, typed, once)
        assert once and once == ucd.normalize("NFKC", once) or form is case_number, (form.__name__, once)


@given(st.text(st.characters(codec="utf-8"), max_size=40))
def test_a_canonical_card_number_has_no_space_no_odd_dash_and_no_lower_case_ascii(typed):
    try:
        form = card_no(typed)
    except NotAnIdentifier:
        return
    assert not re.search(r"\s", form) and not any(d in form for d in DASHES)
    assert not re.search(r"[a-z]", form)


@given(st.text(st.characters(codec="utf-8"), max_size=40))
def test_a_canonical_name_is_trimmed_with_single_spaces(typed):
    try:
        form = name(typed)
    except NotAnIdentifier:
        return
    assert form == form.strip() and "  " not in form and not re.search(r"[^\S ]", form)


# -- every variant maps to one form -----------------------------------------------------------------------
CARDS = st.from_regex(r"[A-Z]{1,3}(-[0-9]{1,6}){1,3}", fullmatch=True)


@st.composite
def card_variants(draw):
    """A canonical card number and one way a clerk may type it."""
    card = draw(CARDS)
    typed = card
    if draw(st.booleans()):
        typed = full_width(typed)
    if draw(st.booleans()):
        typed = typed.lower()  # full-width letters too: NFKC brings them to ASCII first
    typed = "".join(draw(st.sampled_from(DASHES + "-")) if ch in "-－" else ch for ch in typed)
    cut = draw(st.integers(0, len(typed)))
    inner = draw(st.sampled_from(("",) + SPACES))
    typed = typed[:cut] + inner + typed[cut:]
    return card, draw(st.sampled_from(("",) + SPACES)) + typed + draw(st.sampled_from(("",) + SPACES))


@settings(max_examples=300)
@given(card_variants())
def test_every_variant_of_a_card_number_maps_to_it(pair):
    card, typed = pair
    assert card_no(typed) == card, (typed, card)


@pytest.mark.parametrize("typed", ["ＡＬ-2025-0001", "al-2025-0001", "AL-2025-0001 ", "AL‐2025‐0001",
                                   "AL－2025－0001", "AL−2025−0001", "AL﹣2025﹣0001", "AL—2025–0001",
                                   " AL-2025-0001\u3000", "ａｌ－２０２５－０００１", "AL\u20112025\u20110001"])
def test_the_issue_s_card_variants_are_one_card(typed):
    assert card_no(typed) == "AL-2025-0001"
    # spaces inside are removed, not kept: a wrapped or read-aloud card is the same card
    assert card_no("AL 2025 0001") == card_no("AL2025\u30000001") == "AL20250001"


WORDS = st.lists(st.text(st.sampled_from("上海铁路某货场甲乙公司ABCdef123·"), min_size=1, max_size=6), min_size=1,
                 max_size=4)


@settings(max_examples=300)
@given(WORDS, st.lists(st.sampled_from(SPACES), min_size=5, max_size=5), st.booleans())
def test_every_variant_of_a_name_maps_to_it(words, gaps, wide):
    canonical = " ".join(words)
    typed = gaps[0] + "".join(w + (gaps[1 + i % 3] if i < len(words) - 1 else "") for i, w in enumerate(words)) \
        + gaps[4]
    assert name(full_width(typed) if wide else typed) == canonical, typed


@pytest.mark.parametrize("typed", ["上海铁路某货场", "上海铁路某货场 ", " 上海铁路某货场", "上海铁路某货场\u3000"])
def test_the_issue_s_custodian_variants_are_one_custodian(typed):
    assert name(typed) == "上海铁路某货场"
    assert name("上海铁路\u3000\u3000某货场") == name("上海铁路 某货场") == "上海铁路 某货场"


@settings(max_examples=300)
@given(st.integers(1990, 2099), st.from_regex(r"[沪苏京]0?[0-9]{2,4}(执|执保|财保|民初)[0-9]{1,5}号", fullmatch=True),
       st.sampled_from(BRACKETS), st.sampled_from(BRACKETS), st.booleans(), st.sampled_from(("",) + SPACES))
def test_every_variant_of_a_case_number_maps_to_it(year, rest, opening, closing, wide_digits, space):
    canonical = f"（{year}）{rest}"
    digits = full_width(str(year)) if wide_digits else str(year)
    typed = f"{space}{opening[0]}{digits}{closing[1]}{space}{rest[:2]}{space}{rest[2:]}{space}"
    assert case_number(typed) == canonical, typed


@pytest.mark.parametrize("typed", ["(2025)沪0113执1号", "（2025）沪0113执1号", "(２０２５)沪0113执1号",
                                   "〔2025〕沪0113执1号", "[2025]沪0113执1号", "【2025】沪0113执1号",
                                   " (2025) 沪0113 执1号 "])
def test_the_issue_s_case_number_variants_are_one_case(typed):
    assert case_number(typed) == "（2025）沪0113执1号"


# -- refusals -------------------------------------------------------------------------------------------
INVISIBLE = [chr(c) for c in (0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF, 0x202E, 0x202A, 0x2066, 0x00AD, 0xE0001)]


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("hidden", INVISIBLE)
def test_format_and_bidi_controls_are_refused(form, hidden):
    assert f"U+{ord(hidden):04X}" in refused(form, f"AL-2025{hidden}-0001")


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("blank", ["", " ", "\u3000", " \t\u3000 ", "\u00a0"])
def test_nothing_but_spaces_is_refused(form, blank):
    assert "empty" in refused(form, blank)


@pytest.mark.parametrize("typed", [
    "АL-2025-0001",      # Cyrillic А
    "AL-2025-000\u0406",  # Cyrillic І (looks like I)
    "ΑL-1",              # Greek Alpha
    "A\u13aaL-1",        # Cherokee
    "沪А-1",             # Han with Cyrillic
    "カードА1",          # kana with Cyrillic
])
def test_letters_of_two_scripts_that_spoof_one_are_refused(typed):
    assert "scripts" in refused(card_no, typed)


@pytest.mark.parametrize("typed", ["AL-2025-0001", "沪A-001", "沪铝卡-〇〇一号", "カード1", "가A1", "ㄅㄆ沪1",
                                   "КАРТА-1", "Ωμέγα-1", "Café-1", "Cafe\u0301-1", "ZJ-AL-0001（北）"])
def test_one_script_or_latin_beside_chinese_japanese_or_korean_writing_is_a_card_number(typed):
    assert card_no(typed)


def test_only_card_numbers_are_held_to_one_script():
    assert name("Ivanov Иванов") == "Ivanov Иванов"
    assert case_number("АL(2025)1号") == "АL（2025）1号"


def test_the_documented_invisible_characters_are_every_cf_character_of_the_bmp():
    computed, start = [], None
    for code in range(0x10000):
        if ucd.category(chr(code)) == "Cf":
            if start is None or code != computed[-1][1] + 1:
                computed.append((code, code))
            else:
                computed[-1] = (computed[-1][0], code)
            start = code
    shown = "".join(f"\\u{a:04x}" if a == b else f"\\u{a:04x}-\\u{b:04x}" for a, b in computed)
    assert identifiers.INVISIBLE_BMP == shown
    assert all(ucd.category(chr(c)) != "Cf" or re.match(f"[{identifiers.INVISIBLE_BMP}]", chr(c))
               for c in range(0x10000))
    assert sys.maxunicode > 0xFFFF  # the rule itself reaches every plane: see INVISIBLE above (U+E0001)
