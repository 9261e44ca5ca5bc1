"""Capability sets: capability *n* is bit ``n % 32`` of u32 word ``n // 32``."""

from __future__ import annotations

from collections.abc import Iterable, Sequence


def caps_to_words(caps: Iterable[int]) -> list[int]:
    """Pack capability numbers into the u32 words sent on the wire (no trailing zero words)."""
    words: list[int] = []
    for cap in caps:
        index, bit = divmod(int(cap), 32)
        while len(words) <= index:
            words.append(0)
        words[index] |= 1 << bit
    return words


def caps_from_words(words: Sequence[int]) -> frozenset[int]:
    """Unpack u32 words into the set of capability numbers they carry."""
    return frozenset(
        index * 32 + bit for index, word in enumerate(words) for bit in range(32) if word >> bit & 1
    )
