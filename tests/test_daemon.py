"""`techwatch run` as a service: it polls on start and stops cleanly on SIGTERM."""

import os
import signal
import subprocess
import sys
import time

from conftest import ROOT, write_config
from newsite import MANIFEST, news_sources, query, serve_news_site


def test_run_polls_then_stops_on_sigterm(site, tmp_path):
    serve_news_site(site)
    config = write_config(tmp_path, news_sources(site, ["en-rss2.xml"]))
    process = subprocess.Popen([sys.executable, "-m", "bot", "--config", str(config), "run"],
                               env={**os.environ, "PYTHONPATH": str(ROOT)},
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not _cycle_done(config):
        time.sleep(0.2)
    process.send_signal(signal.SIGTERM)
    started = time.monotonic()
    _, err = process.communicate(timeout=15)
    assert time.monotonic() - started < 10
    assert process.returncode == 0, err
    assert "techwatch stopped" in err and "Traceback" not in err
    rss = [a for a in MANIFEST["articles"] if a["name"] in ("en-01", "en-02", "paywall")]
    titles = {r[0] for r in query(config, "SELECT title FROM articles")}
    assert {a["title"] for a in rss} <= titles


def _cycle_done(config) -> bool:
    try:
        return query(config, "SELECT count(*) FROM articles WHERE state = 'done' AND "
                             "source_id != 'seed'")[0][0] >= 7
    except Exception:  # noqa: BLE001 -- not created yet
        return False


def test_a_second_writer_on_the_same_archive_is_refused(site, tmp_path, cli):
    serve_news_site(site)
    config = write_config(tmp_path, news_sources(site, ["en-rss2.xml"]))
    process = subprocess.Popen([sys.executable, "-m", "bot", "--config", str(config), "run"],
                               env={**os.environ, "PYTHONPATH": str(ROOT)},
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not _cycle_done(config):
            time.sleep(0.2)
        code, _, err = cli("--config", str(config), "poll")
        assert code == 1 and "is in use by techwatch" in err and str(process.pid) in err
        assert cli("--config", str(config), "status")[0] == 0  # readers are welcome
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=20)
    assert cli("--config", str(config), "poll")[0] == 0  # free again
