"""`/techwatch ...` text -> a parsed request, or the help line of what was meant. Pure."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

from bot.errors import TechwatchError
from bot.since import parse_since

USAGE = {
    "help": "`/techwatch help` — what the bot watches, and these commands",
    "search": "`/techwatch search <words> [topic:<id>] [since:7d|30d|2025-01-01] [lang:en|ja]` "
              "— the archive's best matches, 10 at a time (every word; `a OR b` either; "
              "`-word` not)",
    "topics": "`/techwatch topics` — the topics, with their stories of the last 7 and 30 days",
    "subscribe": "`/techwatch subscribe <topic> [<topic> ...] [min:0.7]` — real-time alerts for "
                 "this channel (`all` for every topic)",
    "unsubscribe": "`/techwatch unsubscribe <topic>|all` — stop this channel's alerts on a topic",
    "subscriptions": "`/techwatch subscriptions` — what this channel gets (digests and alerts)",
    "watch": "`/techwatch watch <words> [topic:<id>] [lang:en|ja] [any]` — real-time alerts on a "
             "search (every word; `a OR b`; `-word`; `\"a phrase\"`); `any`: also articles not "
             "judged relevant",
    "watches": "`/techwatch watches` — this channel's watches, with what each matched in 7 and "
               "30 days",
    "unwatch": "`/techwatch unwatch <id>` — stop one of this channel's watches",
    "digest": "`/techwatch digest [preview]` — this channel's digest now, or a preview only you see",
    "sources": "`/techwatch sources` — every source with its health and last new item",
    "add-source": "`/techwatch add-source <feed or site URL>` — poll a new source (admins)",
    "add": "`/techwatch add <article URL>` — fetch, classify and archive one article",
    "status": "`/techwatch status` — last poll, articles today, failing sources, pending messages",
}


class CommandError(ValueError):
    """A bad command: the message says what, and ends with the usage of the subcommand."""

    def __init__(self, problem: str, name: str | None = None) -> None:
        usage = USAGE.get(name or "", "`/techwatch help` lists the commands")
        stop = "" if problem.endswith(("?", ".")) else "."
        super().__init__(f"{problem}{stop} Usage: {usage}")


@dataclass(frozen=True, slots=True)
class Request:
    name: str
    words: tuple[str, ...] = ()  # search words, topic ids, a URL
    options: dict[str, str] = field(default_factory=dict)  # key:value pairs (topic, since, ...)


OPTIONS = {"search": ("topic", "since", "lang"), "subscribe": ("min",),
           "watch": ("topic", "lang")}
EXAMPLES = {"topic": "quantum", "since": "7d", "lang": "ja", "min": "0.8"}
TOKEN = re.compile(r"<[^<>]*>|\S+")


def parse(text: str, topic_ids: tuple[str, ...]) -> Request:
    """Parse the text after `/techwatch`; CommandError with the usage line when it is wrong."""
    parts = TOKEN.findall(text or "")  # a Slack link <https://x|a label> is one token
    if not parts:
        return Request("help")
    name, rest = parts[0].lower(), parts[1:]
    if name not in USAGE:
        meant = difflib.get_close_matches(name, USAGE, n=1, cutoff=0.6)
        raise CommandError(f"Unknown command `{_short(parts[0])}`"
                           + (f"; did you mean `{meant[0]}`?" if meant else ""),
                           meant[0] if meant else None)
    words, options = [], {}
    for part in rest:
        if not part.startswith("<"):  # a link stays as Slack sent it, for url_of
            part = _unescape(part)
        key, colon, value = part.partition(":")
        if colon and key.lower() in OPTIONS.get(name, ()):
            if not value or key.lower() in options:
                raise CommandError(f"`{_short(key)}:` takes one value, as in "
                                   f"`{key.lower()}:{EXAMPLES.get(key.lower(), '...')}`", name)
            options[key.lower()] = value
        else:
            words.append(part)
    request = Request(name, tuple(words), options)
    _check(request, topic_ids)
    return request


def _check(r: Request, topic_ids: tuple[str, ...]) -> None:
    def known(topic: str) -> None:
        if topic not in topic_ids:
            raise CommandError(f"Unknown topic `{_short(topic)}` (topics: "
                               f"{', '.join(topic_ids)})", r.name)

    if r.name == "search":
        if not r.words:
            raise CommandError("Search for what?", r.name)
        if "topic" in r.options:
            known(r.options["topic"])
        if "since" in r.options:
            try:  # the grammar of the CLI's --since (the clock only checks the range)
                parse_since(r.options["since"], datetime.now(UTC), "since:")
            except TechwatchError:
                raise CommandError(f"`since:{_short(r.options['since'])}` is not 7d, 30d or a "
                                   "date", r.name) from None
        if r.options.get("lang", "en") not in ("en", "ja"):
            raise CommandError("`lang:` is `en` or `ja`", r.name)
    elif r.name == "subscribe":
        if not r.words:
            raise CommandError("Subscribe to which topics?", r.name)
        for topic in r.words:
            if topic != "all":
                known(topic)
        if "min" in r.options:
            try:
                value = float(r.options["min"])
            except ValueError:
                value = -1
            if not 0 <= value <= 1:
                raise CommandError("`min:` is a score between 0 and 1", r.name)
    elif r.name == "unsubscribe":
        if len(r.words) != 1:
            raise CommandError("Unsubscribe from which topic?", r.name)
        if r.words[0] != "all":
            known(r.words[0])
    elif r.name == "watch":
        from bot.watches import query_problem

        problem = query_problem(watch_query(r))
        if problem:
            raise CommandError("Watch for what?" if "no words" in problem
                               else f"Not a watch: {problem}", r.name)
        if "topic" in r.options:
            known(r.options["topic"])
        if r.options.get("lang", "en") not in ("en", "ja"):
            raise CommandError("`lang:` is `en` or `ja`", r.name)
    elif r.name == "unwatch":
        if len(r.words) != 1 or not r.words[0].isdigit():
            raise CommandError("Which watch? Give its id (`/techwatch watches` lists them)",
                               r.name)
    elif r.name in ("add-source", "add"):
        if len(r.words) != 1 or not re.match(r"^<?https?://", r.words[0]):
            raise CommandError("Give one http(s) URL", r.name)
    elif r.name == "digest":
        if r.words not in ((), ("preview",)):
            raise CommandError(f"`{_short(' '.join(r.words))}`? Only `preview` can follow", r.name)
    elif r.words:
        raise CommandError(f"`{r.name}` takes nothing after it", r.name)


def watch_query(r: Request) -> str:
    """A watch's query: its words but the `any` flag."""
    return " ".join(w for w in r.words if w.lower() != "any")


def url_of(word: str) -> str:
    """Slack sends links as <https://x|label> or <https://x>, with &, < and > escaped."""
    return _unescape(word.strip("<>").split("|", 1)[0])


def _unescape(text: str) -> str:
    """What the user typed: Slack escapes &, < and > in a command's text."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _short(text: str) -> str:
    """User text echoed back: short, and unable to end a code span (the reply is escaped)."""
    return text[:60].replace("`", "'")


def help_text(topic_ids: tuple[str, ...]) -> str:
    return ("*techwatch* watches English and Japanese news for US–Japan technology cooperation "
            f"({', '.join(topic_ids)}), archives it, and posts digests and alerts.\n"
            + "\n".join(f"• {line}" for line in USAGE.values()))
