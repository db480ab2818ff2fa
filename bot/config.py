"""TOML + environment -> frozen, validated settings.

Every setting is declared here with its default; a wrong one fails at start with one line naming
the file, the key and what is wrong. The environment is passed in (never read here).
"""

from __future__ import annotations

import math
import re
import sys
import tomllib
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot import __version__
from bot.errors import ConfigError
from bot.logs import LOG_FORMATS, redact
from bot.models import Source

DEFAULT_CONFIG = "config/techwatch.toml"
# Where the product's own config/ and seeds/ are: the checkout of an editable install, or
# <prefix>/share/techwatch for an installed wheel (pyproject's data-files)
SHIPPED_ROOTS = (Path(__file__).resolve().parents[1], Path(sys.prefix) / "share" / "techwatch")
ENV_CONFIG = "TECHWATCH_CONFIG"
ENV_DATABASE_URL = "TECHWATCH_DATABASE_URL"
ENV_SLACK_TOKEN = "SLACK_BOT_TOKEN"
ENV_HEALTH_PORT = "TECHWATCH_HEALTH_PORT"
ENV_HEALTH_HOST = "TECHWATCH_HEALTH_HOST"  # 0.0.0.0 in a container: /metrics scraped from outside
ENV_SLACK_APP_TOKEN = "SLACK_APP_TOKEN"
ENV_SLACK_SIGNING_SECRET = "SLACK_SIGNING_SECRET"


@dataclass(frozen=True, slots=True)
class StorageSettings:
    database: str = "sqlite:///data/techwatch.db"
    keep_raw_html: bool = True
    raw_html_days: float = 365.0  # raw pages older than this are dropped (0: kept forever)
    fetch_log_days: float = 90.0  # the log of fetch outcomes is pruned after this (0: never)
    housekeeping_time: str = "03:30"  # daily retention and index upkeep of `techwatch run`, UTC


@dataclass(frozen=True, slots=True)
class FetchSettings:
    user_agent: str = (
        f"techwatch/{__version__} (news monitor for US-Japan technology cooperation; "
        "+https://github.com/techwatch/techwatch)"
    )
    timeout_seconds: float = 20.0
    max_body_bytes: int = 10 * 1024 * 1024
    max_redirects: int = 5
    concurrency: int = 16
    per_host_concurrency: int = 2
    per_host_delay_seconds: float = 0.5
    max_article_attempts: int = 3
    article_retry_minutes: float = 1.0  # a page's first retry; each later one waits 4x longer


@dataclass(frozen=True, slots=True)
class PollSettings:
    default_poll_minutes: float = 60  # until a feed's items tell how often it publishes
    min_minutes: float = 10  # the adaptive interval stays within these bounds
    max_minutes: float = 360
    max_backoff_hours: float = 24.0
    tick_seconds: float = 60.0  # how often `techwatch run` looks for sources that are due
    # new items taken from one feed in one poll (newest first), and pages of one source fetched
    # in one cycle: one huge feed does not hold up the others; the rest wait for later polls
    max_items_per_poll: int = 200


@dataclass(frozen=True, slots=True)
class ExtractSettings:
    workers: int = 0  # 0: one per core
    min_text_chars: int = 250
    # seconds one page may take once a worker has started it (waiting in the queue is not
    # counted); a page over it is `too_large`, its worker killed and replaced
    timeout_seconds: float = 60.0
    # a page with more elements than this is `too_large` without being parsed: news pages have
    # a few thousand, a page that repeats one paragraph 200,000 times costs minutes of CPU
    max_elements: int = 50_000


@dataclass(frozen=True, slots=True)
class ClassifySettings:
    relevance_threshold: float = 0.5


@dataclass(frozen=True, slots=True)
class StorySettings:
    near_duplicate: float = 0.5  # estimated Jaccard of word shingles that makes two texts copies
    window_days: float = 21.0  # how far back a new article looks for its story
    # similarity of headline, lead, names and figures that makes two reports one event, when
    # both publication dates are known (the window has ruled out last year's deal) ...
    same_event: float = 0.25
    # ... and when one is not (the date first seen is no publication date): the words alone must
    # tell this year's dialogue from last year's, so they must agree more (never less)
    same_event_undated: float = 0.275
    # a story's lead article comes from the first of these sources it has (then the most text)
    preferred_sources: tuple[str, ...] = ()

    def same_event_bar(self, both_dated: bool) -> float:
        return self.same_event if both_dated else max(self.same_event, self.same_event_undated)


@dataclass(frozen=True, slots=True)
class DigestChannel:
    """One [[slack.digests]] table: a channel that gets a daily digest."""

    channel: str
    time: str = "08:30"  # local time in `timezone`
    timezone: str = "UTC"
    topics: tuple[str, ...] = ()  # empty: all topics
    min_score: float | None = None  # None: the relevance threshold
    max_stories: int = 25
    monday_chart: bool = False  # Monday's digest gets the weekly topic chart in its thread


@dataclass(frozen=True, slots=True)
class AlertChannel:
    """One [[slack.alerts]] table: a standing real-time subscription."""

    channel: str
    topics: tuple[str, ...] = ()  # empty: all topics
    min_score: float = 0.7
    since: datetime | None = None  # made in Slack then: alerts for news first seen from then


@dataclass(frozen=True, slots=True)
class WatchChannel:
    """One [[slack.watches]] table: a channel alerted on any search query, not only a topic."""

    channel: str
    query: str  # the search grammar: every word; a OR b; -word; "a phrase"; 量子
    relevant_only: bool = True  # false: every archived article, relevant or not
    topics: tuple[str, ...] = ()  # empty: any topic
    lang: str = ""  # "en", "ja"; empty: any language


@dataclass(frozen=True, slots=True)
class SlackSettings:
    api_url: str = "https://slack.com/api/"
    digests: tuple[DigestChannel, ...] = ()
    alerts: tuple[AlertChannel, ...] = ()
    watches: tuple[WatchChannel, ...] = ()
    empty_digest_note: bool = True  # a due digest with nothing new says so
    alert_max_age_hours: float = 48.0  # only articles published this recently are alerted
    alert_hourly_cap: int = 10  # alerts a channel gets in an hour; the rest go to its digest
    ops_channel: str = ""  # hears when a source starts failing and when it recovers
    ops_after_failures: int = 3  # failed polls in a row that make a source "failing"
    admins: tuple[str, ...] = ()  # Slack user ids who may add sources with /techwatch
    allow_private_sources: bool = False  # may /techwatch add(-source) reach private addresses
    events_host: str = "127.0.0.1"  # the app's HTTP endpoint in `techwatch run`
    events_port: int = 0  # 0: none (Socket Mode with SLACK_APP_TOKEN, or `techwatch serve`)


@dataclass(frozen=True, slots=True)
class DigestSettings:
    lookback_hours: float = 24.0
    max_items: int = 50
    max_age_days: float = 7.0  # digests carry articles published this recently
    time: str = "08:00"  # daily digest of `techwatch run`, local time in `timezone`
    timezone: str = "UTC"
    grace_hours: float = 6.0  # a digest missed while the bot was down is sent this late at most
    # a story that grows this soon after the digest that showed it: that message is edited
    # to name the new outlets; later, the next digest says "updated: +Outlet". 0: never edit
    edit_hours: float = 4.0


@dataclass(frozen=True, slots=True)
class HealthSettings:
    host: str = "127.0.0.1"
    port: int = 0  # /healthz and /metrics of `techwatch run`; 0: not served


@dataclass(frozen=True, slots=True)
class WebSettings:
    """The archive's read-only web pages (`techwatch serve`, and `techwatch run` when `port` is
    set). Beyond loopback only with `public_url` and an `auth` method: the archive may hold
    paywalled text and internal notes."""

    host: str = "127.0.0.1"
    port: int = 0  # 0: not served
    public_url: str = ""  # where readers reach it (an HTTPS proxy): Slack messages link there
    auth: str = ""  # "password" (TECHWATCH_WEB_PASSWORDS) or "slack" (Sign in with Slack)


WEB_AUTH = ("", "password", "slack")
LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")


@dataclass(frozen=True, slots=True)
class LoggingSettings:
    format: str = "text"  # "text" or "json" (one JSON object a line); --log-format wins


@dataclass(frozen=True, slots=True)
class Settings:
    config_file: Path
    sources_file: Path
    topics_file: Path
    seeds_dir: Path
    sources: tuple[Source, ...]
    topics: Mapping[str, Any]  # the raw taxonomy table; bot.classify validates its shape
    glossary_file: Path
    glossary: Mapping[str, Any]  # the raw glossary; bot.stories.glossary validates its shape
    storage: StorageSettings = field(default_factory=StorageSettings)
    fetch: FetchSettings = field(default_factory=FetchSettings)
    poll: PollSettings = field(default_factory=PollSettings)
    extract: ExtractSettings = field(default_factory=ExtractSettings)
    classify: ClassifySettings = field(default_factory=ClassifySettings)
    digest: DigestSettings = field(default_factory=DigestSettings)
    stories: StorySettings = field(default_factory=StorySettings)
    health: HealthSettings = field(default_factory=HealthSettings)
    web: WebSettings = field(default_factory=WebSettings)
    logging: LoggingSettings = field(default_factory=LoggingSettings)
    slack: SlackSettings = field(default_factory=SlackSettings)


SECTIONS = {
    "storage": StorageSettings,
    "fetch": FetchSettings,
    "poll": PollSettings,
    "extract": ExtractSettings,
    "classify": ClassifySettings,
    "digest": DigestSettings,
    "stories": StorySettings,
    "health": HealthSettings,
    "web": WebSettings,
    "logging": LoggingSettings,
}
TOP_LEVEL_KEYS = {"sources", "topics", "glossary", "seeds", "slack", *SECTIONS}
ENV_SLACK_API_URL = "SLACK_API_URL"
CHANNEL = re.compile(r"^[#@]?[A-Za-z0-9][A-Za-z0-9._-]{0,79}$")
SOURCE_ID = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
POSITIVE = {"timeout_seconds", "max_body_bytes", "concurrency", "per_host_concurrency",
            "default_poll_minutes", "max_backoff_hours", "poll_minutes", "max_items",
            "max_article_attempts", "article_retry_minutes", "max_stories", "alert_hourly_cap",
            "alert_max_age_hours", "max_age_days", "near_duplicate", "same_event",
            "same_event_undated", "window_days",
            "min_minutes", "max_minutes", "tick_seconds", "ops_after_failures", "grace_hours",
            "max_elements", "max_items_per_poll"}


def _check_web(web: WebSettings, file: str) -> None:
    if web.port > 65535:
        raise ConfigError(file, "web.port", "must be a TCP port (1-65535, 0: off)")
    if web.auth not in WEB_AUTH:
        raise ConfigError(file, "web.auth", f"expected 'password' or 'slack', got {web.auth!r}")
    if web.public_url and not re.match(r"^https?://[^/\s]+", web.public_url):
        raise ConfigError(file, "web.public_url", f"not an http(s) URL: {web.public_url!r}")
    if web.port and web.host not in LOOPBACK_HOSTS and not (web.public_url and web.auth):
        raise ConfigError(file, "web.host", f"{web.host!r} is beyond loopback: the archive is "
                          "served there only with web.public_url and web.auth set")


def config_path(cli_path: str | None, env: Mapping[str, str]) -> Path:
    """--config wins over TECHWATCH_CONFIG, which wins over the default: config/techwatch.toml
    in the working directory, else the one the product ships (so `techwatch classify` works
    anywhere)."""
    if cli_path or env.get(ENV_CONFIG):
        return Path(cli_path or env[ENV_CONFIG])
    return Path(DEFAULT_CONFIG) if Path(DEFAULT_CONFIG).exists() else shipped(DEFAULT_CONFIG)


def shipped(relative: str) -> Path:
    """A file or directory the product ships (config/topics.toml, seeds)."""
    return next((root / relative for root in SHIPPED_ROOTS if (root / relative).exists()),
                SHIPPED_ROOTS[0] / relative)


def load_settings(path: Path, env: Mapping[str, str]) -> Settings:
    main = read_toml(path)
    unknown = set(main) - TOP_LEVEL_KEYS
    if unknown:
        raise ConfigError(str(path), sorted(unknown)[0], "unknown key")
    base = path.parent
    sources_file = base / _string(main, "sources", "sources.toml", path)
    # a config of one's own may leave out the taxonomy and the seeds: the shipped ones are used
    topics_file = _beside(main, "topics", "topics.toml", path) or shipped("config/topics.toml")
    seeds_dir = _beside(main, "seeds", "../seeds", path) or shipped("seeds")
    glossary_file = _beside(main, "glossary", "glossary.toml", path) or \
        shipped("config/glossary.toml")
    sections = {
        name: build(cls, _table(main, name, path), str(path), name) for name, cls in SECTIONS.items()
    }
    storage = sections["storage"]
    database = env.get(ENV_DATABASE_URL) or storage.database
    where = ENV_DATABASE_URL if env.get(ENV_DATABASE_URL) else "storage.database"
    if database.startswith(("postgresql://", "postgres://")):  # psycopg 3, not SQLAlchemy's
        database = "postgresql+psycopg://" + database.split("://", 1)[1]  # default psycopg2
    if not database.startswith(("sqlite://", "postgresql+psycopg://")):
        raise ConfigError(str(path), where, f"unsupported database URL {redact(database)!r} "
                          "(SQLite: sqlite:///path/to/file.db; PostgreSQL: "
                          "postgresql+psycopg://user@host:5432/database)")
    sections["storage"] = replace(storage, database=database)
    _check_time(sections["digest"].time, sections["digest"].timezone, str(path), "digest")
    _check_time(sections["storage"].housekeeping_time, "UTC", str(path), "storage")
    poll = sections["poll"]
    if poll.min_minutes > poll.max_minutes:
        raise ConfigError(str(path), "poll.min_minutes", "must not be above poll.max_minutes")
    if sections["logging"].format not in LOG_FORMATS:
        raise ConfigError(str(path), "logging.format", f"expected 'text' or 'json', got "
                          f"{sections['logging'].format!r}")
    if env.get(ENV_HEALTH_PORT):
        port = env[ENV_HEALTH_PORT].strip()
        if not port.isdigit():
            raise ConfigError(str(path), ENV_HEALTH_PORT, f"not a port number: {port!r}")
        sections["health"] = replace(sections["health"], port=int(port))
    if env.get(ENV_HEALTH_HOST):
        host = env[ENV_HEALTH_HOST].strip()
        if not re.fullmatch(r"[\w.:\-\[\]]+", host):
            raise ConfigError(str(path), ENV_HEALTH_HOST, f"not a host or address: {host[:60]!r}")
        sections["health"] = replace(sections["health"], host=host)
    if sections["health"].port > 65535:
        raise ConfigError(str(path), ENV_HEALTH_PORT if env.get(ENV_HEALTH_PORT) else
                          "health.port", "must be a TCP port (1-65535, 0: off)")
    _check_web(sections["web"], str(path))
    for section, key in (("stories", "near_duplicate"), ("stories", "same_event"),
                         ("stories", "same_event_undated"), ("classify", "relevance_threshold")):
        if getattr(sections[section], key) > 1:
            raise ConfigError(str(path), f"{section}.{key}", "must be between 0 and 1")
    for key, file in (("sources", sources_file), ("topics", topics_file),
                      ("glossary", glossary_file)):
        if not file.is_file():
            raise ConfigError(str(path), key, f"{file} is not a file")
    if not seeds_dir.is_dir():
        raise ConfigError(str(path), "seeds", f"{seeds_dir} is not a directory (the seed "
                                              "documents ship in the project's seeds/)")
    sources = load_sources(sources_file, sections["poll"].default_poll_minutes)
    return Settings(config_file=path, sources_file=sources_file, topics_file=topics_file,
                    seeds_dir=seeds_dir, sources=sources, topics=read_toml(topics_file),
                    glossary_file=glossary_file, glossary=read_toml(glossary_file),
                    slack=load_slack(_table(main, "slack", path), str(path), env), **sections)


def _beside(main: Mapping[str, Any], key: str, default: str, path: Path) -> Path | None:
    """The path a key names, relative to the config file; None for a key left out whose
    default is not there."""
    if key in main:
        return path.parent / _string(main, key, default, path)
    return path.parent / default if (path.parent / default).exists() else None


def load_slack(table: Mapping[str, Any], file: str, env: Mapping[str, str]) -> SlackSettings:
    """[slack] with its [[slack.digests]], [[slack.alerts]] and [[slack.watches]] tables;
    SLACK_API_URL wins."""
    lists = {}
    for key, cls in (("digests", DigestChannel), ("alerts", AlertChannel),
                     ("watches", WatchChannel)):
        tables = table.get(key, [])
        if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
            raise ConfigError(file, f"slack.{key}", f"expected [[slack.{key}]] tables")
        entries = []
        for i, entry in enumerate(tables):
            where = f"slack.{key}[{i}]"
            for required in ("channel", "query") if key == "watches" else ("channel",):
                if required not in entry:
                    raise ConfigError(file, f"{where}.{required}", "missing (required)")
            item = build(cls, entry, file, where)
            if not CHANNEL.match(item.channel):
                raise ConfigError(file, f"{where}.channel", f"not a channel id: {item.channel!r}")
            if getattr(item, "min_score", None) is not None and not 0 <= item.min_score <= 1:
                raise ConfigError(file, f"{where}.min_score", "must be between 0 and 1")
            if key == "digests":
                _check_time(item.time, item.timezone, file, where)
            if key == "watches":
                _check_watch(item, file, where)
            entries.append(item)
        lists[key] = tuple(entries)
    scalars = {k: v for k, v in table.items() if k not in lists}
    settings = build(SlackSettings, scalars, file, "slack")
    if settings.events_port > 65535:
        raise ConfigError(file, "slack.events_port", "must be a TCP port (1-65535, 0: off)")
    channels = [d.channel for d in lists["digests"]]
    if len(channels) != len(set(channels)):
        twice = next(c for c in channels if channels.count(c) > 1)
        raise ConfigError(file, "slack.digests", f"channel {twice!r} has two digests (one a "
                          "channel: pick one time)")
    if settings.ops_channel and not CHANNEL.match(settings.ops_channel):
        raise ConfigError(file, "slack.ops_channel", f"not a channel id: {settings.ops_channel!r}")
    api_url = env.get(ENV_SLACK_API_URL) or settings.api_url
    if not re.match(r"^https?://", api_url):
        raise ConfigError(file, "slack.api_url", f"not an http(s) URL: {api_url!r}")
    return SlackSettings(**{**{f.name: getattr(settings, f.name) for f in fields(settings)},
                            "api_url": api_url.rstrip("/") + "/", **lists})


def _check_watch(watch: WatchChannel, file: str, where: str) -> None:
    from bot.watches import query_problem

    problem = query_problem(watch.query)
    if problem:
        raise ConfigError(file, f"{where}.query", problem)
    if watch.lang and watch.lang not in ("en", "ja"):
        raise ConfigError(file, f"{where}.lang", f"expected \"en\" or \"ja\", not {watch.lang!r}")


def load_sources(path: Path, default_poll_minutes: int) -> tuple[Source, ...]:
    data = read_toml(path)
    unknown = set(data) - {"sources"}
    if unknown:
        raise ConfigError(str(path), sorted(unknown)[0], "unknown key (expected [[sources]] tables)")
    tables = data.get("sources", [])
    if not isinstance(tables, list):
        raise ConfigError(str(path), "sources", "expected [[sources]] tables")
    sources, seen, feeds = [], set(), {}
    for i, table in enumerate(tables):
        where = f"sources[{i}]"
        if not isinstance(table, dict):
            raise ConfigError(str(path), where, "expected a table")
        for key in ("id", "url", "name"):
            if key not in table:
                raise ConfigError(str(path), f"{where}.{key}", "missing (required)")
        table = {"poll_minutes": default_poll_minutes, **table}
        source = build(Source, table, str(path), where)
        where = f"{where} (id {source.id!r})"
        if not SOURCE_ID.match(source.id) or source.id == "seed":
            raise ConfigError(str(path), f"{where}.id", "use lowercase letters, digits, - _ .")
        if source.id in seen:
            raise ConfigError(str(path), f"{where}.id", "duplicate id")
        if not re.match(r"^https?://[^/\s]+", source.url):
            raise ConfigError(str(path), f"{where}.url", f"not an http(s) URL: {source.url!r}")
        if (source.min_minutes or 0) > (source.max_minutes or float("inf")):
            raise ConfigError(str(path), f"{where}.min_minutes", "must not be above max_minutes")
        if source.lang not in ("en", "ja"):
            raise ConfigError(str(path), f"{where}.lang", f"expected 'en' or 'ja', got {source.lang!r}")
        feed = source.url.strip().rstrip("/").lower()
        if feed in feeds:  # each item would be the first one's, and the feed fetched twice
            raise ConfigError(str(path), f"{where}.url", f"the same feed as {feeds[feed]!r}")
        seen.add(source.id)
        feeds[feed] = source.id
        sources.append(source)
    return tuple(sources)


def _check_time(time: str, timezone: str, file: str, where: str) -> None:
    if not re.fullmatch(r"([01]?\d|2[0-3]):[0-5]\d(:[0-5]\d)?", time):
        key = "housekeeping_time" if where == "storage" else "time"
        raise ConfigError(file, f"{where}.{key}", f"expected HH:MM (or HH:MM:SS), got {time!r}")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(file, f"{where}.timezone", f"unknown time zone {timezone!r}") from None


def read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(str(path), "(file)", "not found (set --config or TECHWATCH_CONFIG)") from None
    except OSError as e:
        raise ConfigError(str(path), "(file)", f"cannot read: {e.strerror}") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(str(path), "(syntax)", f"invalid TOML: {e}") from None
    except UnicodeDecodeError:
        raise ConfigError(str(path), "(file)", "not UTF-8 text") from None


CENTURY = {"_days": 36_500, "_hours": 876_000, "_minutes": 52_560_000,
           "_seconds": 3_153_600_000}  # longer durations overflow date arithmetic


def build(cls: type, table: Mapping[str, Any], file: str, prefix: str) -> Any:
    """Build dataclass `cls` from a TOML table, checking each key's name, type and range."""
    hints = typing.get_type_hints(cls)
    names = {f.name for f in fields(cls)}
    values = {}
    for key, value in table.items():
        where = f"{prefix}.{key}"
        if key not in names:
            raise ConfigError(file, where, "unknown key")
        values[key] = _check_type(value, hints[key], file, where)
        if key in POSITIVE and values[key] <= 0:
            raise ConfigError(file, where, f"must be greater than 0, got {value!r}")
        if isinstance(values[key], int | float) and values[key] < 0:
            raise ConfigError(file, where, f"must not be negative, got {value!r}")
        if key == "tick_seconds" and values[key] < 1:
            raise ConfigError(file, where, f"must be at least 1 (a second), got {value!r}")
        longest = next((n for unit, n in CENTURY.items() if key.endswith(unit)), None)
        if longest is not None and values[key] > longest:
            raise ConfigError(file, where, f"must be at most {longest:g} (a century), "
                                           f"got {value!r}")
    return cls(**values)


def _check_type(value: Any, expected: Any, file: str, where: str) -> Any:
    args = typing.get_args(expected)
    if typing.get_origin(expected) is tuple:  # tuple[str, ...] from a TOML list of strings
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(file, where, f"expected a list of strings, got {value!r}")
        return tuple(value)
    if type(None) in args:  # X | None: TOML has no null, so a present value is an X
        expected = next(a for a in args if a is not type(None))
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if expected is float and isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(file, where, f"expected a finite number, got {value!r}")
    ok = isinstance(value, expected) and not (expected is int and isinstance(value, bool))
    if not ok:
        raise ConfigError(file, where, f"expected {_type_name(expected)}, got {value!r}")
    return value


def _type_name(t: Any) -> str:
    return {str: "a string", int: "an integer", float: "a number", bool: "true or false"}.get(
        t, getattr(t, "__name__", str(t)))


def _table(main: Mapping[str, Any], name: str, path: Path) -> Mapping[str, Any]:
    value = main.get(name, {})
    if not isinstance(value, dict):
        raise ConfigError(str(path), name, "expected a table ([" + name + "])")
    return value


def _string(main: Mapping[str, Any], key: str, default: str, path: Path) -> str:
    value = main.get(key, default)
    if not isinstance(value, str) or not value:
        raise ConfigError(str(path), key, f"expected a file path string, got {value!r}")
    return value
