"""No workspace can make the bot fetch without bounds: `/techwatch add` shares the one
extraction pool, a few run at once and a few more wait, the rest are told it is busy; and one
member may ask for only so many fetches in a window."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

from conftest import write_config
from newsite import news_sources, serve_news_site
from sitesrv import Reply
from slackstub import TOKEN
from test_slackapp import SECRET, SLACK, SlackApp

from bot.slackapp.app import FETCHES_PER_MEMBER, QUEUED
from bot.slackapp.limits import RateLimit


def page(i: int) -> bytes:
    words = " ".join(f"Paragraph {i}-{j} of a report on chip research between two labs."
                     for j in range(12))
    return (f"<html><head><title>Report {i}</title></head><body><article><h1>Report {i}</h1>"
            f"<p>{words}</p><p>{words}</p></article></body></html>").encode()


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(stat[1]) == pid and stat[0] != "Z":
                found.append(int(entry.name))
    return found


def extraction_workers() -> int:
    """Processes forked by this process's forkserver(s)."""
    servers = [p for p in children(os.getpid())
               if b"forkserver" in Path(f"/proc/{p}/cmdline").read_bytes()]
    return sum(len(children(server)) for server in servers)


def test_concurrent_adds_share_one_bounded_pool_and_the_rest_are_told_busy(slack, site, tmp_path):
    serve_news_site(site)
    config = write_config(tmp_path, news_sources(site, ["en-rss2.xml"]), extra=SLACK.format(
        extra="allow_private_sources = true"))
    pages = [f"/page-{i}.html" for i in range(12)]
    for i, path in enumerate(pages):  # slow to answer: the adds overlap
        site.route(path, Reply(body=page(i), headers={"Content-Type": "text/html"}, delay=1.0))
    app = SlackApp(config, slack, {**os.environ, "SLACK_BOT_TOKEN": TOKEN,
                                   "SLACK_SIGNING_SECRET": SECRET})
    slots = app.app.extraction_pool().workers
    answers: dict[int, tuple] = {}
    most_workers, done = [0], threading.Event()

    def watch() -> None:
        while not done.is_set():
            most_workers[0] = max(most_workers[0], extraction_workers())
            time.sleep(0.02)

    def add(i: int) -> None:
        answers[i] = app.command(f"add <{site.url(pages[i])}>", user=f"U{i}")

    try:
        watcher = threading.Thread(target=watch)
        watcher.start()
        threads = [threading.Thread(target=add, args=(i,)) for i in range(12)]
        for thread in threads:
            thread.start()
            time.sleep(0.05)  # in order: the first ones run, the next ones queue
        for thread in threads:
            thread.join()
        acks = [json.dumps(answers[i][0]) for i in range(12)]
        accepted = [i for i in range(12) if "Busy: too many" not in acks[i]]
        assert len(accepted) == slots + QUEUED, acks
        assert sum("queued behind" in a for a in acks) == QUEUED, acks
        for i in accepted:
            assert "Archived" in json.dumps(app.later(answers[i][1], seconds=60)), i
    finally:
        done.set()
        app.close()
    assert 0 < most_workers[0] <= slots  # one pool for every caller, not one per command


def test_one_member_may_ask_for_only_so_many_fetches_in_a_window(slack, site, tmp_path):
    serve_news_site(site)
    config = write_config(tmp_path, news_sources(site, ["en-rss2.xml"]), extra=SLACK.format(
        extra="allow_private_sources = true"))
    app = SlackApp(config, slack, {**os.environ, "SLACK_BOT_TOKEN": TOKEN,
                                   "SLACK_SIGNING_SECRET": SECRET})
    try:
        url = site.url("/articles/en-01.html")
        for _ in range(FETCHES_PER_MEMBER):
            reply, rid = app.command(f"add <{url}>", user="UEAGER")
            assert "Working on" in json.dumps(reply)
            app.later(rid)
        reply, _ = app.command(f"add <{url}>", user="UEAGER")
        assert "try again in" in json.dumps(reply) and "Working on" not in json.dumps(reply)
        reply, rid = app.command(f"add <{url}>", user="UOTHER")  # another member is not held
        assert "Working on" in json.dumps(reply)
        app.later(rid)
    finally:
        app.close()


def test_the_rate_limit_window_slides_and_forgets_quiet_members():
    now = [0.0]
    limit = RateLimit(2, 60, clock=lambda: now[0])
    assert limit.wait("a") == 0 and limit.wait("a") == 0
    now[0] = 30
    assert limit.wait("a") == 30  # the first of the two leaves the window at 60
    assert limit.wait("b") == 0
    now[0] = 61
    assert limit.wait("a") == 0
    now[0] = 200
    limit.wait("c")
    assert set(limit._seen) == {"c"}  # noqa: SLF001 -- members with nothing in the window


def test_a_second_link_to_an_archived_page_is_said_to_be_archived(slack, site, tmp_path):
    serve_news_site(site)
    config = write_config(tmp_path, news_sources(site, ["en-rss2.xml"]), extra=SLACK.format(
        extra="allow_private_sources = true"))
    for path in ("/mirror-a.html", "/mirror-b.html"):  # one page (its rel=canonical) twice
        site.route(path, site.routes["/articles/en-05.html"])
    app = SlackApp(config, slack, {**os.environ, "SLACK_BOT_TOKEN": TOKEN,
                                   "SLACK_SIGNING_SECRET": SECRET})
    try:
        _, rid = app.command(f"add <{site.url('/mirror-a.html')}>")
        assert "Archived:" in json.dumps(app.later(rid))
        _, rid = app.command(f"add <{site.url('/mirror-b.html')}>")
        assert "Already archived:" in json.dumps(app.later(rid))
    finally:
        app.close()
