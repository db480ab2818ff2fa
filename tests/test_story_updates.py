"""A story that grows after its digest: "updated: +Outlet" in the next digest, or an edit of
the digest message while it is recent; announced once, on Slack and on the terminal."""

from __future__ import annotations

import json
from datetime import timedelta

import sqlalchemy as sa
from conftest import FIXED_NOW, write_config
from newsite import database, query

from bot.models import ArticleDraft, Classification, ExtractedText, PollOutcome, Source
from bot.store import open_archive

DIGEST_ONLY = """
[[slack.digests]]
channel = "C0DIGEST"
time = "20:30"  # 11:30 UTC: the scheduled one is due before FIXED_NOW
timezone = "Asia/Tokyo"
"""
OUTLETS = [Source("wire", "https://wire.example/feed", "Wire"),
           Source("post", "https://post.example/feed", "Pacific Post"),
           Source("daily", "https://daily.example/feed", "<!here> *Daily*_Bugle")]
TITLE = "US and Japan agree on a joint chip research centre"


def report(config, source: str, n: int, *, story: int | None = None, hours: float = 0,
           score: float = 0.9, title: str = "") -> int:
    """An outlet's report archived and classified relevant (`score`), first seen `hours` after
    FIXED_NOW; with `story`, grouped into that story (as bot.stories would)."""
    seen = FIXED_NOW + timedelta(hours=hours)
    archive = open_archive(database(config))
    try:
        archive.sync_sources(OUTLETS)
        url = f"https://{source}.example/{n}"
        draft = ArticleDraft(source_id=source, url=url, canonical_url=url, keys=(f"url:{url}",),
                             title=title or f"{TITLE} ({source})", summary="", guid=None,
                             feed_published=seen - timedelta(hours=1), lang="en",
                             publisher=None, fetch_fulltext=False)
        archive.record_poll(source, PollOutcome("ok", seen), [draft], seen)
        (pending,) = archive.pending_articles()
        verdict = Classification(True, score, ("semiconductors",),
                                 {"semiconductors": ("chips",)})
        archive.complete_article(pending, ExtractedText("feed_only"), verdict,
                                 published=pending.feed_published, date_source="feed",
                                 text="Washington and Tokyo agreed on chips today. More.",
                                 now=seen)
        if story is not None:
            with archive.engine.begin() as db:
                db.execute(sa.text("UPDATE articles SET story_id = :s WHERE id = :a"),
                           {"s": story, "a": pending.id})
        return pending.id
    finally:
        archive.close()


def at(config, hours: float, *args: str) -> int:
    from bot.cli import main

    return main(["--config", str(config), *args], now=lambda: FIXED_NOW + timedelta(hours=hours))


def shown(posts: list[dict]) -> str:
    return "\n".join(json.dumps(p["blocks"], ensure_ascii=False) for p in posts)


POST_LINE = "*updated:* +<https://post.example/2|Pacific Post>"


def test_a_story_grown_after_its_digest_is_updated_once_in_the_next_digest(
        tmp_path, cli, slack, token, database_url):
    config = write_config(tmp_path, [], extra=DIGEST_ONLY, database=database_url)
    lead = report(config, "wire", 1)
    assert at(config, 0, "digest") == 0
    (first,) = slack.posts("C0DIGEST")
    assert TITLE in shown([first]) and "updated" not in shown([first])
    report(config, "post", 2, story=lead, hours=1)
    report(config, "wire", 3, story=lead, hours=1)  # the same outlet again: no news
    assert at(config, 10, "run", "--once") == 0  # past digest.edit_hours: no edit
    assert slack.calls_to("chat.update") == []
    assert at(config, 10, "digest") == 0
    update = slack.posts("C0DIGEST")[1]
    text = shown([update])
    assert text.count(POST_LINE) == 1 and "+<https://wire.example" not in text
    assert text.count(TITLE) == 1 and "story-" not in text  # a line, not a second entry
    assert "\"1 updated · since 22 Nov 21:00 JST\"" in text
    assert at(config, 11, "digest") == 0  # announced once: nothing new
    assert len(slack.posts("C0DIGEST")) == 2
    report(config, "daily", 4, story=lead, hours=12)  # a third outlet: only it is new
    assert at(config, 30, "digest") == 0
    latest = shown(slack.posts("C0DIGEST")[2:])
    assert "Pacific Post" not in latest
    assert "+<https://daily.example/4|&lt;!here&gt; ∗Daily∗ˍBugle>" in latest  # inert
    assert slack.refused() == []
    assert query(config, "SELECT count(*) FROM deliveries WHERE status != 'sent'") == [(0,)]


def test_a_recent_digest_message_is_edited_once_and_a_repeat_after_a_crash_posts_nothing(
        tmp_path, cli, slack, token, database_url):
    config = write_config(tmp_path, [], extra=DIGEST_ONLY, database=database_url)
    lead = report(config, "wire", 1)
    assert at(config, 0, "run", "--once") == 0  # the scheduled digest
    (digest,) = slack.posts("C0DIGEST")
    report(config, "post", 2, story=lead, hours=1)
    assert at(config, 1, "run", "--once") == 0  # within digest.edit_hours: the message edited
    (edit,) = slack.calls_to("chat.update")
    assert edit["ts"] == digest["ts"] and len(slack.posts("C0DIGEST")) == 1
    text = shown([digest])
    entry = next(b for b in digest["blocks"] if b.get("block_id") == f"story-{lead}")
    assert entry["text"]["text"].split("\n")[2] == POST_LINE  # under the byline
    assert text.count("Pacific Post") == 1 and digest["edited"]
    assert digest["metadata"]["event_payload"]["delivery"].endswith(":part-0")  # kept
    # a crash after Slack took the edit, before the ledger knew: made again, the same edit
    with open_archive(database(config)).engine.begin() as db:
        db.execute(sa.text("UPDATE deliveries SET status = 'pending', ts = NULL, "
                           "attempts = 1 WHERE kind = 'digest_edit'"))
    before = json.dumps(digest["blocks"])
    assert at(config, 1.5, "run", "--once") == 0
    assert len(slack.calls_to("chat.update")) == 2 and json.dumps(digest["blocks"]) == before
    assert at(config, 2, "run", "--once") == 0
    assert at(config, 24, "digest") == 0  # the next digest does not say it again
    assert len(slack.calls_to("chat.update")) == 2
    assert "Pacific Post" not in shown(slack.posts("C0DIGEST")[1:])
    assert query(config, "SELECT kind, status FROM deliveries WHERE kind = 'digest_edit'") == \
        [("digest_edit", "sent")]
    assert slack.refused() == []


def test_an_edit_slack_refuses_leaves_the_update_to_the_next_digest(tmp_path, cli, slack,
                                                                   token, database_url):
    config = write_config(tmp_path, [], extra=DIGEST_ONLY, database=database_url)
    lead = report(config, "wire", 1)
    assert at(config, 0, "run", "--once") == 0
    report(config, "post", 2, story=lead, hours=1)
    slack.script["chat.update"].append(("error", "message_not_found"))  # deleted by someone
    assert at(config, 1, "run", "--once") == 0
    assert query(config, "SELECT status FROM deliveries WHERE kind = 'digest_edit'") == \
        [("failed",)]
    assert at(config, 2, "run", "--once") == 0  # not tried again on that message
    assert len(slack.calls_to("chat.update")) == 1
    assert at(config, 3, "digest") == 0
    assert shown(slack.posts("C0DIGEST")[1:]).count(POST_LINE) == 1


def test_on_the_terminal_the_next_digest_and_the_update_say_the_same(tmp_path, cli, slack,
                                                                     database_url):
    config = write_config(tmp_path, [], database=database_url)  # no Slack at all
    lead = report(config, "wire", 1)
    code, out, _ = cli("--config", str(config), "digest")
    assert code == 0 and TITLE in out and "updated" not in out
    report(config, "post", 2, story=lead, hours=1)
    code, out, _ = cli("--config", str(config), "digest")
    assert code == 0 and "1 updated" in out and "Updated stories (1)" in out
    assert "updated: +Pacific Post" in out and "https://post.example/2" in out
    code, out, _ = cli("--config", str(config), "digest")
    assert code == 0 and "Pacific Post" not in out and "No new relevant stories" in out



def test_without_a_token_the_edit_of_a_digest_is_printed_as_its_update(tmp_path, cli, slack,
                                                                       capsys, database_url):
    config = write_config(tmp_path, [], extra=DIGEST_ONLY, database=database_url)
    lead = report(config, "wire", 1)
    assert at(config, 0, "run", "--once") == 0
    assert "── #C0DIGEST · digest ──" in capsys.readouterr().out
    report(config, "post", 2, story=lead, hours=1)
    assert at(config, 1, "run", "--once") == 0
    out = capsys.readouterr().out
    assert "── #C0DIGEST · digest update ──" in out and TITLE in out
    assert "*updated:* +Pacific Post (https://post.example/2)" in out
    assert at(config, 2, "run", "--once") == 0 and "Pacific Post" not in capsys.readouterr().out
    assert slack.calls == []


# --- the decisions, from literals ------------------------------------------------------------

def _story(i: int, outlet: str, story: int = 1):
    from dataclasses import replace

    from test_slack_blocks import article

    return replace(article(i), story_id=story, source_name=outlet, url=f"https://x.example/{i}")


def _digest(*leads):
    from datetime import UTC

    from test_classify import TAXONOMY

    from bot.digest import build_digest
    from bot.notify.blocks import digest_messages
    from bot.notify.plan import digest_deliveries

    messages = digest_messages(build_digest(list(leads), TAXONOMY, FIXED_NOW, FIXED_NOW), UTC)
    return [replace_created(p) for p in digest_deliveries("C", "digest:C:x", messages)]


def replace_created(delivery):
    from dataclasses import replace

    return replace(delivery, created_at=FIXED_NOW, id=1)


def test_an_edit_names_each_new_outlet_once_and_builds_on_the_edits_before_it():
    from bot.models import StoryGrowth
    from bot.notify.plan import story_changes

    lead, other = _story(1, "Nikkei Asia"), _story(5, "Reuters", story=5)
    parts = _digest(lead, other)
    new = (_story(2, "<!channel> *Kyodo*"), _story(3, "Nikkei Asia"), _story(4, "<!channel> *Kyodo*"))
    grown = [StoryGrowth(1, (lead,), new, 7, FIXED_NOW),
             StoryGrowth(5, (other,), (_story(6, "NHK", story=5),), 7, FIXED_NOW)]
    changes = story_changes("C", grown, parts, FIXED_NOW + timedelta(hours=1), timedelta(hours=4))
    first, second = changes.edits
    assert first.key == "digest:C:x:part-0:edit-2" and first.parent_key == "digest:C:x:part-0"
    assert first.kind == "digest_edit" and first.article_ids == (2, 3, 4)
    assert first.message.text == parts[0].message.text
    entry = next(b for b in first.message.blocks if b.get("block_id") == "story-1")
    line = "*updated:* +<https://x.example/2|&lt;!channel&gt; ∗Kyodo∗>"
    assert entry["text"]["text"].split("\n")[2] == line  # once, inert, under the byline
    assert str(second.message.blocks).count(line) == 1  # the second edit keeps the first's
    assert "+<https://x.example/6|NHK>" in str(second.message.blocks)
    assert changes.settled == ((2, 7), (3, 7), (4, 7), (6, 7)) and changes.for_digest == ()


def test_an_old_digest_a_full_message_or_no_edits_leave_the_update_to_the_next_digest():
    from dataclasses import replace

    from bot.models import StoryGrowth
    from bot.notify.blocks import with_update
    from bot.notify.plan import story_changes

    lead = _story(1, "Nikkei Asia")
    parts = _digest(lead)
    grown = [StoryGrowth(1, (lead,), (_story(2, "Kyodo"),), 7, FIXED_NOW)]
    for now, window in ((FIXED_NOW + timedelta(hours=5), timedelta(hours=4)),
                        (FIXED_NOW, timedelta(0))):
        changes = story_changes("C", grown, parts, now, window)
        assert changes.edits == () and changes.settled == ()
        (update,) = changes.for_digest
        assert [a.source_name for a in update.outlets] == ["Kyodo"] and update.lead.id == 1
    full = replace(parts[0], message=replace(parts[0].message, blocks=(
        *parts[0].message.blocks, *[{"type": "context", "elements": [
            {"type": "mrkdwn", "text": "x" * 2100}]}] * 5)))  # past the 10,500 kept under 11,000
    assert with_update(full.message.blocks, "story-1", [_story(2, "Kyodo")]) is None
    assert story_changes("C", grown, [full], FIXED_NOW, timedelta(hours=4)).for_digest
    # an outlet's second report is no news: settled without a word, wherever
    quiet = [StoryGrowth(1, (lead,), (_story(3, "Nikkei Asia"),), 7, FIXED_NOW)]
    changes = story_changes("C", quiet, parts, FIXED_NOW, timedelta(hours=4))
    assert changes.edits == () and changes.for_digest == () and changes.settled == ((3, 7),)


def test_an_updated_line_grows_and_the_terminal_shows_what_an_edit_says():
    from bot.models import SlackMessage
    from bot.notify.blocks import edited_story, with_update

    lead = _story(1, "Nikkei Asia")
    blocks = _digest(lead)[0].message.blocks
    once = with_update(blocks, "story-1", [_story(2, "Kyodo")])
    twice = with_update(once, "story-1", [_story(3, "NHK")])
    entry = next(b for b in twice if b.get("block_id") == "story-1")["text"]["text"]
    assert entry.count("*updated:*") == 1
    assert "*updated:* +<https://x.example/2|Kyodo>, +<https://x.example/3|NHK>" in entry
    shown = edited_story(SlackMessage("", tuple(twice)), 1)
    assert shown.splitlines() == [f"*{lead.title} (https://x.example/1)*",
                                  "*updated:* +Kyodo (https://x.example/2), +NHK "
                                  "(https://x.example/3)"]
