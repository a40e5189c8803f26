"""The one canonical form of each identifier a person types: card numbers, names, case numbers. Pure.

A clerk pastes card numbers from a court ruling, an Excel sheet or a phone: full-width letters from a Chinese
IME, a Unicode hyphen, a trailing space. Each of those is the same card, so every input path (API, command
line, queries, the check, delivery) passes what was typed through one function here, and the registry stores,
compares, returns and records only the result. Every function is idempotent: f(f(x)) == f(x).

What cannot be an identifier is refused (`NotAnIdentifier`) rather than cleaned: invisible format characters
(Unicode category Cf: zero-width spaces, bidi controls), nothing left after trimming, and card numbers whose
letters mix scripts the way look-alike spoofing does (a Cyrillic А in АL-2025-0001).

Unicode data comes from `unicodedataplus` (one Unicode version for normalisation, categories and scripts).
"""
from __future__ import annotations

import re

import unicodedataplus as ucd

DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe63\uff0d"
"""Characters people and word processors type for the hyphen of a card number; all become '-'."""
_DASH_TO_HYPHEN = str.maketrans({dash: "-" for dash in DASHES})
_ASCII_UPPER = str.maketrans("abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ")
_WHITESPACE = re.compile(r"\s+")  # Unicode whitespace, U+3000 among it (NFKC makes that a space anyway)
# The year of a case number (案号) in any of the brackets people type; NFKC has already made （） into ().
_YEAR = re.compile(r"[(\[〔【]([0-9]{4})[)\]〕】]")

# UTS #39 §5.2 "highly restrictive": every character of one script, or of Latin and the scripts of Chinese,
# Japanese or Korean writing together. Han, kana, Hangul and Bopomofo count as the writing systems they belong
# to (UTS #39 §5.1), so 沪A-001 and カード1 pass while AL-2025-0001 with a Cyrillic А does not.
_WRITING_SYSTEMS = {"Hani": {"Hanb", "Jpan", "Kore"}, "Hira": {"Jpan"}, "Kana": {"Jpan"}, "Hang": {"Kore"},
                    "Bopo": {"Hanb"}}
_BESIDE_LATIN = ({"Latn", "Hani", "Hira", "Kana"}, {"Latn", "Hani", "Bopo"}, {"Latn", "Hani", "Hang"})
_ANY_SCRIPT = {"Zyyy", "Zinh"}  # Common and Inherited: digits, punctuation, combining marks


class NotAnIdentifier(ValueError):
    """What was typed cannot be this identifier; the message says why, for the person who typed it."""


def card_no(typed: str) -> str:
    """A card number (卡号): NFKC, dash-like characters as '-', no whitespace at all, ASCII letters upper-case.

    Inner whitespace is removed, not collapsed: 'AL 2025 0001' and 'AL2025 0001' are the same printed card
    read aloud or wrapped by a spreadsheet, and a card number never needs a space to be told from another."""
    _refuse_invisible(typed)
    form = _WHITESPACE.sub("", ucd.normalize("NFKC", typed).translate(_DASH_TO_HYPHEN)).translate(_ASCII_UPPER)
    form = _recomposed(form)
    _refuse_empty(form)
    _refuse_mixed_scripts(form)
    return form


def name(typed: str) -> str:
    """A custodian, owner, party or unit name: NFKC, trimmed, every inner run of whitespace one space."""
    _refuse_invisible(typed)
    form = _recomposed(_WHITESPACE.sub(" ", ucd.normalize("NFKC", typed)).strip())
    _refuse_empty(form)
    return form


def case_number(typed: str) -> str:
    """A case number (案号): NFKC, no whitespace, the year bracket written （2025） whatever bracket was typed."""
    _refuse_invisible(typed)
    form = _YEAR.sub(r"（\1）", _recomposed(_WHITESPACE.sub("", ucd.normalize("NFKC", typed))))
    _refuse_empty(form)
    return form


def _recomposed(form: str) -> str:
    """NFKC once more: a space removed between a letter and a combining mark (NFKC writes a spacing accent
    as space + mark) lets the two compose, and the form must be its own canonical form."""
    return ucd.normalize("NFKC", form)


def _refuse_invisible(typed: str) -> None:
    hidden = next((ch for ch in typed if ucd.category(ch) == "Cf"), None)
    if hidden is not None:
        raise NotAnIdentifier(f"must not contain invisible format characters (U+{ord(hidden):04X})")


def _refuse_empty(form: str) -> None:
    if not form:
        raise NotAnIdentifier("must not be empty or only spaces")


def _refuse_mixed_scripts(form: str) -> None:
    """UTS #39 mixed-script detection over the card's characters (their Script_Extensions)."""
    if form.isascii():  # the common case: Latin letters, digits and punctuation only
        return
    scripts = [found for ch in form if (found := set(ucd.script_extensions(ch)) - _ANY_SCRIPT)]
    if not scripts:
        return
    augmented = [found.union(*(_WRITING_SYSTEMS.get(s, ()) for s in found)) for found in scripts]
    if set.intersection(*augmented) or any(all(found & allowed for found in scripts) for allowed in _BESIDE_LATIN):
        return
    raise NotAnIdentifier("mixes letters of different scripts (such as a Cyrillic or Greek letter that looks "
                          "Latin); type every letter in one script")


# The Cf characters of the Basic Multilingual Plane, as a regular-expression class body, so the OpenAPI
# document can state the refusal (ECMA-262 patterns without the u flag reach no further; the rule itself
# refuses every Cf character). tests/registry/test_identifier_forms.py holds it equal to the Unicode data.
INVISIBLE_BMP = ("\\u00ad\\u0600-\\u0605\\u061c\\u06dd\\u070f\\u0890-\\u0891\\u08e2\\u180e\\u200b-\\u200f"
                 "\\u202a-\\u202e\\u2060-\\u2064\\u2066-\\u206f\\ufeff\\ufff9-\\ufffb")
