"""Slack and the archive's web pages linked both ways: each posted message's permalink stored
(chat.getPermalink, asked again when Slack could not give it), a story's Slack messages read
back, and digests, alerts and search replies linking the web pages when `[web] public_url` is
set (and only then)."""

from __future__ import annotations

import html
import json
import logging
import os
import re
from datetime import timedelta
from zoneinfo import ZoneInfo

from conftest import FIXED_NOW, sqlite_only, write_config
from newsite import database, news_sources, query, serve_news_site
from slackstub import TOKEN
from test_slack import SLACK as SLACK_SETTINGS
from test_slackapp import SECRET, SlackApp
from test_web import client_for

from bot.cli import main
from bot.digest import Digest, DigestSection, StoryUpdate
from bot.models import ArticleView
from bot.notify.blocks import alert_message, digest_messages, more_block
from bot.slackapp.replies import search_reply
from bot.store import open_archive

WEB = "https://news.example.org/tw"
# test_slack's channels, three stories a digest: the rest a line each in the digest's thread
SLACK = SLACK_SETTINGS.replace("max_stories = 60", "max_stories = 3")
WITH_WEB = SLACK + f'\n[web]\npublic_url = "{WEB}/"\n'
PERMALINK = re.compile(r"https://techwatch-test\.slack\.com/archives/(C\w+)/p(\d+)"
                       r"(?:\?thread_ts=([\d.]+)&cid=(C\w+))?")


def expected_permalink(slack, channel: str, ts: str) -> str:
    """The link Slack gives a message: a thread reply's names its thread."""
    message = next(m for m in slack.posts(channel) if m["ts"] == ts)
    link = f"https://techwatch-test.slack.com/archives/{channel}/p{ts.replace('.', '')}"
    return link + (f"?thread_ts={message['thread_ts']}&cid={channel}"
                   if message["thread_ts"] else "")


def stories_of(config) -> dict[int, int]:
    """Each article's story id: its first article's id."""
    return dict(query(config, "SELECT id, coalesce(story_id, id) FROM articles"))


def sent(config) -> list[tuple]:
    return query(config, "SELECT id, kind, channel, ts, permalink, article_id, payload "
                         "FROM deliveries WHERE status = 'sent' ORDER BY id")


def run_at(config, minutes: float, capsys, caplog) -> str:
    caplog.clear()
    later = FIXED_NOW + timedelta(minutes=minutes)
    assert main(["--config", str(config), "run", "--once"], now=lambda: later) == 0
    return capsys.readouterr().err + caplog.text


def test_permalinks_are_stored_and_each_story_links_its_page_and_its_messages(
        site, tmp_path, cli, slack, token, database_url):
    serve_news_site(site)
    config = write_config(tmp_path, news_sources(site), extra=WITH_WEB, database=database_url)
    code, _, err = cli("--config", str(config), "run", "--once")
    assert code == 0, err
    assert slack.refused() == []
    rows = sent(config)
    kinds = {kind for _, kind, *_ in rows}
    assert {"digest", "alert"} <= kinds
    threaded = [m for m in slack.posts("C0DIGEST") if m["thread_ts"]]
    assert threaded  # the digest's thread: its parts get their permalinks too
    for _, kind, channel, ts, permalink, _, _ in rows:
        assert permalink == expected_permalink(slack, channel, ts), (kind, channel, ts)
    assert len(slack.calls_to("chat.getPermalink")) == len(rows)  # once each

    # every story block of the digest and every alert links "all outlets" to its web page
    story = stories_of(config)
    blocks = [b for m in slack.posts() for b in m["blocks"]
              if b.get("block_id", "").startswith("story-")]
    assert len(blocks) >= 4
    for b in blocks:
        article = int(b["block_id"][6:])
        assert f"<{WEB}/stories/{story[article]}|all outlets>" in b["text"]["text"]
    assert all("|all outlets>" in json.dumps(m["blocks"]) for m in slack.posts("C0ALERTS")
               if not m["thread_ts"])

    # a story's messages: its alert, the alert's replies and the digest part that carried it
    archive = open_archive(database(config))
    try:
        wanted: dict[int, set[tuple]] = {}
        for _, kind, channel, _ts, permalink, article_id, payload in rows:
            payload = payload if isinstance(payload, dict) else json.loads(payload)
            carried = payload.get("articles", []) if kind == "digest" else [article_id]
            for a in carried:
                wanted.setdefault(story[a], set()).add((channel, kind, permalink))
        assert len(wanted) >= 4
        for story_id, messages in wanted.items():
            found = archive.story_messages(story_id)
            assert {(p.channel, p.kind, p.permalink) for p in found} == messages, story_id
            assert [p.posted_at for p in found] == sorted((p.posted_at for p in found),
                                                         reverse=True)
        both = [s for s, m in wanted.items() if {k for _, k, _ in m} >= {"alert", "digest"}]
        assert both  # a story alerted and then in the digest: both messages, both permalinks
        assert all(p.permalink for p in archive.story_messages(both[0]))
        assert archive.story_messages(max(story) + 1000) == []
        assert len(archive.story_messages(both[0], limit=1)) == 1
    finally:
        archive.close()

    # ... and its web page links them back, as does its JSON
    web = client_for(config)
    page = web.get(f"/stories/{both[0]}").get_data(as_text=True)
    links = {p for _, _, p in wanted[both[0]]}
    assert "In Slack" in page and all(f'href="{html.escape(p)}"' in page for p in links)
    api = web.get(f"/api/stories/{both[0]}").get_json()
    assert {(m["channel"], m["kind"], m["permalink"]) for m in api["slack"]} == wanted[both[0]]


def test_a_permalink_slack_cannot_give_is_asked_again_and_the_post_is_never_repeated(
        site, tmp_path, cli, slack, token, database_url, capsys, caplog):
    caplog.set_level(logging.INFO, logger="techwatch")
    serve_news_site(site)
    config = write_config(tmp_path, news_sources(site), extra=SLACK, database=database_url)
    slack.script["chat.getPermalink"] += [("429", "100"), ("500",), ("error", "fatal_error")]
    err = run_at(config, 0, capsys, caplog)
    assert "permalinks wait for the next run (ratelimited)" in err and "Traceback" not in err
    posts = len(slack.posts())
    assert posts >= 3 and all(r[4] is None for r in sent(config))
    assert query(config, "SELECT count(*) FROM deliveries WHERE status != 'sent' AND kind IN "
                         "('digest', 'alert')")[0][0] == 0  # delivered all the same
    err = run_at(config, 1, capsys, caplog)  # Slack fails (5xx): again the next run
    assert "permalinks wait for the next run (internal_error)" in err
    assert all(r[4] is None for r in sent(config))
    err = run_at(config, 2, capsys, caplog)  # ok:false, fatal_error: Slack's trouble, the next
    assert all(r[4] is None for r in sent(config))
    gone = slack.posts("C0ALERTS")[0]
    slack.messages["C0ALERTS"].remove(gone)  # deleted by someone meanwhile
    calls = len(slack.calls_to("chat.getPermalink"))
    err = run_at(config, 3, capsys, caplog)
    rows = sent(config)
    assert len(slack.posts()) == posts - 1 and len(slack.calls_to("chat.postMessage")) == posts
    for _, _, channel, ts, permalink, _, _ in rows:
        assert permalink == ("" if ts == gone["ts"] else expected_permalink(slack, channel, ts))
    assert len(slack.calls_to("chat.getPermalink")) == calls + len(rows)
    run_at(config, 4, capsys, caplog)  # nothing left to ask for
    assert len(slack.calls_to("chat.getPermalink")) == calls + len(rows)
    archive = open_archive(database(config))
    try:
        article = next(r[5] for r in rows if r[3] == gone["ts"])
        story = stories_of(config)[article]
        found = [p for p in archive.story_messages(story) if p.channel == "C0ALERTS"]
        assert found and found[-1].kind == "alert" and found[-1].permalink is None
    finally:
        archive.close()
    # without [web] public_url, no message links the web pages
    assert not any("all outlets" in json.dumps(m) or "/stories/" in json.dumps(m)
                   for m in slack.posts())


@sqlite_only
def test_permalinks_missing_for_more_than_a_week_are_not_asked_again(
        site, tmp_path, cli, slack, token, database_url, capsys, caplog):
    serve_news_site(site)
    config = write_config(tmp_path, news_sources(site), extra=SLACK, database=database_url)
    slack.script["chat.getPermalink"].append(("500",))
    run_at(config, 0, capsys, caplog)
    calls = len(slack.calls_to("chat.getPermalink"))
    err = run_at(config, 8 * 24 * 60, capsys, caplog)  # a week and more later: too old to ask
    assert "Traceback" not in err
    asked = {p["message_ts"] for p in slack.calls_to("chat.getPermalink")[calls:]}
    old = {r[3] for r in sent(config) if r[4] is None}
    assert old and not asked & old


def article(id_: int, story_id: int = 0, **kw) -> ArticleView:
    base = dict(id=id_, source_id="s", source_name="Outlet <A>", url=f"https://e.example/{id_}",
                title=f"Title {id_}", lang="en", published=FIXED_NOW, first_seen=FIXED_NOW,
                score=0.9, relevant=True, topics=("semiconductors",), evidence={},
                extraction_status="ok", story_id=story_id, also=("B", "C"))
    return ArticleView(**{**base, **kw})


def test_blocks_link_the_story_page_only_with_a_public_url():
    lead = article(7, story_id=3)
    tz = ZoneInfo("UTC")
    digest = Digest(sections=(DigestSection("semiconductors", "Semiconductors", (lead,)),),
                    updates=(StoryUpdate(article(5), (article(6, story_id=5),), (6,)),),
                    more=(article(9),), since=FIXED_NOW - timedelta(days=1), until=FIXED_NOW)
    linked = json.dumps([m.blocks for m in digest_messages(digest, tz, WEB + "/")])
    assert f"<{WEB}/stories/3|all outlets>" in linked  # the story's id, not the article's
    assert f"<{WEB}/stories/9|all outlets>" in linked  # a story listed in the thread
    assert f"<{WEB}/stories/5|all outlets>" in linked  # an "updated" story
    assert "|all outlets>" in json.dumps(alert_message(lead, tz, web=WEB).blocks)
    assert f"{WEB}/stories/3" in json.dumps(more_block(lead, WEB))
    plain = json.dumps([m.blocks for m in digest_messages(digest, tz)])
    assert "all outlets" not in plain and "/stories/" not in plain
    assert "all outlets" not in json.dumps(alert_message(lead, tz).blocks)
    assert digest_messages(digest, tz) == digest_messages(digest, tz, "")


def test_a_search_reply_ends_with_the_full_results_url_encoded():
    query = {"q": 'quantum & "chips" <b>|', "topic": "quantum", "since": "30d", "lang": ""}
    reply = search_reply([article(1)], query, 0, True, WEB)
    last = reply["blocks"][-1]
    assert last["type"] == "context"
    url = (f"{WEB}/search?q=quantum+%26+%22chips%22+%3Cb%3E%7C&topic=quantum&since=30d")
    assert last["elements"][0]["text"] == f"All results: <{url}|{url.replace('&', '&amp;')}>"
    assert "All results" not in json.dumps(search_reply([article(1)], query, 0, True))
    assert "All results" not in json.dumps(search_reply([], query, 0, False, WEB))


@sqlite_only
def test_techwatch_search_links_the_results_page_when_the_web_is_public(
        site, tmp_path, slack, token, database_url):
    serve_news_site(site)
    config = write_config(tmp_path, news_sources(site), extra=WITH_WEB, database=database_url)
    assert main(["--config", str(config), "run", "--once"], now=lambda: FIXED_NOW) == 0
    client = SlackApp(config, slack, {**os.environ, "SLACK_BOT_TOKEN": TOKEN,
                                      "SLACK_SIGNING_SECRET": SECRET})
    try:
        reply, _ = client.command("search Japan since:30d")
        last = reply["blocks"][-1]["elements"][0]["text"]
        assert last.startswith(f"All results: <{WEB}/search?q=Japan&since=30d|")
        assert reply["blocks"][-2]["type"] == "actions"  # after the "More" button
    finally:
        client.close()

