"""Grouping cost against the size of the archive: articles/s at 1k, 10k and 100k archived.

Grouping a new article reads its 16 LSH band rows and the few candidates they name, within the
time window, so its cost should not grow with the archive. The background archive is filled in
bulk with random signatures (an index of the same size and shape); the measured articles are
real texts with real signatures, including copies that must find their story. Besides articles/s
each size prints the time as a ratio of a baseline measured in the same run: one primary-key
lookup of an article.

    python benchmarks/story_grouping.py [--sizes 1000,10000,100000] [--articles 300]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from bot.store import open_archive  # noqa: E402
from bot.store.schema import articles, story_bands  # noqa: E402
from bot.stories import minhash  # noqa: E402

NOW = datetime(2026, 11, 22, tzinfo=UTC)
WORDS = ["chip", "quantum", "Japan", "United", "States", "agreement", "rover", "lunar", "fusion",
         "reactor", "minerals", "export", "controls", "research", "university", "alliance",
         "semiconductor", "network", "cable", "standard", "data", "partnership", "ministry",
         "investment", "subsidy", "factory", "launch", "satellite"]


def text(rng: random.Random, n: int = 120) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n))


def fill(engine: sa.Engine, size: int, rng: random.Random) -> None:
    """`size` archived articles spread over a year, with random signatures and band rows."""
    with engine.begin() as db:
        rows, bands = [], []
        for i in range(1, size + 1):
            seen = (NOW - timedelta(minutes=i * 525_600 // size)).replace(tzinfo=None)
            sig = tuple(rng.getrandbits(32) for _ in range(minhash.PERMUTATIONS))
            rows.append({"id": i, "source_id": "bg", "url": f"https://bg.example/{i}",
                         "canonical_url": f"https://bg.example/{i}", "title": f"bg {i}",
                         "summary": "", "text": "", "first_seen": seen, "state": "done",
                         "fetch_fulltext": False, "attempts": 1, "story_id": i,
                         "minhash": minhash.pack(sig)})
            bands += [{"band": b, "article_id": i, "first_seen": seen}
                      for b in minhash.band_keys(sig)]
            if len(rows) == 5000:
                db.execute(sa.insert(articles), rows)
                db.execute(sa.insert(story_bands), bands)
                rows, bands = [], []
        if rows:
            db.execute(sa.insert(articles), rows)
            db.execute(sa.insert(story_bands), bands)


def measure(size: int, count: int) -> tuple[float, float, int]:
    rng = random.Random(size)
    with tempfile.TemporaryDirectory() as tmp:
        archive = open_archive(f"sqlite:///{tmp}/bench.db")
        fill(archive.engine, size, rng)
        originals = [text(rng) for _ in range(count // 2)]
        texts = originals + [t.replace("chip", "chips", 1) for t in originals]  # copies
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
        stories = [archive.assign_story(i, minhash.signature(body), threshold=0.5,
                                        window_start=NOW - timedelta(days=14))
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
