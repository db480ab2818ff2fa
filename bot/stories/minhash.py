"""MinHash over word shingles (pure): a 64-value signature whose agreement with another estimates
the Jaccard similarity of the two texts' shingle sets; 16 bands of 4 values index it (LSH).

With 16 bands of 4, two texts of Jaccard 0.5 share a band with probability 1 - (1 - 0.5^4)^16
= 0.64, of 0.7 with 0.98: syndicated copies with small edits are found, unrelated texts are not
(Jaccard 0.2: 0.03), and each candidate is then checked against the configured threshold.
"""

from __future__ import annotations

import functools
import hashlib
import re
import struct

PERMUTATIONS = 64
BANDS = 16
ROWS = PERMUTATIONS // BANDS
SHINGLE = 5  # words; Japanese text: characters
PRIME = (1 << 61) - 1
MASK = (1 << 32) - 1
WORD = re.compile(r"\w+")
CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff]")
# fixed pseudo-random permutations (a*x + b mod p), the same in every process and release
_SEEDS = [struct.unpack("<QQ", hashlib.blake2b(str(i).encode(), digest_size=16).digest())
          for i in range(PERMUTATIONS)]
_PERMS = [((a % (PRIME - 1)) + 1, b % PRIME) for a, b in _SEEDS]


def shingles(text: str) -> set[str]:
    """Overlapping runs of 5 words (of 5 characters in Japanese text), lower-cased."""
    words = WORD.findall(text.lower())
    if len(CJK.findall(text)) > len(text) / 4:  # Japanese: no spaces between words
        chars = "".join(words)
        return {chars[i:i + SHINGLE] for i in range(max(len(chars) - SHINGLE + 1, 1))}
    return {" ".join(words[i:i + SHINGLE]) for i in range(max(len(words) - SHINGLE + 1, 1))}


def signature(text: str) -> tuple[int, ...]:
    hashes = [int.from_bytes(hashlib.blake2b(s.encode(), digest_size=8).digest(), "little")
              & MASK for s in shingles(text) if s]
    if not hashes:
        return ()
    if len(hashes) >= VECTORISED:
        return _vectorised(hashes)
    return tuple(min([(a * h + b) % PRIME for h in hashes]) & MASK for a, b in _PERMS)


VECTORISED = 64  # shingles from which numpy's arithmetic pays for its arrays (a headline's not)


def _vectorised(hashes: list[int]) -> tuple[int, ...]:
    """The same values as the plain loop, in 64-bit integer arithmetic: a < 2^61 and h < 2^32,
    so a*h is split as (a_hi*h)*2^32 + a_lo*h, each part folded mod 2^61-1 (2^61 = 1 there)."""
    import numpy as np  # loaded by the extraction workers, whose texts are long

    a_hi, a_lo, b = _perm_arrays()
    h = np.asarray(hashes, dtype=np.uint64)[None, :]
    high = a_hi * h  # < 2^61: times 2^32 is (high >> 29) * 2^61 + (high & 2^29-1) * 2^32
    low = a_lo * h  # < 2^64
    x = (high >> 29) + ((high & LOW_29) << 32) + (low >> 61) + (low & PRIME) + b  # < 2^63
    x = (x & PRIME) + (x >> 61)
    x = np.where(x >= PRIME, x - PRIME, x)
    return tuple(int(v) & MASK for v in x.min(axis=1))


LOW_29 = (1 << 29) - 1


@functools.cache
def _perm_arrays():
    import numpy as np

    column = lambda values: np.array(values, dtype=np.uint64)[:, None]  # noqa: E731
    return (column([a >> 32 for a, _ in _PERMS]), column([a & MASK for a, _ in _PERMS]),
            column([b for _, b in _PERMS]))


def band_keys(sig: tuple[int, ...]) -> list[str]:
    """One key a band: texts that share one are candidates."""
    return [f"{i}:" + hashlib.blake2b(repr(sig[i * ROWS:(i + 1) * ROWS]).encode(),
                                      digest_size=8).hexdigest()
            for i in range(BANDS)] if sig else []


def estimate_similarity(a: tuple[int, ...], b: tuple[int, ...]) -> float:
    if not a or not b:
        return 0.0
    return sum(x == y for x, y in zip(a, b, strict=True)) / len(a)


def pack(sig: tuple[int, ...]) -> bytes:
    return struct.pack(f"<{len(sig)}I", *sig)


def unpack(data: bytes | None) -> tuple[int, ...]:
    return struct.unpack(f"<{len(data) // 4}I", data) if data else ()
