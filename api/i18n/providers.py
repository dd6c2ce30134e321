"""The red/black list's texts (红黑榜文案), as (Chinese, English): merged into the message
catalogue (api/i18n/catalogue.py) so pages and problems find them like any other."""

from __future__ import annotations

import re
from collections.abc import Callable

M = tuple[str, str]

PROVIDER_MESSAGES: dict[str, M] = {
    "role.street": ("街道", "Street"),
    "nav.providers": ("红黑榜", "Red/black list"),
    "providers.title": ("物业服务红黑榜", "Providers' red/black list"),
    "providers.lead": ("{month} 月度考评：按派单月份统计，结果计至次月底；"
                       "少于 {min} 单的只列示不排名。",
                       "{month}: orders by dispatch month, outcomes up to the end of "
                       "the next month; providers with fewer than {min} orders are listed, not "
                       "ranked."),
    "providers.month": ("月份", "Month"),
    "providers.show": ("查看", "Show"),
    "providers.red": ("红榜", "Red list"),
    "providers.black": ("黑榜", "Black list"),
    "providers.none": ("本月无", "none this month"),
    "providers.ranking": ("排名", "Ranking"),
    "providers.trend": ("近12个月得分趋势", "Score over the last 12 months"),
    "providers.provider": ("服务单位", "Provider"),
    "providers.kind": ("类型", "Kind"),
    "providers.compounds": ("服务小区", "Compounds"),
    "providers.orders": ("派单数", "Orders"),
    "providers.taken": ("领单及时率", "Taken on time"),
    "providers.completed": ("按时办结率", "Completed on time"),
    "providers.supervision": ("督单通过率", "Supervision pass rate"),
    "providers.reopen": ("重开率", "Reopen rate"),
    "providers.overdue": ("超期未办", "Overdue open"),
    "providers.satisfaction": ("满意率", "Satisfaction"),
    "providers.rating": ("街道/社区评分", "Community rating"),
    "providers.score": ("综合得分", "Score"),
    "providers.rank": ("名次", "Rank"),
    "providers.list": ("榜单", "List"),
    "providers.unranked": ("不排名", "not ranked"),
    "providers.csv": ("下载 CSV", "Download CSV"),
    "kind.property_company": ("物业公司", "Property company"),
    "kind.owners_committee": ("自管业委会", "Self-managing owners' committee"),
}

PROVIDER_PROBLEMS: dict[str, str] = {
    "provider_not_found": "没有这个服务单位，或不在您的权限范围内。",
}

#: The providers' refusals in Chinese (api/i18n/refusals.py merges them; ADR 0132).
PROVIDER_REASONS: dict[str, str] = {
    "the provider serves no compound within this credential's scope":
        "该服务单位不服务于本凭证范围内的任何小区",
}
PROVIDER_PATTERNS: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], str]], ...] = (
    (re.compile(r"the order is dispatched to provider (?P<code>\S+)"),
     lambda m: f"该派单属于服务单位 {m['code']}"),
    (re.compile(r"provider (?P<code>\S+) is registered already"),
     lambda m: f"服务单位 {m['code']} 已经登记"),
    (re.compile(r"(?P<code>\S+) already serves (?P<compound>\S+) on (?P<day>\S+)"),
     lambda m: f"{m['code']} 在 {m['day']} 已经服务于小区 {m['compound']}"),
    (re.compile(r"version (?P<version>\d+) of (?P<code>.+)'s stream is no summons"),
     lambda m: f"{m['code']} 的第 {m['version']} 个事件不是约谈记录"),
)
