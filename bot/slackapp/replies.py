"""Replies to /techwatch as Block Kit (pure: data in, message dicts out). Everything from the
archive is escaped like the digests are."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from slack_sdk.models.blocks import ActionsBlock, ButtonElement

from bot.config import AlertChannel, DigestChannel, WatchChannel
from bot.logs import redact
from bot.models import ArticleView
from bot.notify.blocks import MAX_BLOCKS, context, cut, escape, link, section
from bot.store.sources import source_health

MORE_ACTION = "tw_search_more"
PAGE = 10


def message(text: str, blocks: Sequence[dict] | None = None, *, public: bool = False) -> dict:
    return {"text": cut(text, 3000), "blocks": list(blocks or [section(text)]),
            "response_type": "in_channel" if public else "ephemeral"}


def search_page(web: str, query: Mapping[str, Any]) -> str:
    """The web page of a search: its words and options, URL-encoded."""
    params = {k: str(query[k]) for k in ("q", "topic", "since", "lang") if query.get(k)}
    return f"{web.rstrip('/')}/search?{urlencode(params)}"


def search_reply(results: Sequence[ArticleView], query: Mapping[str, Any], offset: int,
                 has_more: bool, web: str = "") -> dict:
    """A page of search results, each with title, source, date, topics and story size; a "More"
    button carries the query and the next offset; with the web pages (`web`, the public URL),
    a link to all the results there ends it."""
    words = escape(str(query["q"]))
    if not results:
        return message(f"No archived article matches “{words}”." if not offset
                       else f"No more results for “{words}”.")
    blocks = [context(f"Results {offset + 1}–{offset + len(results)} for “{words}”")]
    for a in results:
        date = f"{a.published:%Y-%m-%d}" if a.published else "undated"
        story = f" · story of {a.members}" if a.members > 1 else ""
        topics = ", ".join(a.topics) or "no topic"
        verdict = "" if a.relevant else " · _not US–Japan cooperation_"
        blocks.append(section(f"*{link(a.url, a.title)}*\n{cut(escape(a.source_name), 100)} · "
                              f"{date} · {escape(topics)}{story}{verdict}"))
    value = json.dumps({**query, "offset": offset + PAGE}, ensure_ascii=False)
    if has_more and len(value) <= 2000:  # a button's value: a query that long gets no paging
        blocks.append(ActionsBlock(elements=[ButtonElement(
            text="More", action_id=MORE_ACTION, value=value)]).to_dict())
    if web:
        page = search_page(web, query)
        blocks.append(context(f"All results: {link(page, page)}"))
    return message(f"{len(results)} result{'' if len(results) == 1 else 's'} for {words}",
                   blocks)


def topics_reply(names: Mapping[str, str], week: Mapping[str, int],
                 month: Mapping[str, int]) -> dict:
    lines = [f"• `{tid}` {escape(name)} — {week.get(tid, 0)} "
             f"{'story' if week.get(tid, 0) == 1 else 'stories'} in 7 days, "
             f"{month.get(tid, 0)} in 30" for tid, name in names.items()]
    return message("Topics", [section("*Topics* (relevant stories)"), section("\n".join(lines))])


def subscriptions_reply(channel: str, digests: Sequence[DigestChannel],
                        alerts: Sequence[AlertChannel],
                        made: Sequence[tuple[str, str, float, datetime]]) -> dict:
    lines = []
    for d in digests:
        topics = ", ".join(d.topics) or "all topics"
        lines.append(f"• Daily digest at {d.time} ({d.timezone}) on {topics} (config)")
    for a in alerts:
        lines.append(f"• Alerts on {', '.join(a.topics) or 'all topics'}, score ≥ "
                     f"{a.min_score:g} (config)")
    for _, topic, min_score, _ in made:
        lines.append(f"• Alerts on {'all topics' if topic == '*' else topic}, score ≥ "
                     f"{min_score:g} (`/techwatch unsubscribe {topic if topic != '*' else 'all'}`)")
    if not lines:
        return message(f"<#{channel}> gets nothing yet: `/techwatch subscribe <topic>` for alerts.")
    return message("Subscriptions", [section(f"*What <#{channel}> gets*"),
                                     section("\n".join(lines))])


def watches_reply(channel: str, made: Sequence[Any],
                  configured: Sequence[tuple[int, WatchChannel]],
                  week: Mapping[str, int], month: Mapping[str, int]) -> dict:
    """A channel's watches: each query (escaped: a user's words), what it is limited to, and
    how many articles it matched in 7 and 30 days; those made here with their id."""
    def line(query: str, key: str, relevant_only: bool, topics: Sequence[str], lang: str | None,
             how: str) -> str:
        limits = [", ".join(topics)] if topics else []
        limits += [lang] if lang else []
        limits += [] if relevant_only else ["relevant or not"]
        limited = f" ({'; '.join(limits)})" if limits else ""
        return (f"• `{escape(query)[:200]}`{limited}: {week.get(key, 0)} in 7 days, "
                f"{month.get(key, 0)} in 30 — {how}")

    lines = [line(w.query, f"slack:{w.id}", w.relevant_only, w.topics or (), w.lang,
                  f"watch {w.id} (`/techwatch unwatch {w.id}`)") for w in made]
    lines += [line(w.query, f"config:{i}", w.relevant_only, w.topics, w.lang, "config")
              for i, w in configured]
    if not lines:
        return message(f"<#{channel}> watches nothing yet: `/techwatch watch <words>` to be "
                       "alerted on a search.")
    return message("Watches", [section(f"*What <#{channel}> watches* (articles matched)"),
                               section("\n".join(lines))])


def sources_reply(rows: Sequence[Any], now: datetime) -> dict:
    lines = []
    for r in rows:
        health = source_health(r)
        if health == "gone":
            health = "gone (410)"
        elif health == "failing":
            health = f"failing since {r.failing_since:%Y-%m-%d %H:%M} UTC " \
                f"({redact(r.last_error or '')})"
        elif health == "ok" and not r.last_success_at:
            health = r.last_status
        last = f"{r.last_new_item_at:%Y-%m-%d %H:%M}" if r.last_new_item_at else "never"
        lines.append(f"• `{r.id}` {escape(r.name)}: {escape(cut(health, 200))} · last new item "
                     f"{last}")
    blocks = [section(f"*Sources* ({len(rows)})")]
    for i in range(0, len(lines), 20):  # sections stay under 3,000 characters
        blocks.append(section("\n".join(lines[i:i + 20])))
    return message("Sources", blocks[:MAX_BLOCKS] if lines else [section("No sources.")])


def status_reply(figures: Mapping[str, Any]) -> dict:
    failing = ", ".join(f"`{s}`" for s in figures["failing"]) or "none"
    last = f"{figures['last_poll']:%Y-%m-%d %H:%M} UTC" if figures["last_poll"] else "never"
    refused = (" (waiting for " + ", ".join(f"`{c}`" for c in figures["refused_channels"]) +
               ": Slack refuses them)") if figures.get("refused_channels") else ""
    text = (f"*techwatch status*\n• last poll: {last}\n• articles today: {figures['today']} "
            f"({figures['relevant_today']} relevant)\n• failing sources: {failing}\n"
            f"• pending messages: {figures['pending']}{refused}\n"
            f"• feedback votes: {figures['feedback']}")
    return message("techwatch status", [section(text)])
