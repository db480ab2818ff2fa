"""MinHash signatures are computed with numpy's 64-bit arithmetic for long texts: the values must
be exactly those of the definition (a*h + b mod 2^61-1, the minimum a permutation), or stored
signatures and band keys would stop matching new ones."""

from __future__ import annotations

import hashlib
import json
import random

from conftest import need_corpus

from bot.stories import minhash


def by_definition(text: str) -> tuple[int, ...]:
    hashes = [int.from_bytes(hashlib.blake2b(s.encode(), digest_size=8).digest(), "little")
              & minhash.MASK for s in minhash.shingles(text) if s]
    return tuple(min((a * h + b) % minhash.PRIME for h in hashes) & minhash.MASK
                 for a, b in minhash._PERMS) if hashes else ()


def test_long_texts_get_the_signature_of_the_definition():
    bodies = [v["articleBody"] for v in json.loads(
        need_corpus("extraction-bench", "ground-truth.json").read_text(encoding="utf-8")).values()]
    long = [b for b in bodies if len(minhash.shingles(b)) >= minhash.VECTORISED]
    assert len(long) > 100
    for body in long[:80]:
        assert minhash.signature(body) == by_definition(body)


def test_extreme_hashes_and_japanese_text_agree_too():
    rng = random.Random(7)
    hashes = [0, 1, minhash.MASK, minhash.MASK - 1] + [rng.getrandbits(32) for _ in range(500)]
    expected = tuple(min((a * h + b) % minhash.PRIME for h in hashes) & minhash.MASK
                     for a, b in minhash._PERMS)
    assert minhash._vectorised(hashes) == expected
    japanese = "".join(f"日米両政府は第{i}回の協議で半導体の共同研究に{i * 7}億円を拠出する。"
                       for i in range(12))
    assert len(minhash.shingles(japanese)) >= minhash.VECTORISED
    assert minhash.signature(japanese) == by_definition(japanese)
