"""`forget`: erase an author's personal data on request, and audit who asked.

Used by `crmbot forget HANDLE` and `/crm admin forget HANDLE` (admins). The audit line
keeps who asked, when and how much was erased; the handle itself is kept only as a
digest (storage/audit.py), so the audit log does not undo the erasure.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from handlers.clock import Clock
from handlers.errors import UserError
from storage import audit
from storage.contacts import normalize_handle
from storage.db import Database
from storage.privacy import Erasure, erase_author

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ForgetResult:
    """What a forget request erased, and its audit line."""

    handle: str
    platform: str | None
    erasure: Erasure
    audit_id: int

    def summary(self) -> str:
        """One line for the person who asked."""
        where = f" on {self.platform}" if self.platform else ""
        if not self.erasure.found:
            return (
                f"Nothing stored for @{self.handle}{where}; the request is audited "
                f"(#{self.audit_id})."
            )
        e = self.erasure
        return (
            f"Forgot @{self.handle}{where}: {e.authors} author records, {e.mentions} mentions, "
            f"{e.conversations} conversations, {e.contacts} contacts, {e.crm_events} CRM events, "
            f"{e.suggestions} suggestions, {e.kb_entries} knowledge-base questions, "
            f"{e.outbox} chat messages and {e.notes + e.other_text} other texts erased. "
            f"Counts and metrics are kept. Audit #{self.audit_id}."
        )


def forget(
    db: Database, clock: Clock, handle: str, platform: str | None, requested_by: str
) -> ForgetResult:
    """Erase the author ``handle`` (on ``platform``, or everywhere) in one transaction with
    its audit line."""
    normalized = normalize_handle(handle)
    if not normalized:
        raise UserError("Whose data? Give a handle, e.g. `forget @jroe`.")
    platform = platform.strip().lower() if platform and platform.strip() else None
    with db.transaction() as conn:
        erasure = erase_author(conn, normalized, platform)
        audit_id = audit.record(
            conn,
            clock.now(),
            requested_by,
            "forget",
            audit.subject_digest(platform, normalized),
            {"platform": platform, **erasure.counts()},
        )
    log.info(
        "forget request #%d by %s: %d authors, %d mentions erased",
        audit_id,
        requested_by,
        erasure.authors,
        erasure.mentions,
    )
    return ForgetResult(normalized, platform, erasure, audit_id)
