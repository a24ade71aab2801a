"""The offline labeller: VADER's method, plus what support traffic needs.

VADER sums word valences (with boosters, negation within three words, "but" weighing
the second clause more, "!" emphasis) and squashes the sum into [-1, 1]. On top of that:

- a support lexicon ("charged twice", "stuck at 99", "logs me out", "refund", "outage")
  and German, French and Spanish lexicons, chosen by the mention's language;
- phrases are units, so "never been happier" or "no complaints" are not negated again;
- star ratings (★★☆☆☆, "2/5", "one star") set the band, the words only move within it;
- sarcasm: an irony cue ("🙃", "bold move") or a sarcasm cue ("great, another",
  "thanks for") next to a complaint turns the praise words against the product;
- a question is neutral unless it complains: its praise words do not count ("is it
  any good?"), its complaint words do, and "why ...?" leans negative.

It is one pass over the tokens with dict lookups, faster than VADER itself.
"""

from __future__ import annotations

import math
import re

from handlers.sentiment.lexicon import TOKEN_RE, Language, Lexicon

NEGATION_SCALE = -0.74
BOOSTER_DECAY = (1.0, 0.95, 0.9)
CONTRAST_BEFORE = 0.5
CONTRAST_AFTER = 1.5
EXCLAIM = 0.292
NORMALIZE_ALPHA = 15.0
SARCASM_FLIP = -0.6
QUESTION_KEEPS_BELOW = -1.5  # a question keeps complaint words at least this negative
COMPLAINT_QUESTION = -1.3  # "why ...?"
OTHERS_PRAISE = 0.5
STAR_BANDS = {1: -0.75, 2: -0.5, 3: 0.0, 4: 0.5, 5: 0.75}
STAR_TEXT_WEIGHT = 0.2
STAR_LIMIT = 0.04  # a 3-star review stays neutral

_WORD_NUMBERS = "one|two|three|four|five|un|une|deux|trois|quatre|cinq|uno|una|dos|tres|cuatro|cinco|ein|eine|einen|zwei|drei|vier|fünf"
_NUMBER_VALUE = {
    **dict.fromkeys(("1", "one", "un", "une", "uno", "una", "ein", "eine", "einen"), 1),
    **dict.fromkeys(("2", "two", "deux", "dos", "zwei"), 2),
    **dict.fromkeys(("3", "three", "trois", "tres", "drei"), 3),
    **dict.fromkeys(("4", "four", "quatre", "cuatro", "vier"), 4),
    **dict.fromkeys(("5", "five", "cinq", "cinco", "fünf"), 5),
}
_STAR_WORDS = re.compile(
    rf"\b([1-5]|{_WORD_NUMBERS})[ -]?(?:stars?|sterne?n?|étoiles?|estrellas?)\b"
    r"|\b(?:rating|note|bewertung|calificación|valoración)\s*:\s*([1-5])\b"
    r"|(?<![\d.,/])([0-5](?:[.,]5)?)\s*(?:/|out of|von|sur|de)\s*5(?!\d|[.,]\d)"
    r"|(?<![\d.,/])(10|[0-9](?:[.,]5)?)\s*/\s*10(?!\d|[.,]\d)",
)
_STAR_HINTS = re.compile(
    "/|star|stern|étoile|estrella|out of|rating|note|bewertung|calificación|valoración"
    "| von | sur | de 5"
)


def star_rating(text: str, low: str | None = None) -> int | None:
    """1-5 when the text rates the product (★★☆☆☆, "2/5", "8/10", "one star"), else None.
    ``low`` is the text lower-cased, when the caller has it."""
    if "★" in text or "☆" in text or "⭐" in text:
        filled = text.count("★") + text.count("⭐")
        empty = text.count("☆")
        if filled + empty == 5:
            return max(1, filled)
        if not empty and 1 <= filled <= 5:
            return filled
    low = text.lower() if low is None else low
    if _STAR_HINTS.search(low) is None:
        return None
    match = _STAR_WORDS.search(low)
    if match is None:
        return None
    word, rating, of_five, of_ten = match.groups()
    if word is not None:
        return _NUMBER_VALUE.get(word.lower())
    if rating is not None:
        return int(rating)
    if of_five is not None:
        return max(1, min(5, round(float(of_five.replace(",", ".")))))
    return max(1, min(5, round(float(of_ten.replace(",", ".")) / 2)))


_END, _CONTRAST, _CUE, _PHRASE, _OTHER = 1, 2, 4, 8, 16


def _special_tokens(lang: Language) -> dict[str, int]:
    """Tokens that end a sentence, turn a contrast, or may start a cue or a phrase."""
    special: dict[str, int] = dict.fromkeys(("?", "!", ".", "\n"), _END)
    for word in lang.contrast:
        special[word] = special.get(word, 0) | _CONTRAST
    for word in lang.cues:
        special[word] = special.get(word, 0) | _CUE
    for word in lang.phrases:
        special[word] = special.get(word, 0) | _PHRASE
    for word in lang.others:
        special[word] = special.get(word, 0) | _OTHER
    return special


def _about_others(values: list[float]) -> list[float]:
    """A sentence naming a competitor: its trouble is theirs, its praise counts half."""
    return [v * OTHERS_PRAISE for v in values if v > 0]


def normalize(total: float) -> float:
    """VADER's squashing of a valence sum into [-1, 1]."""
    return total / math.sqrt(total * total + NORMALIZE_ALPHA)


class OfflineAnalyzer:
    """Compound score in [-1, 1] for one text, in its language (guessed when unknown)."""

    def __init__(self, lexicon: Lexicon) -> None:
        self.lexicon = lexicon
        self._english = lexicon.for_lang("en")
        # stop word -> the languages using it, to guess a text's language in one pass
        self._stopwords: dict[str, list[Language]] = {}
        for language in lexicon.languages.values():
            for word in language.stopwords:
                self._stopwords.setdefault(word, []).append(language)
        # token -> what it may start, so a plain word costs one lookup before the lexicon
        self._special = {id(lang): _special_tokens(lang) for lang in lexicon.languages.values()}

    def language_of(self, words: list[str], lang: str | None) -> Language:
        """The given language's lexicon, or the one whose stop words the text uses most
        (at least two, else English)."""
        if lang:
            found = self.lexicon.languages.get(lang.lower()[:2])
            if found is not None:
                return found
        hits: dict[int, int] = {}
        stopwords = self._stopwords
        for word in words[:40]:
            for language in stopwords.get(word, ()):
                hits[id(language)] = hits.get(id(language), 0) + 1
        if not hits:
            return self._english
        best, best_hits = self._english, hits.get(id(self._english), 0)
        for language in self.lexicon.languages.values():
            count = hits.get(id(language), 0)
            if count >= 2 and count > best_hits:
                best, best_hits = language, count
        return best

    def score(self, text: str, lang: str | None = None) -> float:
        low = text.lower()
        words = TOKEN_RE.findall(low.replace("\u2019", "'") if "\u2019" in low else low)
        language = self.language_of(words, lang)
        compound = normalize(self._sum(words, language))
        stars = star_rating(text, low)
        if stars is None:
            return round(compound, 4)
        band = STAR_BANDS[stars]
        value = band + STAR_TEXT_WEIGHT * compound
        if stars >= 4:
            value = max(value, 0.3)
        elif stars <= 2:
            value = min(value, -0.3)
        else:
            value = max(-STAR_LIMIT, min(STAR_LIMIT, value))
        return round(value, 4)

    def _sum(self, words: list[str], lang: Language) -> float:
        lex, phrases, cues = lang.words, lang.phrases, lang.cues
        negators, boosters = lang.negators, lang.boosters
        special = self._special[id(lang)]
        done: list[float] = []  # valences of finished sentences
        sentence: list[float] = []
        weight = 1.0
        irony = sarcasm = other = False
        exclaims = 0
        clause_start = sentence_start = 0
        skip_to = 0
        for i, word in enumerate(words):
            if i < skip_to:
                continue
            kind = special.get(word, 0)
            width = 1
            valence = 0.0
            if kind:
                if kind & _END:
                    if word == "?":
                        sentence = self._question(sentence, words[sentence_start:i], lang)
                    elif word == "!":
                        exclaims += 1
                    done.extend(_about_others(sentence) if other else sentence)
                    sentence = []
                    other = False
                    clause_start = sentence_start = i + 1
                    continue
                if kind & _CONTRAST:
                    done = [v * CONTRAST_BEFORE for v in done]
                    sentence = [v * CONTRAST_BEFORE for v in sentence]
                    weight = CONTRAST_AFTER
                    clause_start = i + 1
                    continue
                if kind & _OTHER:
                    other = other or any(
                        tuple(words[i : i + len(parts)]) == parts for parts, _ in lang.others[word]
                    )
                if kind & _CUE:
                    for parts, strength in cues[word]:
                        if tuple(words[i : i + len(parts)]) == parts:
                            if strength:
                                irony = True
                            else:
                                sarcasm = True
                            break
                if kind & _PHRASE:
                    for parts, value in phrases[word]:
                        if tuple(words[i : i + len(parts)]) == parts:
                            valence, width = value, len(parts)
                            break
            if width == 1:
                valence = lex.get(word, 0.0)
                if not valence:
                    continue
            else:
                skip_to = i + width
            if valence:
                start = max(clause_start, i - 3)
                for back in range(i - 1, start - 1, -1):
                    boost = boosters.get(words[back])
                    if boost:
                        valence += math.copysign(boost * BOOSTER_DECAY[i - 1 - back], valence)
                for back in range(start, i):
                    previous = words[back]
                    if previous in negators or previous.endswith("n't"):
                        valence *= NEGATION_SCALE
                        break
                sentence.append(valence * weight)
        done.extend(_about_others(sentence) if other else sentence)
        if irony or (sarcasm and any(v < 0 for v in done)):
            done = [v * SARCASM_FLIP if v > 0 else v for v in done]
        total = sum(done)
        if total and exclaims:
            total += math.copysign(min(exclaims, 4) * EXCLAIM, total)
        return total

    @staticmethod
    def _question(values: list[float], words: list[str], lang: Language) -> list[float]:
        """A question counts only its complaint words; "why ...?" leans negative."""
        kept = [v for v in values if v <= QUESTION_KEEPS_BELOW]
        if any(w in lang.complaint_questions for w in words[:3]):
            kept.append(COMPLAINT_QUESTION)
        return kept
