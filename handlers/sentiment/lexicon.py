"""The offline labeller's word lists, as data: VADER's lexicon plus crmbot's own files.

Shipped files live in ``handlers/sentiment/data``: ``lexicon_<lang>.tsv`` (``term<TAB>valence``,
a term may be a phrase: "charged twice", "stuck at 99"), ``cues_<lang>.tsv``
(``kind<TAB>term[<TAB>value]``: negators, boosters, contrast words, sarcasm cues,
complaint question words, stop words that tell the language apart) and ``emoji.tsv``.
English starts from VADER's own lexicon; the other languages start empty. Admins add
terms in ``[sentiment]`` (``lexicons`` files and inline ``terms``), which win over ours.

A :class:`Lexicon` is plain data (dicts and tuples) so it pickles cheaply into the
worker processes that score large batches.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from vaderSentiment import vaderSentiment as vader

from handlers.config_sentiment import (
    ALL,
    LANGUAGES,
    VALENCE_LIMIT,
    LexiconError,
    LexiconExtension,
    parse_terms,
)

CUE_KINDS = frozenset(
    {"negator", "booster", "contrast", "sarcasm", "irony", "complaint_question", "stopword"}
)

# Words, emoji and the punctuation that ends a sentence. "5.0.1" and "99%" stay words.
EMOJI = "[\U0001f000-\U0001faff\u2600-\u2604\u2607-\u27bf\u2b50]"
TOKEN_RE = re.compile(
    rf"[^\W_]+(?:['\-][^\W_]+)*|[?!,]|\.(?![^\W_])|\n|{EMOJI}|(?<!\w)[:;]-?[()\]\[dp](?!\w)"
)


def tokens(text: str) -> list[str]:
    """Lower-cased tokens, the same way for lexicon entries and scored text."""
    return TOKEN_RE.findall(text.lower().replace("\u2019", "'"))


PhraseTable = dict[str, list[tuple[tuple[str, ...], float]]]


@dataclass(slots=True)
class Language:
    """Everything the scorer needs for one language."""

    words: dict[str, float] = field(default_factory=dict)
    phrases: PhraseTable = field(default_factory=dict)
    negators: frozenset[str] = frozenset()
    boosters: dict[str, float] = field(default_factory=dict)
    contrast: frozenset[str] = frozenset()
    cues: PhraseTable = field(default_factory=dict)  # value 1: irony (always), 0: sarcasm
    others: PhraseTable = field(default_factory=dict)  # competitors' names
    complaint_questions: frozenset[str] = frozenset()
    stopwords: frozenset[str] = frozenset()

    def add(self, term: str, valence: float) -> None:
        """One term: a word goes to ``words``, a phrase to ``phrases`` (longest first)."""
        parts = tuple(tokens(term))
        if not parts:
            return
        if len(parts) == 1:
            self.words[parts[0]] = valence
            return
        entries = [e for e in self.phrases.get(parts[0], []) if e[0] != parts]
        entries.append((parts, valence))
        entries.sort(key=lambda e: -len(e[0]))
        self.phrases[parts[0]] = entries


@dataclass(slots=True)
class Lexicon:
    """All languages; ``languages[lang]`` for text in ``lang``."""

    languages: dict[str, Language]

    def for_lang(self, lang: str) -> Language:
        return self.languages[lang]


def _read_data(name: str) -> str:
    return resources.files("handlers.sentiment").joinpath(f"data/{name}").read_text("utf-8")


def _cues(lang: str) -> dict[str, list[tuple[str, float]]]:
    kinds: dict[str, list[tuple[str, float]]] = {k: [] for k in CUE_KINDS}
    for number, raw in enumerate(_read_data(f"cues_{lang}.tsv").splitlines(), 1):
        if not raw.strip() or raw.startswith("#"):
            continue
        parts = raw.split("\t")
        if parts[0] not in CUE_KINDS or len(parts) not in (2, 3):
            raise LexiconError(f"cues_{lang}.tsv:{number}: bad line")
        kinds[parts[0]].append((parts[1], float(parts[2]) if len(parts) == 3 else 0.0))
    return kinds


def _vader_english() -> Language:
    analyzer_words: dict[str, float] = {}
    lexicon_file = Path(vader.__file__).with_name("vader_lexicon.txt")
    for line in lexicon_file.read_text(encoding="utf-8").splitlines():
        parts = line.strip().split("\t")
        if len(parts) >= 2:
            analyzer_words[parts[0].lower()] = float(parts[1])
    english = Language()
    for word, valence in analyzer_words.items():
        if TOKEN_RE.fullmatch(word):  # emoticons like ":)" are tokens too
            english.words[word] = valence
    for phrase, valence in vader.SPECIAL_CASES.items():
        english.add(phrase, valence)
    english.boosters = {w: b for w, b in vader.BOOSTER_DICT.items() if " " not in w}
    english.negators = frozenset(vader.NEGATE) - {"despite"}
    return english


def _emoji(vader_words: Mapping[str, float]) -> dict[str, float]:
    """Our emoji valences, then VADER's emoji descriptions scored word by word."""
    table: dict[str, float] = {}
    emoji_file = Path(vader.__file__).with_name("emoji_utf8_lexicon.txt")
    for line in emoji_file.read_text(encoding="utf-8").splitlines():
        char, _, description = line.partition("\t")
        if len(char) != 1:
            continue
        words = [vader_words.get(w, 0.0) for w in description.split()]
        value = sum(words)
        if value:
            table[char] = max(-VALENCE_LIMIT, min(VALENCE_LIMIT, value))
    for term, valence, _ in parse_terms(_read_data("emoji.tsv"), "emoji.tsv"):
        table[term] = valence
    return table


def build_lexicon(extra: LexiconExtension | None = None) -> Lexicon:
    """The shipped lexicons with ``extra`` (term, valence, lang or ``*``) on top."""
    languages: dict[str, Language] = {}
    english = _vader_english()
    emoji = _emoji(english.words)
    for lang in LANGUAGES:
        language = english if lang == "en" else Language()
        language.words.update(emoji)
        for term, valence, _ in parse_terms(_read_data(f"lexicon_{lang}.tsv"), lang):
            language.add(term, valence)
        cues = _cues(lang)
        language.negators = language.negators | {t for t, _ in cues["negator"]}
        language.boosters.update({t: v for t, v in cues["booster"]})
        language.contrast = frozenset(t for t, _ in cues["contrast"])
        language.complaint_questions = frozenset(t for t, _ in cues["complaint_question"])
        language.stopwords = frozenset(t for t, _ in cues["stopword"])
        for kind, strength in (("sarcasm", 0.0), ("irony", 1.0)):
            for term, _ in cues[kind]:
                parts = tuple(tokens(term))
                language.cues.setdefault(parts[0], []).append((parts, strength))
        for entries in language.cues.values():
            entries.sort(key=lambda e: -len(e[0]))
        languages[lang] = language
    extra = extra or LexiconExtension()
    for term, valence, lang in extra.terms:
        for name in LANGUAGES if lang == ALL else (lang,):
            languages[name].add(term, valence)
    for name in extra.others:
        parts = tuple(tokens(name))
        if parts:
            for language in languages.values():
                language.others.setdefault(parts[0], []).append((parts, 1.0))
    return Lexicon(languages)
