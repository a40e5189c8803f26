"""Near-miss card numbers: every string within one edit of a card number shares a deletion key with it."""
from __future__ import annotations


def normalise(card_no: str) -> str:
    return card_no.strip().upper()


def deletion_keys(card_no: str) -> set[str]:
    """The card number and every string one character shorter (the deletion neighbourhood, SymSpell)."""
    word = normalise(card_no)
    return {word} | {word[:i] + word[i + 1:] for i in range(len(word))}


def within_one_edit(a: str, b: str) -> bool:
    """Levenshtein distance <= 1, in linear time."""
    a, b = normalise(a), normalise(b)
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) > len(b):
        a, b = b, a
    i = next((k for k in range(len(a)) if a[k] != b[k]), len(a))
    if len(a) == len(b):
        return a[i + 1:] == b[i + 1:]
    return a[i:] == b[i + 1:]
