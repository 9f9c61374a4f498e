"""What the dashboard page needs from the server's settings."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from storemon.api.deps import ContainerDep

router = APIRouter(tags=["dashboard"])


class DashboardSettings(BaseModel):
    max_gap_minutes: float | None = Field(
        description="The max gap (SPEC 8.1) the page uses unless its reader picks "
        "another; null: none (every poll speaks until the next one)."
    )


@router.get("/dashboard/settings", response_model=DashboardSettings)
def dashboard_settings(container: ContainerDep) -> DashboardSettings:
    """The page's defaults, from the server's settings."""
    return DashboardSettings(max_gap_minutes=container.settings.dashboard_max_gap)
