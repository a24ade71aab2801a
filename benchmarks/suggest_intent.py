"""Do offline drafts fit the message? On the hand-labelled set
``benchmarks/data/intent_eval.jsonl`` (support and sales traffic, mentions and CRM events,
written before the classifier was tuned), each message is classified, the knowledge base
(``bot/data/knowledge_base.jsonl``) is ranked for it, and the offline draft is made as
the bot makes it. A draft's intent is the template section it came from, or the
hand-labelled intent of the knowledge-base entry it used (the ``intent`` of its seed
line), so a wrong entry counts as wrong even when the classifier was right.

Figures (holdout split unless named ``_dev``):
- suggestion_intent_agreement: share of drafts whose intent is the message's label;
- intent_classifier_agreement: share of messages classified as labelled;
- drafts_thanking_complaints: complaints and outage reports (both splits) whose draft
  thanks them (goal 0);
- suggestion_kb_share: share of drafts that used an approved reply (info);
- suggestion_intent_agreement_before: the same share for the drafter this replaced (the
  most similar approved reply of any kind, else a template by sentiment: negative ->
  apology, positive -> thanks, neutral -> "tell us more", CRM -> "thanks for your
  interest"), same run, same data.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.common import emit
from handlers.sentiment import SentimentScorer, label
from handlers.suggest.intent import Intent, allows, classify
from handlers.suggest.knowledge import Ranked, rank
from handlers.suggest.offline import MIN_SIMILARITY, Draft, offline_draft
from handlers.suggest.prompt import SuggestionInput
from storage.suggestions import KnowledgeEntry

ROOT = Path(__file__).resolve().parents[1]
EVAL = ROOT / "benchmarks" / "data" / "intent_eval.jsonl"
SEED = ROOT / "bot" / "data" / "knowledge_base.jsonl"
NOW = datetime(2026, 11, 30, tzinfo=UTC)
LIMIT = 1000


BEFORE = {"negative": "complaint", "positive": "praise", "neutral": "question"}


@dataclass(frozen=True, slots=True)
class Outcome:
    """One labelled message and what the bot made of it (and what the old drafter did)."""

    row: dict[str, Any]
    classified: Intent
    draft: Draft
    draft_intent: str
    before_intent: str


def before(ranked: list[Ranked], labels: dict[int, str], crm: bool, sentiment: float) -> str:
    """The intent of the draft the mood-based drafter (before intents) would have made."""
    if ranked and ranked[0].similarity >= MIN_SIMILARITY and ranked[0].entry.id is not None:
        return labels[ranked[0].entry.id]
    return "buying" if crm else BEFORE[label(sentiment)]


def load_jsonl(path: Path) -> list[dict[str, Any]]:
    """The JSON objects of a JSON Lines file."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def knowledge_base() -> tuple[list[KnowledgeEntry], dict[int, str]]:
    """The seed entries (with ids) and each one's hand-labelled intent."""
    entries, labels = [], {}
    for number, data in enumerate(load_jsonl(SEED), 1):
        entries.append(
            KnowledgeEntry(id=number, text=data["reply"], question=data["question"], created_at=NOW)
        )
        labels[number] = str(data["intent"])
    return entries, labels


def run(rows: list[dict[str, Any]]) -> list[Outcome]:
    """Classify and draft every row, as the bot does with no model."""
    scorer = SentimentScorer(workers=0)
    entries, labels = knowledge_base()
    outcomes = []
    for row in rows:
        crm = row["source_kind"] == "crm"
        sentiment = 0.0 if crm else scorer.score(row["text"])
        intent = classify(
            row["text"],
            source_kind=row["source_kind"],
            crm_kind=row.get("crm_kind"),
            sentiment=sentiment,
        )
        data = SuggestionInput(
            conversation_id=0,
            cycle=1,
            platform=row["platform"],
            kind=row["source_kind"],
            severity="normal",
            sentiment=sentiment,
            sentiment_label=label(sentiment),
            mention=row["text"],
            author_handle=None if crm else "customer",
            intent=intent.value,
            crm_kind=row.get("crm_kind"),
        )
        ranked = rank(entries, row["text"], NOW)
        draft = offline_draft(data, ranked, LIMIT)
        used = draft.kb_entry_ids[0] if draft.origin == "kb" and draft.kb_entry_ids else None
        draft_intent = labels[used] if used is not None else draft.intent
        old = before(ranked, labels, crm, sentiment)
        outcomes.append(Outcome(row, intent, draft, draft_intent, old))
    return outcomes


def share(outcomes: list[Outcome], hit: Any) -> float:
    """The share of ``outcomes`` for which ``hit`` is true."""
    return round(sum(1 for o in outcomes if hit(o)) / max(1, len(outcomes)), 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="same run (the set is small)")
    parser.add_argument("--errors", action="store_true", help="print the dev split's misses")
    args = parser.parse_args()
    outcomes = run(load_jsonl(EVAL))
    holdout = [o for o in outcomes if o.row["split"] == "holdout"]
    dev = [o for o in outcomes if o.row["split"] == "dev"]

    def agrees(o: Outcome) -> bool:
        return bool(o.draft_intent == o.row["intent"])

    def classified(o: Outcome) -> bool:
        return bool(o.classified.value == o.row["intent"])

    emit("suggestion_intent_agreement", share(holdout, agrees), "share", ">= 0.8")
    emit("suggestion_intent_agreement_dev", share(dev, agrees), "share", "info")
    emit("intent_classifier_agreement", share(holdout, classified), "share", ">= 0.8")
    emit("intent_classifier_agreement_dev", share(dev, classified), "share", "info")
    hurt = [o for o in outcomes if o.row["intent"] in ("complaint", "outage")]
    thanked = sum(1 for o in hurt if not allows(Intent.COMPLAINT, o.draft.text))
    emit("drafts_thanking_complaints", thanked, "drafts", "0")
    emit(
        "suggestion_intent_agreement_before",
        share(holdout, lambda o: o.before_intent == o.row["intent"]),
        "share",
        "baseline",
    )
    emit("suggestion_kb_share", share(outcomes, lambda o: o.draft.origin == "kb"), "share", "info")
    emit("intent_eval_messages", len(outcomes), "messages", "info")
    if args.errors:
        misses = Counter((o.row["intent"], o.draft_intent) for o in dev if not agrees(o))
        for (want, got), count in misses.most_common():
            print(f"# dev: {want} drafted as {got}: {count}")


if __name__ == "__main__":
    main()
