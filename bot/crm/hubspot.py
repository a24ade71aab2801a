"""HubSpot's CRM v3 through the official ``hubspot-api-client``: the :class:`Crm` port.

The token is a private app's (``HUBSPOT_ACCESS_TOKEN``, scopes ``crm.objects.contacts.read``
and ``.write``, ``crm.objects.deals.read``); ``HUBSPOT_API_URL`` points the client at a
proxy or a test server (it becomes the client's ``Configuration.host``).

The client is synchronous, so every call runs in a worker thread. A 429 is retried a few
times, waiting what HubSpot's ``Retry-After`` says (tenacity), then becomes a
``CrmError(retry_after=...)`` the caller schedules; 401/403 are permanent and name the
variable, never the token. Reads are cached for ``[sources.hubspot] cache_ttl``.
"""

from __future__ import annotations

import asyncio
import html
import json
import logging
import re
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from hubspot import HubSpot
from hubspot.crm.contacts import (
    Filter,
    FilterGroup,
    PublicObjectSearchRequest,
    SimplePublicObjectInput,
    SimplePublicObjectInputForCreate,
)
from hubspot.crm.objects.notes import AssociationSpec, PublicAssociationsForObject, PublicObjectId
from hubspot.crm.objects.notes import (
    SimplePublicObjectInputForCreate as NoteInput,
)
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt
from urllib3.util.retry import Retry

from bot.crm.cache import TtlCache
from bot.settings import Settings
from handlers.config_sources import HubspotConfig
from handlers.contacts import split_name
from handlers.crm_port import ContactRecord, CrmError, DealRecord, LeadRequest, LeadResult

log = logging.getLogger(__name__)

T = TypeVar("T")

TOKEN_ENV = "HUBSPOT_ACCESS_TOKEN"
CONTACT_PROPERTIES = (
    "firstname",
    "lastname",
    "email",
    "company",
    "hubspot_owner_id",
    "lifecyclestage",
)
DEAL_PROPERTIES = ("dealname", "amount", "dealstage")
NOTE_TO_CONTACT = 202  # HubSpot-defined association type: note -> contact
DEALS_READ = 3  # associated deals read with a contact
_EXISTING_ID = re.compile(r"Existing ID:\s*(\d+)")


class HubspotCrm:
    """Reads contacts and deals, finds contacts, and makes leads in one HubSpot account."""

    name = "hubspot"
    label = "HubSpot"
    can_read = True

    def __init__(
        self,
        client: HubSpot,
        config: Callable[[], HubspotConfig],
        *,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        attempts: int = 3,
        max_wait: float = 30.0,
    ) -> None:
        self._client = client
        self._config = config
        self._now = now
        self._sleep = sleep
        self._attempts = attempts
        self._max_wait = max_wait
        ttl = config().cache_ttl.total_seconds()
        self._contacts: TtlCache[ContactRecord] = TtlCache(ttl, monotonic)
        self._deals: TtlCache[DealRecord] = TtlCache(ttl, monotonic)

    # -- the port --------------------------------------------------------------

    async def read_contact(self, contact_id: str) -> ContactRecord:
        """The contact with its first associated deals (cached)."""
        cached = self._contacts.get(contact_id)
        if cached is not None:
            return cached
        record = await asyncio.to_thread(self._read_contact, contact_id)
        deals = []
        for deal_id in record.deals:
            deals.append(await self.read_deal(deal_id.id))
        full = _with_deals(record, tuple(deals))
        self._contacts.put(contact_id, full)
        return full

    async def read_deal(self, deal_id: str) -> DealRecord:
        """The deal with its associated contact ids (cached)."""
        cached = self._deals.get(deal_id)
        if cached is not None:
            return cached
        deal = await asyncio.to_thread(self._read_deal, deal_id)
        self._deals.put(deal_id, deal)
        return deal

    async def find_contact(
        self, email: str | None = None, handle: str | None = None
    ) -> ContactRecord | None:
        """The contact with this email, else the one with this handle (not cached: a lead
        must see a contact created a moment ago)."""
        return await asyncio.to_thread(self._find, email, handle)

    async def upsert_lead(self, lead: LeadRequest) -> LeadResult:
        """Reuse the contact with the same email or handle, else create one; note the
        mention on it."""
        return await asyncio.to_thread(self._upsert_lead, lead)

    # -- in the worker thread ----------------------------------------------------

    def _read_contact(self, contact_id: str) -> ContactRecord:
        obj = self._call(
            f"contact {contact_id}",
            lambda: self._client.crm.contacts.basic_api.get_by_id(
                contact_id, properties=self._contact_properties(), associations=["deals"]
            ),
        )
        deal_ids = _associated(obj, "deals")[:DEALS_READ]
        return _with_deals(
            self._contact(obj.id, obj.properties or {}), tuple(DealRecord(d) for d in deal_ids)
        )

    def _read_deal(self, deal_id: str) -> DealRecord:
        obj = self._call(
            f"deal {deal_id}",
            lambda: self._client.crm.deals.basic_api.get_by_id(
                deal_id, properties=list(DEAL_PROPERTIES), associations=["contacts"]
            ),
        )
        props: dict[str, Any] = obj.properties or {}
        return DealRecord(
            id=str(obj.id),
            name=props.get("dealname") or None,
            amount=_amount(props.get("amount")),
            stage=props.get("dealstage") or None,
            contact_ids=tuple(_associated(obj, "contacts")),
        )

    def _find(self, email: str | None, handle: str | None) -> ContactRecord | None:
        if email:
            found = self._search([("email", email.strip().lower())])
            if found is not None:
                return found
        if handle:
            bare = handle.strip().lstrip("@")
            prop = self._config().lead_handle_property
            return self._search([(prop, bare), (prop, "@" + bare)])
        return None

    def _search(self, alternatives: Sequence[tuple[str, str]]) -> ContactRecord | None:
        request = PublicObjectSearchRequest(
            filter_groups=[
                FilterGroup(filters=[Filter(property_name=p, operator="EQ", value=v)])
                for p, v in alternatives
            ],
            properties=self._contact_properties(),
            sorts=["createdate"],
            limit=1,
        )
        page = self._call(
            "contact search",
            lambda: self._client.crm.contacts.search_api.do_search(
                public_object_search_request=request
            ),
        )
        results = page.results or []
        return self._contact(results[0].id, results[0].properties or {}) if results else None

    def _upsert_lead(self, lead: LeadRequest) -> LeadResult:
        config = self._config()
        existing = self._find(lead.email, lead.handle)
        social = {config.lead_handle_property: lead.handle.strip().lstrip("@")}
        if config.profile_property and lead.profile_url:
            social[config.profile_property] = lead.profile_url
        if existing is not None:
            contact, created = self._update(existing, lead, social), False
        else:
            contact, created = self._create(lead, social), True
        self._note(contact.id, lead)
        self._contacts.forget(contact.id)
        return LeadResult(
            contact_id=contact.id,
            created=created,
            url=contact.url,
            name=contact.name,
            email=contact.email,
            company=contact.company,
        )

    def _create(self, lead: LeadRequest, social: dict[str, str]) -> ContactRecord:
        props = dict(social)
        first, last = split_name(lead.display_name)
        if first:
            props["firstname"] = first
        if last:
            props["lastname"] = last
        if lead.email:
            props["email"] = lead.email.strip().lower()
        try:
            obj = self._call(
                "new contact",
                lambda: self._client.crm.contacts.basic_api.create(
                    simple_public_object_input_for_create=SimplePublicObjectInputForCreate(
                        properties=props, associations=[]
                    )
                ),
                conflict_ok=True,
            )
        except _Conflict as conflict:  # created meanwhile (same email): reuse it
            return self._update(self._read_contact(conflict.existing_id), lead, social)
        return self._contact(obj.id, obj.properties or props)

    def _update(
        self, contact: ContactRecord, lead: LeadRequest, social: dict[str, str]
    ) -> ContactRecord:
        props = dict(social)
        if not contact.name and lead.display_name:
            first, last = split_name(lead.display_name)
            props.update({k: v for k, v in (("firstname", first), ("lastname", last)) if v})
        if not contact.email and lead.email:
            props["email"] = lead.email.strip().lower()
        obj = self._call(
            f"contact {contact.id}",
            lambda: self._client.crm.contacts.basic_api.update(
                contact.id, simple_public_object_input=SimplePublicObjectInput(properties=props)
            ),
        )
        return self._contact(obj.id, {**_as_props(contact), **(obj.properties or {})})

    def _note(self, contact_id: str, lead: LeadRequest) -> None:
        body = _note_body(lead)
        note = NoteInput(
            properties={"hs_timestamp": self._now().isoformat(), "hs_note_body": body},
            associations=[
                PublicAssociationsForObject(
                    to=PublicObjectId(id=contact_id),
                    types=[
                        AssociationSpec(
                            association_category="HUBSPOT_DEFINED",
                            association_type_id=NOTE_TO_CONTACT,
                        )
                    ],
                )
            ],
        )
        self._call(
            "note",
            lambda: self._client.crm.objects.notes.basic_api.create(
                simple_public_object_input_for_create=note
            ),
        )

    # -- helpers -------------------------------------------------------------------

    def _contact_properties(self) -> list[str]:
        config = self._config()
        extra = [*config.handle_properties, config.lead_handle_property]
        if config.profile_property:
            extra.append(config.profile_property)
        return list(dict.fromkeys([*CONTACT_PROPERTIES, *extra]))

    def _contact(self, contact_id: Any, props: dict[str, Any]) -> ContactRecord:
        config = self._config()
        name = " ".join(p for p in (props.get("firstname"), props.get("lastname")) if p) or None
        handles = [str(props[p]) for p in config.handle_properties if props.get(p)]
        if props.get(config.lead_handle_property):
            handles.append(str(props[config.lead_handle_property]))
        return ContactRecord(
            id=str(contact_id),
            name=name,
            email=props.get("email") or None,
            company=props.get("company") or None,
            owner=props.get("hubspot_owner_id") or None,
            lifecycle_stage=props.get("lifecyclestage") or None,
            handles=tuple(dict.fromkeys(handles)),
            url=self._record_url(str(contact_id)),
        )

    def _record_url(self, contact_id: str) -> str | None:
        config = self._config()
        if config.portal_id is None:
            return None
        return f"{config.app_url}/contacts/{config.portal_id}/record/0-1/{contact_id}"

    def _call(self, what: str, call: Callable[[], T], conflict_ok: bool = False) -> T:
        """``call()`` with 429s retried as HubSpot asks; other failures as CrmError."""
        retrying = Retrying(
            retry=retry_if_exception(lambda e: _status(e) == 429),
            wait=self._wait,
            stop=stop_after_attempt(self._attempts),
            sleep=self._sleep,
            reraise=True,
        )
        try:
            return retrying(call)
        except Exception as exc:
            status = _status(exc)
            if conflict_ok and status == 409:
                existing = _EXISTING_ID.search(_message(exc))
                if existing:
                    raise _Conflict(existing.group(1)) from None
            error = _crm_error(exc, what)
            log.warning("HubSpot %s failed: %s", what, error.reason)
            raise error from None

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome is not None else None
        asked = _retry_after(exc) if exc is not None else None
        fallback = float(2 ** (state.attempt_number - 1))
        return min(self._max_wait, asked if asked is not None else fallback)


class _Conflict(Exception):
    def __init__(self, existing_id: str) -> None:
        super().__init__(existing_id)
        self.existing_id = existing_id


def _status(exc: BaseException) -> int | None:
    status = getattr(exc, "status", None)
    return status if isinstance(status, int) else None


def _retry_after(exc: BaseException) -> float | None:
    headers = getattr(exc, "headers", None)
    raw = headers.get("Retry-After") if headers is not None else None
    try:
        return max(0.0, float(raw)) if raw is not None else None
    except ValueError:
        return None


def _message(exc: BaseException) -> str:
    body = getattr(exc, "body", None)
    try:
        data = json.loads(body) if body else {}
    except (ValueError, TypeError):
        return ""
    message = data.get("message") if isinstance(data, dict) else None
    return str(message) if message else ""


def _crm_error(exc: BaseException, what: str) -> CrmError:
    """A failed call in words, without the token or HubSpot's raw answer."""
    status = _status(exc)
    if status in (401, 403):
        return CrmError(
            f"HubSpot refused the access token (HTTP {status}): check {TOKEN_ENV} "
            "(a private app token with the crm.objects.contacts and deals scopes).",
            permanent=True,
        )
    if status == 404:
        return CrmError(f"HubSpot has no {what}.", permanent=True)
    if status == 429:
        wait = _retry_after(exc)
        shown = f"; try again in {wait:.0f}s" if wait is not None else ""
        return CrmError(f"HubSpot is rate limiting crmbot{shown}.", retry_after=wait or 10.0)
    if status is not None and status >= 500:
        return CrmError(f"HubSpot answered HTTP {status} for the {what}; it is retried later.")
    if status is not None:
        return CrmError(f"HubSpot refused the {what} (HTTP {status}).", permanent=True)
    return CrmError(f"HubSpot could not be reached ({type(exc).__name__}).")


def _associated(obj: Any, kind: str) -> list[str]:
    associations = getattr(obj, "associations", None) or {}
    found = associations.get(kind)
    results = getattr(found, "results", None) or []
    return list(dict.fromkeys(str(r.id) for r in results))


def _with_deals(record: ContactRecord, deals: tuple[DealRecord, ...]) -> ContactRecord:
    return ContactRecord(
        id=record.id,
        name=record.name,
        email=record.email,
        company=record.company,
        owner=record.owner,
        lifecycle_stage=record.lifecycle_stage,
        handles=record.handles,
        deals=deals,
        url=record.url,
    )


def _as_props(contact: ContactRecord) -> dict[str, Any]:
    first, last = split_name(contact.name)
    return {
        "firstname": first,
        "lastname": last,
        "email": contact.email,
        "company": contact.company,
        "hubspot_owner_id": contact.owner,
        "lifecyclestage": contact.lifecycle_stage,
    }


def _amount(value: Any) -> float | None:
    try:
        return float(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _note_body(lead: LeadRequest) -> str:
    who = f"@{lead.handle.lstrip('@')} on {lead.platform}"
    by = f" by {lead.staff}" if lead.staff else ""
    lines = [
        f"<p>Social lead from {html.escape(who)} (crmbot conversation "
        f"#{lead.conversation_id}{html.escape(by)}):</p>",
        f"<blockquote>{html.escape(lead.mention_text)}</blockquote>",
    ]
    for label, url in (("Conversation", lead.conversation_link), ("Profile", lead.profile_url)):
        if url:
            lines.append(f'<p>{label}: <a href="{html.escape(url)}">{html.escape(url)}</a></p>')
    return "\n".join(lines)


def hubspot_from_settings(
    settings: Settings, config: Callable[[], HubspotConfig]
) -> HubspotCrm | None:
    """HubSpot when ``HUBSPOT_ACCESS_TOKEN`` is set, talking to ``HUBSPOT_API_URL``."""
    token = settings.hubspot_access_token
    if token is None or not token.get_secret_value():
        return None
    return HubspotCrm(hubspot_client(token.get_secret_value(), settings.hubspot_api_url), config)


def hubspot_client(token: str, api_url: str) -> HubSpot:
    """The official client on ``api_url``. urllib3's own retries are off: it would sleep
    through a 429's Retry-After in the worker thread, where :class:`HubspotCrm` waits
    on its own terms (bounded, then scheduled)."""
    return HubSpot(
        access_token=token,
        host=api_url.rstrip("/"),
        retry=Retry(total=0, respect_retry_after_header=False, raise_on_status=False),
    )
