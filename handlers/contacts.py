"""How a CRM contact is shown on alert cards."""

from __future__ import annotations

from typing import Any


def contact_line(contact: dict[str, Any] | None) -> str | None:
    """``Jane Roe (Acme) · deal: Renewal (negotiation, $12,000)`` for alert cards."""
    if not contact:
        return None
    who = contact.get("name") or contact.get("email") or f"contact {contact.get('external_id')}"
    if contact.get("company"):
        who += f" ({contact['company']})"
    deal_bits = [b for b in (contact.get("deal_stage"),) if b]
    if contact.get("deal_amount") is not None:
        deal_bits.append(f"${contact['deal_amount']:,.0f}")
    if contact.get("deal_name") or deal_bits:
        deal = contact.get("deal_name") or "deal"
        who += f" · deal: {deal}" + (f" ({', '.join(deal_bits)})" if deal_bits else "")
    return who


def split_name(name: str | None) -> tuple[str | None, str | None]:
    """``"Jane van Roe"`` -> ``("Jane", "van Roe")``: first and last name as CRMs store them."""
    parts = (name or "").split(None, 1)
    if not parts:
        return None, None
    return parts[0], (parts[1] if len(parts) > 1 else None)
