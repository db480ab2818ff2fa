"""What tells one event from its like (pure): the year, flight, model, rule and round numbers a
report gives its event in its headline and first sentence. Reports of last year's rule and this
year's, or of a rocket's seventh and eighth flights, share nearly all their words; what differs is
a number, and when two reports both give one of a kind and share none of it, they are different
events, however alike their words (`conflict`).

Only the headline and the first sentence are read: that is where a report states its event; a
year further on is background ("first formalized in 2024"), and one in the first sentence after
"since", "by" or "until" (or 以来, まで) is a start or a target, not the event's. Both languages
give the same identifier the same value: "Flight 7", "F7", "seventh launch" and 7号機 are
`flight:7`; 第2回 and "second" are `round:2`; 令和6年 is `year:2024`; H-2A and H2A are `model:h2a`."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

FIRST_SENTENCE_CHARS = 400  # a first sentence longer than this is a page's chrome run on
# a flight, round or rule number may come in the second sentence ("The launch was the rocket's
# seventh."); a year there is as often background, a model a vehicle's other payload
LEAD_SENTENCES = 2
YEAR, FLIGHT, MODEL, RULE, ROUND = "year", "flight", "model", "rule", "round"

_ORDINALS = {w: n for n, w in enumerate((
    "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth",
    "eleventh", "twelfth", "thirteenth", "fourteenth", "fifteenth", "sixteenth", "seventeenth",
    "eighteenth", "nineteenth", "twentieth"), 1)}
_KANJI = {c: n for n, c in enumerate("一二三四五六七八九", 1)}
# what a launch is counted in (the seventh flight, 7回目の打ち上げ): a flight number
_FLIGHT_NOUNS = r"(?:test\s+)?(?:flights?|launch(?:es)?|missions?)"
# what a series of meetings or measures is counted in: a round
_ROUND_NOUNS = (r"(?:rounds?|dialogues?|meetings?|summits?|sessions?|talks|ministerials?|"
                r"consultations?|conferences?|forums?|editions?|packages?|batch(?:es)?|phases?|"
                r"tranches?|cohorts?|calls?|workshops?|councils?|reviews?|revisions?)")
_ORDINAL = (r"(?P<ord>" + "|".join(sorted(_ORDINALS, key=len, reverse=True)) +
            r"|\d{1,3}(?:st|nd|rd|th))")
_BETWEEN = r"(?:[\s\-]+[A-Za-z.+&'’\-]+){0,4}?[\s\-]+"  # "second U.S.-Japan economic 2+2 ..."
_EN_ROUND = re.compile(rf"\b{_ORDINAL}{_BETWEEN}(?P<noun>{_FLIGHT_NOUNS}|{_ROUND_NOUNS})\b",
                       re.IGNORECASE)
_EN_FLIGHT = re.compile(r"\b(?:(?P<test>test\s+)?flight|mission|(?:rocket|launcher|vehicle|unit)"
                        r"(?=\s+(?:no\.|#)))\s+(?:no\.?\s*|#)?(?P<n>\d{1,3})"
                        r"(?![0-9])|(?<![A-Za-z0-9\-])(?P<tf>T?F)(?P<fn>\d{1,3})(?![A-Za-z0-9])"
                        r"|\bIFT-(?P<ift>\d{1,3})(?![A-Za-z0-9])",
                        re.IGNORECASE)
_JA_FLIGHT = re.compile(r"(?<![A-Za-z0-9\-])(?P<n>\d{1,3}|[一二三四五六七八九十]+)号機")
_JA_ROUND = re.compile(r"第(?P<a>\d{1,3}|[一二三四五六七八九十]+)(?:回|次|弾|期)"
                       r"|(?P<b>\d{1,3}|[一二三四五六七八九十]+)(?:回目|度目)")
_JA_LAUNCH = re.compile(r"(?:回目|度目)の?(?:打ち上げ|打上げ|飛行)")
# a model's name: letters then a number (H3, HTV-X1, A100, GPT-4, F-35), not a network
# generation (5G, 6G), a group of countries (G7, G20) or a quarter (Q3)
_MODEL = re.compile(r"(?<![A-Za-z0-9\-])(?P<m>[A-Z][A-Za-z]{0,6}(?:-[A-Z][A-Za-z]{0,4})*-?\d{1,4}"
                    r"[A-Za-z]{0,2})(?![A-Za-z0-9\-])"
                    # a named craft and its number: "Michibiki 6 satellite", "Falcon 9 rocket"
                    r"|\b(?P<craft>[A-Z][a-z]{2,12})\s(?P<cn>\d{1,2})(?=\s+(?:[a-z\-]+\s+){0,2}"
                    r"(?:rocket|satellite|spacecraft|probe|lander|rover|mission|capsule|launcher)s?\b)")
_NOT_MODEL = re.compile(r"G\d+|Q\d|H[12]|FY\d+|COVID-19|T?F\d+|IFT-\d+|CO2|"
                        r"[A-Z]+-\d{4,}|.*\d(?:nm|[GMT]W|GB|TB|mm|cm|km|kg)", re.IGNORECASE)
_RULE = re.compile(r"\b(?:docket|rule|order|notice|regulation|decree|directive|resolution|"
                   r"section|article|part)\s+(?:no\.?\s*|number\s+|#)?(?P<n>\d[\d\-.]*[\dA-Za-z]?)"
                   r"|\b(?P<docket>[A-Z]{2,6}-\d{4}-\d{2,6})\b|\b(?P<fr>\d{1,3}\s+FR\s+\d{3,6})\b"
                   r"|(?P<ja>第\d{1,5}号)", re.IGNORECASE)
_YEAR = re.compile(r"(?<![\d\-.])(?P<y>(?:19[89]|20[0-4])\d)(?!\d)")
# what before a year makes it a start, a target or background: "since 2019", "by the end of
# 2030", "founded in 2007", "first formalized in June 2024"
_YEAR_BEFORE = re.compile(r"\b(?:since|by|until|till|through|from|before|after|as\s+early\s+as|"
                          r"as\s+of|between|(?:founded|established|created|formed|begun|began|"
                          r"started|(?:first|originally|initially)\s+\w+)(?:\s+in)?)\s+"
                          r"(?:(?:early|late|mid|the\s+end\s+of|end|fiscal|FY)[\s\-]*)?"
                          r"(?:[A-Z][a-z]{2,8}\.?\s+(?:\d{1,2},?\s+)?)?(?:FY\s?|fiscal\s+)?\Z",
                          re.IGNORECASE)
_YEAR_AFTER = re.compile(r"\s*年度?(?:\d{1,2}月(?:\d{1,2}日)?)?(?:まで|以来|以降|から|に向け|を目指|"
                         r"を目途|を目処|目標)")
YEAR_CONTEXT = 48  # characters before a year read for what makes it background
_ERA = re.compile(r"(?P<era>令和|平成)(?P<n>\d{1,2}|元)年(?P<post>度?(?:まで|以来|以降|から))?")
_ERA_START = {"令和": 2018, "平成": 1988}
_BACKGROUND_POST = ("まで", "以来", "以降", "から", "に向け", "を目指", "を目途", "を目処", "目標")
_SENTENCE_END = re.compile(r"[。！？!?\n]|\.(?=\s)")
# a full stop that ends an abbreviation (U.S., Inc., Jan., No.), not a sentence
_ABBREVIATION = re.compile(r"(?:\b[A-Za-z]|\b(?:[A-Z]\.)+[A-Z]|\b(?:Inc|Co|Corp|Ltd|Mr|Ms|Mrs|Dr|St|"
                           r"No|Nos|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec|Gov|Sen|Rep|"
                           r"Gen|Lt|Col|Jr|Sr|vs|approx|est|bil|mil|tril|govt|dept))\.\Z")
_JA_CHARS = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
PARAGRAPH_WORDS = 8  # a line of fewer words before the first paragraph is chrome


def event_text(title: str, text: str, sentences: int = 1) -> str:
    """The headline and the first sentence (or `sentences`) of the text's first paragraph (NFKC:
    full-width digits read as digits). Lines of a few words before it are a page's chrome (a
    crawl date, a byline, "Expand / Collapse search"), not the report."""
    title, text = (unicodedata.normalize("NFKC", t or "") for t in (title, text))
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    at = next((k for k, line in enumerate(lines) if _paragraph(line)), 0)
    body = "\n".join(lines[at:])[:FIRST_SENTENCE_CHARS * sentences]
    out = []
    for _ in range(sentences):
        sentence = _first_sentence(body)
        out.append(sentence)
        body = body[len(sentence) + 1:].lstrip()
        if not body:
            break
    return "\n".join([title, *out])


def _paragraph(line: str) -> bool:
    return len(line.split()) >= PARAGRAPH_WORDS or (_JA_CHARS.search(line) is not None
                                                    and len(line) >= 2 * PARAGRAPH_WORDS)


def _first_sentence(text: str) -> str:
    for m in _SENTENCE_END.finditer(text):
        if m.group(0) != "." or not _ABBREVIATION.search(text, 0, m.start() + 1):
            return text[:m.start()]
    return text


def identifiers(title: str, text: str) -> frozenset[str]:
    """The event's identifiers, as "kind:value" ("year:2025", "flight:7", "model:htvx1")."""
    head = event_text(title, text)
    lead = event_text(title, text, LEAD_SENTENCES)
    found: set[str] = set()
    for m in _YEAR.finditer(head):
        if not _YEAR_BEFORE.search(head, max(0, m.start() - YEAR_CONTEXT), m.start()) and \
                not _YEAR_AFTER.match(head, m.end()):
            found.add(f"{YEAR}:{m.group('y')}")
    for m in _ERA.finditer(head) if "年" in head else ():
        if not m.group("post") or not m.group("post").endswith(_BACKGROUND_POST):
            n = 1 if m.group("n") == "元" else int(m.group("n"))
            found.add(f"{YEAR}:{_ERA_START[m.group('era')] + n}")
    for m in _EN_FLIGHT.finditer(lead):
        if m.group("n"):
            found.add(f"{FLIGHT}:{'t' if m.group('test') else ''}{int(m.group('n'))}")
        elif m.group("fn"):
            found.add(f"{FLIGHT}:{'t' if m.group('tf').upper() == 'TF' else ''}"
                      f"{int(m.group('fn'))}")
        else:
            found.add(f"{FLIGHT}:{int(m.group('ift'))}")
    japanese = _JA_CHARS.search(lead) is not None
    for m in _JA_FLIGHT.finditer(lead) if japanese else ():
        found.add(f"{FLIGHT}:{_number(m.group('n'))}")
    for m in _EN_ROUND.finditer(lead):
        word = m.group("ord").lower()
        n = _ORDINALS.get(word) or int(re.match(r"\d+", word).group(0))
        if n == 1:
            continue  # "the first" is as often a boast as a count
        kind = FLIGHT if re.fullmatch(_FLIGHT_NOUNS, m.group("noun"), re.IGNORECASE) else ROUND
        found.add(f"{kind}:{n}")
    for m in _JA_ROUND.finditer(lead) if japanese else ():
        n = _number(m.group("a") or m.group("b"))
        if n > 1:
            launch = _JA_LAUNCH.match(lead, m.end() - 2)
            found.add(f"{FLIGHT if launch else ROUND}:{n}")
    for m in _MODEL.finditer(head):
        model = m.group("m") or f"{m.group('craft')}{m.group('cn')}"
        if not _NOT_MODEL.fullmatch(model):  # H-2A is H2A
            found.add(f"{MODEL}:{model.lower().replace('-', '')}")
    for m in _RULE.finditer(lead):
        rule = m.group("n") or m.group("docket") or m.group("fr") or m.group("ja")
        found.add(f"{RULE}:{re.sub(r'[^0-9a-z]+', '', rule.lower())}")
    return frozenset(found)


def conflict(a: Iterable[str], b: Iterable[str]) -> str | None:
    """The kind of identifier on which two reports disagree (both give it, none in common), so
    that they report different events; None if none. A model and its variant (F-35 and F-35A,
    GPT-4 and GPT-4o) are one model here: reports of one event name it more or less fully."""
    kinds_a, kinds_b = _by_kind(a), _by_kind(b)
    for kind in sorted(kinds_a.keys() & kinds_b.keys()):
        if not kinds_a[kind] & kinds_b[kind]:
            return kind
    return None


def _by_kind(found: Iterable[str]) -> dict[str, set[str]]:
    kinds: dict[str, set[str]] = {}
    for identifier in found:
        kind, _, value = identifier.partition(":")
        kinds.setdefault(kind, set()).add(value.rstrip("abcdefghijklmnopqrstuvwxyz")
                                          if kind == MODEL else value)
    return kinds


def _number(written: str) -> int:
    """3, 十二 or 二十 as a number."""
    if written.isdigit():
        return int(written)
    tens, _, units = written.rpartition("十")
    if "十" not in written:
        return _KANJI.get(written, 0)
    return (_KANJI.get(tens, 1) if tens else 1) * 10 + _KANJI.get(units, 0)
