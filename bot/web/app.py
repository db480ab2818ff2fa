"""The archive's read-only web pages as a WSGI application: Werkzeug routes and answers,
Jinja2 renders (autoescape everywhere: article text is untrusted), no JavaScript. Every
answer carries a strict Content-Security-Policy; a stored third-party page is only ever a
download. Who may read is bot.web.auth's; what each page holds is bot.web.queries'."""

from __future__ import annotations

import gzip
import json
import logging
import secrets
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from importlib import resources
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup
from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from bot.digest import lead_sentences, why
from bot.errors import SettingError
from bot.untrusted import CONTROL
from bot.web import auth, queries
from bot.web.atom import search_feed
from bot.web.query import BadQuery, SearchRequest, parse_period, parse_request

if TYPE_CHECKING:
    from bot.app import App

log = logging.getLogger("techwatch")

PAGE = 20  # search results a page
CSP = ("default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'")
HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff",
           "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY",
           "Cross-Origin-Opener-Policy": "same-origin"}
SESSION_COOKIE = "techwatch_session"
SIGN_IN_COOKIE = "techwatch_sign_in"
GET = ("GET", "HEAD")
PUBLIC = ("/static/", "/auth/slack")  # answered before anyone signs in (a stylesheet, signing in)

ROUTES = Map([
    Rule("/", endpoint="index", methods=GET),
    Rule("/search", endpoint="search", methods=GET),
    Rule("/search.atom", endpoint="search_atom", methods=GET),
    Rule("/stories/<int:story_id>", endpoint="story", methods=GET),
    Rule("/articles/<int:article_id>", endpoint="article", methods=GET),
    Rule("/articles/<int:article_id>/raw", endpoint="article_raw", methods=GET),
    Rule("/sources", endpoint="sources", methods=GET),
    Rule("/trends", endpoint="trends", methods=GET),
    Rule("/trends.svg", endpoint="trends_svg", methods=GET),
    Rule("/api/search", endpoint="api_search", methods=GET),
    Rule("/api/stories/<int:story_id>", endpoint="api_story", methods=GET),
    Rule("/api/articles/<int:article_id>", endpoint="api_article", methods=GET),
    Rule("/api/sources", endpoint="api_sources", methods=GET),
    Rule("/static/<name>", endpoint="static", methods=GET),
    Rule("/auth/slack", endpoint="slack_sign_in", methods=GET),
    Rule("/auth/slack/callback", endpoint="slack_callback", methods=GET),
], strict_slashes=False)


def web_link(url: str) -> bool:
    """Only an http(s) URL becomes a link: javascript:, data: and the rest stay text."""
    return urlsplit(url.strip()).scheme.lower() in ("http", "https") and "://" in url


def shown(text: Any) -> str:
    """Untrusted text without control and bidi characters (Jinja escapes the rest)."""
    return CONTROL.sub("", str(text)) if text is not None else ""


def when(moment: datetime | None, style: str = "minute") -> str:
    if moment is None:
        return "–"
    return f"{moment:%Y-%m-%d}" if style == "day" else f"{moment:%Y-%m-%d %H:%M} UTC"


def templates() -> Environment:
    env = Environment(loader=PackageLoader("bot.web", "templates"),
                      autoescape=select_autoescape(default=True, default_for_string=True),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters.update(shown=shown, when=when, why=why,
                       lead=lambda a: lead_sentences(a.text_head, a.title))
    env.tests["web_link"] = web_link
    return env


class Access:
    """Who may read: nobody is asked (None method), HTTP basic against the password list, or
    a signed session from Sign in with Slack."""

    def __init__(self, method: str, env: Mapping[str, str], *, api_url: str = "",
                 public_url: str = "", team: Callable[[], str | None] = lambda: None) -> None:
        self.method = method
        if method == "password" and not env.get(auth.ENV_PASSWORDS):
            raise SettingError(f"web: [web] auth = \"password\" needs {auth.ENV_PASSWORDS} "
                               "(comma-separated name:password entries)")
        self.passwords = auth.parse_passwords(env.get(auth.ENV_PASSWORDS, "")) \
            if method == "password" else ()
        self.slack = auth.slack_app(env) if method == "slack" else None
        self.secret = auth.session_secret(env)
        self.api_url, self.public_url = api_url, public_url.rstrip("/")
        self.secure = public_url.startswith("https://")
        self._team, self._team_id = team, None

    def team(self) -> str | None:
        """The bot's workspace (auth.test), asked once it is needed and kept once known."""
        if self._team_id is None:
            self._team_id = self._team()
        return self._team_id

    def reader(self, request: Request) -> str | None:
        """Who is asking, if let in ("" on loopback without auth)."""
        if not self.method:
            return ""
        if self.method == "password":
            given = request.authorization
            if given is None or given.type != "basic":
                return None
            user, password = given.username or "", given.password or ""
            if not auth.check_password(user, password, self.passwords):
                return None
            return user or "reader"
        session = auth.unsign(request.cookies.get(SESSION_COOKIE, ""), self.secret, time.time())
        if session is None:
            return None
        return str(session.get("user") or "reader")


class WebApp:
    def __init__(self, app: App, access: Access) -> None:
        self.app, self.access = app, access
        self.env = templates()
        self.trend_cache = queries.TrendCache(app)
        self.page_size = PAGE
        self.css = resources.files("bot.web").joinpath("static/style.css").read_bytes()

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        request = Request(environ)
        response = self.respond(request)
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        return response(environ, start_response)

    def respond(self, request: Request) -> Response:
        api = request.path.startswith("/api/")
        try:
            if not request.path.startswith(PUBLIC) and self.access.reader(request) is None:
                return self.unauthorized(request, api)  # not even whether a page exists
            endpoint, values = ROUTES.bind_to_environ(request.environ).match()
            return getattr(self, f"page_{endpoint}")(request, **values)
        except BadQuery as e:
            return self.problem(request, 400, str(e), api)
        except HTTPException as e:
            if e.response is not None:  # a redirect (a missing slash)
                return e.response
            response = self.problem(request, e.code or 500, e.description or e.name, api)
            if e.code == 405:
                response.headers["Allow"] = "GET, HEAD"
            return response
        except Exception as e:  # noqa: BLE001 -- one page failed: said in one line, served on
            log.error("web: %s %s failed (%s: %s)", request.method, request.path[:200],
                      type(e).__name__, str(e)[:200])
            log.debug("web: the failure in full", exc_info=True)
            return self.problem(request, 500, "the archive could not be read; try again", api)

    # --- answers ---------------------------------------------------------------------------

    def render(self, template: str, code: int = 200, **values: Any) -> Response:
        html = self.env.get_template(template).render(**values)
        return Response(html, code, content_type="text/html; charset=utf-8")

    def json(self, value: Any, status: int = 200) -> Response:
        return Response(json.dumps(value, ensure_ascii=False), status,
                        content_type="application/json; charset=utf-8")

    def problem(self, request: Request, status: int, message: str, api: bool) -> Response:
        if api:
            return self.json({"error": message, "status": status}, status)
        return self.render("error.html", status, status=status, message=message,
                           query=request.args.get("q", ""))

    def unauthorized(self, request: Request, api: bool) -> Response:
        if self.access.method == "password":
            response = self.problem(request, 401, "sign in with your name and password", api)
            response.headers["WWW-Authenticate"] = 'Basic realm="techwatch", charset="UTF-8"'
            return response
        if api:
            return self.problem(request, 401, "sign in with Slack first, at /auth/slack", api)
        target = urlencode({"next": request.full_path.rstrip("?")})
        response = self.render("signin.html", 401, next=f"/auth/slack?{target}")
        response.headers["WWW-Authenticate"] = 'Bearer realm="techwatch"'  # a cookie, really
        return response

    # --- pages -----------------------------------------------------------------------------

    def page_index(self, request: Request) -> Response:
        value = request.args.get("since", "").strip()
        start, label = parse_period(value, self.app.now())
        front = queries.front_page(self.app, value, start, label)
        return self.render("index.html", front=front, taxonomy=self.app.classifier.taxonomy)

    def search_request(self, request: Request) -> SearchRequest:
        return parse_request(request.args, self.app.classifier.taxonomy.ids, self.app.now())

    def run_search(self, wanted: SearchRequest) -> tuple[list, bool]:
        found = self.app.archive.search(wanted.words, topic=wanted.topic, since=wanted.since,
                                        lang=wanted.lang, limit=self.page_size + 1,
                                        offset=(wanted.page - 1) * self.page_size)
        return found[:self.page_size], len(found) > self.page_size

    def page_search(self, request: Request) -> Response:
        if not request.args.get("q", "").strip():  # the empty form: nothing asked yet
            return self.render("search.html", wanted=None, results=[], more=False,
                               topics=self.topic_choices())
        wanted = self.search_request(request)
        results, more = self.run_search(wanted)
        return self.render("search.html", wanted=wanted, results=results, more=more,
                           topics=self.topic_choices(), first=(wanted.page - 1) * self.page_size)

    def page_search_atom(self, request: Request) -> Response:
        wanted = self.search_request(request)
        results, _ = self.run_search(wanted)
        base = self.base_url(request)
        xml = search_feed(results, title=f"techwatch: {wanted.words}",
                          self_url=f"{base}/search.atom?{wanted.query_string(wanted.page)}",
                          page_url=f"{base}/search?{wanted.query_string(wanted.page)}",
                          base_url=base, now=self.app.now())
        return Response(xml, content_type="application/atom+xml; charset=utf-8")

    def page_story(self, request: Request, story_id: int) -> Response:
        page = queries.story_page(self.app, story_id)
        if page is None:
            return self.moved_or_missing(story_id, "/stories/{}")
        return self.render("story.html", story=page)

    def moved_or_missing(self, article_id: int, path: str) -> Response:
        """A report's id where its story's is wanted: the story's page; else 404."""
        story = queries.story_of(self.app, article_id)
        if story is None or story == article_id:
            raise NotFound(f"no story {article_id} in the archive")
        return Response(status=301, headers={"Location": path.format(story)})

    def page_article(self, request: Request, article_id: int) -> Response:
        page = queries.article_page(self.app, article_id)
        if page is None:
            raise NotFound(f"no article {article_id} in the archive")
        return self.render("article.html", article=page)

    def page_article_raw(self, request: Request, article_id: int) -> Response:
        """The stored page, only as a download: never rendered in this site's origin (its
        scripts would run here)."""
        kept = queries.raw_page(self.app, article_id)
        if kept is None:
            raise NotFound(f"no stored page for article {article_id}")
        body = gzip.decompress(kept[0])
        return Response(body, headers={
            "Content-Type": "application/octet-stream",
            "Content-Disposition": f'attachment; filename="techwatch-article-{article_id}.html"',
            "Content-Security-Policy": "default-src 'none'; sandbox",
            "Cache-Control": "private, no-store"})

    def page_sources(self, request: Request) -> Response:
        return self.render("sources.html", sources=queries.source_lines(self.app),
                           now=self.app.now())

    def page_trends(self, request: Request) -> Response:
        trends = self.trend_cache.get()
        return self.render("trends.html", stats=trends.stats, chart=Markup(trends.svg))

    def page_trends_svg(self, request: Request) -> Response:
        """The chart as an image of its own, to embed elsewhere (the page has it inline)."""
        from bot.web.chart import svg_chart

        response = Response(svg_chart(self.trend_cache.get().stats, standalone=True),
                            content_type="image/svg+xml; charset=utf-8")
        response.headers["Cache-Control"] = f"private, max-age={int(queries.TREND_SECONDS)}"
        return response

    def page_static(self, request: Request, name: str) -> Response:
        if name != "style.css":
            raise NotFound(f"no file {name[:60]}")
        response = Response(self.css, content_type="text/css; charset=utf-8")
        response.headers["Cache-Control"] = "public, max-age=3600"
        return response

    # --- the JSON API ----------------------------------------------------------------------

    def page_api_search(self, request: Request) -> Response:
        wanted = self.search_request(request)
        results, more = self.run_search(wanted)
        return self.json({
            "query": wanted.words, "topic": wanted.topic, "since": wanted.since_text,
            "lang": wanted.lang, "page": wanted.page,
            "next": f"/api/search?{wanted.query_string(wanted.page + 1)}" if more else None,
            "results": [{**queries.as_dict(a), "snippet": a.snippet, "story_size": a.members,
                         "also": list(a.also)} for a in results]})

    def page_api_story(self, request: Request, story_id: int) -> Response:
        page = queries.story_page(self.app, story_id)
        if page is None:
            return self.moved_or_missing(story_id, "/api/stories/{}")
        return self.json({
            "id": page.id, "title": page.lead.title, "lead": queries.as_dict(page.lead),
            "summary": page.summary, "why": page.why, "score": round(page.lead.score, 4),
            "topics": [{"id": t, "name": n} for t, n in page.topics],
            "articles": page.total, "reports": [queries.as_dict(a) for a in page.reports],
            "more": page.total - len(page.reports),
            "slack": [{"channel": m.channel, "kind": m.kind, "permalink": m.permalink,
                       "posted_at": m.posted_at.isoformat()} for m in page.messages]})

    def page_api_article(self, request: Request, article_id: int) -> Response:
        page = queries.article_page(self.app, article_id)
        if page is None:
            raise NotFound(f"no article {article_id} in the archive")
        raw = page.raw
        return self.json({
            **queries.as_dict(page.view), "state": page.state,
            "extraction_status": page.view.extraction_status,
            "extraction_note": page.extraction_note, "author": page.author,
            "date_source": page.date_source, "why": page.why, "text": page.text,
            "summary": page.summary,
            "raw": None if raw is None else {
                "url": f"/articles/{article_id}/raw", "fetched_url": raw.fetched_url,
                "http_status": raw.http_status, "content_type": raw.content_type,
                "fetched_at": raw.fetched_at.isoformat(), "stored_bytes": raw.size}})

    def page_api_sources(self, request: Request) -> Response:
        def iso(moment: datetime | None) -> str | None:
            return moment.isoformat() if moment else None

        return self.json({"sources": [
            {"id": s.id, "name": s.name, "url": s.url, "health": s.health, "status": s.status,
             "consecutive_errors": s.errors, "last_polled_at": iso(s.last_polled),
             "last_new_item_at": iso(s.last_new_item), "next_poll_at": iso(s.next_poll),
             "problem": s.problem or None} for s in queries.source_lines(self.app)]})

    # --- Sign in with Slack ------------------------------------------------------------------

    def page_slack_sign_in(self, request: Request) -> Response:
        slack = self.access.slack
        if slack is None:
            raise NotFound("Sign in with Slack is not this site's way in")
        state, nonce = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        target = request.args.get("next", "/")
        if not target.startswith("/") or target.startswith("//"):  # no open redirect
            target = "/"
        location = auth.authorize_url(self.access.api_url, slack, state=state, nonce=nonce,
                                      redirect_uri=self.callback_url(request),
                                      team=self.access.team())
        response = Response(status=302, headers={"Location": location})
        self.set_cookie(response, SIGN_IN_COOKIE, auth.sign(
            {"state": state, "nonce": nonce, "next": target,
             "exp": time.time() + auth.SIGN_IN_SECONDS}, self.access.secret),
            auth.SIGN_IN_SECONDS, path="/auth/slack")
        return response

    def page_slack_callback(self, request: Request) -> Response:
        slack = self.access.slack
        if slack is None:
            raise NotFound("Sign in with Slack is not this site's way in")
        pending = auth.unsign(request.cookies.get(SIGN_IN_COOKIE, ""), self.access.secret,
                              time.time())
        if request.args.get("error"):
            return self.problem(request, 401, "Slack did not sign you in "
                                f"({shown(request.args['error'])[:60]})", False)
        if pending is None or not secrets.compare_digest(
                str(pending.get("state", "")), request.args.get("state", "")):
            return self.problem(request, 400, "this sign-in expired or was not started here: "
                                "sign in again", False)
        claims, problem = self.exchange(request, slack, str(pending["nonce"]))
        if problem:
            return self.problem(request, 401, f"Slack sign-in refused: {problem}", False)
        response = Response(status=302, headers={"Location": str(pending.get("next") or "/")})
        self.set_cookie(response, SESSION_COOKIE, auth.sign(
            {"user": str(claims.get("name") or claims.get("sub") or ""),
             "team": claims.get(auth.TEAM_CLAIM), "exp": time.time() + auth.SESSION_SECONDS},
            self.access.secret), auth.SESSION_SECONDS)
        response.delete_cookie(SIGN_IN_COOKIE, path="/auth/slack")
        return response

    def exchange(self, request: Request, slack: auth.SlackApp, nonce: str,
                 ) -> tuple[dict, str | None]:
        """The code for the ID token, at Slack's openid.connect.token; its claims, or why not."""
        from slack_sdk import WebClient
        from slack_sdk.errors import SlackApiError, SlackClientError

        team = self.access.team()
        if not team:
            return {}, "the bot's workspace is not known (SLACK_BOT_TOKEN, auth.test)"
        try:
            answer = WebClient(base_url=self.access.api_url, timeout=15).openid_connect_token(
                client_id=slack.client_id, client_secret=slack.client_secret,
                code=request.args.get("code", ""), redirect_uri=self.callback_url(request))
        except SlackApiError as e:
            return {}, str(e.response.get("error", "error"))
        except (SlackClientError, OSError) as e:
            log.warning("web: cannot reach Slack to sign a reader in (%s)", e)
            return {}, "Slack could not be reached"
        claims = auth.id_token_claims(str(answer.get("id_token") or ""))
        return claims, auth.claims_problem(claims, client_id=slack.client_id, nonce=nonce,
                                           team=team, now=time.time())

    def callback_url(self, request: Request) -> str:
        return f"{self.base_url(request)}/auth/slack/callback"

    def set_cookie(self, response: Response, name: str, value: str, seconds: int,
                   path: str = "/") -> None:
        response.set_cookie(name, value, max_age=seconds, path=path, httponly=True,
                            secure=self.access.secure, samesite="Lax")

    # --- helpers -----------------------------------------------------------------------------

    def base_url(self, request: Request) -> str:
        """Where readers reach this site: `[web] public_url`, else the address asked."""
        return self.access.public_url or request.host_url.rstrip("/")

    def topic_choices(self) -> list[tuple[str, str]]:
        taxonomy = self.app.classifier.taxonomy
        return [(t, taxonomy.name(t)) for t in taxonomy.ids]
