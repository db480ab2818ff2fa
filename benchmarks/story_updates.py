"""What looking for grown stories costs each poll, against the size of the archive.

Every delivery round asks each digest channel's archive for stories its digests showed that
have new outlets since (`Archive.story_growth`), so its cost must not grow with the archive:
the new articles are found by the first_seen index, a story's members by the story_id index.
Each size is an archive of N digested articles over a year (most of them stories of one, as in
a real archive, where most story_ids are NULL) and a day of new ones; measured twice: a round
with nothing grown, and one with `--grown` stories grown (an outlet each). Each time is printed
as a ratio of a baseline measured in the same run: one primary-key lookup of an article.

    python benchmarks/story_updates.py [--sizes 10000,100000] [--grown 20]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]

import sqlalchemy as sa  # noqa: E402

from bot.models import Source  # noqa: E402
from bot.store import open_archive  # noqa: E402
from bot.store.schema import articles, digest_items, digests  # noqa: E402

NOW = datetime(2026, 11, 22, tzinfo=UTC)
NEW = 200  # articles of the last day, none in a digest yet


def fill(url: str, size: int, grown: int, seed: int = 1):
    """An archive of `size` digested articles and NEW recent ones, `grown` of which report a
    story a digest showed."""
    archive = open_archive(url)
    archive.sync_sources([Source("wire", "https://w.example/f", "Wire"),
                          Source("post", "https://p.example/f", "Post")])
    rng = random.Random(seed)
    stories = rng.sample(range(size - 2000, size), grown)
    rows = []
    for i in range(1, size + NEW + 1):
        old = i <= size
        seen = NOW - timedelta(days=365 * (size - i) / size) if old else \
            NOW - timedelta(hours=rng.random() * 24)
        rows.append(dict(id=i, source_id="wire" if old else "post", url=f"u{i}",
                         canonical_url=f"https://x.example/{i}", title=f"t{i}", summary="",
                         text="", first_seen=seen, published=seen, state="done",
                         fetch_fulltext=False, attempts=0, relevant=True, score=0.9,
                         topics=["semiconductors"],
                         story_id=None if old or i - size > grown else stories[i - size - 1]))
    with archive.engine.begin() as db:
        for start in range(0, len(rows), 5000):
            db.execute(articles.insert(), rows[start:start + 5000])
        digest = db.execute(digests.insert().values(
            channel="C", sent_at=NOW - timedelta(hours=30), covered_until=NOW,
            items=size)).inserted_primary_key[0]
        items = [{"channel": "C", "article_id": i, "digest_id": digest} for i in range(1, size + 1)]
        for start in range(0, len(items), 10000):
            db.execute(digest_items.insert(), items[start:start + 10000])
        db.exec_driver_sql("ANALYZE")  # as housekeeping leaves it (PRAGMA optimize / ANALYZE)
    return archive


def timed(call, runs: int) -> float:
    call()
    took = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        took.append(time.perf_counter() - start)
    return statistics.median(took) * 1000


def measure(quick: bool = False, sizes: tuple[int, ...] = (), grown: int = 20) -> dict:
    sizes = sizes or ((10_000, 50_000) if quick else (10_000, 100_000))
    runs = 10 if quick else 30
    figures: dict = {"grown": grown, "sizes": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for size in sizes:
            result = {}
            for label, n in (("nothing_grown", 0), ("grown", grown)):
                archive = fill(f"sqlite:///{tmp}/a-{size}-{n}.db", size, n)
                try:
                    def growth(archive=archive) -> list:
                        return archive.story_growth("C", min_score=0.5,
                                                    published_after=NOW - timedelta(days=7))

                    assert len(growth()) == n
                    with archive.engine.connect() as db:
                        lookup = sa.select(articles.c.title).where(articles.c.id == size // 2)
                        base = timed(lambda db=db, q=lookup: db.execute(q).all(), runs)
                    ms = timed(growth, runs)
                    result[label] = {"ms": round(ms, 2), "ratio": round(ms / base, 1),
                                     "baseline_ms": round(base, 3)}
                finally:
                    archive.close()
            figures["sizes"][str(size)] = result
            print(f"{size}: {result}", file=sys.stderr)
    first, last = (figures["sizes"][str(s)] for s in (sizes[0], sizes[-1]))
    figures["growth_ratio"] = round(last["grown"]["ms"] / max(first["grown"]["ms"], 1e-3), 2)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--grown", type=int, default=20)
    args = parser.parse_args()
    figures = measure(sizes=tuple(int(s) for s in args.sizes.split(",")), grown=args.grown)
    for size, result in figures["sizes"].items():
        for label, f in result.items():
            print(f"{size:>7} articles, {label:<13}: {f['ms']:7.2f} ms = {f['ratio']:6.1f}x "
                  f"a primary-key lookup ({f['baseline_ms']} ms)")
    print(f"largest / smallest archive, grown: {figures['growth_ratio']}x")


if __name__ == "__main__":
    main()
