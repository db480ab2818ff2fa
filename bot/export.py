"""`techwatch export`: the archive as JSON Lines or CSV (the labeled corpus's fields, so an export
can be labeled and scored with `techwatch eval`), or its raw pages as a WARC file.

Rows are streamed from the database and written one at a time: memory stays flat. A reader that
goes away (`| head`) ends the export quietly."""

from __future__ import annotations

import argparse
import contextlib
import csv
import gzip
import io
import json
import logging
import os
import sys
import zlib
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from http import HTTPStatus
from typing import IO, TYPE_CHECKING, Any

from bot import __version__
from bot.app import App
from bot.digest import why
from bot.errors import TechwatchError
from bot.models import ArticleView
from bot.since import parse_since
from bot.store.reports import export_rows
from bot.store.rows import outlet

if TYPE_CHECKING:
    from warcio.statusandheaders import StatusAndHeaders

log = logging.getLogger("techwatch")

FIELDS = ("id", "url", "title", "text", "lang", "published", "relevant", "borderline", "topics",
          "event", "why", "source", "source_name", "first_seen", "score", "story_id",
          "extraction_status", "canonical_url")


def cmd_export(app: App, args: argparse.Namespace) -> int:
    since = parse_since(args.since, app.now()) if args.since else None
    if args.topic and args.topic not in app.classifier.taxonomy.ids:
        raise TechwatchError(f"unknown topic {args.topic!r}; topics: "
                             + ", ".join(app.classifier.taxonomy.ids))
    if args.format == "warc" and not args.output:
        raise TechwatchError("export: --format warc needs --output FILE (a WARC file is binary)")
    filters = {"since": since, "topic": args.topic, "relevant_only": args.relevant_only,
               "seeds": args.include_seeds}
    try:
        with _open_output(args.output, binary=args.format == "warc") as out, \
                app.archive.engine.connect() as db:
            if args.format == "warc":
                rows = export_rows(db, raw=True, **filters)
                written, skipped = write_warc(out, rows, app.now())
            else:
                rows = export_rows(db, **filters)
                write = write_jsonl if args.format == "jsonl" else write_csv
                written, skipped = write(out, (article_record(r) for r in rows)), 0
            out.flush()
    except BrokenPipeError:
        raise  # the reader went away: `main` ends quietly
    except OSError as e:
        raise TechwatchError(f"export: cannot write {args.output or 'standard output'}: "
                             f"{e.strerror or e}") from None
    print(summary(written, skipped), file=sys.stderr)
    return 0


def summary(written: int, skipped: int) -> str:
    line = f"exported {written} article{'s' if written != 1 else ''}"
    if skipped:
        line += f"; {skipped} without a raw page skipped"
    return line


# --- records: pure ------------------------------------------------------------------------

def article_record(row: Any) -> dict[str, Any]:
    """One archived article in the labeled corpus's shape (id, url, title, text, lang, published,
    relevant, borderline, topics, event, why) plus the archive's own fields. `relevant`, `topics`
    and `why` are the classifier's judgement: a labeler corrects them; `event` is the story."""
    return {
        "id": f"tw-{row.id}", "url": row.url, "title": row.title,
        "text": row.text or row.summary or "", "lang": row.lang,
        "published": f"{row.published:%Y-%m-%d}" if row.published else None,
        "relevant": bool(row.relevant), "borderline": False, "topics": list(row.topics or ()),
        "event": f"story-{row.story}", "why": evidence_summary(row),
        "source": row.source_id,
        "source_name": outlet(row),
        "first_seen": row.first_seen.isoformat(), "score": row.score,
        "story_id": row.story, "extraction_status": row.extraction_status or row.state,
        "canonical_url": row.canonical_url}


def evidence_summary(row: Any) -> str:
    """The digest's "why" line (actors, topic terms, cues), or "" when nothing was found."""
    evidence = {k: tuple(v) for k, v in (row.evidence or {}).items()}
    signals = row.signals or {}
    actors = {k: tuple(v) for k, v in signals.get("actors", {}).items()}
    cues = tuple(signals.get("cues", ()))
    category = signals.get("category")
    topics = tuple(row.topics or ())
    if not (actors.get("us") or actors.get("japan") or cues or category  # what `why` reads
            or any(evidence.get(t) for t in topics[:2])):
        return ""
    view = ArticleView(
        id=row.id, source_id=row.source_id, source_name="", url=row.url, title=row.title,
        lang=row.lang, published=row.published, first_seen=row.first_seen, score=row.score or 0.0,
        relevant=bool(row.relevant), topics=topics, evidence=evidence,
        extraction_status="", actors=actors, cues=cues, category=category)
    return why(view)


def csv_row(record: dict[str, Any]) -> dict[str, str]:
    """A record as CSV cells: topics joined with ";", booleans as in JSON, None as empty."""
    def cell(value: Any) -> str:
        if value is None:
            return ""
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, list):
            return ";".join(value)
        return str(value)

    return {k: cell(v) for k, v in record.items()}


# --- writers: the edge --------------------------------------------------------------------

def write_jsonl(out: IO[str], records: Iterable[dict[str, Any]]) -> int:
    count = 0
    for record in records:
        out.write(json.dumps(record, ensure_ascii=False) + "\n")
        count += 1
    return count


def write_csv(out: IO[str], records: Iterable[dict[str, Any]]) -> int:
    writer = csv.DictWriter(out, fieldnames=FIELDS)
    writer.writeheader()
    count = 0
    for record in records:
        writer.writerow(csv_row(record))
        count += 1
    return count


def write_warc(out: IO[bytes], rows: Iterable[Any], now: datetime) -> tuple[int, int]:
    """A warcinfo record, then one `response` record per article with a stored page (the HTTP
    head rebuilt from the status and content type kept). Returns (written, skipped)."""
    from warcio.warcwriter import WARCWriter

    writer = WARCWriter(out, gzip=True)
    info = writer.create_warcinfo_record(os.path.basename(getattr(out, "name", "")), {
        "software": f"techwatch {__version__}", "format": "WARC File Format 1.0",
        "description": "raw article pages of a techwatch archive"})
    info.rec_headers.replace_header("WARC-Date", warc_date(now))
    writer.write_record(info)
    written = skipped = 0
    for row in rows:
        body = _page(row)
        if body is None:
            skipped += 1
            continue
        record = writer.create_warc_record(
            row.fetched_url, "response", payload=io.BytesIO(body), length=len(body),
            http_headers=http_head(row.http_status, row.content_type, len(body)),
            warc_headers_dict={"WARC-Date": warc_date(row.fetched_at),
                               "Techwatch-Article-Id": f"tw-{row.id}"})
        writer.write_record(record)
        written += 1
    return written, skipped


def _page(row: Any) -> bytes | None:
    """The stored page, or None: none was kept (feed-only, pruned) or it does not decompress
    (BadGzipFile is an OSError: uncaught, it would read as a failure to write the output)."""
    if row.html_gz is None:
        return None
    try:
        return gzip.decompress(row.html_gz)
    except (OSError, EOFError, zlib.error) as e:
        log.warning("export: raw page of tw-%s skipped: %s", row.id, e)
        return None


def http_head(status: int | None, content_type: str | None, length: int) -> StatusAndHeaders:
    """The response head as far as the archive knows it: the body is stored decoded, so there is
    no Content-Encoding; a page kept without a status was a success."""
    from warcio.statusandheaders import StatusAndHeaders

    code = status or 200
    try:
        reason = HTTPStatus(code).phrase
    except ValueError:
        reason = ""
    headers = [("Content-Type", content_type)] if content_type else []
    headers.append(("Content-Length", str(length)))
    return StatusAndHeaders(f"{code} {reason}".strip(), headers, protocol="HTTP/1.1")


def warc_date(value: datetime) -> str:
    return f"{value.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}"


@contextlib.contextmanager
def _open_output(path: str | None, *, binary: bool) -> Iterator[IO[Any]]:
    """FILE, or standard output (left open for the rest of the program)."""
    if path is None:
        yield sys.stdout
        return
    if binary:
        with open(path, "wb") as f:
            yield f
    else:
        with open(path, "w", encoding="utf-8", newline="") as f:
            yield f
