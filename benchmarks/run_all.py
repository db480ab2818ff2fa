"""Every benchmark of issue 18 in one command: one table (each figure, its target, met or not,
the ratio to a baseline measured in the same run, absolute times beside it for information) and
all the figures as JSON.

    python benchmarks/run_all.py [--quick] [--json PATH] [--only NAME,...]

Each benchmark's `measure(quick)` runs in a process of its own (a crash or a leak of one does not
touch the others, and no benchmark's imports warm another's start-up); a failing one prints one
line naming it and its error, and the others still run. Their progress goes to stderr; the table
to stdout. Durations on this 2-core machine: --quick 2.5 minutes when the machine is quiet, 15
under the load of three other developers (plus, the first time, the cached 100k search archive:
a few minutes); the full run about half an hour, plus the first builds of the cached archives
in ~/.cache/techwatch-bench/ (1M search articles: the better part of an hour; 100k story
grouping background: about 15 minutes). Each run prints its own duration.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent

# name: module under benchmarks/
BENCHMARKS = {
    "ingest": "ingest",
    "search": "search_scale",
    "search_pg": "search_pg",
    "startup": "startup",
    "classify": "classify_speed",
    "feeds500": "feeds_500",
    "ingest5k": "ingest_5k",
    "stories": "story_grouping",
    "extraction": "extraction_options",
    "ingest_workers": "ingest_workers",
    "story_updates": "story_updates",
    "watches": "watch_match",
    "web": "web_pages",
}
DEFAULT_JSON = "benchmark-results.json"  # in the working directory, never the repository's


# ---------------------------------------------------------------- running


def call_measure(measure: Callable[..., dict], quick: bool) -> dict:
    """`measure(quick)`, whatever else its signature has grown (keywords with defaults)."""
    parameters = inspect.signature(measure).parameters
    if "quick" in parameters:
        return measure(quick=quick)
    return measure(quick)


def child(name: str, quick: bool, out: Path) -> None:
    """Run one benchmark in this process and write its figures to `out`."""
    sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(HERE)]
    try:
        module = importlib.import_module(BENCHMARKS[name])
        figures = call_measure(module.measure, quick)
    except BaseException as e:  # SystemExit too: one line for the table, the trace to stderr
        message = str(e).strip().splitlines()
        out.write_text(json.dumps({"error": f"{type(e).__name__}: "
                                            f"{message[0][:300] if message else ''}"}))
        raise
    out.write_text(json.dumps({"figures": figures}, default=str, ensure_ascii=False))


def run(name: str, quick: bool) -> dict:
    """One benchmark in a child process: {"seconds", "figures"} or {"seconds", "error"}."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "figures.json"
        errors = Path(tmp) / "stderr"
        command = [sys.executable, str(Path(__file__).resolve()), "--child", name,
                   "--child-out", str(out)] + (["--quick"] if quick else [])
        started = time.perf_counter()
        with errors.open("wb") as stderr:
            done = subprocess.run(command, stdout=sys.stderr, stderr=stderr, cwd=ROOT)
        seconds = round(time.perf_counter() - started, 1)
        text = errors.read_text(errors="replace")
        sys.stderr.write(text)
        written = json.loads(out.read_text()) if out.exists() else {}
        if done.returncode != 0 or "figures" not in written:
            lines = [line for line in text.splitlines() if line.strip()]
            error = written.get("error") or (lines[-1] if lines else "")
            return {"seconds": seconds, "error": f"{error} (exit status {done.returncode})"}
        return {"seconds": seconds, "figures": written["figures"]}


# ---------------------------------------------------------------- the table


@dataclass
class Row:
    benchmark: str
    figure: str
    value: str
    target: str = "-"
    met: bool | None = None  # None: no target in the issue (for information)
    ratio: str = ""  # to the same-run baseline
    info: str = ""  # absolute times, the baseline's, context


def _g(data: dict, *keys, default=None):
    for key in keys:
        if not isinstance(data, dict) or key not in data:
            return default
        data = data[key]
    return data


def ingest_rows(f: dict) -> list[Row]:
    first, second, base = f["first"], f["second"], f["baseline_seconds"]
    n = f["pages"]
    return [
        Row("ingest", f"first poll of {n} bench pages (run --once, start-up incl.)",
            f"{f['first_ratio']:.2f}x", "<= 1.0x", f["first_ratio"] <= 1.0,
            f"{f['first_ratio']:.2f}x bare extract",
            f"{first['seconds']:.1f} s; bare single-process extract {base:.1f} s"),
        Row("ingest", "peak RSS of the process tree, that poll",
            f"{first['peak_rss_mb']:.0f} MB", "<= 300 MB", first["peak_rss_mb"] <= 300, "",
            f"{first['processes']} processes, {first['cpu_seconds']:.1f} s CPU"
            + (f"; PSS {first['peak_pss_mb']:.0f} MB" if "peak_pss_mb" in first else "")
            + (f"; by role {first['peak_rss_mb_by_role']}" if "peak_rss_mb_by_role" in first
               else "")),
        Row("ingest", "longest event-loop stall, that poll",
            f"{first['longest_stall_ms']:.0f} ms", "<= 50 ms", first["longest_stall_ms"] <= 50,
            "", f"{first['stalls_over_50ms']} over 50 ms, {first['stalled_seconds']:.2f} s in all"
                f"; longest in {first['longest_stall_at'][:60]}"),
        Row("ingest", "ingest articles/s (that poll)",
            f"{f['articles_per_second']:.1f}/s", "-", None, "",
            f"{f['archived']} archived, {f['full_text']} full text"),
        Row("ingest", "all-304 second cycle: time, CPU",
            f"{second['seconds']:.2f} s, {second['cpu_seconds']:.2f} s CPU",
            "only 304s, nothing parsed", second["requests"] == second["not_modified"],
            f"{f['second_ratio']:.2f}x bare extract of the pages",
            f"{second['requests']} requests, {second['not_modified']} x 304 (a 304 has no body "
            f"to parse, no page fetched); writes: see ingest5k"),
    ]


def search_rows(f: dict) -> list[Row]:
    rows = []
    targets = {"100000": ("100k", 20), "1000000": ("1M", 50)}
    for size, (label, target) in targets.items():
        s = f.get(size)
        if s is None:
            rows.append(Row("search", f"search at {label} archived: p50 / p95", "not run",
                            f"p95 <= {target} ms", None, "", "(--quick: 10k and 100k only)"))
            continue
        rows.append(Row(
            "search", f"search at {label} archived, 20 queries: p50 / p95",
            f"{s['search']['p50_ms']:.1f} / {s['search']['p95_ms']:.1f} ms",
            f"p95 <= {target} ms", s["search"]["p95_ms"] <= target,
            f"{s['ratio_p50']}x / {s['ratio_p95']}x bare FTS5",
            f"bare FTS5 MATCH LIMIT 20 {s['baseline']['p50_ms']} / {s['baseline']['p95_ms']} ms"
            + (f"; archive built in {s['build_s']} s" if "build_s" in s else "")))
    sizes = [k for k in f if k.isdigit()]
    if len(sizes) >= 2:
        small, big = f[sizes[0]]["zero_hit_ms"], f[sizes[-1]]["zero_hit_ms"]
        ratio = big / max(small, 1e-3)
        rows.append(Row("search", f"zero-hit query, {int(sizes[0]):,} -> {int(sizes[-1]):,}",
                        f"{small:.2f} -> {big:.2f} ms", "flat (<= 2x; my reading)",
                        ratio <= 2, f"{ratio:.2f}x the smallest", ""))
    return rows


def search_pg_rows(f: dict) -> list[Row]:
    rows = []
    for size, s in f.items():
        target = 50 if int(size) >= 1_000_000 else None
        lite = s.get("sqlite")
        rows.append(Row(
            "search_pg", f"PostgreSQL search at {int(size):,} archived, 20 queries: p50 / p95",
            f"{s['search']['p50_ms']:.1f} / {s['search']['p95_ms']:.1f} ms",
            f"p95 <= {target} ms" if target else "-",
            s["search"]["p95_ms"] <= target if target else None,
            f"{s['ratio_p50']}x / {s['ratio_p95']}x bare @@",
            f"bare doc @@ query LIMIT 20 {s['baseline']['p50_ms']} / {s['baseline']['p95_ms']} ms"
            + (f"; SQLite search {lite['search']['p50_ms']} / {lite['search']['p95_ms']} ms"
               if lite else "; SQLite: not measured at this size")
            + f"; slowest {s['slowest']}"))
    return rows


def startup_rows(f: dict) -> list[Row]:
    commands = f["commands"]
    base = commands["baseline python -c pass"]["p50_seconds"]
    rows = []
    for name, target in (("techwatch search WORDS", 0.35), ("techwatch --help", 0.2),
                         ("techwatch classify (one text)", None)):
        c = commands.get(name)
        if c is None:
            continue
        rows.append(Row("startup", f"`{name}` as a command, p50", f"{c['p50_seconds']:.3f} s",
                        f"<= {target} s" if target else "-",
                        c["p50_seconds"] <= target if target else None,
                        f"{c['p50_ratio']}x python -c pass",
                        f"python -c pass {base:.3f} s; p95 {c['p95_seconds']:.3f} s"))
    return rows


def classify_rows(f: dict) -> list[Row]:
    return [Row("classify", "classify articles/s, one core (2,000-char texts)",
                f"{f['articles_per_second']:.0f}/s", ">= 1,000/s (issue 20)",
                f["articles_per_second"] >= 1000,
                f"{f['ratio']}x a \\w+ scan of the text",
                f"{f['ms_per_article']} ms/article; baseline {f['baseline_per_second']:.0f}/s")]


def stories_rows(f: dict) -> list[Row]:
    rows = []
    for size, s in f["sizes"].items():
        rows.append(Row("stories", f"story grouping at {int(size):,} archived",
                        f"{s['articles_per_second']:.0f} articles/s", "-", None,
                        f"{s['ratio_to_pk_lookup']}x a primary-key lookup",
                        f"copies grouped {s['copies_grouped_pct']}%"
                        + (f"; background built in {s['background_built_s']} s"
                           + (" and cached" if int(size) >= 10_000 else "")
                           if s.get("background_built_s") else "")))
    sizes = list(f["sizes"])
    rows.append(Row("stories", f"grouping rate at {int(sizes[-1]):,} / at {int(sizes[0]):,}",
                    f"{f['rate_largest_over_smallest']:.2f}", "few index reads (1 = flat)", None,
                    "", "complexity: in the JSON (stories.complexity) and below"))
    return rows


def feeds_rows(f: dict) -> list[Row]:
    second = f["second"]
    return [Row("feeds500", f"{f['feeds']} feeds at {f['delay_s'] * 1000:.0f} ms each: fetch span / ideal",
                f"{f['ratio']:.2f}x", "- (ideal = 1.0x)", None,
                f"{f['ratio']:.2f}x ideal ({f['command_ratio']:.2f}x whole command)",
                f"{second['fetch_span_s']:.2f} s vs ideal {f['ideal_s']:.1f} s = ceil("
                f"{f['feeds']}/{f['concurrency']}) x {f['delay_s']} s; second poll, all 304; "
                f"first poll {f['first_ratio']:.2f}x")]


def ingest5k_rows(f: dict) -> list[Row]:
    first, second, check = f["first"], f["second"], f["second_check"]
    n = f["pages"]
    ratio = f["rss_ratio_end_to_1k"]
    return [
        Row("ingest5k", f"ingest of {n:,} small pages in one run --once, articles/s",
            f"{f['articles_per_second']:.1f}/s", "-", None, f"{f['ratio']:.2f}x bare extract",
            f"{first['seconds']:.0f} s, {first['cpu_seconds']:.0f} s CPU; bare extract "
            f"{f['baseline_seconds']:.1f} s; {f['archived']} archived"),
        Row("ingest5k", f"peak RSS of the tree: at 1,000 archived / at {f['archived']:,}",
            f"{first['peak_rss_mb_at_1k']:.0f} / {first['peak_rss_mb']:.0f} MB",
            "flat (<= 1.2x; my reading)", ratio <= 1.2, f"{ratio:.2f}x",
            f"1,000th article at {first['mark_reached_s']} s"),
        Row("ingest5k", f"all-304 second cycle after {f['archived']:,}: time, CPU",
            f"{second['seconds']:.2f} s, {second['cpu_seconds']:.2f} s CPU",
            "no parse/extract/writes but state", check["ok"], "",
            f"{second['requests']} requests, {second['not_modified']} x 304; fetch log only "
            f"feed 'not modified': {check['fetch_log_only_feed_not_modified']}; other tables "
            f"unchanged: {check['other_tables_unchanged']} {check['changed'] or ''}; digest "
            f"stage rows {check.get('digest_stage_rows')}; stall {second['longest_stall_ms']:.0f}"
            " ms"),
    ]


def extraction_rows(f: dict) -> list[Row]:
    rows = []
    table = {r["options"]: r for r in f["extraction_options"]}
    for name in ("extract_page now", "extract_page before (balanced, 2nd parse, py3langid)"):
        r = table.get(name)
        if r:
            rows.append(Row("extraction", f"{name}: F1, CPU/page", f"F1 {r['f1']:.3f}",
                            "no F1 that matters lost", None, f"{r['ratio']:.2f}x bare extract",
                            f"{r['cpu_ms_per_page']:.1f} ms/page, {r['dated']}/{r['pages']} dated"))
    for r in f.get("language", []):
        rows.append(Row("extraction", f"language: {r['detector']}", f"{r['ms_per_text']:.3f} ms",
                        "-", None, f"{r['ratio_ms']}x py3langid",
                        f"worker +{r['rss_mb_over_bare_python']} MB over bare python"))
    return rows


def ingest_workers_rows(f: dict) -> list[Row]:
    rows, n = [], f["articles"]
    for mode, runs in f["runs"].items():
        how = "run --once each" if mode == "once" else "run daemons, 1 s tick"
        for name, r in runs.items():
            label = (f"{r['workers']} worker{'s' * (r['workers'] > 1)} on "
                     f"{'SQLite' if name.startswith('sqlite') else 'PostgreSQL'} ({how})")
            if "error" in r:
                rows.append(Row("ingest_workers", f"ingest of {n} articles, {label}", "error",
                                met=False, info=r["error"][:300]))
                continue
            rows.append(Row("ingest_workers", f"ingest of {n} articles, {label}",
                            f"{r['seconds']:.1f} s", "-", None,
                            f"{r['ratio_to_sqlite_1']:.2f}x one worker on SQLite",
                            f"{r['articles_per_second']} articles/s; {r['done']}/{n} done; "
                            f"articles by worker {r['articles_by_worker']}; CPU "
                            f"{r['cpu_seconds']} s; {r['pages_fetched_twice_or_more']} pages "
                            f"fetched more than once; {f['cores']} cores"))
    return rows


def story_updates_rows(f: dict) -> list[Row]:
    rows = [Row("story_updates", f"grown stories looked for at {int(size):,} digested, {label}",
                f"{m['ms']} ms", "-", None, f"{m['ratio']}x a primary-key lookup",
                f"baseline {m['baseline_ms']} ms")
            for size, s in f["sizes"].items() for label, m in s.items()]
    rows.append(Row("story_updates", "cost at the largest / at the smallest archive (grown)",
                    f"{f['growth_ratio']:.2f}", "flat (each poll)", None, "", ""))
    return rows


def watches_rows(f: dict) -> list[Row]:
    return [Row("watches", f"{f['watches']:,} watches against a cycle of {f['articles']} new "
                "articles (worst of cold and warm)", f"{f['cycle_worst_seconds']:.3f} s",
                f"<= 1 s per {f['articles']} articles with {f['watches']:,} watches (issue 21)",
                f["cycle_worst_seconds"] <= 1.0, f"{f['ratio']}x a \\w+ pass of the articles",
                f"cold {f['cycle_cold_seconds']} s, warm {f['cycle_warm_seconds']} s, "
                f"{f['matches']} matches; compiled once in {f['compile_seconds']} s; "
                f"baseline {f['baseline_seconds']} s")]


def web_rows(f: dict) -> list[Row]:
    rows, base = [], f["search"]["p95_ms"]
    for page, p in f["pages"].items():
        rows.append(Row("web", f"page {page} at {f['articles']:,} archived: p50 / p95",
                        f"{p['p50_ms']:.1f} / {p['p95_ms']:.1f} ms", "≤100 ms p95",
                        p["p95_ms"] <= 100, f"{p['ratio_p95']}x Archive.search p95",
                        f"search p95 {base} ms; max {p['max_ms']} ms; first render after "
                        f"start {p['cold_ms']} ms; {p['requests']} requests"))
        rows.append(Row("web", f"page {page}: largest HTML", f"{p['max_bytes'] / 1000:.1f} KB",
                        "< 100 KB", p["max_bytes"] < 100_000, "", p["largest"]))
    return rows


ROWS = {"ingest": ingest_rows, "search": search_rows, "search_pg": search_pg_rows, "startup": startup_rows,
        "classify": classify_rows, "stories": stories_rows, "feeds500": feeds_rows,
        "ingest5k": ingest5k_rows, "extraction": extraction_rows,
        "ingest_workers": ingest_workers_rows, "story_updates": story_updates_rows,
        "watches": watches_rows, "web": web_rows}


def table_rows(results: dict) -> list[Row]:
    rows = []
    for name, result in results.items():
        figures = result.get("figures")
        if figures is None:
            rows.append(Row(name, "FAILED", "error", met=False, info=result["error"][:300]))
        elif "skipped" in figures:
            rows.append(Row(name, "skipped", "-", info=figures["skipped"]))
        else:
            try:
                rows += ROWS[name](figures)
            except (KeyError, TypeError, ValueError, ZeroDivisionError) as e:
                rows.append(Row(name, "figures unreadable", "error", met=False,
                                info=f"{type(e).__name__}: {e}"))
    return rows


def print_table(rows: list[Row]) -> None:
    marks = {True: "met", False: "NOT MET", None: "info"}
    headers = ("benchmark", "figure", "value", "target", "met", "ratio (same-run baseline)")
    cells = [(r.benchmark, r.figure, r.value, r.target, marks[r.met], r.ratio) for r in rows]
    caps = (10, 64, 24, 32, 7, 40)  # longer cells are cut: the info line and JSON hold all
    widths = [min(max(len(c[i]) for c in [headers, *cells]), cap)
              for i, cap in enumerate(caps)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))
    print(line)
    print("-" * len(line))
    for row, cell in zip(rows, cells, strict=True):
        print("  ".join(c[:w].ljust(w) for c, w in zip(cell, widths, strict=True)).rstrip())
        if row.info:
            print(" " * (widths[0] + 2) + "  " + row.info)


def print_extraction(figures: dict) -> None:
    print("\nextraction options (extraction_options.py; F1 vs the extraction-bench ground truth):")
    print(f"  {'options':52} {'F1':>6} {'dated':>8} {'CPU ms':>7} {'ratio':>6}")
    for r in figures.get("extraction_options", []):
        print(f"  {r['options'][:52]:52} {r['f1']:6.3f} {r['dated']:>3}/{r['pages']:<4} "
              f"{r['cpu_ms_per_page']:7.1f} {r['ratio']:5.2f}x")


# ---------------------------------------------------------------- main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="smaller sizes (60 pages, search at 10k/100k, 1,500 articles)")
    parser.add_argument("--json", type=Path, default=Path(DEFAULT_JSON),
                        help=f"where the figures go (default ./{DEFAULT_JSON})")
    parser.add_argument("--only", help="comma-separated: " + ",".join(BENCHMARKS))
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--child-out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.quick, args.child_out)
        return 0
    names = list(BENCHMARKS)
    if args.only:
        names = [n.strip() for n in args.only.split(",") if n.strip()]
        unknown = [n for n in names if n not in BENCHMARKS]
        if unknown:
            parser.error(f"unknown benchmark(s) {', '.join(unknown)}; "
                         f"known: {', '.join(BENCHMARKS)}")
    started, began = time.perf_counter(), datetime.now(UTC)
    results = {}
    for name in names:
        print(f"--- {name} ({BENCHMARKS[name]}.py{', quick' if args.quick else ''})",
              file=sys.stderr, flush=True)
        results[name] = run(name, args.quick)
        if "error" in results[name]:
            print(f"FAILED {name}: {results[name]['error']}", file=sys.stderr, flush=True)
    total = time.perf_counter() - started
    rows = table_rows(results)
    print(f"\nbenchmarks of issue 18 ({'--quick' if args.quick else 'full'} run, "
          f"{began:%Y-%m-%d %H:%M} UTC, {total / 60:.1f} min in all): every ratio is to a "
          "baseline measured in the same run; absolute times are for information")
    print_table(rows)
    if "figures" in results.get("extraction", {}):
        print_extraction(results["extraction"]["figures"])
    if "figures" in results.get("stories", {}):
        print(f"\nstory grouping: {results['stories']['figures'].get('complexity')}")
    for name, result in results.items():
        if "error" in result:
            print(f"FAILED {name}: {result['error']}")
    print("\ntime taken: " + ", ".join(f"{n} {r['seconds']:.0f} s" for n, r in results.items())
          + f"; total {total / 60:.1f} min")
    met = [r.met for r in rows if r.met is not None]
    print(f"targets met: {sum(met)} of {len(met)}")
    args.json.write_text(json.dumps({
        "quick": args.quick, "started": began.isoformat(), "seconds": round(total, 1),
        "benchmarks": results, "table": [asdict(r) for r in rows]}, indent=1,
        ensure_ascii=False, default=str))
    print(f"figures written to {args.json}")
    return 1 if any("error" in r for r in results.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
