"""A run killed mid-cycle leaves the archive consistent; the next run finishes the work once."""

import os
import signal
import subprocess
import sys
import time

import sqlalchemy as sa
from conftest import ROOT, write_config
from newsite import MANIFEST, news_sources, query, serve_news_site
from sitesrv import Reply


def test_kill_during_article_fetches_then_resume(site, tmp_path, database_url):
    serve_news_site(site)
    for page in MANIFEST["articles"]:  # slow article pages: the kill lands mid-fetch
        body = site.fixture(page["path"].lstrip("/"))
        site.route(page["path"], Reply(body=body, headers={"Content-Type": "text/html"},
                                       delay=0.4))
    config = write_config(tmp_path, news_sources(site), database=database_url)
    config.write_text(config.read_text().replace("per_host_concurrency = 4",
                                                 "per_host_concurrency = 1"))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen([sys.executable, "-m", "bot", "--config", str(config), "poll"],
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        done = _count(config, "state = 'done'")
        if done >= 3:
            break
        time.sleep(0.1)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    done_before = _count(config, "state = 'done'")
    assert 3 <= done_before < len(MANIFEST["articles"])
    if database_url.startswith("sqlite"):
        assert query(config, "PRAGMA integrity_check")[0][0] == "ok"
    hits_before = {p["path"]: len(site.hits(p["path"])) for p in MANIFEST["articles"]}
    done_urls = {r[0] for r in query(config, "SELECT url FROM articles WHERE state = 'done' "
                                             "AND source_id != 'seed'")}

    result = subprocess.run([sys.executable, "-m", "bot", "--config", str(config), "poll"],
                            env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert _count(config, "state = 'done'") == len(MANIFEST["articles"])
    assert _count(config, "true") == len(MANIFEST["articles"])  # nothing stored twice
    refetched = [p for p, n in hits_before.items()
                 if site.url(p) in done_urls and len(site.hits(p)) > n]
    assert refetched == []  # a page done before the kill is not fetched again
    assert all(len(site.hits(p["path"])) <= 2 for p in MANIFEST["articles"])


def _count(config, where: str) -> int:
    for _ in range(50):  # a busy machine: the writer may hold the database for a moment
        try:
            return query(config, f"SELECT count(*) FROM articles WHERE source_id != 'seed' "
                                 f"AND {where}")[0][0]
        except FileNotFoundError:  # not created yet
            return 0
        except (sa.exc.OperationalError, sa.exc.ProgrammingError):  # locked, or not made yet
            time.sleep(0.1)
    return 0
