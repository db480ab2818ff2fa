"""Extraction options chosen with numbers, and language identification measured.

Part 1: for each set of trafilatura options we use or could use, on the 181 pages of the
article-extraction benchmark: mean F1 against its ground truth (4-gram shingles, the metric of
corpus/extraction-bench/BASELINE.md), pages that get a date and how many of those dates agree with
the old setting's, CPU ms per page, and the ratio to a bare `trafilatura.extract` in the same run.
The Japanese pages (corpus/pages-ja) have true publication dates: dates right there too.

Part 2: language detectors (py3langid and bot.extract.language) on the labeled corpus, the bench
pages' extracted texts, the Japanese pages and a few texts written here: accuracy on what the
product tells apart, agreement with py3langid, ms per text, and the RSS of a fresh process after
importing each.

    python benchmarks/extraction_options.py [--quick]
"""

from __future__ import annotations

import argparse
import gzip
import importlib.util
import json
import re
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from conftest import CORPUS  # noqa: E402

from bot.extract.page import OPTIONS, _visible_text, decode_html, extract_page, judge  # noqa: E402

NOW = datetime(2026, 11, 22, tzinfo=UTC)
TOKYO = timezone(timedelta(hours=9))
WORD = re.compile(r"\w+")
DATE = "%Y-%m-%dT%H:%M:%S%z"
VISIBLE = "//body//text()[not(ancestor::script or ancestor::style or ancestor::noscript)]"


# ---------------------------------------------------------------- the option sets


def _sets() -> dict[str, Callable[[str, bytes, str], tuple[str, str | None]]]:
    """name -> f(html, body, url) -> (text, date or None)."""
    import trafilatura
    from trafilatura.utils import load_html

    def bare(**kw):
        def run(html, body, url):
            doc = trafilatura.bare_extraction(html, url=url, **kw)
            return (doc.text or "", getattr(doc, "date", None)) if doc else ("", None)
        return run

    def meta(extensive: bool, original: bool, **kw):
        return bare(with_metadata=True, include_comments=False, **kw,
                    date_extraction_params=_params(extensive, original))

    def old_page(html, body, url):
        """extract_page before issue 18: balanced, a second parse for the cues, py3langid."""
        doc = trafilatura.bare_extraction(html, url=url, with_metadata=True, include_comments=False,
                                          date_extraction_params=_params(True, True))
        text = doc.text or "" if doc else ""
        judge(text, _visible_text(html), 250)
        if len(text) >= 20:
            import py3langid
            py3langid.classify(text[:2000])
        return text, doc.date if doc else None

    def parse_once(html, body, url):
        """One parse: bare_extraction copies a tree it is given; the cues read the original."""
        tree = load_html(html)
        doc = trafilatura.bare_extraction(tree, url=url, **OPTIONS)
        text = doc.text or "" if doc else ""
        judge(text, lambda: " ".join(" ".join(tree.xpath(VISIBLE)).split()), 250)
        return text, doc.date if doc else None

    def page(html, body, url):
        result = extract_page(body, url, content_type="text/html", now=NOW)
        return result.text, result.page_date.strftime(DATE) if result.page_date else None

    return {
        "extract() (baseline)": lambda html, body, url: (trafilatura.extract(html) or "", None),
        "extract(include_comments=False)":
            lambda html, body, url: (trafilatura.extract(html, include_comments=False) or "", None),
        "no metadata, comments off": bare(include_comments=False),
        "metadata, date extensive+original": meta(True, True),
        "metadata, date extensive only": meta(True, False),
        "metadata, date original only": meta(False, True),
        "metadata, date plain": meta(False, False),
        "metadata, both, favor_precision": meta(True, True, favor_precision=True),
        "metadata, both, favor_recall": meta(True, True, favor_recall=True),
        "metadata, both, fast": meta(True, True, fast=True),
        "metadata, both, precision+fast": meta(True, True, favor_precision=True, fast=True),
        "metadata, both, recall+fast": meta(True, True, favor_recall=True, fast=True),
        "recall+fast, parse once (tree copied)": parse_once,
        # py3langid is no longer a dependency: `pip install py3langid` to compare with it
        **({"extract_page before (balanced, 2nd parse, py3langid)": old_page}
           if importlib.util.find_spec("py3langid") else {}),
        "extract_page now": page,
    }


def _params(extensive: bool, original: bool) -> dict:
    return {"extensive_search": extensive, "original_date": original, "outputformat": DATE}


# ---------------------------------------------------------------- scoring


def _shingles(text: str, n: int = 4) -> Counter:
    words = WORD.findall(text)
    if not words:
        return Counter()
    if len(words) < n:
        return Counter([tuple(words)])
    return Counter(tuple(words[i:i + n]) for i in range(len(words) - n + 1))


def f1(truths: list[str], preds: list[str]) -> float:
    """The benchmark's macro F1: precision and recall are means over pages, then combined."""
    precisions, recalls = [], []
    for truth, pred in zip(truths, preds, strict=True):
        t, p = _shingles(truth), _shingles(pred)
        tp, fp, fn = sum((t & p).values()), sum((p - t).values()), sum((t - p).values())
        total = tp + fp + fn
        if p:
            precisions.append(1.0 if fp == fn == 0 else tp / total)
        if t:
            recalls.append(1.0 if fp == fn == 0 else tp / total)
    precision, recall = statistics.fmean(precisions), statistics.fmean(recalls)
    return 2 * precision * recall / (precision + recall)


# ---------------------------------------------------------------- part 1


def _same_day(found: str | None, truth: str | None, zone: tzinfo = UTC) -> bool:
    """The same calendar day, read in the truth's time zone, else in `zone` (extract_page
    returns UTC; a Japanese page's day is Tokyo's)."""
    if not found or not truth:
        return False
    a, b = datetime.fromisoformat(found), datetime.fromisoformat(truth)
    if a.tzinfo:
        a = a.astimezone(b.tzinfo or zone)
    return a.date() == b.date()


def _bench_pages(limit: int | None) -> list[tuple[str, str, bytes, str]]:
    bench = CORPUS / "extraction-bench"
    truth = json.loads((bench / "ground-truth.json").read_text(encoding="utf-8"))
    ids = sorted(truth)[:limit] if limit else sorted(truth)
    pages = []
    for pid in ids:
        body = gzip.decompress((bench / "html" / f"{pid}.html.gz").read_bytes())
        pages.append((truth[pid]["url"], truth[pid]["articleBody"], body, decode_html(body, None)))
    return pages


def _ja_pages() -> list[tuple[str, str, bytes, str]]:
    folder = CORPUS / "pages-ja"
    index = json.loads((folder / "ground-truth.json").read_text(encoding="utf-8"))
    pages = []
    for name, meta in sorted(index.items()):
        if not name.endswith(".html") or not meta.get("published_date"):
            continue
        body = (folder / name).read_bytes()
        pages.append((meta.get("url") or "https://example.jp/", meta["published_date"], body,
                      decode_html(body, None)))
    return pages


def options_table(quick: bool, rounds: int | None = None) -> list[dict]:
    pages = _bench_pages(40 if quick else None)
    ja = _ja_pages()
    sets = _sets()
    rounds = rounds or (1 if quick else 2)
    warm = pages[0]
    for run in sets.values():  # one-time lazy set-up inside trafilatura stays out of the clock
        run(warm[3], warm[2], warm[0])
    cpu: dict[str, list[float]] = {name: [] for name in sets}
    out: dict[str, tuple[list[str], list[str | None]]] = {}
    for _ in range(rounds):  # rounds interleave the sets, so a busy moment is shared among them
        for name, run in sets.items():
            texts, dates = [], []
            started = time.process_time()
            for url, _truth, body, html in pages:
                text, date = run(html, body, url)
                texts.append(text)
                dates.append(date)
            cpu[name].append((time.process_time() - started) * 1000 / len(pages))
            out[name] = (texts, dates)
    reference = out["metadata, date extensive+original"][1]
    truths = [p[1] for p in pages]
    visible = [_visible_text(p[3]) for p in pages]
    base = statistics.median(cpu["extract() (baseline)"])
    rows = []
    for name, run in sets.items():
        texts, dates = out[name]
        ja_right = ja_dated = 0
        if "extract()" not in name and "no metadata" not in name:
            for url, truth_date, body, html in ja:
                date = run(html, body, url)[1]
                ja_dated += bool(date)
                ja_right += bool(date) and _same_day(date, truth_date, TOKYO)
        ms = statistics.median(cpu[name])
        rows.append({
            "options": name, "f1": round(f1(truths, texts), 4),
            "pages": len(pages),
            "dated": sum(bool(d) for d in dates),
            "dates_agree_with_old": sum(bool(d) and _same_day(d, r)
                                        for d, r in zip(dates, reference, strict=True)),
            "statuses": dict(Counter(judge(t, v, 250)[0]
                                     for t, v in zip(texts, visible, strict=True))),
            "ja_dated": ja_dated, "ja_dates_right": ja_right, "ja_pages": len(ja),
            "cpu_ms_per_page": round(ms, 1), "ratio": round(ms / base, 2)})
    return rows


# ---------------------------------------------------------------- part 2

def _py3langid(text: str) -> str | None:
    """detect_language before issue 18: kana share, then py3langid's model."""
    import py3langid

    sample = text[:2000]
    letters = [c for c in sample if c.isalpha()]
    if len(sample) < 20 or not letters:
        return None
    kana = sum(1 for c in letters if "\u3040" <= c <= "\u30ff")
    han = sum(1 for c in letters if "\u4e00" <= c <= "\u9fff")
    if kana and (kana + han) / len(letters) > 0.2:
        return "ja"
    return py3langid.classify(sample)[0]


def _letters(text: str) -> str | None:
    from bot.extract.language import detect_language

    return detect_language(text, None)


DETECTORS = {"py3langid": _py3langid, "bot.extract.language": _letters}
# A worker's memory: a fresh process that imports the extractor and extracts one page. Before:
# trafilatura and py3langid's model (loaded on the first classify). After: bot.extract with
# py3langid absent, as in a fresh install (trafilatura imports it, and numpy, when present).
PAGE = "<html><body><article><p>" + "Chips and research. " * 40 + "</p></article></body></html>"
IMPORTS = {
    "py3langid": "import trafilatura, py3langid; trafilatura.extract(PAGE); "
                 "py3langid.classify('warm up the model')",
    "bot.extract.language": "sys.modules['py3langid'] = None; from datetime import datetime, UTC; "
                            "from bot.extract import extract_page; "
                            "extract_page(PAGE.encode(), 'http://x/', now=datetime.now(UTC))",
}
COARSE = {"en": "en", "ja": "ja"}  # what search's lang: filter and the classifier tell apart


def _language_sets(quick: bool) -> dict[str, list[tuple[str, str | None]]]:
    """name -> [(text, true language or None when py3langid's answer is the reference)]."""
    from test_language import WRITTEN

    rows = [json.loads(line) for line in
            (CORPUS / "labeled" / "dev.jsonl").read_text(encoding="utf-8").splitlines()]
    sets = {"labeled dev.jsonl (hand labels)": [(f"{r['title']}\n{r['text']}", r["lang"])
                                                for r in rows],
            "labeled titles alone (short texts)": [(r["title"], r["lang"]) for r in rows],
            "written here (hand labels)": [(t, k.split("-")[0]) for k, t in WRITTEN.items()]}
    truth = json.loads((CORPUS / "extraction-bench" / "ground-truth.json").read_text())
    sets["extraction-bench bodies (py3langid as reference)"] = [
        (truth[pid]["articleBody"], None) for pid in sorted(truth)]
    ja = []
    folder = CORPUS / "pages-ja"
    for name, meta in sorted(json.loads((folder / "ground-truth.json").read_text()).items()):
        result = extract_page((folder / name).read_bytes(), meta.get("url") or "https://example.jp/",
                              now=NOW)
        if result.text:
            ja.append((result.text, meta["lang"]))
    sets["pages-ja extracted (hand labels)"] = ja
    return sets


def language_table(quick: bool) -> list[dict]:
    sets = _language_sets(quick)
    found: dict[str, dict[str, list[str | None]]] = {}
    timing: dict[str, float] = {}
    for name, detect in DETECTORS.items():
        if name == "py3langid" and importlib.util.find_spec("py3langid") is None:
            continue  # no longer a dependency: `pip install py3langid` to compare
        detect("warm up the model or the module")
        texts = [t for items in sets.values() for t, _ in items]
        started = time.process_time()
        for _ in range(1 if quick else 3):
            for text in texts:
                detect(text)
        timing[name] = (time.process_time() - started) * 1000 / (len(texts) * (1 if quick else 3))
        found[name] = {s: [detect(t) for t, _ in items] for s, items in sets.items()}
    rows = []
    for name in found:
        row: dict = {"detector": name, "ms_per_text": round(timing[name], 3),
                     "ratio_ms": round(timing[name] / timing.get("py3langid", timing[name]), 3),
                     "rss_mb_worker": _rss_after(IMPORTS[name])}
        for s, items in sets.items():
            refs = found.get("py3langid", found[name])[s]
            truth = [lang or ref for (_, lang), ref in zip(items, refs, strict=True)]
            got = found[name][s]
            row[s] = {"texts": len(items),
                      "exact": sum(g == t for g, t in zip(got, truth, strict=True)),
                      "undecided": sum(g is None for g in got),
                      "en/ja/other": sum(COARSE.get(g or "", "other") == COARSE.get(t, "other")
                                         for g, t in zip(got, truth, strict=True))}
        rows.append(row)
    base = _rss_after("pass")
    for row in rows:
        row["rss_mb_over_bare_python"] = round(row["rss_mb_worker"] - base, 1)
    return rows


def _rss_after(statement: str) -> float:
    """Peak RSS (MB) of a fresh interpreter after `statement`: VmHWM, which an exec resets
    (ru_maxrss would carry the forking parent's size)."""
    code = (f"import sys; sys.path.insert(0, {str(ROOT)!r}); PAGE = {PAGE!r}; {statement}; "
            "print([line for line in open('/proc/self/status') if line.startswith('VmHWM')][0])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return round(int(out.stdout.split()[-2]) / 1024, 1)


# ---------------------------------------------------------------- measure


def measure(quick: bool, rounds: int | None = None) -> dict:
    return {"extraction_options": options_table(quick, rounds), "language": language_table(quick)}


def _print(figures: dict) -> None:
    rows = figures["extraction_options"]
    print(f"{'options':42} {'F1':>6} {'dated':>9} {'agree':>6} {'ja dates':>9} {'CPU ms':>7} {'ratio':>6}")
    for r in rows:
        ja = f"{r['ja_dates_right']}/{r['ja_dated']}/{r['ja_pages']}" if r["ja_dated"] else "-"
        print(f"{r['options']:42} {r['f1']:6.3f} {r['dated']:4}/{r['pages']:<4} "
              f"{r['dates_agree_with_old']:6} {ja:>9} {r['cpu_ms_per_page']:7.1f} {r['ratio']:5.2f}x  "
              + " ".join(f"{k} {v}" for k, v in sorted(r["statuses"].items())))
    print("dated: pages with a date; agree: of them, the same day as 'extensive+original'; "
          "ja dates: right/found/pages with a true date")
    print()
    for row in figures["language"]:
        print(f"{row['detector']}: {row['ms_per_text']:.3f} ms/text ({row['ratio_ms']:.3f}x py3langid), "
              f"worker RSS after one page {row['rss_mb_worker']} MB "
              f"(+{row['rss_mb_over_bare_python']} MB over a bare interpreter)")
        for key, value in row.items():
            if isinstance(value, dict):
                print(f"    {key:50} exact {value['exact']:3}/{value['texts']:<3}  "
                      f"en/ja/other {value['en/ja/other']:3}/{value['texts']}  "
                      f"undecided (the page's declared language is used) {value['undecided']}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--rounds", type=int, help="timed passes over the pages (1 quick, 2 full)")
    args = parser.parse_args()
    if not (CORPUS / "extraction-bench").exists():
        sys.exit(f"corpus not found at {CORPUS} (set TECHWATCH_SHARED)")
    _print(measure(args.quick, args.rounds))
