"""The ``[replies]`` table and the reply keys of channels and routes: answering the
customer from the chat thread (docs/replies.md).

``reply_mode`` says what a staff reply written in chat does: ``off`` (the default: nothing
is ever published; staff answer on the platform and crmbot records that they replied),
``direct`` (published at once) or ``approve`` (drafted, and published once an approver
approves it). ``approvers`` are role names (``staff``, ``manager``, ``admin``: that role
or a higher one) or staff names (``alice`` or ``@alice``). ``prefix`` marks a thread
message as a reply to publish (``>> Thanks, fixed now!``).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

ReplyMode = Literal["direct", "approve", "off"]
REPLY_MODES: tuple[ReplyMode, ...] = ("direct", "approve", "off")
APPROVER_ROLES = ("staff", "manager", "admin")


def check_approvers(value: list[str] | None) -> list[str] | None:
    """Approvers are non-blank role or staff names."""
    if value is not None and any(not item.strip().removeprefix("@") for item in value):
        raise ValueError("an approver is a role (staff, manager, admin) or a staff name")
    return value


class RepliesConfig(BaseModel):
    """``[replies]``: the defaults every channel inherits."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    prefix: str = Field(">>", min_length=1, max_length=10)
    mode: ReplyMode = "off"
    approvers: list[str] = Field(default_factory=lambda: ["manager", "admin"], min_length=1)

    @field_validator("prefix")
    @classmethod
    def _prefix_visible(cls, value: str) -> str:
        if value != value.strip():
            raise ValueError("the prefix must not start or end with spaces")
        return value

    @field_validator("approvers")
    @classmethod
    def _approvers(cls, value: list[str]) -> list[str]:
        check_approvers(value)
        return value
