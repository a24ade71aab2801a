"""Source building blocks without the network: config tables, HubSpot mapping, backoff,
and the source_cursor migration (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlmodel import SQLModel

import storage.models  # noqa: F401  (registers every table, source_cursor included)
from bot.config_loader import ConfigError, load_config_text
from bot.sources import hubspot
from bot.sources.backoff import backoff_delay, due, retry_after_seconds
from bot.sources.base import html_to_text
from bot.sources.schema import SchemaError
from storage import migrate
from storage import sources as cursor_store
from storage.db import Database
from storage.kb_search import include_object

FIXTURES = Path(__file__).parent / "fixtures" / "sources"

SOURCES_TOML = """
[sources]
notify_after_failures = 2
max_backoff = "30m"

[sources.webhooks]
max_body_bytes = 65536
aliases = { zapier = ["typeform", "intercom"] }

[sources.hubspot]
handle_properties = ["twitterhandle", "mastodon_handle"]

[sources.rss.acme-blog]
url = "https://blog.example.com/feed.xml"
keywords = ["acme"]

[sources.mastodon.fosstodon]
api_base_url = "https://fosstodon.org/"
token_env = "MASTODON_TOKEN"
hashtags = ["acme"]
queries = ["acme logistics"]
every = "90s"

[sources.reddit.main]
subreddits = ["acme", "logistics"]
queries = ["acme"]

[sources.bluesky.main]
queries = ["acme", "\\"acme logistics\\""]
enabled = false
"""


# -- config ------------------------------------------------------------------------------


def test_sources_tables_load() -> None:
    config = load_config_text(SOURCES_TOML, "test")
    sources = config.sources
    assert sources.notify_after_failures == 2
    assert sources.max_backoff == timedelta(minutes=30)
    assert sources.webhooks.aliases == {"zapier": ["typeform", "intercom"]}
    assert sources.mastodon["fosstodon"].api_base_url == "https://fosstodon.org"
    assert sources.mastodon["fosstodon"].every == timedelta(seconds=90)
    assert sources.rss["acme-blog"].every == timedelta(minutes=15)
    assert sources.reddit["main"].client_id_env == "REDDIT_CLIENT_ID"
    assert sources.bluesky["main"].enabled is False
    assert sources.pollers() == [
        ("rss", "acme-blog"),
        ("mastodon", "fosstodon"),
        ("reddit", "main"),
        ("bluesky", "main"),
    ]
    assert sources.poller("reddit", "main") is sources.reddit["main"]
    assert sources.poller("reddit", "nope") is None
    assert sources.poller("twitter", "main") is None


def test_the_default_config_has_no_sources() -> None:
    config = load_config_text("", "empty")
    assert config.sources.pollers() == []
    assert config.sources.webhooks.max_body_bytes == 1_048_576


@pytest.mark.parametrize(
    ("toml", "problem"),
    [
        (
            '[sources.mastodon.m]\napi_base_url = "https://x.social"\nhashtags = ["a"]\n'
            'token_env = "abc123-pasted-token!"',
            "sources.mastodon.m.token_env: must name an environment variable",
        ),
        (
            '[sources.mastodon.m]\napi_base_url = "https://x.social"',
            "give at least one of hashtags or queries",
        ),
        (
            '[sources.mastodon.m]\napi_base_url = "https://x.social"\nqueries = ["a"]',
            "status search needs token_env",
        ),
        ('[sources.rss.blog]\nurl = "ftp://x"', "sources.rss.blog.url: expected an http(s) URL"),
        ('[sources.rss.blog]\nurl = "https://x"\nevery = "10s"', "at least 30s"),
        (
            '[sources.rss.blog]\nurl = "https://x"\nevry = "10m"',
            "sources.rss.blog.evry: unknown key",
        ),
        ('[sources.rss.Blog]\nurl = "https://x"', "sources.rss.Blog: a source name is"),
        ("[sources.reddit.r]\nsubreddits = []", "sources.reddit.r.subreddits"),
        ("[sources.twitter.x]\nq = 1", "sources.twitter: unknown key"),
        ("[sources.webhooks]\nmax_body_bytes = 10", "sources.webhooks.max_body_bytes"),
    ],
)
def test_bad_sources_name_the_place(toml: str, problem: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config_text(toml, "test")
    assert any(problem in p for p in info.value.problems), info.value.problems


# -- HubSpot mapping -----------------------------------------------------------------------


def test_hubspot_fixture_maps_to_neutral_events() -> None:
    data = json.loads((FIXTURES / "hubspot_delivery.json").read_text())
    events = hubspot.parse_delivery(data, ["twitterhandle"])
    by_id = {e.external_id.rsplit(":", 1)[1]: e for e in events}
    created = by_id["1735204401"]
    assert created.kind == "lead_created"
    assert created.object_id == "contact-5501"
    assert created.contact_id == "5501"
    assert created.contact_name == "Jane Roe"  # merged from the delivery's property changes
    assert created.contact_email == "Jane.Roe@example.com"
    assert created.contact_handles == ("@JaneRoe",)
    assert created.company == "Acme Logistics"
    assert created.occurred_at == datetime(2026, 3, 2, 8, 55, tzinfo=UTC)
    assert created.summary == "New HubSpot contact 5501"
    stage = by_id["1735204502"]
    assert (stage.kind, stage.stage, stage.amount) == (
        "deal_stage_changed",
        "contractsent",
        12000.0,
    )
    assert stage.object_id == "deal-8801" and stage.contact_id is None
    assert stage.summary == "HubSpot deal 8801 moved to stage contractsent"
    assert by_id["1735204601"].kind == "ticket_created"
    assert by_id["1735204601"].object_id == "ticket-9901"
    assert by_id["1735204503"].summary == "HubSpot deal 8801: amount → 12000"
    assert stage.raw["subscriptionType"] == "deal.propertyChange"


@pytest.mark.parametrize(
    ("event", "kind", "object_id"),
    [
        ({"subscriptionType": "contact.deletion"}, "contact_deleted", "contact-7"),
        ({"subscriptionType": "contact.privacyDeletion"}, "contact_deleted", "contact-7"),
        ({"subscriptionType": "contact.merge"}, "contact_updated", "contact-7"),
        ({"subscriptionType": "deal.associationChange"}, "deal_updated", "deal-7"),
        ({"subscriptionType": "company.creation"}, "company_created", "company-7"),
        (
            {
                "subscriptionType": "ticket.propertyChange",
                "propertyName": "hs_pipeline_stage",
                "propertyValue": "2",
            },
            "ticket_updated",
            "ticket-7",
        ),
        ({"subscriptionType": "object.creation", "objectTypeId": "0-3"}, "deal_created", "deal-7"),
        (
            {"subscriptionType": "object.creation", "objectTypeId": "0-1"},
            "lead_created",
            "contact-7",
        ),
        (
            {"subscriptionType": "object.propertyChange", "objectTypeId": "2-123"},
            "object-2-123_updated",
            "object-2-123-7",
        ),
    ],
)
def test_hubspot_subscription_types(event: dict[str, str], kind: str, object_id: str) -> None:
    base = {"eventId": 1, "portalId": 2, "subscriptionId": 3, "objectId": 7, "occurredAt": 0}
    [mapped] = hubspot.parse_delivery([{**base, **event}])
    assert (mapped.kind, mapped.object_id) == (kind, object_id)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ({}, "expected a JSON array"),
        (["x"], "[0]: expected a JSON object"),
        ([{"eventId": "abc", "subscriptionType": "deal.creation"}], "[0].eventId"),
    ],
)
def test_hubspot_bad_deliveries(data: object, reason: str) -> None:
    with pytest.raises(SchemaError) as info:
        hubspot.parse_delivery(data)
    assert reason in str(info.value)


# -- backoff -------------------------------------------------------------------------------


def test_backoff_doubles_up_to_the_cap_and_honours_retry_after() -> None:
    every, cap = timedelta(minutes=2), timedelta(minutes=20)
    delays = [backoff_delay(n, every, cap) for n in range(1, 7)]
    assert [d.total_seconds() / 60 for d in delays] == [2, 4, 8, 16, 20, 20]
    assert backoff_delay(1, every, cap, retry_after=3600) == timedelta(hours=1)
    assert backoff_delay(3, every, cap, retry_after=5) == timedelta(minutes=8)
    assert backoff_delay(1, every, cap, retry_after=10**9) == timedelta(days=1)
    assert backoff_delay(1, timedelta(hours=2), cap) == timedelta(hours=2)  # never below every


def test_due_allows_half_an_interval_of_slack() -> None:
    now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    every = timedelta(minutes=2)
    assert due(None, now, every)
    assert due(now + timedelta(seconds=59), now, every)
    assert not due(now + timedelta(seconds=61), now, every)


def test_retry_after_header_forms() -> None:
    now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    assert retry_after_seconds("120", now) == 120
    assert retry_after_seconds("Mon, 02 Mar 2026 09:05:00 GMT", now) == 300
    assert retry_after_seconds("Mon, 02 Mar 2026 08:05:00 GMT", now) == 0
    assert retry_after_seconds("soon", now) is None
    assert retry_after_seconds(None, now) is None


def test_html_to_text() -> None:
    markup = (
        '<p>Is <a href="x">#<span>Acme</span></a> down?</p><p>Tracking &amp; maps<br>broken</p>'
    )
    assert html_to_text(markup) == "Is #Acme down?\nTracking & maps\nbroken"


# -- the cursor table ----------------------------------------------------------------------


def test_migration_0002_builds_the_cursor_table(database_url: str) -> None:
    db = Database(database_url)
    migrate.upgrade(db)
    assert migrate.current_revision(db) == migrate.head_revision()  # 0002 and later
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_object": include_object})
        diff = compare_metadata(context, SQLModel.metadata)  # the search index is no model
    assert diff == []
    now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    with db.session() as session:
        state = cursor_store.load_state(session, "rss", "blog")
        assert state.cursor == {} and state.failures == 0
        state.cursor = {"etag": '"v1"', "since": now.isoformat()}
        state.failures = 2
        state.next_attempt_at = now + timedelta(minutes=4)
        cursor_store.save_state(session, state, now)
    with db.session() as session:
        again = cursor_store.load_state(session, "rss", "blog")
        assert again.cursor == {"etag": '"v1"', "since": now.isoformat()}
        assert again.next_attempt_at == now + timedelta(minutes=4)
        again.failures = 0
        cursor_store.save_state(session, again, now)
        assert [s.failures for s in cursor_store.all_states(session)] == [0]
    command.downgrade(migrate.alembic_config(db), "0001")  # the downgrade drops the table
    assert migrate.current_revision(db) == "0001"
    db.dispose()
