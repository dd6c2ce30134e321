"""The simulated district (模拟街道): its street, communities, compounds and people.

One street (街道) of six communities (社区) and three dozen compounds (小区), some without a
property company (无物业小区). Built from a seed alone; reporter contacts are fake people
whose details are sealed under keys derived from the seed (fake people, fake keys).
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from datetime import timedelta
from uuid import UUID

from domain.model import Actor, Role

NAMESPACE = UUID("6b1f3a52-9d0e-4c8e-9a51-3f0c2d7e8a10")
LOCAL = timedelta(hours=8)  # China Standard Time, UTC+8
YEAR = timedelta(days=365)

# The district ---------------------------------------------------------------------------

STREET = "青溪街道"
COMMUNITY_NAMES = ("阳光社区", "桂花社区", "滨河社区", "望江社区", "新华社区", "翠苑社区")
COMPOUND_NAMES = (
    "阳光花园", "向阳里", "朝晖小区", "金色家园", "桂花苑", "丹桂公寓", "香樟园", "棉纺厂宿舍",
    "滨河湾", "水岸名邸", "河畔新村", "粮食局家属院", "望江府", "观澜苑", "江南春晓",
    "电厂宿舍", "新华里", "新华东村", "百货公司宿舍", "书香门第", "幸福家园", "翠苑一区",
    "翠苑二区", "翠苑三区", "紫荆花园", "锦绣华庭", "康乐新村", "机床厂家属楼", "御景湾",
    "枫林晚", "和平里", "民主新村", "东方明珠苑", "怡景苑", "南苑小区", "玉兰公寓",
)
PROPERTY_COMPANIES = (
    "绿城物业", "万科物业", "碧桂园服务", "保利物业", "长城物业", "金盾物业", "安居物业",
    "家和物业",
)
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋"
    "唐许韩冯邓曹彭曾萧田董潘袁蔡蒋余于杜叶程魏苏吕丁任沈"
)
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀英华平刚桂兰玉珍建国淑琴志红霞海燕凤梅"


@dataclass(frozen=True)
class Community:
    id: str
    name: str


@dataclass(frozen=True)
class Compound:
    id: str
    name: str
    community: Community
    buildings: int
    property_company: str | None  # None: 无物业小区
    built: int

    @property
    def has_property_company(self) -> bool:
        return self.property_company is not None


@dataclass(frozen=True)
class District:
    street: str
    communities: tuple[Community, ...]
    compounds: tuple[Compound, ...]

    def without_property(self) -> tuple[Compound, ...]:
        return tuple(c for c in self.compounds if not c.has_property_company)


def build_district(seed: int) -> District:
    """Six communities and 36 compounds; about a quarter without a property company."""
    rng = random.Random(f"district:{seed}")  # noqa: S311 - simulation, not secrets
    communities = tuple(
        Community(f"C{n:02d}", name) for n, name in enumerate(COMMUNITY_NAMES, start=1)
    )
    compounds = []
    for n, name in enumerate(COMPOUND_NAMES):
        community = communities[n % len(communities)]
        old = any(word in name for word in ("宿舍", "家属", "新村", "里"))
        without = (old and rng.random() < 0.75) or (not old and rng.random() < 0.08)
        compounds.append(Compound(
            id=f"{community.id}-{n // len(communities) + 1:02d}",
            name=name,
            community=community,
            buildings=rng.randint(3, 8) if old else rng.randint(8, 30),
            property_company=None if without else rng.choice(PROPERTY_COMPANIES),
            built=rng.randint(1982, 1999) if old else rng.randint(2000, 2020),
        ))
    return District(STREET, communities, tuple(compounds))


@dataclass(frozen=True)
class People:
    """The actors of one compound (ids are what events record)."""

    grid: Actor
    community: Actor
    party: Actor
    owners: Actor
    property: Actor | None
    residents: tuple[Actor, ...]


def grid_code(compound_id: str) -> str:
    """The code of the demo's one grid (网格) in a compound."""
    return f"{compound_id}-G1"


def people_of(compound: Compound) -> People:
    scope = frozenset({compound.id})
    key = compound.id
    residents = tuple(
        Actor(f"res-{key}-{n:03d}", Role.RESIDENT, scope) for n in range(1, 41)
    )
    return People(
        # Scoped --grid (issue 14): its reports and collections carry its grid (ADR 0115).
        grid=Actor(f"grid-{key}", Role.GRID_WORKER, scope,
                   units=frozenset({("compound", key), ("grid", grid_code(key))})),
        community=Actor(
            f"community-{compound.community.id}", Role.COMMUNITY,
            communities=frozenset({compound.community.id}),
        ),
        party=Actor(f"party-{key}", Role.PARTY_BRANCH, scope),
        owners=Actor(f"owners-{key}", Role.OWNERS_COMMITTEE, scope),
        property=(Actor(f"property-{key}", Role.PROPERTY_COMPANY, scope)
                  if compound.has_property_company else None),
        residents=residents,
    )



# Contacts, sealed under keys derived from the seed -----------------------------------------


def fake_contact(rng: random.Random) -> dict[str, str]:
    name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.randint(1, 2)))
    phone = rng.choice(("138", "139", "137", "186", "158", "159", "152", "177")) + "".join(
        str(rng.randint(0, 9)) for _ in range(8)
    )
    return {"name": name, "phone": phone}


def subject_key(seed: int, subject_id: str) -> bytes:
    """A demo data subject's AES-256 key, derived from the seed (demo data only)."""
    return hashlib.sha256(f"yishi-demo-key:{seed}:{subject_id}".encode()).digest()
