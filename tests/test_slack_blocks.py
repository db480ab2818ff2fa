"""Block Kit rendering: escaping, links, Slack's limits, splitting, scheduling (pure)."""

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from slackstub import block_problem
from test_classify import TAXONOMY

from bot.digest import build_digest, lead_sentences
from bot.models import ArticleView
from bot.notify.blocks import (
    MAX_LABEL,
    alert_message,
    digest_messages,
    escape,
    link,
    plain_text,
)
from bot.notify.plan import alert_deliveries, digest_deliveries, last_scheduled

NOW = datetime(2026, 11, 22, 12, tzinfo=UTC)
TOKYO = ZoneInfo("Asia/Tokyo")


def article(i: int, title: str = "US and Japan sign chip pact", url: str = "", topics=None,
            text: str = "IBM and Rapidus agreed to build 2nm chips. Production starts in 2027. "
                        "More follows.") -> ArticleView:
    return ArticleView(
        id=i, source_id="s", source_name="Nikkei Asia", url=url or f"https://n.example/{i}",
        title=title, lang="en", published=NOW - timedelta(hours=i), first_seen=NOW,
        score=0.9 - i / 1000, relevant=True, topics=tuple(topics or ("semiconductors",)),
        evidence={"semiconductors": ("2nm", "Rapidus")}, extraction_status="full",
        actors={"us": ("IBM",), "japan": ("Rapidus",)}, cues=("partnership",), text_head=text)


def test_untrusted_text_cannot_ping_or_break_links():
    assert escape("<!channel> & <@U123>") == "&lt;!channel&gt; &amp; &lt;@U123&gt;"
    assert link("https://x.example/a|b>c d", "A | B > C") == \
        "<https://x.example/a%7Cb%3Ec%20d|A ¦ B &gt; C>"
    assert link("javascript:alert(1)", "<x>") == "&lt;x&gt;"
    hostile = article(1, title="<!channel> Japan & US <@U1> sign | deal >",
                      url="https://x.example/?a=1|<!here>")
    message = alert_message(hostile, UTC)
    raw = str(message.blocks)
    assert "<!channel>" not in raw and "<!here>" not in raw and "<@U1>" not in raw
    assert "&lt;!channel&gt;" in raw and block_problem(list(message.blocks), message.text) is None
    assert "<!channel>" not in message.text and "&lt;!channel&gt;" in message.text


def test_a_huge_url_or_title_never_breaks_the_section():
    huge = article(1, title="&" * 2000, url="https://x.example/" + "a" * 5000,
                   text="&<>" * 3000)
    block = alert_message(huge, UTC).blocks[1]
    assert len(block["text"]["text"]) <= 3000 and "_why:" in block["text"]["text"]
    for n in range(1, 6):  # a cut never leaves half an entity ("&am…") whatever its length
        title = "x" * (MAX_LABEL - n) + "&" * 10
        label = link("https://x.example/", title).split("|", 1)[1]
        assert re.fullmatch(r"(x|&amp;)*…>", label), label


def test_a_digest_reads_well_and_keeps_japanese_titles():
    items = [article(1), article(2, title="日米、量子で協力", topics=("quantum",))]
    digest = build_digest(items, TAXONOMY, NOW - timedelta(days=1), NOW)
    [message] = digest_messages(digest, TOKYO)
    text = plain_text(message)
    assert "TECHWATCH DIGEST · SUN 22 NOV 2026" in text and "2 stories · 2 topics" in text
    assert "日米、量子で協力" in text and "Nikkei Asia · 22 Nov 2026" in text
    assert "IBM and Rapidus agreed to build 2nm chips. Production starts in 2027." in text
    assert "why: US: IBM; Japan: Rapidus; semiconductors: 2nm, Rapidus" in text
    assert message.text.startswith("techwatch digest: 2 stories")


def test_a_lead_is_whole_sentences_whatever_the_abbreviations_and_decimals():
    assert lead_sentences("The U.S. Commerce Department and Japan signed a chip deal. It covers "
                          "2nm. A third sentence is left out.") == \
        "The U.S. Commerce Department and Japan signed a chip deal. It covers 2nm."
    assert lead_sentences("Micron will invest $1.5 billion in Hiroshima. Officials welcomed "
                          "it. More.") == \
        "Micron will invest $1.5 billion in Hiroshima. Officials welcomed it."
    assert lead_sentences("日米は量子で協力する。研究者も派遣する。三つ目。") == \
        "日米は量子で協力する。研究者も派遣する。"


def test_a_lead_leaves_out_the_pages_own_headline_and_byline():
    """The feed's title differs from the page's h1, which the extracted text starts with."""
    text = ("Google to invest $1 billion in undersea cables linking Japan and the US\n"
            "By Aiko Tanaka\n"
            "TOKYO, Nov 23 - Google will build two cables. They land in Chiba.\nMore.")
    assert lead_sentences(text, "Google cables") == \
        "TOKYO, Nov 23 - Google will build two cables. They land in Chiba."
    assert lead_sentences("A one-line summary without a stop", "x") == \
        "A one-line summary without a stop"  # the only line is the text
    quote = '"We will build it," the minister said.\nMore.'
    assert lead_sentences(quote) == quote.replace("\n", " ")  # paragraphs that end are kept
    wrapped = "The two governments agreed on Tuesday to\nexpand chip research. More."
    assert lead_sentences(wrapped) == "The two governments agreed on Tuesday to expand chip " \
                                      "research. More."


def test_a_60_story_digest_splits_within_limits_and_loses_nothing():
    long_text = "The two governments agreed on a sweeping chip research programme. " * 8
    items = [article(i, title=f"Story {i:02d} " + "x" * 200, text=long_text,
                     topics=(TAXONOMY.ids[i % 13],)) for i in range(60)]
    digest = build_digest(items, TAXONOMY, NOW - timedelta(days=1), NOW)
    messages = digest_messages(digest, UTC)
    assert len(messages) >= 2
    for message in messages:
        assert block_problem(list(message.blocks), message.text) is None
        assert len(message.blocks) <= 50
    shown = "\n".join(plain_text(m) for m in messages)
    assert all(f"Story {i:02d} " in shown for i in range(60))
    assert "continued (2/" in shown
    planned = digest_deliveries("C1", "digest:C1:x", messages)
    assert planned[0].parent_key is None
    assert all(d.parent_key == "digest:C1:x:part-0" for d in planned[1:])


def test_empty_digest_is_a_short_note():
    [message] = digest_messages(build_digest([], TAXONOMY, NOW, NOW), UTC)
    assert "No new US–Japan technology coverage" in plain_text(message)


def test_alerts_respect_the_hourly_cap_and_roll_the_rest():
    stories = [(replace(article(i), story_id=i), []) for i in range(5)]
    planned = alert_deliveries("C1", stories, [], room=3, tz=UTC, hour=NOW,
                               in_digest=lambda lead: True)
    kinds = [d.kind for d in planned]
    assert kinds.count("alert") == 3 and kinds.count("rolled") == 2
    note = next(d for d in planned if d.kind == "alert_note")
    assert "2 more new stories" in note.message.text and note.key == "alert-note:C1:2026-11-22T12"
    assert all(d.status == "rolled" for d in planned if d.kind == "rolled")


def test_over_the_cap_what_no_digest_carries_waits_for_a_later_hour():
    stories = [(replace(article(i), story_id=i), []) for i in range(6)]
    planned = alert_deliveries("C1", stories, [], room=3, tz=UTC, hour=NOW,
                               in_digest=lambda lead: lead.story_id == 4)
    kinds = [d.kind for d in planned]
    assert kinds.count("alert") == 3 and [d.article_id for d in planned if d.kind == "rolled"] \
        == [stories[4][0].id]  # the other two are not recorded: a later cycle alerts them
    note = next(d for d in planned if d.kind == "alert_note").message.text
    assert "3 more new stories in the last hour: 1 will come in the next digest, 2 when the hourly " \
           "limit allows" in note
    planned = alert_deliveries("C1", stories[:4], [], room=3, tz=UTC, hour=NOW,
                               in_digest=lambda lead: False)
    assert [d.kind for d in planned].count("rolled") == 0
    assert "1 more new story in the last hour: it will come when the hourly limit allows" in \
        next(d for d in planned if d.kind == "alert_note").message.text


def test_one_alert_a_story_and_later_outlets_in_its_thread():
    lead = replace(article(1), story_id=1)
    copy = replace(article(2), story_id=1, source_name="Kyodo")
    later = replace(article(3), story_id=7, source_name="Japan Times <b>")
    planned = alert_deliveries("C1", [(lead, [copy])], [later], room=10, tz=UTC, hour=NOW,
                               in_digest=lambda lead: True)
    by_kind = {d.kind: d for d in planned}
    assert by_kind["alert"].key == "alert:C1:story-1"
    assert by_kind["alert_member"].status == "rolled" and by_kind["alert_member"].article_id == 2
    reply = by_kind["alert_reply"]
    assert reply.parent_key == "alert:C1:story-7" and reply.status == "pending"
    assert "Also reported by *Japan Times &lt;b&gt;*" in str(reply.message.blocks)


def test_digest_shows_a_story_once_with_the_other_outlets():
    items = [replace(article(1), story_id=1), replace(article(2), story_id=1, source_name="Kyodo"),
             replace(article(3), story_id=1, source_name="NHK"),
             replace(article(4), story_id=1, source_name="Asahi")]
    digest = build_digest(items, TAXONOMY, NOW - timedelta(days=1), NOW)
    assert digest.total == 1
    text = plain_text(digest_messages(digest, UTC)[0])
    assert "also: Kyodo, NHK +1" in text and text.count("US and Japan sign chip pact") == 1


def test_last_scheduled_time_is_dst_correct():
    new_york = ZoneInfo("America/New_York")
    # 2026-03-08 02:00 local: clocks spring forward; 08:30 local is 12:30 UTC that day
    now = datetime(2026, 3, 8, 13, 0, tzinfo=UTC)
    assert last_scheduled(now, "08:30", new_york) == datetime(2026, 3, 8, 12, 30, tzinfo=UTC)
    before = datetime(2026, 3, 8, 12, 0, tzinfo=UTC)  # 08:00 local: yesterday's, in EST
    assert last_scheduled(before, "08:30", new_york) == datetime(2026, 3, 7, 13, 30, tzinfo=UTC)
    assert last_scheduled(NOW, "21:00", TOKYO) == datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    # 02:30 does not exist on 2026-03-08 in New York: it is never "in the future"
    gap = last_scheduled(datetime(2026, 3, 8, 7, 5, tzinfo=UTC), "02:30", new_york)
    assert gap.astimezone(UTC) <= datetime(2026, 3, 8, 7, 5, tzinfo=UTC)
    # 01:30 happens twice on 2026-11-01: the first one counts
    fall = last_scheduled(datetime(2026, 11, 1, 7, 0, tzinfo=UTC), "01:30", new_york)
    assert fall.astimezone(UTC) == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)


def test_the_terminal_digest_and_log_lines_stay_inert(capsys):
    import logging

    from bot.logs import Redact
    from bot.notify.terminal import console, print_digest

    hostile = article(1, title="[/red] US\u202e-Japan \x1b[2J pact",
                      url="http://x.example/a\x1b[31m\u202egnp.exe")  # archived before cleaning
    print_digest(build_digest([hostile], TAXONOMY, NOW - timedelta(days=1), NOW), console())
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\u202e" not in out and "[/red] US-Japan [2J pact" in out
    linkless = article(2, url="urn:techwatch:items:wire:42")
    print_digest(build_digest([linkless], TAXONOMY, NOW - timedelta(days=1), NOW), console())
    out = capsys.readouterr().out
    assert "(no link in the feed)" in out and "urn:" not in out
    from bot.notify.terminal import print_search

    print_search([replace(article(3), members=2, also=())], console())  # one outlet, twice
    out = capsys.readouterr().out
    assert "story of 2 articles" in out and "also:" not in out
    record = logging.LogRecord("techwatch", logging.WARNING, __file__, 1, "article %s: %s",
                               ("http://x/\x1b[2J", "bad\n2026-01-01 INFO fake"), None)
    assert Redact([]).filter(record)
    line = logging.Formatter("%(levelname)s %(message)s").format(record)
    assert "\x1b" not in line and "\n" not in line and "bad 2026-01-01 INFO fake" in line


def test_a_headline_cannot_format_itself_and_reads_as_written():
    """Slack's formatting characters from an article become look-alikes (Slack has no escape for
    them) and zero-width characters, which glue a marker to a word or hide text, are dropped:
    in the label, the fallback text, the outlet and the lead. Links and entities still work."""
    import unicodedata

    from bot.notify.blocks import reply_message

    title = ("*Breaking* _U.S.-Japan_ ~chip~ `deal` ```rm -rf``` AI_Act 5* "
             "fo\u200bo\u200d*x*\u2060\ufeff & <!here>")
    hostile = replace(article(1, title=title, url="https://x.example/ai_act*5~`",
                              text="Tokyo said *nothing* about `chips`. The _U.S._ agreed."),
                      source_name="*Wire*_Desk", also=("~Other~",))
    inert = ("∗Breaking∗ ˍU.S.-Japanˍ ∼chip∼ ˋdealˋ ˋˋˋrm -rfˋˋˋ AIˍAct 5∗ foo∗x∗ &amp; "
             "&lt;!here&gt;")
    assert escape(title) == inert
    message = alert_message(hostile, UTC)
    story = message.blocks[1]["text"]["text"]
    assert f"*<https://x.example/ai_act*5~`|{inert}>*" in story  # the URL as it was: it works
    assert "∗Wire∗ˍDesk · " in story and "Tokyo said ∗nothing∗ about ˋchipsˋ." in story
    assert message.text == f"techwatch alert: {inert}"
    reply = reply_message(hostile)
    assert reply.text == f"Also reported by ∗Wire∗ˍDesk: {inert}"
    assert "Also reported by *∗Wire∗ˍDesk*:" in reply.blocks[0]["text"]["text"]
    for text in (story, message.text, reply.text, reply.blocks[0]["text"]["text"]):
        assert not any(z in text for z in "\u200b\u200c\u200d\u2060\ufeff")
    assert block_problem(list(message.blocks), message.text) is None
    # the look-alikes are the same marks to a reader, and nothing else changed
    looks = dict(zip(escape("*_~`"), "*_~`", strict=True))
    assert [unicodedata.name(c) for c in looks] == [
        "ASTERISK OPERATOR", "MODIFIER LETTER LOW MACRON", "TILDE OPERATOR",
        "MODIFIER LETTER GRAVE ACCENT"]
    plain = "U.S.-Japan AI_Act talks: a 5* rating, Q&A <live> — 日米「半導体」"
    back = escape(plain).translate(str.maketrans(looks))
    assert back.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&") == plain
    assert escape("U.S.-Japan, 日米「半導体」(2nm) #1 50% +3 $1.5bn") == \
        "U.S.-Japan, 日米「半導体」(2nm) #1 50% +3 $1.5bn"
    # the terminal shows what the publisher wrote
    assert plain in plain_text(alert_message(article(2, title=plain), UTC))
