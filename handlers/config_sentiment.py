"""``[sentiment]``: the offline labeller's extra terms and the optional model.

```toml
[sentiment]
lexicons = ["sentiment/our-products.tsv"]   # term<TAB>valence[<TAB>lang] lines
terms = { "meltdown" = -2.5, "rock solid" = 2.5 }
competitors = ["Dropbox", "Google Photos"]  # a sentence about them is not about you
model = "gpt-4o-mini"   # re-label with an OpenAI-compatible model (needs OPENAI_API_KEY)
timeout = 5.0           # seconds per batch request; the offline label stays on failure
batch_size = 20
```

Lexicon files (ours and the admin's) share one format, read here so a bad line is a
config error that names the file and line.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydantic import Field, field_validator

from handlers.config_types import StrictModel

Term = tuple[str, float, str]


@dataclass(frozen=True, slots=True)
class LexiconExtension:
    """What admins add to the shipped lexicons: terms, and the names of other products
    (competitors) whose praise or trouble is not about yours."""

    terms: tuple[Term, ...] = ()
    others: tuple[str, ...] = ()


LANGUAGES = ("en", "de", "fr", "es")
ALL = "*"
VALENCE_LIMIT = 4.0


class LexiconError(ValueError):
    """A lexicon file line that cannot be read (the message names file and line)."""


def parse_terms(text: str, origin: str) -> list[tuple[str, float, str]]:
    """``term<TAB>valence[<TAB>lang]`` lines (``#`` starts a comment line) as
    (term, valence, lang)."""
    found: list[tuple[str, float, str]] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = [p.strip() for p in line.split("\t")]
        if len(parts) not in (2, 3) or not parts[0]:
            raise LexiconError(f"{origin}:{number}: expected 'term<TAB>valence[<TAB>lang]'")
        try:
            valence = float(parts[1])
        except ValueError:
            raise LexiconError(f"{origin}:{number}: {parts[1]!r} is not a number") from None
        if not -VALENCE_LIMIT <= valence <= VALENCE_LIMIT:
            raise LexiconError(f"{origin}:{number}: valence must be between -4 and 4")
        lang = parts[2] if len(parts) == 3 else ALL
        if lang != ALL and lang not in LANGUAGES:
            raise LexiconError(f"{origin}:{number}: unknown language {lang!r}")
        found.append((parts[0], valence, lang))
    return found


def read_lexicon_file(path: Path) -> list[tuple[str, float, str]]:
    """An admin's lexicon file, checked line by line."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise LexiconError(f"cannot read {str(path)!r}: {exc.strerror or exc}") from None
    return parse_terms(text, str(path))


class SentimentConfig(StrictModel):
    """How sentiment is labelled."""

    lexicons: list[Path] = Field(default_factory=list)
    terms: dict[str, float] = Field(default_factory=dict)
    competitors: list[str] = Field(default_factory=list)
    model: str | None = Field(None, min_length=1)
    timeout: float = Field(5.0, gt=0, le=60, description="seconds per model request")
    batch_size: int = Field(20, ge=1, le=100)

    @field_validator("lexicons")
    @classmethod
    def _readable(cls, paths: list[Path]) -> list[Path]:
        for path in paths:
            try:
                read_lexicon_file(path)
            except LexiconError as exc:
                raise ValueError(str(exc)) from None
        return paths

    @field_validator("terms")
    @classmethod
    def _in_range(cls, terms: dict[str, float]) -> dict[str, float]:
        for term, valence in terms.items():
            if not -VALENCE_LIMIT <= valence <= VALENCE_LIMIT:
                raise ValueError(f"{term!r}: valence must be between -4 and 4")
        return terms

    def extension(self) -> LexiconExtension:
        """The admin's terms (files in order, then inline ``terms``; later ones win) and
        competitors."""
        found: list[Term] = []
        for path in self.lexicons:
            found.extend(read_lexicon_file(path))
        found.extend((term, valence, ALL) for term, valence in self.terms.items())
        return LexiconExtension(tuple(found), tuple(self.competitors))
