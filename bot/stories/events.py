"""Reports of one event in different words (pure): the terms of an article's headline and lead, its
names and figures, compared with IDF weights from the archive and gated by date.

Syndicated copies share long runs of words (MinHash finds them); two outlets reporting the same
agreement share far less: the names (Rapidus, NuScale, JAXA), the figures ($110 million, 2nm,
15%) and the few rare words of the headline and first paragraph. `similarity` mixes the weighted
cosine of the lead and of the whole text with the weighted overlap of names and figures; two
articles published more than the window apart are different events (the same partners sign a new
agreement every year), and two of which one has no known date must agree more
(`stories.same_event_undated`): only their words can tell the deal from last year's. Japanese
text is compared with Japanese by character bigrams, and with English in the English words the
glossary gives its terms (bot.stories.glossary), besides the names written alike (IBM, NASA).
"""

from __future__ import annotations

import functools
import math
import re
import typing
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

from bot.cjk import CJK_RUN, bigrams, written_in_japanese
from bot.stories import identifiers, sounds
from bot.stories.glossary import ALL_KATAKANA, Glossary

LEAD_CHARS = 600  # the first paragraph or two: where a report states its event
NAMES_CHARS = 1000
BODY_CHARS = 20_000  # enough for any report; a huge page costs no more
BODY_TERMS = 150  # the most frequent terms of the whole text kept per article
EVENT_CANDIDATES = 30  # window articles compared with a new one: those sharing most index terms
INDEX_TERMS = 32  # the rarest names, figures and headline words an article is found by
# two reports of one event name the same companies, agencies or people: of the name words of the
# one that names less (a brief, a Japanese report's glossary names), at least this share by
# weight is in the other (releases worded from one template, on different deals, share only the
# template's agencies and days)
MIN_SHARED_NAMES = 0.3
# a name that at least this many of the stories a report is compared with, and this share of
# them, name too is a template's, not the event's (`boilerplate`)
BOILERPLATE_STORIES, BOILERPLATE_SHARE = 3, 2 / 3
# how much each comparison counts in the similarity (they sum to 1)
LEAD_WEIGHT, BODY_WEIGHT, NAMES_WEIGHT, FIGURES_WEIGHT = 0.35, 0.35, 0.2, 0.1

_STOPWORDS = """
a an the and or nor of to in on for with by at from as is are was were be been being has have had
do does did it its this that these those will would can could may might should must shall said
says say not no but if than then so such into onto over under about after before also more most
new their they them he she his her we our you your i which who whom whose what when where how why
all any each other some up out per via between while during against amid including here there
just only very one two three first last year years week month day today yesterday mr ms
"""
STOPWORDS = frozenset(_STOPWORDS.split())
_UNITS = r"(?:\s?(?:nm|bn|billion|million|trillion|%|percent|gw|mw|qubits?)(?![A-Za-z]))"
_NUMBER = r"[$€¥£]?\d(?:[\d.,]*\d)?"  # no trailing comma or stop
_TOKEN = re.compile(rf"{_NUMBER}{_UNITS}?|[A-Za-z][A-Za-z'’\-]*[A-Za-z]|{CJK_RUN.pattern}")
# An amount as written in either language: "$110M", "$110 million", "US$110mn", "110 million
# dollars", "1億1000万ドル" are one figure; so are "2nm" and "2-nanometer", "15%" and "15 percent".
_FIGURE = re.compile(r"""
    (?=(?:US\$|\$|¥|€|£|JPY|USD|EUR)?\s?\d)  # a figure has a digit: nowhere else is tried
    (?P<pre>US\$|\$|¥|€|£|JPY|USD|EUR)?\s?
    (?P<ja>(?:\d+(?:\.\d+)?兆)?(?:\d+(?:\.\d+)?億)?(?:\d+(?:\.\d+)?万)?)
    (?P<num>\d(?:[\d,]*\d)?(?:\.\d+)?)?
    (?:\s?(?P<mult>thousand|million|billion|trillion|bn|mn|[kmbt])(?![a-z]))?
    (?:\s?-?(?P<unit>%|percent|per\ cent|nm|nanometers?|nanometres?|qubits?|gw|mw|gigawatts?
        |megawatts?|yen|dollars?|euros?|円|ドル|ユーロ)(?![a-z]))?
    """, re.IGNORECASE | re.VERBOSE)
_MULTIPLIERS = {"thousand": 1e3, "k": 1e3, "million": 1e6, "mn": 1e6, "m": 1e6, "billion": 1e9,
                "bn": 1e9, "b": 1e9, "trillion": 1e12, "t": 1e12}
_JA_MULTIPLIERS = {"兆": 1e12, "億": 1e8, "万": 1e4}
_CURRENCIES = {"us$": "usd", "$": "usd", "usd": "usd", "dollar": "usd", "dollars": "usd",
               "ドル": "usd", "¥": "jpy", "jpy": "jpy", "yen": "jpy", "円": "jpy", "€": "eur",
               "eur": "eur", "euro": "eur", "euros": "eur", "ユーロ": "eur", "£": "gbp"}
_SIZES = {"%": "%", "percent": "%", "per cent": "%", "nm": "nm", "nanometer": "nm",
          "nanometers": "nm", "nanometre": "nm", "nanometres": "nm", "qubit": "qubit",
          "qubits": "qubit", "gw": "gw", "gigawatt": "gw", "gigawatts": "gw", "mw": "mw",
          "megawatt": "mw", "megawatts": "mw"}
_NAME = re.compile(r"(?<![A-Za-z0-9_])[A-Z][A-Za-z0-9&\-]*(?:[ \t]+[A-Z][A-Za-z0-9&\-]*)*"
                   r"|[\u30a0-\u30ff]{3,}")  # a Latin name glued to Japanese (米IBM) too
_NAME_SPLIT = re.compile(r"[\s\-]+")  # Japan-U.S., Indo-Pacific: a name's words
_PLAIN_NUMBER = re.compile(r"\d{1,2}|(?:19|20)\d\d")  # days and years are not figures
_HIRAGANA = re.compile(r"[\u3040-\u309f]")  # して, の建: grammar, not what a report is about
_KATAKANA_WORD = re.compile(r"[\u30a1-\u30fa\u30fc-\u30ff]{3,}")


@dataclass(frozen=True, slots=True)
class StoryTerms:
    """What an article is compared by; stored with it, so a comparison never re-reads its text."""

    lead: Mapping[str, int]  # headline (twice) and lead
    body: Mapping[str, int]  # the whole text's most frequent terms
    names: frozenset[str]
    figures: frozenset[str]
    day: date | None
    # a Japanese report in English words (the glossary's), what it is compared to English by
    english: StoryTerms | None = None
    # the year, flight, model, rule and round numbers it gives its event (bot.stories.identifiers)
    ids: frozenset[str] = frozenset()

    def as_json(self) -> dict:
        data = {"lead": dict(self.lead), "body": dict(self.body), "names": sorted(self.names),
                "figures": sorted(self.figures), "day": self.day.isoformat() if self.day else None}
        if self.ids:
            data["ids"] = sorted(self.ids)
        return {**data, "english": self.english.as_json()} if self.english else data

    @classmethod
    def from_json(cls, data: Mapping) -> StoryTerms:
        """(An article archived before identifiers were read has none: it conflicts with none.)"""
        return cls(data["lead"], data["body"], frozenset(_name_words(data["names"])),
                   frozenset(data["figures"]),
                   date.fromisoformat(data["day"]) if data.get("day") else None,
                   cls.from_json(data["english"]) if data.get("english") else None,
                   frozenset(data.get("ids", ())))

    @property
    def document_terms(self) -> set[str]:
        """The terms counted once in the archive's document frequencies."""
        own = set(self.lead) | set(self.body) | self.names | self.figures
        return own | self.english.document_terms if self.english else own


def story_terms(title: str, text: str, day: date | None,
                glossary: Glossary | None = None) -> StoryTerms:
    """With a glossary, a Japanese text also gets its English words."""
    title, text = (unicodedata.normalize("NFKC", t or "") for t in (title, text[:BODY_CHARS]))
    head = f"{title}\n{text[:NAMES_CHARS]}"
    english = None
    if glossary is not None and written_in_japanese(f"{title}\n{text}"):
        english = _in_english(glossary, title, text, head, day)
    return _counted(terms(title), terms(text[:LEAD_CHARS]), terms(text), names(head),
                    figures(head), day, english, identifiers.identifiers(title, text))


def _counted(headline: list[str], lead_words: list[str], body_words: list[str],
             found: frozenset[str], amounts: frozenset[str], day: date | None,
             english: StoryTerms | None = None, ids: frozenset[str] = frozenset(),
             ) -> StoryTerms:
    lead = Counter(headline * 2)  # the headline twice
    lead.update(lead_words)
    body = Counter(headline)
    body.update(body_words)
    return StoryTerms(dict(lead), dict(body.most_common(BODY_TERMS)), found, amounts, day,
                      english, ids)


def _in_english(glossary: Glossary, title: str, text: str, head: str, day: date | None,
                ) -> StoryTerms:
    """A Japanese text's Latin-script words (IBM, AI) and the glossary's English for its terms,
    counted as an English text's would be; one scan of the glossary."""
    full = f"{title}\n{text}"
    matched = glossary.matches(full)
    found = [(at, rendering) for at, _, rendering in matched if rendering.english]
    covered = {i for start, end, _ in matched for i in range(start, end)}
    # katakana words the glossary does not know (loanwords: エコシステム), by their sound
    heard = [(m.start(), key) for m in _KATAKANA_WORD.finditer(full)
             if m.start() not in covered and (key := sounds.of_katakana(m.group(0)))]

    def words(start: int, end: int) -> list[str]:
        out = [t for t in terms(full[start:end]) if not CJK_RUN.fullmatch(t)]
        for at, rendering in found:
            if start <= at < end:
                out += [w for english in rendering.english for w in _words(english)]
        return out + [key for at, key in heard if start <= at < end]

    begin = len(title) + 1
    known = {n for n in names(head) if not ALL_KATAKANA.fullmatch(n)}
    known.update(n for at, rendering in found if at < len(head) and rendering.name
                 for english in rendering.english for n in _names(english))
    # a katakana name by its sound, met by the English spelling of an English report's name
    known.update(key for n in names(head) if ALL_KATAKANA.fullmatch(n)
                 for part in n.split("・") if (key := sounds.of_katakana(part)))
    return _counted(words(0, len(title)), words(begin, begin + LEAD_CHARS),
                    words(begin, len(full)), frozenset(known), figures(head), day)


@functools.cache
def _words(english: str) -> list[str]:
    return terms(english)


@functools.cache
def _names(english: str) -> frozenset[str]:
    return names(english)


def terms(text: str) -> list[str]:
    """Lower-cased content words (a plural's -s dropped); Japanese runs as character bigrams."""
    out = []
    for match in _TOKEN.finditer(text):
        token = match.group(0)
        if CJK_RUN.fullmatch(token):
            out += bigrams(token)
            continue
        word = _normal(token.replace(" ", ""))
        if len(word) > 1 and word not in STOPWORDS:
            out.append(word)
    return out


def names(text: str) -> frozenset[str]:
    """The words of capitalised runs and acronyms (Rapidus; Japan, Atomic, Energy, Agency; NASA)
    and katakana names. Word by word, because reports name one actor more or less fully ("Prime
    Minister Sanae Takaichi", "Takaichi", "the U.S.-Japan Technology Prosperity Deal"); the
    sentence-initial ordinary words that come along are weighed down by their IDF."""
    return frozenset(_name_words(_normal(w) for m in _NAME.finditer(text)
                                 for w in _NAME_SPLIT.split(m.group(0))))


def _name_words(words: Iterable[str]) -> Iterable[str]:
    """(An archive from before names were split keeps whole runs: they are split on reading.)"""
    return (w for word in words for w in _NAME_SPLIT.split(word)
            if len(w) > 1 and w not in STOPWORDS)


def figures(text: str) -> frozenset[str]:
    """Amounts, shares and sizes, each in one canonical form whatever its wording or language
    ($110M = 110 million dollars = 1億1000万ドル: "usd1.1e+08"; 2-nanometer: "2nm"); not days
    or years."""
    found = set()
    for m in _FIGURE.finditer(text):
        figure = _figure(m)
        if figure:
            found.add(figure)
    return frozenset(found)


def _figure(m: re.Match) -> str | None:
    pre, ja, num, mult, unit = (m.group(k) for k in ("pre", "ja", "num", "mult", "unit"))
    if not (ja or num):
        return None
    unit = (unit or "").lower()
    if unit in _SIZES:
        return f"{num or ''}{_SIZES[unit]}" if num and not ja else None
    value = sum(float(n) * _JA_MULTIPLIERS[k] for n, k in re.findall(r"([\d.]+)(兆|億|万)", ja))
    if num:
        value += float(num.replace(",", "")) * _MULTIPLIERS.get((mult or "").lower(), 1.0)
    currency = _CURRENCIES.get((pre or "").lower()) or _CURRENCIES.get(unit, "")
    if not (currency or ja or mult) and _PLAIN_NUMBER.fullmatch(num or ""):
        return None  # a day, a year, a small count
    return f"{currency}{value:.3g}"


class Idf:
    """Inverse document frequency from the archive's counts: a term in most articles ("Japan")
    weighs little, a name in two weighs much."""

    def __init__(self, documents: int, frequency: Mapping[str, int]) -> None:
        self.documents = documents
        self.frequency = frequency
        self._weights: dict[str, float] = {}
        self._vectors: dict[int, tuple[Mapping[str, int], dict[str, float], float]] = {}

    def __call__(self, term: str) -> float:
        weight = self._weights.get(term)
        if weight is None:
            weight = math.log((self.documents + 1) / (self.frequency.get(term, 0) + 0.5))
            self._weights[term] = weight
        return weight

    def vector(self, counts: Mapping[str, int]) -> tuple[dict[str, float], float]:
        """TF-IDF weights of a term count and their norm, computed once a text."""
        key = id(counts)
        if key not in self._vectors:
            weights = {t: (1 + math.log(n)) * self(t) for t, n in counts.items()}
            norm = math.sqrt(sum(w * w for w in weights.values()))
            self._vectors[key] = (counts, weights, norm)  # holds `counts`: its id stays its own
        return self._vectors[key][1:]

    @classmethod
    def of(cls, items: Iterable[StoryTerms]) -> Idf:
        counts: Counter[str] = Counter()
        n = 0
        for item in items:
            counts.update(item.document_terms)
            n += 1
        return cls(n, counts)


def both_dated(a: StoryTerms, b: StoryTerms) -> bool:
    return a.day is not None and b.day is not None


def within(a: StoryTerms, b: StoryTerms, window_days: float) -> bool:
    """Published within the window of each other (an undated one may be)."""
    return days_apart_within(a.day, b.day, window_days)


def days_apart_within(a: date | None, b: date | None, window_days: float) -> bool:
    return not a or not b or abs((a - b).days) <= window_days


def similarity(a: StoryTerms, b: StoryTerms, idf: Idf, window_days: float,
               common: frozenset[str] = frozenset()) -> float:
    """0..1: how surely the two report one event; 0 if their identifiers disagree (last year's
    rule, the next flight), dated or not. `common`: names that do not count for the names rule
    (`boilerplate`)."""
    if not within(a, b, window_days) or not compatible(a, b):
        return 0.0
    if not _shares_names(a, b, idf, common):
        return 0.0
    a, b = _comparable(a, b)
    return (LEAD_WEIGHT * _cosine(a.lead, b.lead, idf)
            + BODY_WEIGHT * _cosine(a.body, b.body, idf)
            + NAMES_WEIGHT * _overlap(a.names, b.names, idf)
            + FIGURES_WEIGHT * _overlap(a.figures, b.figures, idf))


def fits(item: StoryTerms, members: Iterable[StoryTerms], idf: Idf,
         common: frozenset[str] = frozenset()) -> bool:
    """A report joins a story only if it shares names (the names rule) with most of the story's
    reports, not just the one it is most like: a roundup of two deals, first in, is like each
    deal's report, and must not make the two one story; and if none of its reports gives its
    event another identifier (a story of the seventh flight does not take in the eighth's)."""
    members = list(members)
    if not all(compatible(item, m) for m in members):
        return False
    return 2 * sum(_shares_names(item, m, idf, common) for m in members) > len(members)


def boilerplate(item: StoryTerms, candidates: Iterable[tuple[int, StoryTerms]]) -> frozenset[str]:
    """Of a report's names, those that most of the stories it is compared with name too: a wire's
    template ("the U.S. Commerce Department and Japan's Ministry of Economy, Trade and
    Industry"), worded alike in its releases on different deals. They tell the deals from the
    rest of the archive (their IDF is high) but not from each other, so the names rule does not
    count them. `candidates`: (story, terms) of the window's reports compared with it."""
    stories: dict[str, set[int]] = {}
    distinct = set()
    for story, other in candidates:
        distinct.add(story)
        for name in _all_names(other):
            stories.setdefault(name, set()).add(story)
    least = max(BOILERPLATE_STORIES, BOILERPLATE_SHARE * len(distinct))
    return frozenset(n for n in _all_names(item) if len(stories.get(n, ())) >= least)


def _all_names(item: StoryTerms) -> frozenset[str]:
    return item.names | item.english.names if item.english else item.names


def compatible(a: StoryTerms, b: StoryTerms) -> bool:
    """Not known to be different events by their identifiers (bot.stories.identifiers)."""
    return not (a.ids and b.ids and identifiers.conflict(a.ids, b.ids))


def _shares_names(a: StoryTerms, b: StoryTerms, idf: Idf,
                  common: frozenset[str] = frozenset()) -> bool:
    a, b = _comparable(a, b)
    return _contained(a.names - common, b.names - common, idf) >= MIN_SHARED_NAMES


def _comparable(a: StoryTerms, b: StoryTerms) -> tuple[StoryTerms, StoryTerms]:
    """The two in one language: a Japanese report beside an English one in its English words,
    its katakana words that sound like one of the English report's (ケストレル, Kestrel;
    エコシステム, ecosystem) as that word, the others left out (as katakana the glossary does
    not know always were)."""
    if (a.english is None) == (b.english is None):
        return a, b
    ja, en = (a, b) if a.english is not None else (b, a)
    japanese = ja.english
    assert japanese is not None
    if any(t.startswith(sounds.KEY_PREFIX) for t in (*japanese.lead, *japanese.names)) or \
            any(t.startswith(sounds.KEY_PREFIX) for t in japanese.body):
        japanese = StoryTerms(_heard(japanese.lead, en.lead), _heard(japanese.body, en.body),
                              _heard(japanese.names, en.names), japanese.figures, japanese.day)
    return (japanese, en) if ja is a else (en, japanese)


@typing.overload
def _heard(japanese: frozenset[str], english: Iterable[str]) -> frozenset[str]: ...
@typing.overload
def _heard(japanese: Mapping[str, int], english: Iterable[str]) -> Mapping[str, int]: ...
def _heard(japanese, english):  # noqa: E302
    """`japanese` with each sound key an English word of `english` makes in that word (a sound
    two of them make tells nothing), the others left out."""
    if not any(t.startswith(sounds.KEY_PREFIX) for t in japanese):
        return japanese
    heard: dict[str, str] = {}
    for word in english:
        if key := sounds.of_english(word):
            heard[key] = "" if key in heard else word
    if isinstance(japanese, frozenset):
        return frozenset(heard.get(t, "") if t.startswith(sounds.KEY_PREFIX) else t
                         for t in japanese) - {""}
    out: Counter[str] = Counter()
    for term, n in japanese.items():
        word = heard.get(term, "") if term.startswith(sounds.KEY_PREFIX) else term
        if word:
            out[word] += n
    return dict(out)


def index_terms(item: StoryTerms, idf: Idf) -> list[str]:
    """What it is looked up by: the rarest of its names, figures and headline words (the lead's
    terms counted twice), which another report of the event is bound to share some of; a
    Japanese report's rarest English words too, which an English report may share."""
    keys = item.names | item.figures | {t for t, n in item.lead.items() if n > 1}
    keys = {k for k in keys if not _HIRAGANA.search(k) and not k.startswith(sounds.KEY_PREFIX)}
    rarest = sorted(keys, key=lambda t: (-idf(t), t))[:INDEX_TERMS]
    english = index_terms(item.english, idf) if item.english else []
    return rarest + [k for k in english if k not in rarest]


def _normal(word: str) -> str:
    word = word.lower().replace("’", "'")
    if word.endswith("'s"):
        word = word[:-2]
    if len(word) > 4 and word.endswith("s") and not word.endswith("ss"):
        word = word[:-1]
    return word


def _cosine(a: Mapping[str, int], b: Mapping[str, int], idf: Idf) -> float:
    (wa, na), (wb, nb) = idf.vector(a), idf.vector(b)
    if len(wa) > len(wb):
        wa, wb = wb, wa
    dot = sum(w * wb[t] for t, w in wa.items() if t in wb)
    return dot / (na * nb) if na and nb else 0.0


def _contained(a: frozenset[str], b: frozenset[str], idf: Idf) -> float:
    """The weighted share of the lesser set that the other has too."""
    lesser = min(sum(idf(t) for t in a), sum(idf(t) for t in b))
    return sum(idf(t) for t in a & b) / lesser if lesser else 0.0


def _overlap(a: frozenset[str], b: frozenset[str], idf: Idf) -> float:
    union = sum(idf(t) for t in a | b)
    return sum(idf(t) for t in a & b) / union if union else 0.0
