"""A name's sound, whichever script it is written in (pure): the consonants a katakana name and
its English spelling share (ケストレル and Kestrel: "kstr"), so that a Japanese report naming a
company or person the glossary does not know still meets the English reports naming it.

Katakana writes what an English name sounds like, vowel by vowel; what survives both spellings
is the run of consonants, with the sounds Japanese does not tell apart merged (l and r, v and b),
an English r before no vowel dropped (Lander: ランダー) and h, silent as often as not, left out.
A skeleton of fewer than
MIN_CONSONANTS says too little to match on."""

from __future__ import annotations

import functools
import re

MIN_CONSONANTS = 4  # ~stm is system, Starmer and more; ~krts is Kratsios
KEY_PREFIX = "~"  # a sound key among a report's names; never a word of any text

_KANA_ROWS = {
    "k": "カキクケコ", "g": "ガギグゲゴ", "s": "サシスセソ", "z": "ザジズゼゾヂヅ", "t": "タチテト",
    "ts": "ツ", "d": "ダデド", "n": "ナニヌネノン", "f": "フ", "b": "バビブベボヴ",
    "p": "パピプペポ", "m": "マミムメモ", "r": "ラリルレロ"}
_KANA = {kana: sound for sound, row in _KANA_ROWS.items() for kana in row}
_ENGLISH = [  # spellings to sounds, in order
    (r"ph", "f"), (r"sh", "s"), (r"tch", "t"), (r"ch", "t"), (r"th", "s"), (r"ck", "k"),
    (r"qu", "k"), (r"x", "ks"), (r"c(?=[eiy])", "s"), (r"c", "k"), (r"dg", "z"), (r"j", "z"),
    (r"g(?=[ei])", "z"), (r"v", "b"), (r"r(?![aeiouy])", ""), (r"l", "r"), (r"m(?=[bp])", "n"),
    (r"[aeiouywh]", ""), (r"q", "k")]
_NON_LETTER = re.compile(r"[^a-z]")


@functools.cache
def of_katakana(word: str) -> str | None:
    """The sound key of a katakana word ("~kstr"), or None if too short to tell."""
    sounds = "".join(_KANA.get(ch, "") for ch in word)
    return _key(sounds)


@functools.cache
def of_english(word: str) -> str | None:
    """The sound key of an English name word ("kestrel": "~kstr"), or None."""
    sounds = _NON_LETTER.sub("", word.lower())
    for pattern, sound in _ENGLISH:
        sounds = re.sub(pattern, sound, sounds)
    return _key(sounds)


def _key(sounds: str) -> str | None:
    collapsed = re.sub(r"(.)\1+", r"\1", sounds)  # a doubled letter, a long vowel's echo
    return KEY_PREFIX + collapsed if len(collapsed) >= MIN_CONSONANTS else None
