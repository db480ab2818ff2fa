"""Digests and alerts as Slack messages, built with slack_sdk's Block Kit models, always within
Slack's limits: 50 blocks and about 11,000 characters of block text a message (beyond that Slack
answers msg_blocks_too_long, which slack_sdk does not check), 3,000 characters a section, 150 a
header, 10 context elements. A long digest continues in further messages, posted in the first
one's thread; nothing is cut off silently.

All text from articles is untrusted: it is escaped for mrkdwn, so no headline can mention
<!channel> or a user nor format itself (bold, italic, strike, code), and links are built so a "|"
or ">" cannot break them.

With the archive on the web (`[web] public_url`, passed in as `web`), each story links "all
outlets" to its page there; without it, the messages are as before.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import tzinfo

from slack_sdk.models.blocks import (
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    OverflowMenuElement,
    SectionBlock,
)
from slack_sdk.models.blocks.basic_components import MarkdownTextObject, Option, PlainTextObject

from bot.digest import Digest, StoryUpdate, lead_sentences, more_line, why
from bot.models import ArticleView, SlackMessage, WatchHit
from bot.watches.matcher import highlight

MAX_BLOCKS = 50
MAX_MESSAGE_TEXT = 10_000  # Slack's undocumented ~11,000 for all block text, with a margin
MAX_SECTION_TEXT = 3_000
MAX_HEADER_TEXT = 150
MAX_FALLBACK_TEXT = 3_000
MAX_URL, MAX_LABEL, MAX_PIECE = 1_000, 500, 600  # a story section stays under 3,000 characters
URL_UNSAFE = {"|": "%7C", ">": "%3E", "<": "%3C", " ": "%20", "\n": ""}
PARTIAL_ENTITY = re.compile(r"&(?:a|am|amp|l|lt|g|gt)?$")  # "&am" left at the end of a cut


# Slack has no escape for its formatting characters (a backslash shows as itself), so each is
# shown as its look-alike, which no mrkdwn parser reads (jsx-slack's choice): "*bold*" reads
# "∗bold∗", "AI_Act" reads "AIˍAct". Zero-width characters, which can glue a marker to a word
# (and so make it format) or hide text, are dropped.
LOOKALIKES = {"*": "\u2217", "_": "\u02cd", "~": "\u223c", "`": "\u02cb"}
ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff"
_INERT = str.maketrans({**LOOKALIKES, **dict.fromkeys(ZERO_WIDTH)})
_ORIGINALS = str.maketrans({v: k for k, v in LOOKALIKES.items()})


def escape(text: str) -> str:
    """Untrusted text as inert mrkdwn: "<!channel>" shows as text and pings nobody (entities),
    and "*", "_", "~", "`" cannot format (look-alikes)."""
    return text.translate(_INERT).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def link(url: str, label: str) -> str:
    """A mrkdwn link that a "|" or ">" in the label or URL cannot break; a label alone for a
    URL that is not http(s) or too long to fit a section."""
    label = cut(escape(label).replace("|", "¦"), MAX_LABEL)
    safe_url = "".join(URL_UNSAFE.get(c, c) for c in url)
    if not re.match(r"^https?://", safe_url) or len(safe_url) > MAX_URL:
        return label
    return f"<{safe_url}|{label}>"


def story_page(web: str, article: ArticleView) -> str:
    """The web page of the article's story (its id is its first article's)."""
    return f"{web.rstrip('/')}/stories/{article.story_id or article.id}"


def outlets_link(web: str, article: ArticleView) -> str:
    """" · <page|all outlets>" to the story's web page, or "" without the web pages."""
    return f" · {link(story_page(web, article), 'all outlets')}" if web else ""


def digest_messages(digest: Digest, tz: tzinfo, web: str = "") -> list[SlackMessage]:
    """The digest as one message, continued in thread replies when it is too long for one;
    each story linked to its page on the web when `web` (the public URL) is given."""
    day = digest.until.astimezone(tz)
    header = HeaderBlock(text=PlainTextObject(
        text=cut(f"techwatch digest · {day:%a %d %b %Y}", MAX_HEADER_TEXT))).to_dict()
    updated = digest.updated
    warning = [section(f":warning: *No news could be fetched:* {escape(digest.notice)}")] \
        if digest.notice else []
    if not digest.total and not updated:
        note = "No news could be fetched: " + digest.notice if digest.notice else \
            "No new US–Japan technology coverage since the last digest."
        return [SlackMessage(cut(note, MAX_FALLBACK_TEXT),
                             (header, *warning) if warning else (header, context(note)))]
    topics = len(digest.sections)
    counts = [f"{digest.total} {'story' if digest.total == 1 else 'stories'} · {topics} "
              f"topic{'s' if topics != 1 else ''}"] if digest.total else []
    counts += [f"{len(updated)} updated"] if updated else []
    counts += [f"+{len(digest.more)} more in the thread"] if digest.more else []
    summary = " · ".join([*counts, f"since {digest.since.astimezone(tz):%d %b %H:%M %Z}"])
    blocks: list[dict] = [header, *warning, context(summary)]
    for topic in digest.sections:
        blocks.append(section(f"*{escape(topic.title)}* ({len(topic.articles)})"))
        blocks += [story_block(a, tz, web=web) for a in topic.articles]
        blocks.append(DividerBlock().to_dict())
    if updated:
        blocks.append(section(f"*Updated stories* ({len(updated)})"))
        blocks += [update_block(u, web) for u in updated]
        blocks.append(DividerBlock().to_dict())
    blocks.pop()
    more = more_line(digest, tz)
    if more:  # the digest's last line; the stories themselves, a line each, in its thread
        blocks.append(context(f"{more}: one line each in this digest's thread."))
    listed = [section(f"*{more}*"), *(more_block(a, web) for a in digest.more)] if more else []
    fallback = cut(f"techwatch digest: {summary}", MAX_FALLBACK_TEXT)
    return _split(blocks, fallback, listed)


def more_block(article: ArticleView, web: str = "") -> dict:
    """A story past the digest's limit as one line: its linked title and outlets. Its
    block_id is a story's: the thread message carries it (a refusal gives it back), and an
    edit can add "updated: +Outlet" under it."""
    line = f"• {link(article.url, article.title)} · {cut(escape(article.source_name), 100)}"
    if article.also:
        line += f" +{len(article.also)}"
    line += outlets_link(web, article)
    return SectionBlock(block_id=f"story-{article.id}",
                        text=MarkdownTextObject(text=cut(line, MAX_SECTION_TEXT))).to_dict()


def alert_message(article: ArticleView, tz: tzinfo, watch: WatchHit | None = None,
                  web: str = "") -> SlackMessage:
    """A new story; for a watch, which watch matched and its words marked in the lead."""
    if watch is None:
        topics = ", ".join(article.topics[:3]) or "US–Japan technology"
        heading = f":rotating_light: New on {escape(topics)}"
    else:
        query = cut(escape(watch.query), 200).replace("`", "ˋ")  # cannot end the code span
        heading = f":mag: Watch {watch.label}: `{query}`"
    blocks = (context(heading), story_block(article, tz, watch.words if watch else (), web))
    return SlackMessage(cut(f"techwatch alert: {escape(article.title)}", MAX_FALLBACK_TEXT),
                        blocks)


def note_message(text: str) -> SlackMessage:
    return SlackMessage(cut(text, MAX_FALLBACK_TEXT), (context(text),))


def reply_message(article: ArticleView) -> SlackMessage:
    """A later outlet of an alerted story, for the alert's thread."""
    source = cut(escape(article.source_name), 200)
    text = f"Also reported by *{source}*: {link(article.url, article.title)}"
    return SlackMessage(cut(f"Also reported by {source}: {escape(article.title)}",
                             MAX_FALLBACK_TEXT), (section(text),))


def marked(text: str, words: Sequence[str]) -> str:
    """`text` escaped for Slack, with each of `words` (a watch's matched words) in bold."""
    spans = highlight(text, words)
    pieces, at = [], 0
    for start, end in spans:
        pieces.append(escape(text[at:start]))
        pieces.append(f"*{escape(text[start:end])}*")
        at = end
    return "".join(pieces) + escape(text[at:])


def story_block(article: ArticleView, tz: tzinfo, words: Sequence[str] = (), web: str = "",
                ) -> dict:
    """Linked title; source and date (and other outlets, and the story's page on the web); a
    lead of one or two sentences (a watch's words in bold); why."""
    date = f"{article.published.astimezone(tz):%d %b %Y}" if article.published else "undated"
    byline = f"{cut(escape(article.source_name), 100)} · {date}"
    if article.also:
        more = len(article.also) - 2
        byline += " · also: " + ", ".join(cut(escape(n), 60) for n in article.also[:2]) + \
            (f" +{more}" if more > 0 else "")
    byline += outlets_link(web, article)
    lines = [f"*{link(article.url, article.title)}*", byline]
    lead = lead_sentences(article.text_head, article.title)
    if lead:
        lines.append(cut(marked(lead, words), MAX_PIECE))
    lines.append(f"_why: {cut(escape(why(article)), MAX_PIECE)}_")
    # each piece is bounded: never cut inside a link
    return SectionBlock(block_id=f"story-{article.id}",
                        text=MarkdownTextObject(text=cut("\n".join(lines), MAX_SECTION_TEXT)),
                        accessory=feedback_menu(article)).to_dict()


UPDATED = "*updated:*"  # starts the line naming a story's new outlets; escaped text never can
MAX_UPDATED_LINE = 1_200  # outlets past it are named without their links


def updated_line(outlets: Sequence[ArticleView], line: str = "") -> str:
    """`line` (an earlier "updated" line, or none) naming these outlets too, each linked to its
    report: "*updated:* +<url|Outlet A>, +<url|Outlet B>"."""
    for outlet in outlets:
        piece = "+" + link(outlet.url, cut(outlet.source_name, 60))
        if len(line) + len(piece) > MAX_UPDATED_LINE:  # never cut inside a link
            piece = "+" + cut(escape(outlet.source_name), 60)
        line = f"{line}, {piece}" if line else f"{UPDATED} {piece}"
    return line


def update_block(update: StoryUpdate, web: str = "") -> dict:
    """A story of an earlier digest, grown since: its linked title and the outlets new to it."""
    title = f"*{link(update.lead.url, update.lead.title)}*{outlets_link(web, update.lead)}"
    return SectionBlock(block_id=f"update-{update.lead.id}", text=MarkdownTextObject(
        text=cut(f"{title}\n{updated_line(update.outlets)}", MAX_SECTION_TEXT))).to_dict()


def with_update(blocks: Sequence[dict], block_id: str, outlets: Sequence[ArticleView],
                ) -> list[dict] | None:
    """A digest message's blocks with the story `block_id` naming these outlets as well: its
    "updated" line extended, or one added under the byline. None when the message would pass
    Slack's limits (the next digest says it instead)."""
    updated, found = [], False
    for block in blocks:
        if block.get("block_id") == block_id and block.get("type") == "section":
            lines = block["text"]["text"].split("\n")
            at = next((i for i, line in enumerate(lines) if line.startswith(UPDATED)), None)
            if at is None:
                lines.insert(min(2, len(lines)), updated_line(outlets))
            else:
                lines[at] = updated_line(outlets, lines[at])
            text = "\n".join(lines)
            if len(text) > MAX_SECTION_TEXT:
                return None
            block = {**block, "text": {**block["text"], "text": text}}
            found = True
        updated.append(block)
    if not found or sum(map(_text_length, updated)) > MAX_MESSAGE_TEXT + 500:
        return None  # the story is not there, or the message would be too long for Slack
    return updated


def edited_story(message: SlackMessage, article_id: int | None) -> str:
    """What an edit of a digest message says, for the terminal: the story's title and its
    "updated" line."""
    for block in message.blocks:
        if block.get("block_id") in (f"story-{article_id}", f"update-{article_id}"):
            lines = block["text"]["text"].split("\n")
            return _unmrkdwn("\n".join([lines[0], *(x for x in lines if x.startswith(UPDATED))]))
    return ""


def story_ids(message: SlackMessage) -> tuple[int, ...]:
    """The articles whose story blocks a message carries."""
    return tuple(int(b["block_id"][6:]) for b in message.blocks
                 if b.get("block_id", "").startswith("story-"))


FEEDBACK_ACTION = "tw_feedback"


def feedback_menu(article: ArticleView) -> OverflowMenuElement:
    """The compact feedback control of a story: relevant / not relevant, and "not <topic>" for
    each of its first topics (an overflow menu holds five options)."""
    options = [Option(value=f"{article.id}:relevant", text="👍 Relevant"),
               Option(value=f"{article.id}:not_relevant", text="👎 Not relevant")]
    options += [Option(value=f"{article.id}:not_topic:{topic}", text=cut(f"✗ Not {topic}", 75))
                for topic in article.topics[:3]]
    return OverflowMenuElement(action_id=FEEDBACK_ACTION, options=options)


def with_votes(blocks: Sequence[dict], block_id: str, up: int, down: int) -> list[dict]:
    """The message's blocks with the story's vote count shown (replacing an earlier count)."""
    updated = []
    for block in blocks:
        if block.get("block_id") == block_id and block.get("type") == "section":
            text = re.sub(r"\n_feedback: [^\n]*_$", "", block["text"]["text"])
            block = {**block, "text": {**block["text"], "text": cut(
                f"{text}\n_feedback: 👍 {up} · 👎 {down}_", MAX_SECTION_TEXT)}}
        updated.append(block)
    return updated


def plain_text(message: SlackMessage) -> str:
    """A message as terminal text (the fallback without a Slack token): the same content."""
    out = []
    for block in message.blocks:
        if block["type"] == "header":
            out.append(block["text"]["text"].upper())
        elif block["type"] == "section":
            out.append(_unmrkdwn(block["text"]["text"]))
        elif block["type"] == "context":
            out.append(" · ".join(_unmrkdwn(e.get("text", "")) for e in block["elements"]))
        elif block["type"] == "divider":
            out.append("-" * 40)
    return "\n".join(out)


def _split(blocks: Sequence[dict], fallback: str, apart: Sequence[dict] = ()) -> list[SlackMessage]:
    """The blocks as messages within Slack's limits; `apart` starts a message of its own."""
    messages: list[list[dict]] = [[]]
    size = 0
    for i, block in enumerate((*blocks, *apart)):
        length = _text_length(block)
        if messages[-1] and (len(messages[-1]) >= MAX_BLOCKS - 1 or i == len(blocks) or
                             size + length > MAX_MESSAGE_TEXT):
            messages.append([])
            size = 0
        messages[-1].append(block)
        size += length
    total = len(messages)
    result = []
    for i, part in enumerate(messages, 1):
        if total > 1 and i > 1:
            part = [context(f"continued ({i}/{total})"), *part]
        text = fallback if i == 1 else f"{fallback} (continued {i}/{total})"
        result.append(SlackMessage(cut(text, MAX_FALLBACK_TEXT), tuple(part)))
    return result


def section(text: str) -> dict:
    return SectionBlock(text=MarkdownTextObject(text=cut(text, MAX_SECTION_TEXT))).to_dict()


def context(text: str) -> dict:
    return ContextBlock(elements=[MarkdownTextObject(text=cut(text, 2000))]).to_dict()


def _text_length(block: dict) -> int:
    if "text" in block:
        return len(block["text"]["text"])
    return sum(len(e.get("text", "")) for e in block.get("elements", []))


def cut(text: str, limit: int) -> str:
    """At most `limit` characters, "…" marking a cut; never inside an escaped "&amp;"."""
    if len(text) <= limit:
        return text
    return PARTIAL_ENTITY.sub("", text[: limit - 1]).rstrip() + "…"


def _unmrkdwn(text: str) -> str:
    """mrkdwn as the terminal shows it: links as "label (url)", and the characters `escape`
    changed as they were written."""
    text = re.sub(r"<([^|>]+)\|([^>]+)>", r"\2 (\1)", text).translate(_ORIGINALS)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")

