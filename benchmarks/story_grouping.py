"""Grouping cost against the size of the archive: articles/s at 1k, 10k and 100k archived.

Grouping a new article reads its 16 LSH band rows and the few candidates they name, then (if it
is no copy) its 32 rarest terms' rows of the event index and at most 30 candidates, within the
time window, so its cost should not grow with the archive. The background archive is filled in
bulk with random signatures, random-word story terms and index rows (an index of the same size
and shape); the measured articles are texts with real signatures and terms, including copies
that must find their story. Besides articles/s
each size prints the time as a ratio of a baseline measured in the same run: one primary-key
lookup of an article.

    python benchmarks/story_grouping.py [--sizes 1000,10000,100000] [--articles 300]
"""

from __future__ import annotations

import argparse
import itertools
import random
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from bot.config import StorySettings  # noqa: E402
from bot.store import open_archive  # noqa: E402
from bot.store.schema import articles, event_terms, story_bands, term_documents  # noqa: E402
from bot.stories import minhash, story_terms  # noqa: E402
from bot.stories.events import Idf, index_terms  # noqa: E402

NOW = datetime(2026, 11, 22, tzinfo=UTC)
SYLLABLES = ["ka", "to", "mi", "ra", "su", "ne", "ho", "ri", "ta", "no", "ze", "ku", "po", "le",
             "an", "vi"]
# a Zipf-distributed vocabulary, as news text has: a few words everywhere, most words rare
VOCABULARY = [SYLLABLES[i % 16] + SYLLABLES[i // 16 % 16] + SYLLABLES[i // 256 % 16] + "x"
              + SYLLABLES[i // 4096 % 16] for i in range(20_000)]
CUMULATIVE = list(itertools.accumulate(1 / (rank + 1) for rank in range(len(VOCABULARY))))


def text(rng: random.Random, n: int = 120) -> str:
    """Words of the vocabulary and two names, a sentence of them."""
    names = " ".join(f"Org{rng.choice(VOCABULARY)}" for _ in range(2))
    return f"{names} " + " ".join(rng.choices(VOCABULARY, cum_weights=CUMULATIVE, k=n))


def fill(archive, size: int, rng: random.Random) -> None:
    """`size` archived articles spread over a year, with random signatures, band rows, story
    terms, event index rows and document frequencies."""
    frequency: Counter[str] = Counter()
    window_start = (NOW - timedelta(days=StorySettings().window_days)).replace(tzinfo=None)
    with archive.engine.begin() as db:
        rows, bands, index = [], [], []
        for i in range(1, size + 1):
            seen = (NOW - timedelta(minutes=i * 525_600 // size)).replace(tzinfo=None)
            sig = tuple(rng.getrandbits(32) for _ in range(minhash.PERMUTATIONS))
            body = text(rng)
            terms = story_terms(body[:60], body, seen.date())
            frequency.update(terms.document_terms)
            rows.append({"id": i, "source_id": "bg", "url": f"https://bg.example/{i}",
                         "canonical_url": f"https://bg.example/{i}", "title": f"bg {i}",
                         "summary": "", "text": "", "first_seen": seen, "state": "done",
                         "fetch_fulltext": False, "attempts": 1, "story_id": i,
                         "minhash": minhash.pack(sig), "story_terms": terms.as_json()})
            bands += [{"band": b, "article_id": i, "first_seen": seen}
                      for b in minhash.band_keys(sig)]
            if seen >= window_start:  # housekeeping drops the index rows of older articles
                index += [{"term": t, "article_id": i, "first_seen": seen}
                          for t in index_terms(terms, Idf(i, frequency))]
            if len(rows) == 5000:
                db.execute(sa.insert(articles), rows)
                db.execute(sa.insert(story_bands), bands)
                rows, bands = [], []
        if rows:
            db.execute(sa.insert(articles), rows)
            db.execute(sa.insert(story_bands), bands)
        if index:
            db.execute(sa.insert(event_terms), index)
        db.execute(sa.insert(term_documents), [{"term": t, "documents": n} for t, n in
                                               [("", size), *frequency.items()]])


def measure(size: int, count: int) -> tuple[float, float, int]:
    rng = random.Random(size)
    with tempfile.TemporaryDirectory() as tmp:
        archive = open_archive(f"sqlite:///{tmp}/bench.db")
        fill(archive, size, rng)
        originals = [text(rng) for _ in range(count // 2)]
        texts = originals + [t.split(" ", 1)[1] for t in originals]  # copies, one word less
        ids = []
        with archive.engine.begin() as db:
            for j, body in enumerate(texts):
                result = db.execute(sa.insert(articles).values(
                    source_id="new", url=f"https://new.example/{j}",
                    canonical_url=f"https://new.example/{j}", title="", summary=body, text=body,
                    first_seen=NOW.replace(tzinfo=None), state="done", fetch_fulltext=False,
                    attempts=1))
                ids.append(result.inserted_primary_key[0])
        started = time.perf_counter()
        stories = [archive.assign_story(i, minhash.signature(body),
                                        story_terms(body[:60], body, NOW.date()),
                                        rules=StorySettings(), now=NOW)
                   for i, body in zip(ids, texts, strict=True)]
        elapsed = time.perf_counter() - started
        grouped = sum(stories[k + len(originals)] == stories[k] for k in range(len(originals)))
        started = time.perf_counter()
        with archive.engine.connect() as db:
            for i in ids:
                db.execute(sa.select(articles.c.title).where(articles.c.id == i)).one()
        baseline = time.perf_counter() - started
        archive.close()
    return len(texts) / elapsed, elapsed / baseline, grouped * 100 // len(originals)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--articles", type=int, default=300)
    args = parser.parse_args()
    for size in map(int, args.sizes.split(",")):
        rate, ratio, grouped = measure(size, args.articles)
        print(f"{size:>7,} archived: {rate:7.0f} articles/s grouped; "
              f"{ratio:5.1f}x a primary-key lookup; copies grouped {grouped}%")


if __name__ == "__main__":
    main()
