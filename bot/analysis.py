"""Everything CPU-bound about one article, as pure functions: its page's extraction, its
classification and date, its story signature and terms, and its raw page compressed.

A `PageJob` runs in an extraction worker (bot.extract.pool) and returns one picklable
`ArticleResult`; the main process only fetches and writes. What a worker needs besides the page
(the classifier, the glossary, the settings) is an `Analyst`, sent to each worker once."""

from __future__ import annotations

import gzip
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from bot.classify import Classifier
from bot.feeds import identity
from bot.models import Classification, ExtractedText, PendingArticle
from bot.stories.events import StoryTerms, story_terms
from bot.stories.glossary import Glossary
from bot.stories.minhash import signature

USABLE = {"full", "teaser"}
EARLIEST_NEWS = datetime(1995, 1, 1, tzinfo=UTC)  # before, a date is a CMS's placeholder
RAW_LEVEL = 3  # gzip level of archived pages: on the bench 2.2x faster than 6, 12 % larger


@dataclass(frozen=True, slots=True)
class Analyst:
    """What judging an article takes besides its page: built once, sent once to each worker."""

    classifier: Classifier
    glossary: Glossary | None
    min_chars: int = 250
    max_elements: int = 50_000
    keep_raw: bool = True


@dataclass(frozen=True, slots=True)
class FetchedPage:
    url: str  # the final URL, after redirects
    status: int
    content_type: str
    body: bytes
    charset: str | None = None


@dataclass(frozen=True, slots=True)
class RawPage:
    """The fetched page as archived (compressed)."""

    url: str
    status: int
    content_type: str
    html_gz: bytes


@dataclass(frozen=True, slots=True)
class StoryInput:
    """What an article is grouped by."""

    signature: tuple[int, ...]  # MinHash of title and text
    terms: StoryTerms
    # item keys of its final URL and its own site's canonical: an archived article's is the page
    exact_keys: tuple[str, ...] = ()
    page_url: str | None = None  # where its page is, when its link was another URL (a redirect)


@dataclass(frozen=True, slots=True)
class ArticleResult:
    """One article, judged and ready to be written."""

    article: PendingArticle  # its title the page's when it was known by its URL only
    extracted: ExtractedText
    classification: Classification
    text: str  # the text kept ("" when unusable: the feed summary stands for it)
    published: datetime
    date_source: str  # "feed", "page" or "first_seen"
    story: StoryInput
    raw: RawPage | None = None  # None: no page, or not kept
    page_title: str | None = None  # replaces the stored title (an article known by its URL)
    extractor_version: str | None = None  # what extracted its page (None: no page)


@dataclass(frozen=True, slots=True)
class PageJob:
    """Extract and judge one fetched page: run in a worker, with the worker's Analyst."""

    article: PendingArticle
    page: FetchedPage
    now: datetime

    def __call__(self, analyst: Analyst) -> ArticleResult:
        from bot.extract.page import EXTRACTOR_VERSION, extract_page  # the workers' only

        page = self.page
        extracted = extract_page(page.body, page.url, content_type=page.content_type,
                                 charset=page.charset, now=self.now,
                                 min_chars=analyst.min_chars, max_elements=analyst.max_elements)
        return analyse(analyst, self.article, extracted, page, EXTRACTOR_VERSION)


def analyse(analyst: Analyst, article: PendingArticle, extracted: ExtractedText,
            page: FetchedPage | None = None, extractor_version: str | None = None) -> ArticleResult:
    """Judge an article from what was made of its page (or of its feed summary alone)."""
    page_title = extracted.title if extracted.title and article.title == article.url else None
    if page_title:  # known by its URL only (added, backfilled): judged by the page's title
        article = replace(article, title=page_title)
    text = extracted.text if extracted.status in USABLE else ""
    if not text and extracted.status != "feed_only":
        extracted = with_note(extracted, "text unusable: kept the feed summary")
    classification = analyst.classifier.classify(article.title, text or article.summary,
                                                 extracted.lang or article.lang)
    published, date_source = choose_date(article.feed_published, extracted.page_date,
                                         article.first_seen)
    story = story_input(article, text, page.url if page else None, extracted.canonical_url,
                        published if date_source != "first_seen" else None, analyst.glossary)
    raw = RawPage(page.url, page.status, page.content_type,
                  gzip.compress(page.body, RAW_LEVEL)) if page and analyst.keep_raw else None
    return ArticleResult(article, extracted, classification, text, published, date_source,
                         story, raw, page_title, extractor_version if page else None)


def story_input(article: PendingArticle, text: str, final_url: str | None,
                canonical: str | None, published: datetime | None,
                glossary: Glossary | None) -> StoryInput:
    """What finds its story: the same page, reached by a redirect or named by rel=canonical or
    og:url on its own site (a canonical naming another site's page is a claim: a copy's text
    or the event's words must agree); a syndicated copy; or another report of the same event
    (`published`: None when neither feed nor page gave a date; when it was first seen says
    nothing of an old page)."""
    page = final_url or article.url
    own = canonical if canonical and identity.same_site(canonical, page) else None
    urls = [identity.canonical_url(u) for u in (own, final_url) if u and u.startswith("http")]
    urls = [u for u in dict.fromkeys(urls) if u != identity.canonical_url(article.url)] \
        if text else []  # a login or consent page is nobody's page
    body = text or article.summary
    return StoryInput(signature(f"{article.title}\n{body}"),
                      story_terms(article.title, body, published and published.date(),
                                  glossary),
                      tuple(identity.item_keys(article.source_id, u, None)[0] for u in urls),
                      urls[0] if urls else None)


def choose_date(feed: datetime | None, page: datetime | None,
                first_seen: datetime) -> tuple[datetime, str]:
    """The feed's date when it has one (and it is neither in the future nor a placeholder such
    as 1970-01-01), else the page's, else when we first saw the item; the second value says
    which."""
    if feed and EARLIEST_NEWS <= feed <= first_seen + timedelta(days=1):
        return feed, "feed"
    if page and page >= EARLIEST_NEWS:
        return page, "page"
    return first_seen, "first_seen"


def with_note(extracted: ExtractedText, note: str) -> ExtractedText:
    joined = f"{extracted.note}; {note}" if extracted.note else note
    return replace(extracted, note=joined)
