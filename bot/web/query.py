"""A search page's parameters -> what to search, or the one line that says what is wrong. Pure.

The grammar is the CLI's and Slack's: words (every word; `a OR b`; `-word`; `"a phrase"`) with
`topic:<id>`, `since:7d|30d|2025-01-01` and `lang:en|ja` written among them, or given as the
page's own `topic`, `since` and `lang` parameters (those win)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

from bot.errors import TechwatchError
from bot.since import parse_since
from bot.store import fts

OPTIONS = ("topic", "since", "lang")
LANGS = ("en", "ja")
MAX_PAGE = 50  # deeper than anyone reads; a search ranks its best few hundred matches anyway
MAX_QUERY = 500  # characters


class BadQuery(ValueError):
    """A search that cannot be run: its message says why, in one line."""


@dataclass(frozen=True, slots=True)
class SearchRequest:
    words: str  # what Archive.search is given
    topic: str | None
    since: datetime | None
    since_text: str | None  # as the reader wrote it (for links)
    lang: str | None
    page: int  # from 1

    def params(self, page: int | None = None) -> dict[str, str]:
        """The request as a query string's parameters (for the next page, the feed, the API)."""
        found = {"q": self.words, "topic": self.topic, "since": self.since_text, "lang": self.lang,
                 "page": str(page) if page and page > 1 else None}
        return {k: v for k, v in found.items() if v}

    def query_string(self, page: int | None = None) -> str:
        return urlencode(self.params(page))


def parse_request(args: Mapping[str, str], topic_ids: tuple[str, ...], now: datetime,
                  ) -> SearchRequest:
    """`args`: the page's parameters (q, topic, since, lang, page). BadQuery when wrong."""
    q = (args.get("q") or "").strip()
    if len(q) > MAX_QUERY:
        raise BadQuery(f"the query is {len(q)} characters long; at most {MAX_QUERY}")
    words, options = [], {}
    for part in q.split():
        key, colon, value = part.partition(":")
        if colon and key.lower() in OPTIONS and value:
            options[key.lower()] = value
        else:
            words.append(part)
    for key in OPTIONS:
        if (args.get(key) or "").strip():
            options[key] = args[key].strip()
    text = " ".join(words)
    if not text:
        raise BadQuery("search for what? Give some words, as in q=quantum+Japan")
    if fts.match_query(text) is None:
        raise BadQuery(f"nothing to search for in {text[:60]!r}: give words to find "
                       "(a query of only -words or operators finds nothing)")
    topic = options.get("topic")
    if topic is not None and topic not in topic_ids:
        raise BadQuery(f"unknown topic {topic[:60]!r}; topics: {', '.join(topic_ids)}")
    since = None
    if "since" in options:
        try:
            since = parse_since(options["since"], now, "since")
        except TechwatchError as e:
            raise BadQuery(str(e)) from None
    lang = options.get("lang")
    if lang is not None and lang not in LANGS:
        raise BadQuery(f"lang {lang[:20]!r}: use en or ja")
    return SearchRequest(text, topic, since, options.get("since"), lang, page_number(args))


def page_number(args: Mapping[str, str]) -> int:
    raw = (args.get("page") or "1").strip()
    if not re.fullmatch(r"\d{1,6}", raw) or not 1 <= int(raw) <= MAX_PAGE:
        raise BadQuery(f"page {raw[:20]!r}: a number from 1 to {MAX_PAGE}")
    return int(raw)


PERIODS = {"1d": "in the last day", "7d": "in the last 7 days", "30d": "in the last 30 days"}


def parse_period(value: str | None, now: datetime) -> tuple[datetime | None, str]:
    """The front page's `since` (any period: 1d, 2w, 2025-01-01): its start and its label;
    (None, "") when not given (the page chooses). BadQuery when wrong."""
    if not (value or "").strip():
        return None, ""
    value = value.strip()
    try:
        start = parse_since(value, now, "since")
    except TechwatchError as e:
        raise BadQuery(str(e)) from None
    if start > now:
        raise BadQuery(f"since {value[:30]!r} is in the future")
    return start, PERIODS.get(value, f"since {start:%Y-%m-%d %H:%M} UTC"
                              if not re.fullmatch(r"\d+\s*[hdw]", value) else f"the last {value}")
