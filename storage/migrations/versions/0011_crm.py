"""CRM: contact owner and record link, enrichments waiting to run, leads and linked deals

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("contact") as batch:
        batch.add_column(sa.Column("owner", sa.String(), nullable=True))
        batch.add_column(sa.Column("url", sa.String(), nullable=True))
    op.create_table(
        "crm_enrichment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("external_id", sa.String(), nullable=False),
        sa.Column("object_type", sa.String(), nullable=False),
        sa.Column("object_id", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=False),
        sa.Column("done_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("source", "external_id"),
    )
    op.create_index("ix_crm_enrichment_due", "crm_enrichment", ["status", "next_attempt_at"])
    op.create_table(
        "crm_lead",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("crm", sa.String(), nullable=False),
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.Column("created", sa.Boolean(), nullable=False),
        sa.Column("url", sa.String(), nullable=True),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["contact_id"], ["contact.id"]),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversation.id"]),
        sa.ForeignKeyConstraint(["staff_id"], ["staff.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("conversation_id"),
    )
    op.create_index("ix_crm_lead_contact_id", "crm_lead", ["contact_id"])
    op.create_index("ix_crm_lead_at", "crm_lead", ["at"])
    op.create_table(
        "crm_deal",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("crm", sa.String(), nullable=False),
        sa.Column("deal_id", sa.String(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(), nullable=True),
        sa.Column("amount", sa.Float(), nullable=True),
        sa.Column("stage", sa.String(), nullable=True),
        sa.Column("first_seen_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["contact_id"], ["contact.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("crm", "deal_id"),
    )
    op.create_index("ix_crm_deal_contact_id", "crm_deal", ["contact_id"])


def downgrade() -> None:
    op.drop_index("ix_crm_deal_contact_id", table_name="crm_deal")
    op.drop_table("crm_deal")
    op.drop_index("ix_crm_lead_at", table_name="crm_lead")
    op.drop_index("ix_crm_lead_contact_id", table_name="crm_lead")
    op.drop_table("crm_lead")
    op.drop_index("ix_crm_enrichment_due", table_name="crm_enrichment")
    op.drop_table("crm_enrichment")
    with op.batch_alter_table("contact") as batch:
        batch.drop_column("url")
        batch.drop_column("owner")
