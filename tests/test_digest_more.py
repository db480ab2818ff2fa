"""A digest never hides news: past its limit (`max_stories`), it says how many more stories
there were and lists them a line each (in its thread on Slack), and they are not held over
as news for the next digest; an update of one of them still comes."""

from __future__ import annotations

import json
from datetime import UTC, timedelta

from conftest import FIXED_NOW, write_config
from newsite import query
from slackstub import block_problem
from test_classify import TAXONOMY
from test_slack_blocks import article
from test_story_updates import report

from bot.digest import build_digest
from bot.notify.blocks import digest_messages, plain_text
from bot.notify.plan import digest_deliveries

CAPPED = """
[[slack.digests]]
channel = "C0DIGEST"
time = "20:30"  # 11:30 UTC: the scheduled one is due before FIXED_NOW
timezone = "Asia/Tokyo"
max_stories = 5
"""
HOSTILE = "<!channel> *Breaking*_deal_ | `x`"  # a left-out story's headline, as a feed gave it
LINE = "+3 more relevant stories today: one line each in this digest's thread."


def story(config, n: int, score: float, *, hours: float = 0, source: str = "wire",
          title: str = "", joins: int | None = None) -> int:
    """A relevant report archived `hours` after FIXED_NOW; `joins`: grouped into that story."""
    return report(config, source, n, story=joins, hours=hours, score=score,
                  title=title or f"US and Japan agree on chip pact number {n:02d}")


def eight_stories(config) -> dict[int, int]:
    """Stories 1..8, the first five the best; the eighth's headline is hostile."""
    return {n: story(config, n, 0.95 - n / 100, title=HOSTILE if n == 8 else "")
            for n in range(1, 9)}


def at(config, hours: float, *args: str) -> int:
    from bot.cli import main

    return main(["--config", str(config), *args], now=lambda: FIXED_NOW + timedelta(hours=hours))


def blocks_of(posts: list[dict]) -> str:
    return "\n".join(json.dumps(p["blocks"], ensure_ascii=False) for p in posts)


def story_blocks(post: dict) -> list[str]:
    return [b["block_id"] for b in post["blocks"] if b.get("block_id", "").startswith("story-")]


def test_past_max_stories_the_digest_says_how_many_more_and_lists_them_in_its_thread(
        tmp_path, cli, slack, token, database_url):
    config = write_config(tmp_path, [], extra=CAPPED, database=database_url)
    ids = eight_stories(config)
    assert at(config, 0, "run", "--once") == 0  # the scheduled digest
    main, thread = slack.posts("C0DIGEST")
    assert slack.refused() == [] and thread["thread_ts"] == main["ts"]
    assert story_blocks(main) == [f"story-{ids[n]}" for n in range(1, 6)]  # the best five
    last = main["blocks"][-1]
    assert last["type"] == "context" and last["elements"][0]["text"] == LINE
    assert "5 stories · 1 topic · +3 more in the thread" in blocks_of([main])
    assert story_blocks(thread) == [f"story-{ids[n]}" for n in (6, 7, 8)]  # a line each
    listed = blocks_of([thread])
    assert "*+3 more relevant stories today*" in listed
    assert "<https://wire.example/6|US and Japan agree on chip pact number 06> · Wire" in listed
    assert "<!channel>" not in listed and "*Breaking*" not in listed  # inert, as every title
    assert "&lt;!channel&gt; ∗Breaking∗ˍdealˍ ¦ ˋxˋ" in listed
    for post in (main, thread):
        assert block_problem(post["blocks"], post["text"]) is None

    # the next day: two new stories, shown; the three listed yesterday are not news again
    new = [story(config, n, 0.5, hours=20) for n in (9, 10)]
    assert at(config, 24, "run", "--once") == 0
    (latest,) = slack.posts("C0DIGEST")[2:]
    assert story_blocks(latest) == [f"story-{i}" for i in new]
    assert "more relevant" not in blocks_of([latest])  # within the limit: no such line
    assert "number 06" not in blocks_of([latest]) and "Breaking" not in blocks_of([latest])
    taken = {r[0] for r in query(config, "SELECT article_id FROM digest_items")}
    assert taken == {*ids.values(), *new}  # every article is in a digest: none waits, none lost


def test_a_listed_story_that_grows_is_updated_in_its_line_or_the_next_digest(
        tmp_path, cli, slack, token, database_url):
    config = write_config(tmp_path, [], extra=CAPPED, database=database_url)
    ids = eight_stories(config)
    assert at(config, 0, "run", "--once") == 0
    main, thread = slack.posts("C0DIGEST")
    story(config, 20, 0.6, source="post", hours=1, joins=ids[7])  # another outlet reports #7
    assert at(config, 1, "run", "--once") == 0  # within digest.edit_hours: its line is edited
    (edit,) = slack.calls_to("chat.update")
    assert edit["ts"] == thread["ts"] and len(slack.posts("C0DIGEST")) == 2
    line = next(b for b in thread["blocks"] if b.get("block_id") == f"story-{ids[7]}")
    assert line["text"]["text"].split("\n")[1] == \
        "*updated:* +<https://post.example/20|Pacific Post>"
    story(config, 21, 0.6, source="post", hours=10, joins=ids[6])  # later: the next digest
    assert at(config, 24, "run", "--once") == 0
    (latest,) = slack.posts("C0DIGEST")[2:]
    text = blocks_of([latest])
    assert "Updated stories" in text and "+<https://post.example/21|Pacific Post>" in text
    assert "number 06" in text and "number 07" not in text and "more relevant" not in text
    assert slack.refused() == []


def test_a_refused_list_gives_its_stories_whole_to_the_next_digest(tmp_path, cli, slack, token,
                                                                  database_url):
    """Never lose an item: when Slack refuses the thread message that lists them, the next
    digest has them (every article of each story given back, not just its lead)."""
    config = write_config(tmp_path, [], extra=CAPPED, database=database_url)
    ids = eight_stories(config)
    other = story(config, 30, 0.6, source="post", joins=ids[6])  # #6 has two outlets
    slack.script["chat.postMessage"] += [("ok",), ("error", "invalid_blocks")]
    assert at(config, 0, "digest", "--channel", "C0DIGEST") == 1
    taken = {r[0] for r in query(config, "SELECT article_id FROM digest_items")}
    assert taken == {ids[n] for n in range(1, 6)} and other not in taken
    assert at(config, 0.5, "digest", "--channel", "C0DIGEST") == 0
    later = blocks_of(slack.posts("C0DIGEST")[1:])
    assert "number 06" in later and "number 07" in later and "∗Breaking∗" in later
    assert "also: Pacific Post" in later  # story 6 whole: its other outlet with it


def test_on_the_terminal_the_digest_lists_what_is_past_its_limit_and_holds_nothing_over(
        tmp_path, cli, database_url):
    config = write_config(tmp_path, [], extra="[digest]\nmax_items = 5\n", database=database_url)
    eight_stories(config)
    code, out, _ = cli("--config", str(config), "digest")
    assert code == 0 and "5 stories · +3 more ·" in out
    listed = out[out.index("+3 more relevant stories today, one line each:"):]
    assert "number 05" not in listed
    assert "• US and Japan agree on chip pact number 06 · Wire · https://wire.example/6" in listed
    assert f"• {HOSTILE} · Wire" in listed  # the terminal shows it as written, inert
    assert out.count("number 0") == 7  # the five in full, 6 and 7 a line each
    story(config, 9, 0.5, hours=1)
    code, out, _ = cli("--config", str(config), "digest")
    assert code == 0 and "number 09" in out and "1 story ·" in out
    assert "more relevant" not in out and "number 06" not in out and "Breaking" not in out


def test_without_a_token_the_line_and_the_list_are_printed(tmp_path, cli, slack, capsys,
                                                           database_url):
    config = write_config(tmp_path, [], extra=CAPPED, database=database_url)
    eight_stories(config)
    assert at(config, 0, "run", "--once") == 0
    out = capsys.readouterr().out
    assert out.count("── #C0DIGEST · digest ──") == 2 and LINE in out
    assert "• US and Japan agree on chip pact number 07 (https://wire.example/7) · Wire" in out
    assert slack.calls == []


# --- the decisions, from literals ------------------------------------------------------------

NOW = FIXED_NOW


def test_the_best_stories_are_shown_and_the_rest_listed_and_a_small_day_has_no_line():
    items = [article(i, title=f"Story {i}") for i in range(1, 9)]  # 1 is the best
    digest = build_digest(items, TAXONOMY, NOW - timedelta(days=1), NOW, limit=5)
    assert digest.total == 5 and [a.title for a in digest.more] == ["Story 6", "Story 7",
                                                                      "Story 8"]
    messages = digest_messages(digest, UTC)
    assert len(messages) == 2 and plain_text(messages[0]).endswith(LINE)
    assert "Story 6" not in plain_text(messages[0]) and "Story 5" in plain_text(messages[0])
    parts = digest_deliveries("C", "digest:C:x", messages, members={6: (6, 60)})
    assert parts[1].parent_key == "digest:C:x:part-0" and parts[1].article_ids == (6, 60, 7, 8)
    assert parts[0].article_ids == (1, 2, 3, 4, 5)
    for small in (items[:5], items[:3]):
        digest = build_digest(small, TAXONOMY, NOW - timedelta(days=1), NOW, limit=5)
        assert digest.more == () and len(digest_messages(digest, UTC)) == 1
        assert "more" not in plain_text(digest_messages(digest, UTC)[0])


def test_a_digest_of_a_longer_period_says_since_when_and_a_long_list_keeps_slacks_limits():
    items = [article(i, title=f"Story {i:03d} " + "y" * 300, url=f"https://n.example/{i}/"
                     + "z" * 400) for i in range(1, 206)]
    digest = build_digest(items, TAXONOMY, NOW - timedelta(days=3), NOW, limit=5)
    messages = digest_messages(digest, UTC)
    assert plain_text(messages[0]).endswith(
        "+200 more relevant stories since Thu 19 Nov: one line each in this digest's thread.")
    assert len(messages) >= 5  # the list continues over several thread messages
    for message in messages:
        assert block_problem(list(message.blocks), message.text) is None
    listed = "\n".join(plain_text(m) for m in messages[1:])
    assert all(f"Story {i:03d} " in listed for i in range(6, 206))
