"""Classifier speed on one core: articles per second for 2,000-character texts.

Texts are 2,000-character windows of the shipped seed documents and fixture pages (in the repo).
Besides articles/s it prints the time as a ratio of a baseline measured in the same run: one
`\\w+` tokenisation pass over the same texts (a floor no keyword matcher can beat).

    python benchmarks/classify_speed.py [--seconds 3]
"""

from __future__ import annotations

import argparse
import re
import sys
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.classify import Classifier, Taxonomy  # noqa: E402
from bot.extract.page import _visible_text  # noqa: E402


def texts() -> list[tuple[str, str]]:
    sources = [p.read_text(encoding="utf-8") for p in sorted((ROOT / "seeds").glob("*.txt"))]
    pages = sorted((ROOT / "tests" / "fixtures" / "site" / "articles").glob("*.html"))
    sources += [_visible_text(p.read_bytes().decode("utf-8", "replace")) for p in pages]
    windows = []
    for source in sources:
        for start in range(0, max(len(source) - 2000, 1), 700):
            window = source[start:start + 2000]
            windows.append((window[:80], window))
    return windows


def rate(function, items, seconds: float) -> float:
    done, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        for item in items:
            function(item)
        done += len(items)
    return done / (time.perf_counter() - started)


def measure(quick: bool = False, seconds: float | None = None) -> dict:
    """Articles/s of `Classifier.classify` on one core (this process, one thread) and its time
    as a ratio of one `\\w+` tokenisation pass over the same texts, measured in the same run."""
    seconds = seconds or (1.0 if quick else 3.0)
    taxonomy = Taxonomy.from_dict(
        tomllib.loads((ROOT / "config" / "topics.toml").read_text(encoding="utf-8")), "topics")
    classifier = Classifier(taxonomy)
    items = texts()
    word = re.compile(r"\w+")
    baseline = rate(lambda item: word.findall(item[1]), items, seconds)
    speed = rate(lambda item: classifier.classify(*item), items, seconds)
    return {"texts": len(items), "chars": 2000, "articles_per_second": round(speed, 1),
            "baseline": "one \\w+ findall over the same text",
            "baseline_per_second": round(baseline, 1), "ms_per_article": round(1000 / speed, 3),
            "ratio": round(baseline / speed, 2)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=3.0)
    figures = measure(seconds=parser.parse_args().seconds)
    print(f"texts: {figures['texts']} windows of 2,000 characters")
    print(f"classify:            {figures['articles_per_second']:,.0f} articles/s (one core)")
    print(f"baseline (\\w+ scan): {figures['baseline_per_second']:,.0f} texts/s")
    print(f"classify time / baseline time: {figures['ratio']:.1f}x")


if __name__ == "__main__":
    main()
