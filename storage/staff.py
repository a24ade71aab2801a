"""Staff records and the chat identities that point at them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, select

from storage.models import Staff, StaffIdentity


@dataclass(frozen=True, slots=True)
class StaffSpec:
    """What the config (or a chat profile) says about a staff member."""

    name: str
    display_name: str = ""
    email: str | None = None
    team: str | None = None
    role: str = "staff"
    identities: tuple[tuple[str, str], ...] = ()  # (platform, user id)


def sync_staff(session: Session, specs: Iterable[StaffSpec], now: datetime) -> None:
    """Make the staff table agree with the config: create or update each member and
    attach their chat identities. Staff not in the config are kept (history points at them)."""
    for spec in specs:
        staff = session.exec(select(Staff).where(Staff.name == spec.name)).first()
        if staff is None:
            staff = Staff(name=spec.name, created_at=now)
        staff.display_name = spec.display_name or spec.name
        staff.email = spec.email
        staff.team = spec.team
        staff.role = spec.role
        session.add(staff)
        session.flush()
        assert staff.id is not None
        for platform, user_id in spec.identities:
            _attach(session, staff.id, platform, user_id)


def _attach(session: Session, staff_id: int, platform: str, user_id: str) -> None:
    identity = session.exec(
        select(StaffIdentity).where(
            StaffIdentity.platform == platform, StaffIdentity.user_id == user_id
        )
    ).first()
    if identity is None:
        session.add(StaffIdentity(staff_id=staff_id, platform=platform, user_id=user_id))
    elif identity.staff_id != staff_id:
        identity.staff_id = staff_id
        session.add(identity)


def staff_for_identity(session: Session, platform: str, user_id: str) -> Staff | None:
    """The staff member behind a chat user, if known."""
    return session.exec(
        select(Staff)
        .join(StaffIdentity, StaffIdentity.staff_id == Staff.id)  # type: ignore[arg-type]
        .where(StaffIdentity.platform == platform, StaffIdentity.user_id == user_id)
    ).first()


def create_from_identity(
    session: Session,
    platform: str,
    user_id: str,
    name: str | None,
    email: str | None,
    now: datetime,
) -> Staff:
    """A new staff record for a chat user seen for the first time (role staff)."""
    base = (name or f"{platform}-{user_id}").strip().lower().replace(" ", ".")
    candidate, n = base, 1
    while session.exec(select(Staff).where(Staff.name == candidate)).first() is not None:
        n += 1
        candidate = f"{base}{n}"
    staff = Staff(name=candidate, display_name=name or candidate, email=email, created_at=now)
    session.add(staff)
    session.flush()
    assert staff.id is not None
    session.add(StaffIdentity(staff_id=staff.id, platform=platform, user_id=user_id))
    return staff


def staff_by_name(session: Session, name: str) -> Staff | None:
    """Look a staff member up by name, case-insensitively, with or without '@'."""
    wanted = name.strip().lstrip("@").lower()
    for staff in session.exec(select(Staff)).all():
        if staff.name.lower() == wanted or staff.display_name.lower() == wanted:
            return staff
    return None


def names_by_id(session: Session) -> dict[int, str]:
    """staff id -> name, for reports."""
    return {s.id: s.name for s in session.exec(select(Staff)).all() if s.id is not None}
