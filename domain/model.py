"""The vocabulary of the domain: steps, roles, resolutions and who is acting.

Everything here is a plain value. Step and role names are part of the wire contract
(domain.md, api.md): clients branch on them, so the enum values never change.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum


class Step(StrEnum):
    """A step of the eight-step working method (八步工作法), or closed."""

    COLLECT = "collect"  # 收集问题
    TOPIC = "topic"  # 形成议题
    REVIEW = "review"  # 审核议题
    PRE_CONSULT = "pre-consult"  # 会前沟通
    NEGOTIATE = "negotiate"  # 会议协商
    PUBLISH = "publish"  # 决策公布
    IMPLEMENT = "implement"  # 组织实施
    SUPERVISE = "supervise"  # 民主监督
    CLOSED = "closed"

    @property
    def is_open(self) -> bool:
        return self is not Step.CLOSED


#: The eight working steps in order (closed is not one of them).
WORKING_STEPS: tuple[Step, ...] = tuple(s for s in Step if s is not Step.CLOSED)

STEP_NAMES_ZH: dict[Step, str] = {
    Step.COLLECT: "收集问题",
    Step.TOPIC: "形成议题",
    Step.REVIEW: "审核议题",
    Step.PRE_CONSULT: "会前沟通",
    Step.NEGOTIATE: "会议协商",
    Step.PUBLISH: "决策公布",
    Step.IMPLEMENT: "组织实施",
    Step.SUPERVISE: "民主监督",
    Step.CLOSED: "已办结",
}


class Role(StrEnum):
    """The role a credential acts in (角色)."""

    RESIDENT = "resident"  # 居民
    GRID_WORKER = "grid_worker"  # 网格员
    COMMUNITY = "community"  # 社区
    PARTY_BRANCH = "party_branch"  # 小区党支部
    OWNERS_COMMITTEE = "owners_committee"  # 业委会
    PROPERTY_COMPANY = "property_company"  # 物业公司
    AUDITOR = "auditor"  # 审计
    ADMIN = "admin"  # 管理员
    STREET = "street"  # 街道 (practices.md: reads its street; rates, summons, replaces providers)


class Resolution(StrEnum):
    """How a closed case ended (办结方式)."""

    RESOLVED = "resolved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    MERGED = "merged"
    NO_CONSENSUS = "no_consensus"


@dataclass(frozen=True)
class Actor:
    """Who records an event: an id, a role, and its scope.

    ``units`` are the units the credential names, as (level, code) pairs at any level of
    the directory (street, community, area, compound, grid); ``compounds`` and
    ``communities`` are what a case is checked against: the named compounds and
    communities, and (once the directory has resolved them, ``with_coverage``) everything
    the other named units cover (docs/adr/0070-scope-model.md). Nothing named at all means
    the whole store (a district-level account). Only id and role are recorded.

    ``provider`` (a ``property_company`` or ``owners_committee`` credential's provider code,
    practices.md): such an actor is never district-wide; without named units it covers the
    compounds its provider serves or served (the directory resolves them), and records the
    implementation events of its provider's orders only (domain/rules.py).
    """

    id: str
    role: Role
    compounds: frozenset[str] = field(default_factory=frozenset)
    communities: frozenset[str] = field(default_factory=frozenset)
    units: frozenset[tuple[str, str]] = field(default_factory=frozenset)
    provider: str | None = None

    def __post_init__(self) -> None:
        if not self.units and (self.compounds or self.communities):
            named = {("compound", c) for c in self.compounds}
            named.update(("community", c) for c in self.communities)
            object.__setattr__(self, "units", frozenset(named))

    @property
    def is_district_wide(self) -> bool:
        return (not self.units and not self.compounds and not self.communities
                and self.provider is None)

    def with_coverage(self, compounds: frozenset[str], communities: frozenset[str]) -> Actor:
        """The same actor, covering these compounds and communities besides its own."""
        return replace(self, compounds=self.compounds | compounds,
                       communities=self.communities | communities)

    def covers(self, compound_id: str, community_id: str) -> bool:
        """True when a case of this compound and community is within the actor's scope."""
        return (
            self.is_district_wide
            or compound_id in self.compounds
            or community_id in self.communities
        )
