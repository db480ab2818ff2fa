"""The Slack app over real HTTP, in HTTP mode: requests signed as Slack signs them, the Web API
stand-in answering the bot's calls, response_url posts captured by the stand-in."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import os
import threading
import time
from datetime import timedelta
from urllib.parse import urlencode

import httpx
import pytest
from conftest import FIXED_NOW, sqlite_only, write_config
from newsite import MANIFEST, database, news_sources, query, serve_news_site
from slackstub import APP_TOKEN, TOKEN

from bot.app import load_app
from bot.cli import main
from bot.slackapp.serve import serve_http
from bot.store import open_archive

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
SLACK = """
[slack]
admins = ["UADMIN"]
alert_max_age_hours = 200
{extra}
[[slack.digests]]
channel = "C0DIGEST"
time = "20:30"
timezone = "Asia/Tokyo"
"""
RELEVANT = [a for a in MANIFEST["articles"] if a.get("relevant")]


class SlackApp:
    """The app's HTTP endpoint, and a way to call it as Slack would."""

    def __init__(self, config, slack, env: dict) -> None:
        self.slack = slack
        self.app = load_app(str(config), env, now=lambda: FIXED_NOW)
        self.server = serve_http(self.app, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/slack/events"
        self.replies = 0

    def close(self) -> None:
        self.server.shutdown()
        self.app.close()

    def post(self, body: str, *, secret: str = SECRET, age: float = 0) -> httpx.Response:
        stamp = str(int(time.time() - age))
        signature = "v0=" + hmac.new(secret.encode(), f"v0:{stamp}:{body}".encode(),
                                     hashlib.sha256).hexdigest()
        started = time.monotonic()
        response = httpx.post(self.url, content=body, timeout=10, headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": signature})
        assert time.monotonic() - started < 3  # Slack's deadline for the acknowledgement
        return response

    def command(self, text: str, *, user: str = "U0USER", channel: str = "C0ALERTS") -> tuple:
        """(the immediate answer, the response_url id) of `/techwatch text`."""
        self.replies += 1
        rid = f"r{self.replies}"
        body = urlencode({"command": "/techwatch", "text": text, "user_id": user,
                          "channel_id": channel, "team_id": "T1", "trigger_id": "1.2",
                          "response_url": f"{self.slack.base}/response/{rid}"})
        response = self.post(body)
        assert response.status_code == 200, response.text
        return (response.json() if response.content else {}), rid

    def later(self, rid: str, seconds: float = 30) -> dict:
        """What the app posted to a command's response_url."""
        deadline = time.monotonic() + seconds
        while not self.slack.responses_to.get(rid):
            assert time.monotonic() < deadline, f"no answer on response_url {rid}"
            time.sleep(0.05)
        return self.slack.responses_to[rid][-1]

    def click(self, action: dict, *, message: dict | None = None, user: str = "U0USER",
              channel: str = "C0ALERTS") -> httpx.Response:
        self.replies += 1
        payload = {"type": "block_actions", "user": {"id": user}, "team": {"id": "T1"},
                   "api_app_id": "A1", "token": "x", "trigger_id": "1.2",
                   "channel": {"id": channel}, "container": {"channel_id": channel},
                   "response_url": f"{self.slack.base}/response/r{self.replies}",
                   "actions": [action], **({"message": message} if message else {})}
        return self.post(urlencode({"payload": json.dumps(payload)}))


@pytest.fixture
def archive(site, tmp_path, slack, token, database_url):
    """The fixture site polled once, its alerts posted (in each dialect's archive: a test whose
    subject is not the store takes SQLite's only)."""
    serve_news_site(site)
    config = write_config(tmp_path, news_sources(site), extra=SLACK.format(extra=""),
                          database=database_url)
    assert main(["--config", str(config), "run", "--once"], now=lambda: FIXED_NOW) == 0
    return config


@pytest.fixture
def slackapp(archive, slack):
    env = {**os.environ, "SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SECRET}
    client = SlackApp(archive, slack, env)
    yield client
    client.close()


def text_of(reply: dict) -> str:
    return json.dumps(reply, ensure_ascii=False)


@sqlite_only
def test_requests_without_a_valid_fresh_signature_are_refused(slackapp):
    body = urlencode({"command": "/techwatch", "text": "help", "user_id": "U1",
                      "channel_id": "C1", "response_url": "http://127.0.0.1:1/x"})
    assert slackapp.post(body, secret="not-the-secret").status_code == 401
    assert slackapp.post(body, age=10 * 60).status_code == 401  # a replayed old request
    assert slackapp.post(body).status_code == 200


@sqlite_only
def test_help_unknown_commands_and_bad_arguments_answer_with_usage(slackapp):
    reply, _ = slackapp.command("")
    assert "/techwatch search" in text_of(reply) and reply["response_type"] == "ephemeral"
    reply, _ = slackapp.command("frobnicate <!channel>")
    assert "Unknown command" in text_of(reply) and "<!channel>" not in text_of(reply)
    reply, _ = slackapp.command("search")
    assert "Search for what? Usage" in text_of(reply)
    assert "/techwatch search &lt;words&gt;" in text_of(reply)  # shown as <words>
    reply, _ = slackapp.command("subscribe teleportation")
    assert "Unknown topic" in text_of(reply) and "semiconductors" in text_of(reply)
    reply, _ = slackapp.command("search chips since:yesterday")
    assert "since:yesterday" in text_of(reply)


def test_search_ranks_pages_ten_at_a_time_with_a_more_button(slackapp, slack):
    reply, _ = slackapp.command("search Japan")
    blocks = reply["blocks"]
    results = [b for b in blocks if b["type"] == "section"]
    assert len(results) == 10 and "Fixture" in text_of(results)
    more = next(b for b in blocks if b["type"] == "actions")["elements"][0]
    response = slackapp.click({"type": "button", "action_id": more["action_id"],
                               "value": more["value"], "block_id": "b1"})
    assert response.status_code == 200
    page = slackapp.later(f"r{slackapp.replies}")
    assert page["replace_original"] and "Results 11–" in text_of(page)
    reply, _ = slackapp.command("search 量子 lang:ja")
    assert "ja-" in text_of(reply) or "量子" in text_of(reply)
    reply, _ = slackapp.command("search rover topic:space since:30d")
    assert "rover" in text_of(reply).lower() and "Results 1–1" in text_of(reply)


def test_topics_show_stories_of_the_last_7_and_30_days(slackapp):
    reply, _ = slackapp.command("topics")
    line = next(x for x in text_of(reply).split("\\n") if "`semiconductors`" in x)
    assert "stories in 7 days" in line and " in 30" in line
    from bot.slackapp.replies import topics_reply
    text = json.dumps(topics_reply({"ai": "AI", "space": "Space"}, {"ai": 1, "space": 2}, {}))
    assert "1 story in 7 days" in text and "2 stories in 7 days" in text


def test_a_subscription_round_trip(slackapp, archive, slack):
    before = len(slack.posts("C0ALERTS"))
    reply, _ = slackapp.command("subscribe space quantum min:0.6", channel="C0ALERTS")
    assert reply["response_type"] == "in_channel" and "space, quantum" in text_of(reply)
    assert query(archive, "SELECT channel, topic, min_score FROM subscriptions ORDER BY topic") \
        == [("C0ALERTS", "quantum", 0.6), ("C0ALERTS", "space", 0.6)]
    reply, _ = slackapp.command("subscriptions", channel="C0ALERTS")
    assert "Alerts on space" in text_of(reply) and "Alerts on quantum" in text_of(reply)
    assert main(["--config", str(archive), "run", "--once"], now=lambda: FIXED_NOW) == 0
    alerts = slack.posts("C0ALERTS")[before:]
    titles = text_of(alerts)
    assert alerts and "lunar rover" in titles and "quantum networks" in titles
    assert "2nm chips" not in titles  # semiconductors: not subscribed
    reply, _ = slackapp.command("unsubscribe all", channel="C0ALERTS")
    assert "no longer" in text_of(reply)
    assert query(archive, "SELECT count(*) FROM subscriptions")[0][0] == 0


def test_watch_watches_and_unwatch_round_trip(slackapp, archive):
    reply, _ = slackapp.command('watch "Open RAN" OR 量子 -tariffs topic:telecom any',
                                channel="C0ALERTS")
    assert reply["response_type"] == "in_channel" and "(watch 1)" in text_of(reply)
    assert "relevant or not" in text_of(reply) and "in telecom" in text_of(reply)
    reply, _ = slackapp.command("watch <!here> *Rapidus* lang:ja", channel="C0ALERTS")
    assert "<!here>" not in text_of(reply) and "&lt;!here&gt;" in text_of(reply)
    assert query(archive, "SELECT id, channel, query, relevant_only, lang FROM watches "
                          "ORDER BY id") == [
        (1, "C0ALERTS", '"Open RAN" OR 量子 -tariffs', 0, None),  # any: relevant or not
        (2, "C0ALERTS", "<!here> *Rapidus*", 1, "ja")]
    reply, _ = slackapp.command("watches", channel="C0ALERTS")
    listed = text_of(reply)
    assert "`/techwatch unwatch 1`" in listed and "0 in 7 days, 0 in 30" in listed
    assert "<!here>" not in listed  # a user's words stay text
    reply, _ = slackapp.command("watches", channel="C0OTHER")
    assert "watches nothing yet" in text_of(reply)
    reply, _ = slackapp.command("unwatch 1", channel="C0OTHER")  # not this channel's
    assert "has no watch 1" in text_of(reply)
    reply, _ = slackapp.command("unwatch 1", channel="C0ALERTS")
    assert "no longer watches 1" in text_of(reply)
    assert [r[0] for r in query(archive, "SELECT id FROM watches")] == [2]
    for text, problem in (("watch", "Watch for what?"), ("watch -tariffs", "only excluded words"),
                          ("watch chips topic:teleportation", "Unknown topic"),
                          ("watch chips lang:fr", "or ˋjaˋ"), ("unwatch x", "Which watch?")):
        reply, _ = slackapp.command(text, channel="C0ALERTS")
        assert problem in text_of(reply) and "Usage" in text_of(reply), text


def test_a_watch_alerts_once_a_story_a_subscription_also_matches(slackapp, archive, slack):
    """Two watches and a topic subscription in one channel all match the lunar rover story: one
    alert, naming a watch; a watch of another channel is alerted too; the matches are counted
    in `watches`, for each watch."""
    slackapp.command("subscribe space", channel="C0ALERTS")
    reply, _ = slackapp.command("watch rover OR Artemis", channel="C0ALERTS")
    assert "(watch 1)" in text_of(reply)
    slackapp.command("watch 量子", channel="C0DIGEST")
    slackapp.command("watch lunar rover", channel="C0ALERTS")
    assert main(["--config", str(archive), "run", "--once"], now=lambda: FIXED_NOW) == 0
    alerts = [p for p in slack.posts("C0ALERTS") if "rover" in text_of(p).lower()]
    assert len(alerts) == 1, text_of(alerts)
    assert "Watch 1" in text_of(alerts) and "`rover OR Artemis`" in text_of(alerts)
    assert slack.posts("C0DIGEST") and all("Watch 2" in text_of(p) for p in slack.posts("C0DIGEST")
                                       if "alert" in text_of(p))
    assert main(["--config", str(archive), "run", "--once"], now=lambda: FIXED_NOW) == 0
    assert len([p for p in slack.posts("C0ALERTS") if "rover" in text_of(p).lower()]) == 1
    reply, _ = slackapp.command("watches", channel="C0ALERTS")
    assert "`rover OR Artemis`: 1 in 7 days, 1 in 30" in text_of(reply)
    assert "`lunar rover`: 1 in 7 days, 1 in 30" in text_of(reply)


def test_watch_test_shows_what_a_query_would_have_alerted(archive, capsys):
    config = str(archive)
    assert main(["--config", config, "watch", "test", "rover", "OR", "Artemis", "--json"],
                now=lambda: FIXED_NOW) == 0
    found = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert found and all(f["relevant"] for f in found)
    assert any("rover" in f["title"].lower() for f in found)
    assert main(["--config", config, "watch", "test", "rover", "--since", "2026-11-23"],
                now=lambda: FIXED_NOW) == 0  # after every article was seen: nothing
    assert "0 relevant stories since 2026-11-23" in capsys.readouterr().out
    assert main(["--config", config, "watch", "test", "--", "-rover"], now=lambda: FIXED_NOW) == 1
    err = capsys.readouterr().err
    assert "watch test: the query has only excluded words" in err and "Traceback" not in err


def test_an_unsigned_request_cannot_add_a_watch(slackapp, archive):
    body = urlencode({"command": "/techwatch", "text": "watch Rapidus", "user_id": "U1",
                      "channel_id": "C0ALERTS", "response_url": "http://127.0.0.1:1/x"})
    assert slackapp.post(body, secret="not-the-secret").status_code == 401
    assert query(archive, "SELECT count(*) FROM watches")[0][0] == 0


def test_digest_preview_is_private_and_digest_posts_in_the_channel(slackapp, slack):
    reply, _ = slackapp.command("digest preview", channel="C0ALERTS")
    assert reply["response_type"] == "ephemeral" and "techwatch digest" in text_of(reply)
    before = len(slack.posts("C0ALERTS"))
    reply, rid = slackapp.command("digest", channel="C0ALERTS")
    assert "Working on" in text_of(reply)
    assert "posted" in text_of(slackapp.later(rid))
    assert any("techwatch digest" in text_of(p) for p in slack.posts("C0ALERTS")[before:])


def test_three_digest_requests_at_once_post_its_stories_once(archive, slack, monkeypatch):
    from bot.notify import service

    choose = service.digest_content

    def slow_choice(*args, **kwargs):  # widens the moment between choosing and recording
        chosen = choose(*args, **kwargs)
        time.sleep(0.5)
        return chosen

    monkeypatch.setattr(service, "digest_content", slow_choice)
    env = {**os.environ, "SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SECRET}
    client = SlackApp(archive, slack, env)
    ticks = itertools.count()
    client.app.now = lambda: FIXED_NOW + timedelta(milliseconds=next(ticks))  # distinct keys
    try:
        before = len(slack.posts("C0ALERTS"))
        rids = [client.command("digest", channel="C0ALERTS")[1] for _ in range(3)]
        answers = [text_of(client.later(rid)) for rid in rids]
        posted = [text_of(p) for p in slack.posts("C0ALERTS")[before:]]
        digests = [p for p in posted if "techwatch digest" in p]
        assert len(digests) == 1 and not any("No new US" in p for p in posted)  # no public note
        assert sorted("is posted" in a for a in answers) == [False, False, True]
        assert sum("Nothing new for this channel" in a for a in answers) == 2, answers
    finally:
        client.close()


def test_sources_status_and_add_source_rules(slackapp, site, archive):
    reply, _ = slackapp.command("sources")
    assert "`en-rss2`" in text_of(reply) and "last new item" in text_of(reply)
    reply, rid = slackapp.command("add-source " + site.url("/feeds/en-atom.xml"))
    assert "Only the admins" in text_of(slackapp.later(rid))
    for url in (site.url("/feeds/en-atom.xml"), "http://169.254.169.254/latest/meta-data/"):
        reply, rid = slackapp.command(f"add-source <{url}>", user="UADMIN")
        answer = text_of(slackapp.later(rid))
        assert "private" in answer or "not public" in answer or "refused" in answer, answer
    reply, _ = slackapp.command("status")
    assert "last poll: 2026-11-22 12:00" in text_of(reply) and "pending messages: 0" in text_of(reply)
    assert "refuses" not in text_of(reply)
    store = open_archive(database(archive))
    store.hold_channel("C0GONE", "channel_not_found", FIXED_NOW, lambda tries: timedelta(minutes=1))
    store.close()
    reply, _ = slackapp.command("status")
    assert "waiting for `C0GONE`: Slack refuses them" in text_of(reply)


def test_add_source_and_add_work_where_private_addresses_are_allowed(archive, slack, site):
    config = write_config(archive.parent, news_sources(site),
                          extra=SLACK.format(extra="allow_private_sources = true"),
                          database=database(archive))
    env = {**os.environ, "SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SECRET}
    client = SlackApp(config, slack, env)
    try:
        site.route("/wire/feed.xml", site.routes["/feeds/en-atom.xml"])
        _, rid = client.command(f"add-source <{site.url('/wire/feed.xml')}>", user="UADMIN")
        assert "Added source" in text_of(client.later(rid))
        assert query(config, "SELECT url FROM sources WHERE origin = 'slack'") == [
            (site.url("/wire/feed.xml"),)]
        _, rid = client.command(f"add-source <{site.url('/wire/feed.xml')}>", user="UADMIN")
        assert "is a source already" in text_of(client.later(rid))
        _, rid = client.command(f"add <{site.url('/articles/en-07.html')}|a link>")
        answer = text_of(client.later(rid))
        assert "Already archived" in answer or "Archived" in answer, answer
    finally:
        client.close()


def test_a_feedback_click_is_stored_shown_in_place_counted_and_exported(slackapp, slack,
                                                                       archive, cli):
    digest = slack.posts("C0DIGEST")[0]  # every digest story carries the menu (alerts too)
    story = next(b for b in digest["blocks"] if b.get("block_id", "").startswith("story-"))
    menu = story["accessory"]
    assert menu["type"] == "overflow" and len(menu["options"]) >= 2
    not_relevant = next(o for o in menu["options"] if o["value"].endswith(":not_relevant"))
    response = slackapp.click({"type": "overflow", "action_id": menu["action_id"],
                               "block_id": story["block_id"], "selected_option": not_relevant},
                              message={"ts": digest["ts"], "text": digest["text"],
                                       "blocks": digest["blocks"]}, user="U0READER",
                              channel="C0DIGEST")
    assert response.status_code == 200
    article_id = int(story["block_id"].removeprefix("story-"))
    deadline = time.monotonic() + 10
    while "👎 1" not in text_of(slack.posts("C0DIGEST")):
        assert time.monotonic() < deadline, "the vote count was not shown in place"
        time.sleep(0.05)
    rows = query(archive, 'SELECT article_id, "user", vote, predicted_relevant FROM feedback')
    assert rows == [(article_id, "U0READER", "not_relevant", 1)]
    code, out, _ = cli("--config", str(archive), "status", "--json")
    assert json.loads(out)["feedback_votes"] == 1
    code, out, _ = cli("--config", str(archive), "feedback", "export")
    label = json.loads(out.strip().splitlines()[0])
    assert code == 0 and label["id"] == f"tw-{article_id}" and label["relevant"] is False
    assert {"title", "text", "topics", "event", "borderline"} <= set(label)


def test_forged_buttons_are_ignored_or_answered_in_one_line(slackapp, slack, archive, caplog):
    digest = slack.posts("C0DIGEST")[0]
    story = next(b for b in digest["blocks"] if b.get("block_id", "").startswith("story-"))
    article_id = story["block_id"].removeprefix("story-")
    forged = {"text": {"type": "plain_text", "text": "x"}, "value": f"{article_id}:not_topic:"
                                                                     "<!channel>"}
    slackapp.click({"type": "overflow", "action_id": story["accessory"]["action_id"],
                    "block_id": story["block_id"], "selected_option": forged},
                   message={"ts": digest["ts"], "text": "", "blocks": digest["blocks"]})
    more = {"type": "button", "action_id": "tw_search_more", "block_id": "b1",
            "value": json.dumps({"q": "Japan", "offset": "x"})}
    assert slackapp.click(more).status_code == 200
    assert "no longer available" in text_of(slackapp.later(f"r{slackapp.replies}"))
    time.sleep(0.5)  # the forged vote had its chance to be stored
    assert query(archive, "SELECT count(*) FROM feedback") == [(0,)]
    assert "Traceback" not in caplog.text


@sqlite_only
def test_socket_mode_answers_a_command_over_a_local_websocket(archive, slack):
    """Socket Mode against a WebSocket stand-in: Slack's hello, a slash-command envelope, and
    the app's acknowledgement carrying the answer."""
    from websockets.sync.server import serve

    from bot.slackapp.serve import start_socket_mode

    acks: list[dict] = []

    def session(ws) -> None:
        ws.send(json.dumps({"type": "hello", "num_connections": 1}))
        ws.send(json.dumps({"type": "slash_commands", "envelope_id": "env-1",
                            "accepts_response_payload": True, "payload": {
                                "command": "/techwatch", "text": "topics", "user_id": "U1",
                                "channel_id": "C0ALERTS", "team_id": "T1",
                                "response_url": f"{slack.base}/response/socket"}}))
        for raw in ws:
            acks.append(json.loads(raw))
            if any(a.get("envelope_id") == "env-1" for a in acks):
                break

    with serve(session, "127.0.0.1", 0) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        slack.socket_url = f"ws://127.0.0.1:{server.socket.getsockname()[1]}/link"
        env = {**os.environ, "SLACK_BOT_TOKEN": TOKEN, "SLACK_APP_TOKEN": APP_TOKEN}
        app = load_app(str(archive), env, now=lambda: FIXED_NOW)
        handler = start_socket_mode(app)
        try:
            deadline = time.monotonic() + 15
            while not any(a.get("envelope_id") == "env-1" for a in acks):
                assert time.monotonic() < deadline, "no acknowledgement over the socket"
                time.sleep(0.05)
        finally:
            handler.close()
            server.shutdown()
            app.close()
    ack = next(a for a in acks if a.get("envelope_id") == "env-1")
    assert "`semiconductors`" in json.dumps(ack["payload"], ensure_ascii=False)


@sqlite_only
def test_techwatch_serve_answers_over_http_and_stops_on_sigterm(archive, slack):
    import signal
    import socket
    import subprocess
    import sys

    from conftest import ROOT

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SLACK_BOT_TOKEN": TOKEN,
           "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": slack.url}
    process = subprocess.Popen([sys.executable, "-m", "bot", "--config", str(archive), "serve",
                                "--host", "127.0.0.1", "--port", str(port)], env=env,
                               stderr=subprocess.PIPE, text=True)
    client = SlackApp.__new__(SlackApp)  # only its signing and posting
    client.url, client.slack, client.replies = f"http://127.0.0.1:{port}/slack/events", slack, 0
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                reply, _ = client.command("help")
                break
            except httpx.ConnectError:
                assert time.monotonic() < deadline and process.poll() is None
                time.sleep(0.2)
        assert "/techwatch subscribe" in text_of(reply)
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=10)
    assert process.returncode == 0 and "Traceback" not in err and SECRET not in err


@sqlite_only
def test_socket_mode_that_cannot_connect_is_one_line_not_a_crash(archive, slack):
    from bot.errors import TechwatchError
    from bot.slackapp.serve import start_slack_app

    env = {**os.environ, "SLACK_BOT_TOKEN": TOKEN, "SLACK_APP_TOKEN": "xapp-1-revoked"}
    app = load_app(str(archive), env, now=lambda: FIXED_NOW)
    try:
        with pytest.raises(TechwatchError, match="Socket Mode: Slack refused SLACK_APP_TOKEN"):
            start_slack_app(app, host="127.0.0.1", port=0)
    finally:
        app.close()


def test_an_option_without_a_value_or_given_twice_is_a_usage_error():
    from bot.slackapp.commands import CommandError, parse

    for text in ("search chips since:", "search chips lang:ja lang:en", "subscribe ai min:"):
        with pytest.raises(CommandError, match="takes one value"):
            parse(text, ("ai",))


def test_since_takes_the_clis_grammar():
    from bot.slackapp.commands import CommandError, parse

    for since in ("7d", "2w", "36h", "2025-01-31", "2025-01-31T10:00"):
        assert parse(f"search chips since:{since}", ("ai",)).options["since"] == since
    for since in ("yesterday", "7x", "99999999d"):
        with pytest.raises(CommandError, match="is not 7d, 30d or a date"):
            parse(f"search chips since:{since}", ("ai",))


def test_sources_reply_names_each_state_and_escapes_names():
    from types import SimpleNamespace

    from bot.slackapp.replies import sources_reply

    def row(id_, **kw):
        base = dict(id=id_, name=id_, enabled=True, disabled_at=None, last_status="ok",
                    failing_since=None, last_error=None, last_success_at=FIXED_NOW,
                    last_new_item_at=None)
        return SimpleNamespace(**{**base, **kw})

    rows = [row("fine"), row("new", last_status="never polled", last_success_at=None),
            row("off", enabled=False), row("gone", last_status="error: gone"),
            row("bad", name="<!channel> & co", failing_since=FIXED_NOW,
                last_error="HTTP 500 <b>")]
    text = "\n".join(b["text"]["text"] for b in sources_reply(rows, FIXED_NOW)["blocks"])
    lines = {line.split("`")[1]: line for line in text.splitlines() if line.startswith("•")}
    assert "fine: ok ·" in lines["fine"] and "never polled" in lines["new"]
    assert "disabled" in lines["off"] and "gone (410)" in lines["gone"]
    assert "failing since 2026-11-22 12:00 UTC (HTTP 500 &lt;b&gt;)" in lines["bad"]
    assert "&lt;!channel&gt; &amp; co" in lines["bad"] and "<!channel>" not in lines["bad"]


@sqlite_only
def test_what_slack_escapes_in_a_command_is_read_as_typed(slackapp):
    from bot.slackapp.commands import parse

    request = parse("search quantum &amp; chips R&amp;D topic:ai &lt;b&gt;", ("ai",))
    assert request.words == ("quantum", "&", "chips", "R&D", "<b>")
    reply, _ = slackapp.command("search zzqx &amp; yyqx")
    assert "zzqx &amp; yyqx" in text_of(reply) and "&amp;amp;" not in text_of(reply)


def test_a_mistyped_command_gets_the_usage_of_what_was_meant():
    from bot.slackapp.commands import CommandError, parse

    with pytest.raises(CommandError, match=r"did you mean `search`\?.*Usage: `/techwatch search"):
        parse("serch rapidus", ("ai",))
    with pytest.raises(CommandError, match=r"Unknown command `xyzzy`\. Usage: `/techwatch help`"):
        parse("xyzzy", ("ai",))


def test_a_subscription_alerts_news_first_seen_from_when_it_was_made(archive, slack):
    """"from the next poll", as the reply says: not the stories the archive already had."""
    store = open_archive(database(archive))
    try:
        store.subscribe("C0OPS", ["*"], 0.0, "U1", FIXED_NOW - timedelta(minutes=1))
        store.subscribe("C0ALERTS", ["*"], 0.0, "U1", FIXED_NOW + timedelta(minutes=1))
    finally:
        store.close()
    later = FIXED_NOW + timedelta(minutes=2)
    assert main(["--config", str(archive), "run", "--once"], now=lambda: later) == 0
    alerts = dict(query(archive, "SELECT channel, count(*) FROM deliveries WHERE kind = 'alert' "
                                 "GROUP BY channel"))
    assert alerts.get("C0OPS", 0) >= 3  # made before the fixture's articles were first seen
    assert "C0ALERTS" not in alerts  # made after: nothing yet
    assert slack.refused() == []


@sqlite_only
def test_unreadable_requests_get_an_error_status_and_one_log_line(slackapp, caplog):
    """No traceback for what anyone who can reach the endpoint can send."""
    response = httpx.post(slackapp.url, content="command=/techwatch", timeout=10, headers={
        "X-Slack-Request-Timestamp": "abc", "X-Slack-Signature": "v0=00"})
    assert response.status_code == 401
    for body in ("payload=%7Bbroken", 'payload={"type": "block_actions", "actions": "x"}'):
        assert slackapp.post(body).status_code == 400
    assert "Traceback" not in caplog.text and all(
        "\n" not in r.getMessage() for r in caplog.records)
