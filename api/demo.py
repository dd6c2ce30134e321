"""A simulated district for demonstrations and load tests (模拟街道).

One street (街道) of six communities (社区) and three dozen compounds (小区), some without a
property company (无物业小区), and a year of cases through the eight steps. Every event is
decided by the domain (``Case.report``, ``Case.record``, ``merge_cases``) at a plausible
historical time, so the rules hold and every hash chain verifies; nothing is written
around the aggregate.

The simulation is a discrete-event one: each case is a story (a generator) that yields its
next action and the time it happens; the cases of one chunk run together in time order, so
a duplicate can be merged into a case of the same compound that is open at that moment.
Each chunk is saved with one ``app.save(*cases)``: one transaction for hundreds of cases.

The same seed, ``now`` and case count give the same events: ids are ``uuid5`` of the seed
and the case's index, each case draws from its own ``random.Random``, and reporter contacts
are sealed under keys and nonces derived from the seed (fake people, fake keys).
"""

from __future__ import annotations

import bisect
import hashlib
import heapq
import itertools
import multiprocessing
import random
import sys
import time
from collections import Counter, deque
from collections.abc import Callable, Generator, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TextIO
from uuid import UUID, uuid5

from domain.application import Cases
from domain.case import Case, merge_cases
from domain.catalogue import canonical_time
from domain.deadlines import TimeLimits
from domain.model import Actor, Role
from domain.privacy import KEYS_TABLE, seal

#: Cases simulated together and saved in one transaction. Part of what a seed means:
#: merges only join cases of the same chunk, so changing it changes the district.
CHUNK = 500
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


def people_of(compound: Compound) -> People:
    scope = frozenset({compound.id})
    key = compound.id
    residents = tuple(
        Actor(f"res-{key}-{n:03d}", Role.RESIDENT, scope) for n in range(1, 41)
    )
    return People(
        grid=Actor(f"grid-{key}", Role.GRID_WORKER, scope),
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


# What districts report ------------------------------------------------------------------

SPRING, SUMMER, AUTUMN, WINTER = (3, 4, 5), (6, 7, 8), (9, 10, 11), (12, 1, 2)


def _season(*peaks: tuple[tuple[int, ...], float]) -> tuple[float, ...]:
    weights = [1.0] * 12
    for months, factor in peaks:
        for month in months:
            weights[month - 1] = factor
    return tuple(weights)


@dataclass(frozen=True)
class Problem:
    category: str
    title: str  # the compound's name and a place are put in front
    description: str
    place: str  # "building", "garage", "grounds", "gate", "office"
    weight: float
    season: tuple[float, ...] = (1.0,) * 12
    work_days: tuple[int, int] = (7, 30)
    cost_yuan: tuple[int, int] = (500, 20000)
    parties: tuple[str, ...] = ("业委会", "物业公司", "相关住户")
    collected_as: str | None = None  # the category staff confirm, when residents mislabel it


PROBLEMS: tuple[Problem, ...] = (
    Problem("sanitation", "垃圾清运不及时", "垃圾桶满溢两天无人清运, 气味很大, 招来蚊蝇.",
            "grounds", 9, _season((SUMMER, 1.8)), (2, 7), (0, 3000), ("物业公司", "环卫所")),
    Problem("sanitation", "楼道堆放杂物", "楼道里堆放纸箱和旧家具, 影响通行, 也有火灾隐患.",
            "building", 7, work_days=(1, 7), cost_yuan=(0, 800), parties=("楼栋长", "相关住户")),
    Problem("sanitation", "垃圾分类投放点异味", "垃圾分类投放点没有冲洗, 夏天异味严重.",
            "grounds", 4, _season((SUMMER, 2.5)), (3, 14), (500, 6000)),
    Problem("sanitation", "落叶堆积无人清扫", "路面落叶堆积, 雨后湿滑.", "grounds", 3,
            _season((AUTUMN, 3.0), (SUMMER, 0.3)), (1, 5), (0, 1000)),
    Problem("sanitation", "小广告乱贴乱画", "单元门和电梯里贴满小广告.", "building", 3,
            work_days=(1, 5), cost_yuan=(0, 500)),
    Problem("safety", "电动车飞线充电", "有住户从楼上拉电线给电动车充电, 存在严重火灾隐患.",
            "building", 10, _season((WINTER, 1.6), (SUMMER, 1.3)), (7, 30), (2000, 60000),
            ("物业公司", "业委会", "供电公司", "相关住户")),
    Problem("safety", "电动车进楼道充电", "电动车推进楼道和电梯充电, 住户担心起火.", "building",
            6, _season((WINTER, 1.5)), (5, 21), (0, 5000), ("物业公司", "楼栋长")),
    Problem("safety", "消防通道被占用", "消防通道长期停放车辆, 消防车进不来.", "grounds", 5,
            work_days=(3, 14), cost_yuan=(0, 8000), parties=("物业公司", "业委会", "车主")),
    Problem("safety", "冬季取暖用电安全隐患", "老人用电炉取暖, 线路老化, 经常跳闸.", "building",
            5, _season((WINTER, 5.0), (SUMMER, 0.1), (SPRING, 0.4)), (5, 20), (1000, 15000),
            ("供电公司", "社区居委会", "相关住户")),
    Problem("safety", "外墙瓷砖脱落", "外墙瓷砖掉落, 差点砸到人.", "building", 3,
            _season((SUMMER, 1.6)), (14, 45), (10000, 150000), ("业委会", "物业公司", "住建部门")),
    Problem("facilities", "雨污管道堵塞污水外溢", "一下雨污水就从井盖冒出来, 没有地方排.",
            "grounds", 8, _season((SUMMER, 4.0), (WINTER, 0.3)), (10, 40), (5000, 120000),
            ("业委会", "物业公司", "排水公司")),
    Problem("facilities", "地下车库漏水", "地下车库顶板渗水, 下雨时积水到脚踝.", "garage", 7,
            _season((SUMMER, 4.0), (WINTER, 0.3)), (14, 60), (20000, 300000),
            ("业委会", "物业公司", "车位业主")),
    Problem("facilities", "屋顶漏水", "顶楼住户家里天花板渗水, 墙皮脱落.", "building", 6,
            _season((SUMMER, 3.5), (WINTER, 0.4)), (10, 40), (5000, 80000),
            ("业委会", "物业公司", "顶楼住户")),
    Problem("facilities", "小区道路塌陷", "小区主干道路面塌陷一个坑, 夜里看不清.", "grounds", 3,
            _season((SUMMER, 2.0)), (14, 45), (10000, 120000)),
    Problem("facilities", "供水管道老化需更换", "水管锈蚀, 水发黄, 经常爆管停水.", "building", 4,
            _season((WINTER, 1.8)), (20, 60), (30000, 400000),
            ("业委会", "自来水公司", "全体住户")),
    Problem("facilities", "暖气不热", "暖气片温度很低, 屋里只有十几度.", "building", 5,
            _season((WINTER, 6.0), (SPRING, 0.2), (SUMMER, 0.0), (AUTUMN, 0.5)), (3, 14),
            (1000, 30000), ("热力公司", "物业公司", "相关住户")),
    Problem("facilities", "路灯不亮", "几盏路灯坏了很久, 晚上回家很黑.", "grounds", 4,
            _season((WINTER, 1.5)), (3, 14), (500, 8000)),
    Problem("facilities", "电梯经常故障", "电梯三天两头停运, 老人上下楼困难.", "building", 4,
            work_days=(7, 30), cost_yuan=(5000, 120000),
            parties=("物业公司", "维保单位", "业委会")),
    Problem("facilities", "老旧小区加装电梯", "住户希望加装电梯, 低层住户有顾虑.", "building", 2,
            work_days=(30, 90), cost_yuan=(300000, 800000),
            parties=("全体住户", "业委会", "住建部门")),
    Problem("parking", "非机动车乱停乱放", "单车和电动车停得到处都是, 挡住单元门.", "gate", 7,
            work_days=(3, 20), cost_yuan=(2000, 30000), parties=("物业公司", "业委会", "相关住户")),
    Problem("parking", "外来车辆占用车位", "外来车辆随意进出, 业主回家没地方停.", "gate", 5,
            work_days=(7, 30), cost_yuan=(3000, 40000), parties=("物业公司", "业委会", "车主")),
    Problem("parking", "停车位划线和收费争议", "新划的停车位收费标准没有公示, 业主有意见.",
            "grounds", 3, work_days=(14, 40), cost_yuan=(2000, 20000),
            parties=("业委会", "物业公司", "车主")),
    Problem("parking", "电动车充电桩不足", "小区只有一处充电桩, 排队充电, 只好飞线.",
            "grounds", 4, _season((WINTER, 1.4)), (14, 45), (10000, 80000),
            ("物业公司", "供电公司", "业委会")),
    Problem("greening", "绿地被占用种菜", "有住户在公共绿地上种菜, 还用粪水浇地.", "grounds",
            5, _season((SPRING, 3.0), (WINTER, 0.3)), (3, 14), (0, 3000),
            ("相关住户", "楼栋长", "物业公司")),
    Problem("greening", "树木遮挡采光需修剪", "楼前大树遮住低层住户采光, 树枝碰到窗户.",
            "building", 5, _season((SPRING, 2.0), (SUMMER, 1.5), (WINTER, 0.5)), (5, 20),
            (500, 8000), ("园林部门", "物业公司", "低层住户")),
    Problem("greening", "补种树木位置争议", "补种树木的位置有人同意有人反对, 吵了好几次.",
            "grounds", 4, _season((SPRING, 3.5), (WINTER, 0.2)), (7, 30), (2000, 20000),
            ("相关住户", "业委会", "物业公司"), collected_as="neighbour_dispute"),
    Problem("greening", "绿化带缺损黄土裸露", "绿化带被踩秃, 刮风扬尘.", "grounds", 3,
            _season((SPRING, 3.0)), (7, 30), (2000, 25000)),
    Problem("neighbour_dispute", "楼上漏水邻里纠纷", "楼上卫生间漏水到楼下, 两家协商不成.",
            "building", 4, _season((SUMMER, 1.8)), (5, 20), (500, 10000),
            ("相关住户", "楼栋长", "人民调解员")),
    Problem("neighbour_dispute", "广场舞噪音扰民", "晚上广场舞音响很大, 影响休息.", "grounds",
            4, _season((SUMMER, 2.0), (WINTER, 0.3)), (3, 14), (0, 2000),
            ("舞蹈队", "相关住户", "社区居委会")),
    Problem("neighbour_dispute", "占用公共区域堆物搭建", "一楼住户在公共区域私搭乱建.",
            "building", 3, work_days=(7, 30), cost_yuan=(0, 5000),
            parties=("相关住户", "城管执法", "物业公司")),
    Problem("neighbour_dispute", "宠物扰民", "狗整夜叫, 还不拴绳.", "building", 3,
            work_days=(3, 14), cost_yuan=(0, 500), parties=("养犬住户", "楼栋长")),
    Problem("property_fees", "物业费收缴争议", "部分业主认为服务不到位, 拒交物业费.", "office",
            4, _season((WINTER, 1.5)), (14, 45), (0, 5000), ("业委会", "物业公司", "业主代表")),
    Problem("property_fees", "公共收益去向不明", "电梯广告和停车收益没有公开.", "office", 3,
            work_days=(14, 40), cost_yuan=(0, 2000), parties=("业委会", "物业公司")),
    Problem("property_fees", "维修基金使用申请", "维修外墙需要动用维修基金, 流程不清楚.",
            "office", 2, work_days=(20, 60), cost_yuan=(0, 3000),
            parties=("业委会", "住建部门", "全体业主")),
    Problem("other", "房产证迟迟未办理", "入住多年房产证一直没有办下来.", "office", 3,
            work_days=(30, 90), cost_yuan=(0, 5000), parties=("开发商", "不动产登记中心", "业委会"),
            collected_as="property_fees"),
    Problem("other", "适老化改造需求", "楼道没有扶手, 单元门口台阶高, 老人出行不便.", "building", 3,
            work_days=(14, 45), cost_yuan=(2000, 40000),
            parties=("社区居委会", "业委会", "老年住户")),
    Problem("other", "快递柜设置位置", "快递柜放在消防通道旁边, 取件的人堵路.", "gate", 3,
            work_days=(5, 20), cost_yuan=(0, 5000), collected_as="safety"),
    Problem("security", "门禁损坏外来人员随意进出", "门禁坏了一个月, 推销人员随便进.", "gate",
            5, work_days=(3, 14), cost_yuan=(1000, 20000)),
    Problem("security", "监控探头损坏", "小区监控有几个探头不亮, 电动车被偷也查不到.",
            "grounds", 4, work_days=(5, 20), cost_yuan=(2000, 30000)),
    Problem("security", "电动车电瓶被盗", "一周内丢了三个电瓶.", "grounds", 3,
            work_days=(5, 20), cost_yuan=(0, 10000), parties=("派出所", "物业公司", "相关住户")),
)

CHANNELS = (("wechat", 30), ("grid_patrol", 25), ("walk_in", 14), ("phone", 14),
            ("snapshot", 14), ("api", 3))
REFERRED_TO = ("区住建局", "城管执法中队", "供电公司", "自来水公司", "派出所", "街道综合执法队",
               "区市场监管局", "不动产登记中心")
VENUES = ("社区议事厅", "小区党群服务站", "物业办公室会议室", "小区广场", "业委会活动室")
NOTICE_CHANNELS = (["公告栏", "微信群"], ["公告栏"], ["微信群"], ["公告栏", "微信群", "社区公众号"])
RETURN_REASONS = ("相关方没有列全, 请补充车位业主意见", "问题描述不清, 请核实具体楼栋",
                  "费用来源没有说明", "议题与上月议题重复, 请合并表述")
OBJECTIONS = ("费用分摊不合理, 低层住户不应出钱", "施工时间影响休息, 要求调整",
              "方案没有征求一楼住户意见", "选址离我家窗户太近")
SUPERVISION_FAILURES = ("整改不彻底, 雨后仍有渗水", "施工垃圾没有清理", "只完成了一半的楼栋",
                        "质量不达标, 需返工")
REOPEN_REASONS = ("问题复发, 住户再次反映", "回访发现整改效果没有保持", "雨季再次出现同样问题")
COMMENTS = ("已电话联系住户, 约定上门查看", "现场拍照留存", "楼栋长反映情况属实",
            "物业表示配合", "住户希望尽快处理", "已在微信群通报进展")
RATING_COMMENTS = {
    "satisfied": ("处理及时, 很满意", "感谢社区和物业", "效果很好"),
    "basically_satisfied": ("基本解决了, 希望保持", "速度还可以再快些"),
    "dissatisfied": ("问题没有根本解决", "处理太慢"),
}


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


# One case's story ---------------------------------------------------------------------------


@dataclass
class Act:
    """The next thing that happens to a case: an event to record, a report, or a merge."""

    at: datetime
    kind: str  # "report", "record" or "merge"
    actor: Actor
    event_type: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    sealed: dict[str, str] | None = None


Story = Generator[Act, Any, None]


@dataclass(frozen=True)
class Plan:
    """What the generator knows of a case before its story starts."""

    index: int
    case_id: UUID
    reported_at: datetime
    compound: Compound
    people: People


def _working_time(t: datetime, rng: random.Random) -> datetime:
    """Move a time into local working hours (08:00-21:00 UTC+8) if it falls at night."""
    local = t + LOCAL
    if 8 <= local.hour < 21:
        return t
    day = local.date() if local.hour < 8 else local.date() + timedelta(days=1)
    morning = datetime(day.year, day.month, day.day, 8, tzinfo=UTC) - LOCAL
    return morning + timedelta(minutes=rng.randint(0, 150), seconds=rng.randint(0, 59))


class Clockwork:
    """The moving clock of one case's story: each step takes a plausible while."""

    def __init__(self, start: datetime, rng: random.Random) -> None:
        self.t = start
        self.rng = rng

    def after(self, low_hours: float, high_hours: float) -> datetime:
        hours = self.rng.uniform(low_hours, high_hours)
        self.t = _working_time(self.t + timedelta(hours=hours), self.rng)
        return self.t

    def days(self, low: float, high: float) -> datetime:
        return self.after(low * 24, high * 24)

    def at_least(self, moment: datetime) -> datetime:
        self.t = max(self.t, moment)
        return self.t


def _pick(rng: random.Random, weighted: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([k for k, _ in weighted], [w for _, w in weighted])[0]


def story(  # noqa: PLR0915 - one story, read top to bottom like the eight steps
    plan: Plan, problem: Problem, seed: int, rng: random.Random
) -> Story:
    """The life of one case, action by action; the driver sends back what happened."""
    c, p = plan.compound, plan.people
    clock = Clockwork(plan.reported_at, rng)
    channel = _pick(rng, CHANNELS)
    building = rng.randint(1, c.buildings)
    place = {
        "building": f"{building}号楼{rng.randint(1, 4)}单元",
        "garage": f"{building}号楼地下车库",
        "grounds": rng.choice((f"{building}号楼前", "中心花园", "北门内侧", "南区主干道")),
        "gate": rng.choice(("南门", "北门", "东门", f"{building}号楼单元门")),
        "office": "物业服务中心",
    }[problem.place]
    title = f"{c.name}{place}{problem.title}"
    reporter_actor = rng.choice(p.residents)
    sealed = None
    if channel == "grid_patrol":
        actor = p.grid
    elif channel in ("walk_in", "phone"):
        actor = p.community
        subject = f"report:{plan.case_id}"
        sealed = (subject, fake_contact(rng))
    else:
        actor = reporter_actor
        if rng.random() < 0.6:
            sealed = (f"resident:{actor.id}", fake_contact(rng))
    envelope = None
    if sealed is not None:
        subject, contact = sealed
        nonce = hashlib.sha256(f"nonce:{seed}:{plan.case_id}".encode()).digest()[:12]
        envelope = seal(subject, subject_key(seed, subject), contact, nonce)
    data = {
        "compound_id": c.id,
        "community_id": c.community.id,
        "title": title,
        "description": f"{problem.description} 地点: {place}.",
        "category": problem.category,
        "channel": channel,
        "location": place,
        "attachments": [f"photo-{plan.index}-{n}.jpg" for n in range(rng.choice((0, 0, 1, 2)))],
    }
    yield Act(clock.t, "report", actor, "ProblemReported", data, envelope)
    is_resident = actor.role is Role.RESIDENT
    helpers = (p.grid, p.community)

    def record(event_type: str, who: Actor, **fields: Any) -> Act:
        return Act(clock.t, "record", who, event_type, fields)

    def maybe_comment() -> Iterator[Act]:
        if rng.random() < 0.08:
            clock.after(1, 30)
            yield record("CommentAdded", rng.choice((p.grid, p.community, p.party)),
                         text=rng.choice(COMMENTS))

    # 1 collect: duplicates are merged, some residents report the same thing again
    if rng.random() < 0.05:
        clock.after(1, 20)
        merged = yield Act(clock.t, "merge", p.grid, data={"note": "同一问题, 合并办理"})
        if merged:
            return
    if rng.random() < 0.08:
        clock.after(1, 40)
        yield record("ReportMerged", p.grid, note="另有住户反映同一问题")
    if rng.random() < 0.02:
        clock.after(2, 48)
        yield record("CaseWithdrawn", reporter_actor if is_resident else p.community,
                     reason="问题已自行解决")
        return
    # Some cases get stuck somewhere for weeks, a few for months (the overdue backlog).
    stall = rng.random()
    stall_days = (10, 45) if stall < 0.05 else (60, 300) if stall < 0.075 else None
    stall_at = rng.choice(("collect", "review", "pre-consult", "implement", "supervise"))

    def maybe_stall(where: str) -> None:
        if stall_days and where == stall_at:
            clock.days(*stall_days)

    maybe_stall("collect")
    clock.after(2, 50)
    yield from maybe_comment()
    confirmed = problem.category
    if problem.collected_as and rng.random() < 0.5:
        confirmed = problem.collected_as
    yield record("ProblemCollected", rng.choice(helpers), category=confirmed,
                 description=f"核实: {problem.description} 涉及{place}, "
                             f"约{rng.randint(2, 60)}户.")

    # 2-3 topic and review, with returns and rejections
    for attempt in range(3):
        clock.after(4, 60)
        yield record("TopicFormed", rng.choice(helpers), title=f"{problem.title}怎么解决",
                     question=f"{c.name}{problem.title}: 由谁负责, 费用怎么分摊, 何时完成?",
                     parties=list(problem.parties))
        maybe_stall("review")
        clock.after(4, 72)
        reviewer = rng.choice((p.party, p.community))
        roll = rng.random()
        if roll < 0.05:
            reason = rng.choice(("out_of_scope", "referred", "referred", "insufficient_information",
                                 "duplicate"))
            fields: dict[str, Any] = {"reason": reason}
            if reason == "referred":
                fields["referred_to"] = rng.choice(REFERRED_TO)
                fields["note"] = f"属于{fields['referred_to']}职责, 已转交"
            yield record("TopicRejected", reviewer, **fields)
            return
        if roll < 0.15 and attempt < 2:
            yield record("TopicReturned", reviewer, rework=rng.choice(RETURN_REASONS))
            continue
        if roll < 0.17 and attempt == 0:
            yield record("CaseWithdrawn", reporter_actor if is_resident else p.community,
                         reason="住户撤回诉求")
            return
        yield record("TopicApproved", reviewer, opinion=rng.choice(("同意", "同意, 尽快协商",
                                                                    "同意立项")))
        break

    # 4-6 pre-consult, negotiate, publish; failed meetings and objections loop back
    failures = 0
    deliberators = (p.community, p.party, p.owners)
    published = False
    while not published:
        maybe_stall("pre-consult")
        for party in rng.sample(problem.parties, k=rng.randint(1, len(problem.parties))):
            clock.days(0.3, 3)
            yield record("StakeholderConsulted", rng.choice(deliberators), party=party,
                         representative=rng.choice(SURNAMES) + rng.choice(("先生", "女士", "主任")),
                         opinion=rng.choice(("同意方案", "原则同意, 费用需再商量", "有顾虑",
                                             "希望尽快解决", "不同意分摊方式")))
        clock.days(0.2, 2)
        meeting_at = _working_time(clock.t + timedelta(days=rng.uniform(2, 7)), rng)
        yield record("MeetingScheduled", rng.choice(deliberators),
                     scheduled_at=canonical_time(meeting_at), venue=rng.choice(VENUES),
                     invited=list(problem.parties))
        while True:  # negotiate
            clock.at_least(meeting_at + timedelta(hours=rng.uniform(1, 3)))
            attendees = rng.randint(9, 60)
            if failures >= 2 or (failures == 1 and rng.random() < 0.4):
                yield record("CaseClosed", p.community, resolution="no_consensus",
                             note="多次协商未达成一致, 引导通过其他途径解决")
                return
            if rng.random() < 0.12:
                against = rng.randint(attendees // 3, attendees // 2)
                votes = {"for": rng.randint(0, against), "against": against}
                outcome = "not_agreed"
            else:
                votes = {"for": rng.randint(attendees // 2 + 1, attendees), "against": 0}
                votes["against"] = rng.randint(0, attendees - votes["for"])
                outcome = "agreed"
            votes["abstain"] = max(0, attendees - votes["for"] - votes["against"])
            yield record("MeetingHeld", rng.choice(deliberators), attendees=attendees,
                         votes=votes, outcome=outcome,
                         resolution_text="按协商方案实施, 费用按约定分摊" if outcome == "agreed"
                         else None)
            if outcome == "not_agreed":
                failures += 1
                break  # back to pre-consult
            clock.days(0.3, 2)
            days = rng.choice((3, 5, 5, 7, 7, 0))
            yield record("DecisionPublished", p.community,
                         channels=list(rng.choice(NOTICE_CHANNELS)),
                         notice=f"关于{problem.title}的协商结果公示", publicity_days=days)
            ends = clock.t + timedelta(days=days)
            if days and rng.random() < 0.06:
                clock.after(2, max(3.0, days * 24 - 4))
                if clock.t < ends:
                    objector = rng.choice((reporter_actor, p.owners, rng.choice(p.residents)))
                    yield record("ObjectionRaised", objector, objection=rng.choice(OBJECTIONS))
                    meeting_at = _working_time(clock.t + timedelta(days=rng.uniform(2, 6)), rng)
                    continue  # back to negotiate
            clock.at_least(ends)
            clock.after(0.5, 30)
            yield record("PublicityClosed", p.community, note="公示期内无异议" if days else None)
            published = True
            break

    # 7-8 implement and supervise; failed supervisions and reopenings loop back
    roles: tuple[tuple[Role, int], ...]
    if c.has_property_company:
        roles = ((Role.PROPERTY_COMPANY, 75), (Role.OWNERS_COMMITTEE, 10), (Role.COMMUNITY, 15))
    else:
        roles = ((Role.OWNERS_COMMITTEE, 55), (Role.COMMUNITY, 45))
    doers = {Role.PROPERTY_COMPANY: p.property, Role.OWNERS_COMMITTEE: p.owners,
             Role.COMMUNITY: p.community}
    names = {Role.PROPERTY_COMPANY: c.property_company, Role.OWNERS_COMMITTEE: f"{c.name}业委会",
             Role.COMMUNITY: f"{c.community.name}居委会"}

    def assign(work_days: float) -> Generator[Act, Any, tuple[Actor, datetime]]:
        role = Role(rng.choices([r for r, _ in roles], [w for _, w in roles])[0])
        clock.days(0.2, 3)
        due = clock.t + timedelta(days=work_days)
        funding = rng.choice((["业委会"], ["物业公司"], ["维修基金"], ["政府奖补", "业委会"],
                              ["居民捐款"], ["社区公益金"], []))
        yield record("ImplementationAssigned", p.community, assignee_role=role.value,
                     assignee=names[role], due_at=canonical_time(due), funding_sources=funding)
        clock.after(2, 48)
        doer = doers[role]
        assert doer is not None
        yield record("ImplementationAccepted", doer, note="已领单")
        return doer, due

    low, high = problem.work_days
    rounds = 0
    while True:
        rounds += 1
        maybe_stall("implement")
        if rng.random() < 0.04:  # reassigned before anyone starts
            yield from assign(rng.uniform(low, high))
            clock.days(1, 5)
            yield record("CommentAdded", p.community, text="原责任方无法承接, 重新派单")
        doer, due = yield from assign(rng.uniform(low, high) if rounds == 1
                                      else rng.uniform(5, 15))
        span = (due - clock.t).total_seconds() / 86400
        overrun = rng.random() < 0.12
        finish = span * (rng.uniform(1.1, 1.8) if overrun else rng.uniform(0.4, 1.0))
        for percent in sorted(rng.sample((20, 30, 50, 60, 80), k=rng.randint(0, 3))):
            clock.at_least(clock.t + timedelta(days=finish * percent / 100 * 0.5))
            clock.after(1, 10)
            yield record("ProgressReported", doer, percent=percent,
                         note=f"已完成{percent}%", evidence=[f"progress-{percent}.jpg"])
        clock.at_least(due - timedelta(days=span) + timedelta(days=finish))
        clock.after(1, 8)
        yield from maybe_comment()
        cost = rng.randint(*problem.cost_yuan) * 100
        yield record("ImplementationCompleted", doer, summary=f"{problem.title}已处理完毕",
                     cost_fen=cost, evidence=["after-1.jpg", "after-2.jpg"])
        maybe_stall("supervise")
        clock.days(0.5, 5)
        if rng.random() < 0.08 and rounds < 3:
            yield record("SupervisionRecorded", p.party, verdict="failed",
                         note=rng.choice(SUPERVISION_FAILURES))
            continue
        yield record("SupervisionRecorded", p.party, verdict="passed", note="现场查看, 已整改到位")
        satisfaction = rng.choices(("satisfied", "basically_satisfied", "dissatisfied"),
                                   (80, 15, 5))[0]
        if rng.random() < 0.55:
            clock.after(2, 72)
            rater = reporter_actor if is_resident else rng.choice(p.residents)
            yield record("ResidentRated", rater, satisfaction=satisfaction, source="resident",
                         comment=rng.choice(RATING_COMMENTS[satisfaction]))
        clock.days(0.3, 3)
        yield record("CaseClosed", p.community, resolution="resolved", note="办结")
        if rng.random() < 0.6:  # 回访
            clock.days(1, 10)
            called = reporter_actor.id if is_resident else rng.choice(p.residents).id
            yield record("ResidentRated", rng.choice((p.grid, p.community)),
                         satisfaction=satisfaction, source="callback", resident_id=called,
                         comment="电话回访")
        if rng.random() < 0.03 and rounds < 3:
            clock.days(5, 40)
            yield record("CaseReopened", p.community, reason=rng.choice(REOPEN_REASONS))
            continue
        return


# The driver ---------------------------------------------------------------------------------


@dataclass
class Summary:
    """What was generated: counts for the report and a few cases worth looking at."""

    cases: int = 0
    events: int = 0
    seconds: float = 0.0
    open: int = 0
    overdue: int = 0
    resolutions: Counter[str] = field(default_factory=Counter)
    categories: Counter[str] = field(default_factory=Counter)
    event_types: Counter[str] = field(default_factory=Counter)
    assignee_roles: Counter[str] = field(default_factory=Counter)
    examples: dict[str, UUID] = field(default_factory=dict)
    first_report: datetime | None = None
    last_report: datetime | None = None


def case_id_of(seed: int, index: int) -> UUID:
    return uuid5(NAMESPACE, f"demo:{seed}:{index}")


def report_times(seed: int, count: int, now: datetime) -> list[datetime]:
    """When each case is reported: over the year before now, more in summer and winter."""
    rng = random.Random(f"times:{seed}")  # noqa: S311
    start = now - YEAR
    month_weight = (1.1, 0.8, 1.0, 1.0, 1.0, 1.3, 1.5, 1.4, 1.0, 0.9, 1.0, 1.2)  # 春节 dip
    top = max(month_weight)
    times: list[datetime] = []
    while len(times) < count:
        t = start + timedelta(seconds=rng.uniform(0, YEAR.total_seconds()))
        if rng.random() * top <= month_weight[(t + LOCAL).month - 1]:
            times.append(_working_time(t, rng))
    times = [min(t, now) for t in times]
    times.sort()
    return times


class DistrictSimulation:
    """Simulates a district's cases, one chunk at a time, as aggregates not yet saved."""

    def __init__(self, seed: int, now: datetime, cases: int) -> None:
        self.seed = seed
        self.now = now
        self.count = cases
        self.district = build_district(seed)
        self.people = {c.id: people_of(c) for c in self.district.compounds}
        compound_weights = [c.buildings ** 0.7 for c in self.district.compounds]
        self._compound_cum = _cumulative(compound_weights)
        self.times = report_times(seed, cases, now)

    def plan(self, index: int, reported_at: datetime) -> tuple[Plan, Problem, random.Random]:
        rng = random.Random(f"case:{self.seed}:{index}")  # noqa: S311
        compound = self.district.compounds[bisect.bisect(self._compound_cum, rng.random())]
        month = (reported_at + LOCAL).month - 1
        weights = [pr.weight * pr.season[month] for pr in PROBLEMS]
        problem = rng.choices(PROBLEMS, weights)[0]
        plan = Plan(index, case_id_of(self.seed, index), reported_at, compound,
                    self.people[compound.id])
        return plan, problem, rng

    def simulate(self, indices: range) -> tuple[list[Case], dict[str, datetime]]:
        """Run the stories of one chunk in time order; the cases with their pending events."""
        heap: list[tuple[datetime, int, Act]] = []
        stories: dict[int, Story] = {}
        cases: dict[int, Case] = {}
        by_compound: dict[str, list[int]] = {}
        keys: dict[str, datetime] = {}
        times = self.times
        for index in indices:
            plan, problem, rng = self.plan(index, times[index])
            stories[index] = story(plan, problem, self.seed, rng)
            heapq.heappush(heap, (times[index], index, next(stories[index])))
        while heap:
            at, index, act = heapq.heappop(heap)
            if at > self.now:
                continue  # the rest of this story has not happened yet: the case stays open
            result: Any = None
            if act.kind == "report":
                case_id = case_id_of(self.seed, index)
                cases[index] = Case.report(case_id, act.data, act.actor, at, act.sealed)
                if act.sealed is not None:
                    keys.setdefault(act.sealed["subject_id"], at)
                by_compound.setdefault(act.data["compound_id"], []).append(index)
            elif act.kind == "merge":
                result = self._merge(cases, by_compound, index, act)
            else:
                cases[index].record(act.event_type, act.data, act.actor, at)
            try:
                following = stories[index].send(result)
            except StopIteration:
                continue
            if following.at < at:  # a story's clock never runs backwards
                raise AssertionError(f"case {index}: {following.event_type} before {at}")
            heapq.heappush(heap, (following.at, index, following))
        return [cases[i] for i in sorted(cases)], keys

    def _merge(self, cases: dict[int, Case], by_compound: dict[str, list[int]], index: int,
               act: Act) -> bool:
        duplicate = cases[index]
        candidates = [cases[i] for i in reversed(by_compound.get(duplicate.compound_id, []))
                      if i != index and cases[i].is_open][:20]
        if not candidates:
            return False
        same = [c for c in candidates if c.category == duplicate.category]
        target = (same or candidates)[0]
        merge_cases(duplicate, target, act.actor, act.at, act.data.get("note"))
        return True

def _cumulative(weights: list[float]) -> list[float]:
    total = sum(weights)
    running, result = 0.0, []
    for w in weights:
        running += w / total
        result.append(running)
    result[-1] = 1.0
    return result


def _store_keys(app: Cases, seed: int, keys: dict[str, datetime]) -> None:
    """The subjects' keys, as ``SubjectKeys.key_for`` stores them, in one transaction."""
    if not keys:
        return
    table = app.db.table(KEYS_TABLE)
    rows = [(subject, subject_key(seed, subject), at.isoformat())
            for subject, at in keys.items()]
    with app.db.transaction() as curs:
        curs.executemany(
            f"INSERT INTO {table} (subject_id, key_bytes, created_at) VALUES (%s, %s, %s)"
            " ON CONFLICT (subject_id) DO NOTHING",
            rows,
        )


def _tally(summary: Summary, limits: TimeLimits, now: datetime, cases: list[Case]) -> None:
    """Count what a chunk holds (before it is saved: its events are still pending)."""
    s = summary
    for case in cases:
        s.cases += 1
        s.events += case.version
        s.categories[case.category] += 1
        if case.assignment:
            s.assignee_roles[case.assignment["assignee_role"]] += 1
        if case.is_open:
            s.open += 1
            if limits.is_overdue(case, now):
                s.overdue += 1
                s.examples.setdefault("overdue", case.id)
            else:
                s.examples.setdefault(f"open in {case.step.value}", case.id)
        else:
            resolution = str(case.resolution)
            s.resolutions[resolution] += 1
            s.examples.setdefault(resolution, case.id)
        if case.reopen_count:
            s.examples.setdefault("reopened", case.id)
        s.first_report = min(filter(None, (s.first_report, case.reported_at)))
        s.last_report = max(filter(None, (s.last_report, case.reported_at)))
        s.event_types.update(type(event).__name__ for event in case.pending_events)



def generate(app: Cases, *, cases: int, seed: int, now: datetime,
             progress: Callable[[int, int], None] | None = None,
             workers: int = 0, chunk: int = CHUNK) -> Summary:
    """Fill the application's store with a simulated district; what was generated.

    Each chunk of cases is saved with one ``app.save(*cases)``. With ``workers`` > 0 the
    chunks are simulated in that many processes while this one saves them, in order; the
    events are the same either way.
    """
    from api.demo_directory import register_district  # noqa: PLC0415 (it imports this module)

    started = time.perf_counter()
    summary = Summary()
    register_district(app, build_district(seed), seed, now)
    chunks = [range(first, min(first + chunk, cases)) for first in range(0, cases, chunk)]
    for simulated in _simulated(chunks, seed, now, cases, workers):
        done, (aggregates, keys) = simulated
        _store_keys(app, seed, keys)
        _tally(summary, app.limits, now, aggregates)
        app.save(*aggregates)
        if progress:
            progress(done, summary.events)
    summary.seconds = time.perf_counter() - started
    return summary


Simulated = tuple[list[Case], dict[str, datetime]]


def _simulated(chunks: list[range], seed: int, now: datetime, cases: int,
               workers: int) -> Iterator[tuple[int, Simulated]]:
    """Each chunk's cases, in order: simulated here, or in worker processes ahead of us."""
    if workers <= 0 or len(chunks) < 2:
        simulation = DistrictSimulation(seed, now, cases)
        for indices in chunks:
            yield indices.stop, simulation.simulate(indices)
        return
    context = multiprocessing.get_context("spawn")  # no fork of a process holding a pool
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_start_worker,
                             initargs=(seed, now, cases)) as pool:
        pending: deque[tuple[int, Future[Simulated]]] = deque()
        upcoming = iter(chunks)
        for indices in itertools.islice(upcoming, 2 * workers):
            pending.append((indices.stop, pool.submit(_simulate_chunk, indices)))
        while pending:
            done, future = pending.popleft()
            result = future.result()
            following = next(upcoming, None)
            if following is not None:  # keep a bounded number of chunks in flight
                pending.append((following.stop, pool.submit(_simulate_chunk, following)))
            yield done, result


_worker: DistrictSimulation | None = None


def _start_worker(seed: int, now: datetime, cases: int) -> None:
    global _worker  # noqa: PLW0603 - one simulation per worker process
    _worker = DistrictSimulation(seed, now, cases)


def _simulate_chunk(indices: range) -> Simulated:
    assert _worker is not None
    return _worker.simulate(indices)


# A tiny progress bar ------------------------------------------------------------------------


class Progress:
    """A progress bar on a terminal, plain lines every few seconds elsewhere; silent if quick."""

    def __init__(self, total: int, unit: str = "cases", stream: TextIO | None = None,
                 quiet_for: float = 1.0, every: float = 5.0) -> None:
        self.total = total
        self.unit = unit
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.started = time.perf_counter()
        self.quiet_for = quiet_for
        self.every = every
        self.last = self.started
        self.shown = False

    def __call__(self, done: int, events: int = 0) -> None:
        now = time.perf_counter()
        elapsed = now - self.started
        if elapsed < self.quiet_for and done < self.total:
            return
        if not self.tty and now - self.last < self.every and done < self.total:
            return
        if done >= self.total and not self.shown:
            return  # it was quick: no bar at all
        self.last = now
        self.shown = True
        rate = done / elapsed if elapsed else 0.0
        eta = (self.total - done) / rate if rate else 0.0
        extra = f" {events:,} events" if events else ""
        text = (f"{done:,}/{self.total:,} {self.unit}{extra} {rate:,.0f} {self.unit}/s "
                f"eta {eta:,.0f}s")
        if self.tty:
            width = 30
            filled = int(width * done / self.total) if self.total else width
            bar = "#" * filled + "-" * (width - filled)
            end = "\n" if done >= self.total else ""
            self.stream.write(f"\r[{bar}] {100 * done // max(self.total, 1):3d}% {text}\033[K{end}")
        else:
            self.stream.write(f"demo: {text}\n")
        self.stream.flush()
