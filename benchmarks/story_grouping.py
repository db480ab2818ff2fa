"""Grouping cost against the size of the archive: articles/s at 1k, 10k and 100k archived.

Grouping a new article reads its 16 LSH band rows and the few candidates they name, then (if it
is no copy) its 32 rarest terms' rows of the event index and at most 30 candidates, within the
time window, so its cost should not grow with the archive. The background archive is filled in
bulk with random signatures, random-word story terms and index rows (an index of the same size
and shape, spread over a year); the measured articles are real texts of the corpus (the labeled
set and the extraction-bench ground truth, read in place) with their real signatures and terms,
half of them copies (one word less) that must find their original's story. Besides articles/s
each size prints the time as a ratio of a baseline measured in the same run: one primary-key
lookup of an article.

The background archives of 10k and more are built once and cached in ~/.cache/techwatch-bench/
(the 100k one takes several minutes to build).

    python benchmarks/story_grouping.py [--sizes 1000,10000,100000] [--articles 300]
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import os
import random
import shutil
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import sqlalchemy as sa  # noqa: E402
from conftest import CORPUS  # noqa: E402

from bot.config import StorySettings  # noqa: E402
from bot.store import open_archive  # noqa: E402
from bot.store.schema import articles, event_terms, story_bands, term_documents  # noqa: E402
from bot.stories import minhash, story_terms  # noqa: E402
from bot.stories.events import Idf, index_terms  # noqa: E402

NOW = datetime(2026, 11, 22, tzinfo=UTC)
VERSION = "story-grouping-1"  # change when the fill changes: cached archives are rebuilt
CACHE = Path(os.environ.get("TECHWATCH_BENCH_CACHE", Path.home() / ".cache" / "techwatch-bench"))
CACHED_FROM = 10_000  # background archives this big are built once and copied for each run
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


COMPLEXITY = (  # read from Archive._assign_story; keep in step with it
    "per article (Archive._assign_story): 1 upsert of its document terms; <=1 "
    "document-frequency query for terms this process does not hold (TermCounts, one json_each "
    "statement); 1 copy-candidate query (its 16 LSH bands within the window, <=200 candidates, "
    "MinHash compared in Python); 1 event-candidate query (its <=32 rarest index terms within "
    "the window, grouped, <=30 candidates); <=1 read of candidates' story terms not held and "
    "<=1 frequency query for their new terms; per story scoring above the bar 1 read of its "
    "<=50 members; then 1 update and 2 index inserts (one statement each). Work is O(index rows "
    "under its bands and terms within the window + candidates), not O(archive); each look-up "
    "is a B-tree seek, O(log archive)")


def real_texts(count: int) -> list[tuple[str, str]]:
    """(title, text) of the corpus's real articles, `count` of them (repeated with their
    paragraphs rotated when the corpus has fewer)."""
    found = []
    for line in (CORPUS / "labeled" / "dev.jsonl").read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        if item.get("title") and len(item.get("text") or "") > 300:
            found.append((item["title"], item["text"]))
    truth = json.loads((CORPUS / "extraction-bench" / "ground-truth.json").read_text("utf-8"))
    for pid in sorted(truth):
        body = truth[pid].get("articleBody") or ""
        if len(body) > 300:
            found.append((body.split("\n")[0][:90], body))
    out = []
    for i in range(count):
        title, body = found[i % len(found)]
        if i >= len(found):
            paragraphs = body.split("\n")
            shift = (i // len(found)) % len(paragraphs)
            body = "\n".join(paragraphs[shift:] + paragraphs[:shift])
        out.append((title, body))
    return out


def background(size: int, path: Path) -> float | None:
    """The filled background archive of `size` articles at `path`: built there, or (from
    CACHED_FROM up) copied from the cache, built into it first when absent (the seconds taken
    to build, None when cached). The cache's name carries the migrations, so a schema change
    rebuilds it."""
    if size < CACHED_FROM:
        started = time.perf_counter()
        archive = open_archive(f"sqlite:///{path}")
        fill(archive, size, random.Random(size))
        archive.close()
        return time.perf_counter() - started
    schema = hashlib.sha256(" ".join(sorted(
        p.name for p in (ROOT / "bot" / "store" / "migrations" / "versions").glob("*.py")))
        .encode()).hexdigest()[:8]
    cached = CACHE / f"{VERSION}-{schema}-{size}.db"
    built = None
    if not cached.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        partial = cached.with_suffix(f".{os.getpid()}.partial")  # two runs never share one
        started = time.perf_counter()
        archive = open_archive(f"sqlite:///{partial}")
        fill(archive, size, random.Random(size))
        with archive.engine.connect() as db:
            db.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        archive.close()
        partial.rename(cached)
        built = time.perf_counter() - started
    shutil.copyfile(cached, path)
    return built


def measure_size(size: int, count: int) -> tuple[float, float, int, float | None]:
    with tempfile.TemporaryDirectory() as tmp:
        built = background(size, Path(tmp) / "bench.db")
        archive = open_archive(f"sqlite:///{tmp}/bench.db")
        originals = real_texts(count // 2)
        # copies, one word less (a Japanese text: one character less)
        pairs = originals + [(title, body.split(" ", 1)[1] if " " in body else body[1:])
                             for title, body in originals]
        texts = [body for _, body in pairs]
        ids = []
        with archive.engine.begin() as db:
            for j, body in enumerate(texts):
                result = db.execute(sa.insert(articles).values(
                    source_id="new", url=f"https://new.example/{j}",
                    canonical_url=f"https://new.example/{j}", title="", summary=body, text=body,
                    first_seen=NOW.replace(tzinfo=None), state="done", fetch_fulltext=False,
                    attempts=1))
                ids.append(result.inserted_primary_key[0])
        # signature and terms are the worker's (bot.analysis): computed outside the clock
        inputs = [(i, minhash.signature(body), story_terms(title, body, NOW.date()))
                  for i, (title, body) in zip(ids, pairs, strict=True)]
        started = time.perf_counter()
        stories = [archive.assign_story(i, sig, terms, rules=StorySettings(), now=NOW)
                   for i, sig, terms in inputs]
        elapsed = time.perf_counter() - started
        grouped = sum(stories[k + len(originals)] == stories[k] for k in range(len(originals)))
        started = time.perf_counter()
        with archive.engine.connect() as db:
            for i in ids:
                db.execute(sa.select(articles.c.title).where(articles.c.id == i)).one()
        baseline = time.perf_counter() - started
        archive.close()
    return len(texts) / elapsed, elapsed / baseline, grouped * 100 // len(originals), built


def measure(quick: bool = False, sizes: tuple[int, ...] | None = None,
            articles: int | None = None) -> dict:
    """Articles/s grouped at each archive size (1k, 10k, 100k; quick: 1k and 10k), as a ratio of
    a primary-key lookup per article (same run), and the largest size's rate over the 1k rate:
    about 1 when flat."""
    if not (CORPUS / "labeled" / "dev.jsonl").exists():
        return {"skipped": f"corpus not found at {CORPUS} (set TECHWATCH_SHARED)"}
    sizes = sizes or ((1000, 10_000) if quick else (1000, 10_000, 100_000))
    articles = articles or (100 if quick else 300)
    figures: dict = {"complexity": COMPLEXITY, "articles": articles, "sizes": {}}
    for size in sizes:
        started = time.perf_counter()
        rate, ratio, grouped, built = measure_size(size, articles)
        figures["sizes"][str(size)] = {
            "articles_per_second": round(rate, 1), "ratio_to_pk_lookup": round(ratio, 1),
            "copies_grouped_pct": grouped, "background_built_s": built and round(built, 1),
            "seconds": round(time.perf_counter() - started, 1)}
    rates = [f["articles_per_second"] for f in figures["sizes"].values()]
    figures["rate_largest_over_smallest"] = round(rates[-1] / rates[0], 2)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--articles", type=int, default=300)
    args = parser.parse_args()
    figures = measure(sizes=tuple(map(int, args.sizes.split(","))), articles=args.articles)
    for size, f in figures["sizes"].items():
        print(f"{int(size):>7,} archived: {f['articles_per_second']:7.0f} articles/s grouped; "
              f"{f['ratio_to_pk_lookup']:5.1f}x a primary-key lookup; "
              f"copies grouped {f['copies_grouped_pct']}%")
    print(f"largest / smallest rate: {figures['rate_largest_over_smallest']}")
    print(figures["complexity"])


if __name__ == "__main__":
    main()
