"""The ``[crm]`` table: how leads are made (docs/crm.md)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict


class CrmConfig(BaseModel):
    """``lead_approval = true``: a lead is only made once someone with ``approver_role``
    (other than who asked) approves it with ``/crm lead approve <id>``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    lead_approval: bool = False
    approver_role: Literal["manager", "admin"] = "manager"
