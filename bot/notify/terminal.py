"""Digest and search results on a terminal (rich), for use without Slack."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from datetime import UTC

from rich.console import Console
from rich.markup import escape as markup_escape
from rich.table import Table

from bot.digest import Digest, StoryUpdate, more_line, why
from bot.models import ArticleView
from bot.untrusted import CONTROL


def escape(text: str) -> str:
    """Archived text as inert terminal output: no markup, no escape sequences."""
    return markup_escape(CONTROL.sub("", text))


class _Console(Console):
    def on_broken_pipe(self) -> None:
        """The reader went away (`| head`): the command ends quietly with 0, as it does when it
        prints without rich (rich's own choice is exit 1)."""
        self.quiet = True
        raise BrokenPipeError


def console() -> Console:
    """A terminal's own width; when piped, wide enough that tables and links are not folded."""
    return _Console(soft_wrap=True, width=None if sys.stdout.isatty() else 200)


def print_digest(digest: Digest, console: Console) -> None:
    period = f"{digest.since:%Y-%m-%d %H:%M} – {digest.until:%Y-%m-%d %H:%M} UTC"
    stories = "1 story" if digest.total == 1 else f"{digest.total} stories"
    updated = digest.updated
    more = more_line(digest, UTC)
    console.rule(f"[bold]techwatch digest[/] · {stories} · "
                 + ("[bold red]no source reached[/] · " if digest.notice else "")
                 + (f"{len(updated)} updated · " if updated else "")
                 + (f"+{len(digest.more)} more · " if more else "") + escape(period))
    if digest.notice:
        console.print(f"[bold red]No news could be fetched:[/] {escape(digest.notice)}")
    if not digest.total and not updated:
        if not digest.notice:
            console.print("No new relevant stories in this period.")
        return
    for section in digest.sections:
        console.print(f"\n[bold underline]{escape(section.title)}[/] ({len(section.articles)})")
        for article in section.articles:
            print_article(article, console)
    if updated:
        console.print(f"\n[bold underline]Updated stories[/] ({len(updated)})")
        for update in updated:
            print_update(update, console)
    if more:  # past the digest's limit: said, and listed a line each (they are not held over)
        console.print(f"\n[bold]{more}[/], one line each:")
        for article in digest.more:
            also = f" +{len(article.also)}" if article.also else ""
            console.print(f"• {escape(article.title)} · {escape(article.source_name)}{also} · "
                          f"{_shown_link(article.url)}", soft_wrap=True)


def print_update(update: StoryUpdate, console: Console) -> None:
    """A story of an earlier digest and the outlets that reported it since."""
    console.print(f"• [bold]{escape(update.lead.title)}[/] · {_shown_link(update.lead.url)}",
                  soft_wrap=True)
    outlets = ", ".join(f"+{escape(a.source_name)}" for a in update.outlets)
    console.print(f"  updated: {outlets}", soft_wrap=True)
    for article in update.outlets:
        console.print(f"  [dim]{escape(article.source_name)}: {_shown_link(article.url)}[/]",
                      soft_wrap=True)


def print_article(article: ArticleView, console: Console) -> None:
    date = f"{article.published:%Y-%m-%d}" if article.published else "undated"
    console.print(f"• [bold]{escape(article.title)}[/]")
    also = f" · also: {escape(', '.join(article.also))}" if article.also else ""
    console.print(f"  {escape(article.source_name)}{also} · {date} · score {article.score:.2f}"
                  f" · {_shown_link(article.url)}", soft_wrap=True)
    console.print(f"  [dim]why: {escape(why(article))}[/]", soft_wrap=True)


def print_search(results: Sequence[ArticleView], console: Console) -> None:
    if not results:
        console.print("No archived article matches.")
        return
    table = Table(show_lines=False, expand=True)
    for column in ("#", "date", "source", "title", "topics"):
        table.add_column(column, overflow="fold")
    for i, a in enumerate(results, 1):
        date = f"{a.published:%Y-%m-%d}" if a.published else ""
        also = f", also: {escape(', '.join(a.also))}" if a.also else ""
        story = f"\n[dim]story of {a.members} articles{also}[/]" if a.members > 1 else ""
        table.add_row(str(i), date, escape(a.source_name), escape(a.title) + "\n[dim]" +
                      _shown_link(a.url) + "[/]" + story, ", ".join(a.topics))
    console.print(table)


def _shown_link(url: str) -> str:
    """An item a feed gave no link is archived under its own urn: nothing to open; a seed
    document (seed:NAME) is the product's own reference text."""
    if url.startswith(("http://", "https://")):
        return escape(url)
    if url.startswith("seed:"):
        return f"(seed document {escape(url.removeprefix('seed:'))}, shipped with techwatch)"
    return "(no link in the feed)"
