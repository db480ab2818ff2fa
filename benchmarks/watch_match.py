"""Watches against a cycle (issue 21): 1,000 saved queries compiled once, then the 200 new
articles of a cycle matched against them. Target: <= 1 s for the cycle on this machine.

Articles are 2,000-character windows of the seed documents and fixture pages (as
classify_speed's); the watches are realistic queries made from those texts' own words (names,
two words, quoted phrases, OR, exclusions, Japanese words) and names found nowhere. The figure
is a cold cycle (no word's terms cached: the worst, as after a start) and the warm cycles' median;
the baseline, measured in the same run, is one `\\w+` tokenisation pass over the same articles.

    python benchmarks/watch_match.py [--quick]
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(Path(__file__).resolve().parent)]

from classify_speed import texts  # noqa: E402

from bot.cjk import CJK_RUN  # noqa: E402
from bot.watches import compile_watches, matcher  # noqa: E402

WATCHES, ARTICLES = 1000, 200
WORD = re.compile(r"\w+")


def watch_queries(articles: list[tuple[str, str]], count: int, seed: int = 21) -> list[str]:
    """`count` queries of the kinds people save, from the articles' words and beyond them."""
    rng = random.Random(seed)
    latin = [w for _, t in articles for w in re.findall(r"[A-Za-z][A-Za-z0-9]{3,}", t)]
    names = sorted({w for w in latin if w[0].isupper()}) or ["Rapidus"]
    words = sorted({w.lower() for w in latin})
    pairs = [m.group(0) for _, t in articles for m in re.finditer(r"[a-z]{4,} [a-z]{4,}", t)]
    japanese = sorted({r[i:i + n] for _, t in articles for r in CJK_RUN.findall(t)
                       for n in (2, 3) for i in range(0, max(len(r) - n, 0) + 1, n)})
    japanese = japanese or ["量子", "半導体"]
    queries = []
    for i in range(count):
        kind = i % 8
        if kind == 0:
            queries.append(rng.choice(names))
        elif kind == 1:
            queries.append(f"{rng.choice(names)} {rng.choice(words)}")
        elif kind == 2:
            queries.append(f'"{rng.choice(pairs)}"' if pairs else rng.choice(words))
        elif kind == 3:
            queries.append(f"{rng.choice(names)} OR {rng.choice(names)} {rng.choice(words)}")
        elif kind == 4:
            queries.append(f"{rng.choice(words)} -{rng.choice(words)} -{rng.choice(names)}")
        elif kind == 5:
            queries.append(rng.choice(japanese))
        elif kind == 6:
            queries.append(f"{rng.choice(japanese)} OR {rng.choice(japanese)} -{rng.choice(japanese)}")
        else:  # a name found in no article: most saved queries match nothing most cycles
            queries.append(f"Zq{i}corp OR \"zq{i} labs\"")
    return queries


def measure(quick: bool = False) -> dict:
    """Seconds to compile 1,000 watches and to match a cycle of 200 articles against them (cold
    and warm), and the cycle's time as a ratio of one \\w+ pass over the same articles."""
    pool = texts()
    rng = random.Random(200)
    articles = [pool[rng.randrange(len(pool))] for _ in range(ARTICLES)]
    queries = watch_queries(pool, WATCHES)
    matcher._TERMS._known.clear()  # a cold start: nothing cached
    started = time.perf_counter()
    watches = compile_watches(list(enumerate(queries)))
    compile_s = time.perf_counter() - started

    def cycle() -> tuple[float, int]:
        began, hits = time.perf_counter(), 0
        for title, text in articles:
            hits += len(watches.match(title, text))
        return time.perf_counter() - began, hits

    cold, hits = cycle()  # the articles' words never seen: each goes through the tokenizer
    warm = [cycle()[0] for _ in range(2 if quick else 5)]
    baselines = []
    for _ in range(3 if quick else 7):
        began = time.perf_counter()
        for title, text in articles:
            WORD.findall(title)
            WORD.findall(text)
        baselines.append(time.perf_counter() - began)
    baseline = statistics.median(baselines)
    worst = max(cold, *warm)
    return {"watches": WATCHES, "articles": ARTICLES,
            "chars": round(sum(len(t) for _, t in articles) / ARTICLES),
            "compile_seconds": round(compile_s, 3), "cycle_cold_seconds": round(cold, 3),
            "cycle_warm_seconds": round(statistics.median(warm), 3),
            "cycle_worst_seconds": round(worst, 3), "matches": hits,
            "per_article_ms": round(1000 * worst / ARTICLES, 2),
            "baseline": "one \\w+ findall over the same 200 articles",
            "baseline_seconds": round(baseline, 4), "ratio": round(worst / baseline, 1)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    f = measure(parser.parse_args().quick)
    print(f"{f['watches']} watches compiled in {f['compile_seconds']} s")
    print(f"cycle of {f['articles']} articles (~{f['chars']} chars): cold "
          f"{f['cycle_cold_seconds']} s, warm {f['cycle_warm_seconds']} s, {f['matches']} matches")
    print(f"baseline (\\w+ pass): {f['baseline_seconds']} s; worst cycle / baseline {f['ratio']}x")


if __name__ == "__main__":
    main()
