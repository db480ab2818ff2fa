"""The fixture news site, served by a real local server, with helpers to look into the archive."""

from __future__ import annotations

import json
import re
import tomllib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sitesrv import FIXTURES, Reply, Site

MANIFEST = tomllib.loads((FIXTURES / "MANIFEST.toml").read_text(encoding="utf-8"))
FEED_TYPES = {".xml": "application/rss+xml", ".rdf": "application/rdf+xml"}
GOOD_FEEDS = ("en-rss2.xml", "en-atom.xml", "ja-rss1-sjis.rdf", "ja-eucjp-undeclared.xml")


def serve_news_site(site: Site) -> None:
    """Every fixture page, and the feeds with different validators: ETag, Last-Modified, and a
    server that ignores validators (same bytes every time)."""
    for page in MANIFEST["articles"]:
        charset = "" if page["encoding"] != "utf-8" else "; charset=utf-8"
        site.serve_fixture(page["path"], page["path"].lstrip("/"), "text/html" + charset)
    validators = {
        "en-rss2.xml": {"ETag": '"rss-1"'},
        "en-atom.xml": {"Last-Modified": "Sat, 21 Nov 2026 10:00:00 GMT"},
        "ja-rss1-sjis.rdf": {"ETag": '"rdf-1"', "Last-Modified": "Sat, 21 Nov 2026 09:00:00 GMT"},
        "ja-eucjp-undeclared.xml": {},  # no validators: the body hash saves the parsing
    }
    for name in GOOD_FEEDS:
        content_type = "text/xml" if name.startswith("ja-euc") else \
            FEED_TYPES[Path(name).suffix]
        site.serve_fixture(f"/feeds/{name}", f"feeds/{name}", content_type,
                           headers=validators[name])


def news_sources(site: Site, names=GOOD_FEEDS) -> list[dict]:
    return [{"id": Path(n).stem, "name": f"Fixture {Path(n).stem}", "url": site.url(f"/feeds/{n}"),
             "lang": "ja" if n.startswith("ja") else "en"} for n in names]


def database(config: Path) -> str:
    """The archive's URL a config names."""
    return tomllib.loads(config.read_text(encoding="utf-8"))["storage"]["database"]


def engine_of(config: Path) -> sa.Engine:
    """An engine on a config's archive (no pool: nothing stays connected after a query)."""
    from bot.store.database import archive_file

    url = database(config)
    file = archive_file(url)
    if file is not None and not file.exists():
        raise FileNotFoundError(file)  # SQLite would create an empty file under the bot
    return sa.create_engine(url, poolclass=sa.pool.NullPool)


def statement(sql: str, *args) -> sa.TextClause:
    """SQL with `?` placeholders as a statement of either dialect: each argument a typed bound
    value (a naive UTC datetime compares as the archive stores one), colons literal."""
    names = iter(range(len(args)))
    text = re.sub(r"\?", lambda _: f":p{next(names)}", sql.replace(":", "\\:"))
    return sa.text(text).bindparams(*(sa.bindparam(f"p{i}", v) for i, v in enumerate(args)))


def query(config: Path, sql: str, *args) -> list[tuple]:
    """Rows of the config's archive as its driver returns them (SQLite: dates and JSON as text,
    booleans as 0/1; PostgreSQL: datetimes, parsed JSON, booleans): `when` and `parsed` read
    either."""
    engine = engine_of(config)
    try:
        with engine.connect() as db:
            return [tuple(row) for row in db.execute(statement(sql, *args))]
    finally:
        engine.dispose()


def when(value: str | datetime) -> datetime:
    """A stored datetime, aware UTC."""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.replace(tzinfo=UTC)


def parsed(value: Any) -> Any:
    """A stored JSON value, parsed."""
    return json.loads(value) if isinstance(value, str) else value


def article_paths() -> list[str]:
    return [a["path"] for a in MANIFEST["articles"]]


def serve_corpus_site(site: Site, bench_dir: Path, count: int) -> list[str]:
    """Real article pages of the extraction benchmark (read in place) behind an RSS feed with an
    ETag; returns the article paths."""
    import gzip
    import json
    from datetime import UTC, datetime, timedelta
    from email.utils import format_datetime
    from html import escape

    truth = json.loads((bench_dir / "ground-truth.json").read_text(encoding="utf-8"))
    paths, items = [], []
    start = datetime(2026, 11, 21, tzinfo=UTC)
    for i, page_id in enumerate(sorted(truth)[:count]):
        path = f"/news/{page_id[:16]}.html"
        html = gzip.decompress((bench_dir / "html" / f"{page_id}.html.gz").read_bytes())
        site.route(path, Reply(body=html, headers={"Content-Type": "text/html; charset=utf-8"}))
        paths.append(path)
        title = escape(truth[page_id]["articleBody"].split("\n")[0][:90])
        date = format_datetime(start - timedelta(hours=i))
        items.append(f"<item><title>{title}</title><link>{site.url(path)}</link>"
                     f"<pubDate>{date}</pubDate></item>")
    feed = ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Bench'
            "</title>" + "".join(items) + "</channel></rss>").encode()
    site.route("/bench.xml", Reply(body=feed, headers={"Content-Type": "application/rss+xml",
                                                       "ETag": '"bench-1"'}))
    return paths
