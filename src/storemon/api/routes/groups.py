"""Groups of stores (SPEC 8.4): the groups the memberships feed defines."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from storemon.api.deps import ContainerDep
from storemon.data.groups import group_counts

router = APIRouter(tags=["groups"])

MAX_GROUPS_PER_PAGE = 1000


class GroupItem(BaseModel):
    group: str
    members: int = Field(description="Stores in the group.")


class GroupList(BaseModel):
    items: list[GroupItem]
    total: int = Field(description="Groups in all.")
    limit: int
    offset: int


@router.get("/groups", response_model=GroupList)
def list_groups(
    container: ContainerDep,
    limit: Annotated[int, Query(ge=1, le=MAX_GROUPS_PER_PAGE)] = 100,
    offset: Annotated[int, Query(ge=0, le=2**31)] = 0,
) -> GroupList:
    """Every group with its member count, in code point order of the name."""
    with container.engine.connect() as connection:
        found, total = group_counts(connection, limit, offset)
    return GroupList(
        items=[GroupItem(group=g.group, members=g.members) for g in found],
        total=total,
        limit=limit,
        offset=offset,
    )
