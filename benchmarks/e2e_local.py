"""A full `techwatch run --once` against a local site serving real article pages of the corpus.

Prints the run's figures (articles, seconds, requests, 304s) and, as the machine-independent
figure, the cycle's time as a ratio of a baseline measured in the same run: extracting the same
pages with plain `trafilatura.extract` in one process.

    python benchmarks/e2e_local.py [--pages 60]
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from conftest import CORPUS, write_config  # noqa: E402
from newsite import query, serve_corpus_site  # noqa: E402
from sitesrv import Site  # noqa: E402

from bot.cli import main  # noqa: E402


def baseline_seconds(bench: Path, count: int) -> float:
    import trafilatura

    truth = json.loads((bench / "ground-truth.json").read_text())
    pages = [gzip.decompress((bench / "html" / f"{pid}.html.gz").read_bytes())
             for pid in sorted(truth)[:count]]
    started = time.perf_counter()
    for html in pages:
        trafilatura.extract(html)
    return time.perf_counter() - started


def run(config: Path, site: Site) -> tuple[float, int, int]:
    before = len(site.requests)
    started = time.perf_counter()
    code = main(["--config", str(config), "-q", "run", "--once"])
    seconds = time.perf_counter() - started
    new = site.requests[before:]
    assert code == 0
    return seconds, len(new), sum(r.status == 304 for r in new)


def main_() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pages", type=int, default=60)
    args = parser.parse_args()
    bench = CORPUS / "extraction-bench"
    if not bench.exists():
        sys.exit(f"corpus not found at {bench} (set TECHWATCH_SHARED)")
    site = Site().start()
    serve_corpus_site(site, bench, args.pages)
    with tempfile.TemporaryDirectory() as tmp:
        config = write_config(Path(tmp), [{"id": "bench", "name": "Bench",
                                           "url": site.url("/bench.xml")}])
        with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull):
            first = run(config, site)  # the digest printed is not the measurement
            second = run(config, site)
        archived = query(config, "SELECT count(*), sum(extraction_status = 'full') FROM articles "
                                 "WHERE source_id = 'bench'")[0]
    base = baseline_seconds(bench, args.pages)
    site.stop()
    print(f"pages served:            {args.pages}")
    print(f"first run:               {first[0]:.2f} s, {first[1]} requests, "
          f"{archived[0]} articles archived ({archived[1]} full text)")
    print(f"second run:              {second[0]:.2f} s, {second[1]} requests, {second[2]} x 304")
    print(f"baseline (plain extract): {base:.2f} s")
    print(f"first run / baseline:    {first[0] / base:.2f}x")


if __name__ == "__main__":
    main_()
