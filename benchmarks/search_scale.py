"""`Archive.search` at 10k, 100k and 1M archived articles, against a bare FTS5 query on the same file.

The archives are real migrated SQLite files (`open_archive`, then bulk inserts into the real tables,
the FTS index written through `fts.index_text`), filled with news-like articles recombined from the
corpus: sentences of the labeled texts, the extraction-bench ground truth and the Japanese pages,
English and Japanese, in stories of several reports, with topics, ~15 % relevant, and made-up names
of Zipf-like frequency (so that rare names are rare). The 100k and 1M files are cached in
~/.cache/techwatch-bench/ under the generator's version (a change to the generator rebuilds them),
with their build time beside them: the 1M archive (6.2 GB) took 948 s on this 2-core machine under
load, rows generated in a second process and bulk-loaded without journal, FTS5 merging deferred to
one `optimize`.

For each size: p50/p95/max of `Archive.search` over 20 varied queries (repeated), the same for the
baseline `SELECT rowid FROM articles_fts WHERE articles_fts MATCH ? LIMIT 20`, their ratio, and a
zero-hit query's time.

    python benchmarks/search_scale.py [--quick]      # --quick: 10k and 100k only
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import re
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from conftest import CORPUS  # noqa: E402

from bot.store import fts, open_archive  # noqa: E402

VERSION = "search-scale-3"  # change when the generator changes: cached archives are rebuilt
CACHE = Path(os.environ.get("TECHWATCH_BENCH_CACHE", Path.home() / ".cache" / "techwatch-bench"))
END = datetime(2026, 11, 1, tzinfo=UTC)  # the newest article's discovery
SPAN = timedelta(days=3 * 365)
SOURCES = 80
TOPICS = ("ai", "semiconductors", "telecom", "quantum", "energy", "biotech",
          "critical_minerals", "space", "export_controls", "research")
SENTENCE = re.compile(r"(?<=[.!?。！？])\s*")
BATCH = 5_000


# --- the generator ------------------------------------------------------------------------------

class Corpus:
    """Sentences and documents of the corpus, by language."""

    def __init__(self) -> None:
        docs = [json.loads(line) for line in
                (CORPUS / "labeled" / "dev.jsonl").read_text().splitlines() if line.strip()]
        truth = json.loads((CORPUS / "extraction-bench" / "ground-truth.json").read_text())
        for item in truth.values():
            body = item.get("articleBody") or ""
            if len(body) > 300:
                docs.append({"title": body.split(".")[0][:90], "text": body, "lang": "en",
                             "relevant": False, "topics": []})
        for path in sorted((CORPUS / "pages-ja").glob("*.expected.txt")):
            text = path.read_text()
            docs.append({"title": text.split("。")[0][:60], "text": text, "lang": "ja",
                         "relevant": False, "topics": []})
        self.docs: dict[str, list[dict]] = {"en": [], "ja": []}
        self.relevant: dict[str, list[dict]] = {"en": [], "ja": []}
        self.sentences: dict[str, list[str]] = {"en": [], "ja": []}
        for doc in docs:
            lang = "ja" if doc.get("lang") == "ja" else "en"
            doc["sentences"] = [s.strip() for s in SENTENCE.split(doc["text"])
                                if 30 <= len(s.strip()) <= 400]
            if not doc["sentences"]:
                continue
            (self.relevant if doc.get("relevant") else self.docs)[lang].append(doc)
            self.sentences[lang].extend(doc["sentences"])


def made_up_names(rng: random.Random, count: int) -> tuple[list[str], list[str]]:
    """Names that no corpus text holds: Latin ones and katakana ones."""
    latin = ["ka", "vo", "rex", "mi", "tal", "qu", "zen", "dor", "bri", "nox", "sel", "ur",
             "pha", "lin", "grav", "tor", "sy", "mek", "oda", "vin"]
    kana = list("アイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモラリルレロ")
    en, ja = set(), set()
    while len(en) < count:
        en.add("".join(rng.choice(latin) for _ in range(rng.randint(2, 4))).capitalize())
    while len(ja) < count:
        ja.add("".join(rng.choice(kana) for _ in range(rng.randint(3, 5))))
    return sorted(en), sorted(ja)


def zipf_index(rng: random.Random, size: int) -> int:
    return min(size - 1, int(rng.paretovariate(0.8)) - 1)


def articles(count: int, seed: int = 18):
    """Rows (dicts) of `count` archived articles, in id order; stories interleave."""
    rng = random.Random(seed)
    corpus = Corpus()
    names_en, names_ja = made_up_names(rng, 60_000)
    rng.shuffle(names_en), rng.shuffle(names_ja)
    open_stories: list[dict] = []
    step = SPAN / count
    for i in range(1, count + 1):
        if open_stories and rng.random() < 0.35:
            story = rng.choice(open_stories[-40:])
        else:
            lang = "ja" if rng.random() < 0.15 else "en"
            relevant = rng.random() < 0.15
            pool = corpus.relevant[lang] if relevant and corpus.relevant[lang] else corpus.docs[lang]
            doc = rng.choice(pool)
            names = names_ja if lang == "ja" else names_en
            story = {"id": i, "lang": lang, "relevant": relevant, "doc": doc,
                     "topics": list(doc.get("topics") or [rng.choice(TOPICS)]) if relevant else [],
                     "names": [names[zipf_index(rng, len(names))] for _ in range(2)],
                     "base": rng.sample(doc["sentences"], min(len(doc["sentences"]),
                                                             rng.randint(6, 12)))}
            open_stories.append(story)
            if len(open_stories) > 400:
                del open_stories[:200]
        yield _member(rng, corpus, story, i, END - SPAN + step * i)


def _member(rng: random.Random, corpus: Corpus, story: dict, i: int, seen: datetime) -> dict:
    lang = story["lang"]
    sentences = [s for s in story["base"] if rng.random() < 0.8]
    sentences += rng.sample(corpus.sentences[lang], rng.randint(2, 6))
    joiner = "" if lang == "ja" else " "
    name, other = story["names"]
    sentences.insert(rng.randint(0, len(sentences)), f"{name}{'は' if lang == 'ja' else ' said'}"
                     f"{joiner}{other}{'と発表した。' if lang == 'ja' else ' would follow.'}")
    text = joiner.join(sentences)
    title = f"{story['doc']['title'][:80]} {name}".strip()
    summary = sentences[0][:300]
    if rng.random() < 0.06:  # an aggregator's item: no text, its summary only
        text = ""
    source = rng.randrange(SOURCES)
    relevant = story["relevant"] and (bool(text) or rng.random() < 0.5)
    return {"id": i, "source_id": f"s{source}", "url": f"https://outlet{source}.example/a/{i}",
            "canonical_url": f"https://outlet{source}.example/a/{i}", "title": title,
            "summary": summary, "text": text, "lang": lang,
            "published": seen - timedelta(hours=rng.random() * 12), "first_seen": seen,
            "relevant": relevant, "score": round(rng.uniform(0.6, 0.99) if relevant
                                                 else rng.uniform(0, 0.4), 3),
            "topics": json.dumps(story["topics"] if relevant else []), "story_id": story["id"]}


def _stamp(moment: datetime) -> str:  # as SQLAlchemy's SQLite DateTime stores it
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


def build(path: Path, count: int) -> float:
    """A migrated archive at `path` with `count` articles; seconds taken. Written as a bulk load:
    no journal and no syncs (a crash leaves a .partial file, rebuilt next time), a large page
    cache for the indexes, FTS5's incremental merging off while rows go in (one `optimize` at
    the end merges the segments once), rows generated in a second process while this one writes."""
    started = time.perf_counter()
    path.unlink(missing_ok=True)
    open_archive(f"sqlite:///{path}").close()
    db = sqlite3.connect(path, isolation_level=None)
    for pragma in ("journal_mode = OFF", "synchronous = OFF", "cache_size = -400000",
                   "temp_store = MEMORY", "locking_mode = EXCLUSIVE"):
        db.execute(f"PRAGMA {pragma}")
    db.execute("INSERT INTO articles_fts(articles_fts, rank) VALUES ('automerge', 0)")
    db.execute("INSERT INTO articles_fts(articles_fts, rank) VALUES ('crisismerge', 64)")
    db.execute("BEGIN")
    db.executemany("INSERT INTO sources (id, url, name, enabled, last_status, consecutive_errors)"
                   " VALUES (?, ?, ?, 1, 'ok', 0)",
                   [(f"s{n}", f"https://outlet{n}.example/feed", f"Outlet {n}")
                    for n in range(SOURCES)])
    insert = ("INSERT INTO articles (id, source_id, url, canonical_url, title, summary, text, lang,"
              " published, first_seen, state, fetch_fulltext, attempts, extraction_status,"
              " relevant, score, topics, story_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'done',"
              " 1, 1, 'full', ?, ?, ?, ?)")
    context = multiprocessing.get_context("fork")
    batches = context.Queue(maxsize=4)  # bounded: the generator waits for the writer
    maker = context.Process(target=_generate, args=(count, batches), daemon=True)
    maker.start()
    while (batch := batches.get()) is not None:
        rows, index = batch
        db.executemany(insert, rows)
        db.executemany("INSERT INTO articles_fts(rowid, title, body) VALUES (?, ?, ?)", index)
    maker.join()
    db.execute("COMMIT")
    db.execute("INSERT INTO articles_fts(articles_fts) VALUES ('optimize')")
    db.execute("INSERT INTO articles_fts(articles_fts, rank) VALUES ('automerge', 4)")
    db.execute("INSERT INTO articles_fts(articles_fts, rank) VALUES ('crisismerge', 16)")
    db.execute("ANALYZE")
    db.execute("PRAGMA locking_mode = NORMAL")
    db.execute("PRAGMA journal_mode = WAL")  # as open_archive leaves a bot's archive
    db.close()
    return time.perf_counter() - started


def _generate(count: int, batches) -> None:
    """In a second process: the rows and FTS rows of the articles, BATCH at a time."""
    rows, index = [], []
    for a in articles(count):
        rows.append((a["id"], a["source_id"], a["url"], a["canonical_url"], a["title"],
                     a["summary"], a["text"], a["lang"], _stamp(a["published"]),
                     _stamp(a["first_seen"]), a["relevant"], a["score"], a["topics"],
                     a["story_id"]))
        index.append((a["id"], fts.index_text(a["title"]),
                      fts.index_text(a["text"] or a["summary"])))
        if len(rows) == BATCH:
            batches.put((rows, index))
            rows, index = [], []
    batches.put((rows, index))
    batches.put(None)


def archive_file(count: int, scratch: Path) -> tuple[Path, float | None]:
    """The archive of `count` articles: built in `scratch` (10k) or cached (bigger); its build
    time when it was built now."""
    if count <= 10_000:
        path = scratch / f"search-{count}.db"
        return path, build(path, count)
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"{VERSION}-{count}.db"
    if path.exists():
        return path, None
    partial = path.with_suffix(".partial")
    seconds = build(partial, count)
    partial.rename(path)
    path.with_suffix(".build.json").write_text(json.dumps({"build_s": round(seconds, 1)}))
    return path, seconds


def build_seconds(path: Path) -> float | None:
    """How long the cached archive at `path` took to build (recorded beside it)."""
    record = path.with_suffix(".build.json")
    return json.loads(record.read_text())["build_s"] if record.exists() else None


# --- the measurement ----------------------------------------------------------------------------

def queries() -> list[tuple[str, dict]]:
    """20 queries as readers write them, with the options of `techwatch search`."""
    rng = random.Random(18)
    names_en, names_ja = made_up_names(rng, 60_000)
    rng.shuffle(names_en), rng.shuffle(names_ja)
    recent = END - timedelta(days=30)
    return [
        ("Rapidus", {}), ("Japan", {}), ("semiconductor", {}), ("quantum computer", {}),
        ("IBM OR Micron", {}), ("chips -China", {}), ('"export controls"', {}),
        (names_en[40], {}), (f"{names_en[400]} Japan", {}), ("zyxqvwkz", {}),
        ("Japan", {"topic": "semiconductors"}), ("AI", {"since": recent}),
        ("量子", {"lang": "ja"}), ("量子", {}), ("半導体", {}), ("日米", {}),
        ("経済 OR 技術", {}), ("半導体 -中国", {}), (names_ja[200], {}),
        ("United States", {"since": recent, "lang": "en"}),
    ]


ZERO_HIT = ("zyxqvwkz", {})


def _percentiles(times: list[float]) -> dict:
    ordered = sorted(times)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"p50_ms": round(statistics.median(ordered) * 1000, 2),
            "p95_ms": round(p95 * 1000, 2), "max_ms": round(ordered[-1] * 1000, 2)}


def measure_file(path: Path, repeat: int) -> dict:
    archive = open_archive(f"sqlite:///{path}", read_only=True)
    bare = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        work = queries()
        for text, options in work:  # warm the caches as a running bot's would be
            archive.search(text, **options)
        ours, base, zero = [], [], []
        for _ in range(repeat):
            for text, options in work:
                expression = fts.match_query(text)
                started = time.perf_counter()
                bare.execute("SELECT rowid FROM articles_fts WHERE articles_fts MATCH ? LIMIT 20",
                             (expression,)).fetchall()
                base.append(time.perf_counter() - started)
                started = time.perf_counter()
                archive.search(text, **options)
                ours.append(time.perf_counter() - started)
            started = time.perf_counter()
            archive.search(*ZERO_HIT[:1], **ZERO_HIT[1])
            zero.append(time.perf_counter() - started)
        per_query = {}
        for k, (text, options) in enumerate(work):
            times = ours[k::len(work)]
            per_query[f"{text} {options or ''}".strip()] = round(min(times) * 1000, 2)
        search, baseline = _percentiles(ours), _percentiles(base)
        return {"search": search, "baseline": baseline,
                "ratio_p50": round(search["p50_ms"] / max(baseline["p50_ms"], 1e-3), 1),
                "ratio_p95": round(search["p95_ms"] / max(baseline["p95_ms"], 1e-3), 1),
                "zero_hit_ms": round(statistics.median(zero) * 1000, 2),
                "zero_hit_ratio": round(statistics.median(zero) * 1000
                                        / max(baseline["p50_ms"], 1e-3), 1),
                "slowest": sorted(per_query.items(), key=lambda kv: -kv[1])[:3]}
    finally:
        bare.close()
        archive.close()


def measure(quick: bool) -> dict:
    if not (CORPUS / "labeled" / "dev.jsonl").exists():
        return {"skipped": f"corpus not found at {CORPUS}"}
    sizes = (10_000, 100_000) if quick else (10_000, 100_000, 1_000_000)
    figures: dict = {}
    with tempfile.TemporaryDirectory() as scratch:
        for count in sizes:
            path, built = archive_file(count, Path(scratch))
            if built is not None:
                print(f"built {count:,} articles in {built:.0f} s ({path})", flush=True)
            result = measure_file(path, repeat=3 if count >= 1_000_000 else 5)
            if built is not None:
                result["build_s"] = round(built, 1)
            elif (cached := build_seconds(path)) is not None:
                result["build_s_when_cached"] = cached
            figures[str(count)] = result
            print(f"{count:>9,}: search p50/p95/max {result['search']['p50_ms']}/"
                  f"{result['search']['p95_ms']}/{result['search']['max_ms']} ms, "
                  f"bare FTS5 {result['baseline']['p50_ms']}/{result['baseline']['p95_ms']}/"
                  f"{result['baseline']['max_ms']} ms, ratio p50 {result['ratio_p50']}x "
                  f"p95 {result['ratio_p95']}x, zero-hit {result['zero_hit_ms']} ms "
                  f"({result['zero_hit_ratio']}x bare p50); "
                  f"slowest {result['slowest']}", flush=True)
    return figures


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="10k and 100k articles only")
    print(json.dumps(measure(parser.parse_args().quick), indent=1, ensure_ascii=False))
