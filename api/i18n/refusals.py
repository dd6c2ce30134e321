"""The domain's refusals in Chinese (拒绝原因): each rule's reason, as a reader of a zh
problem sees it.

The domain (domain/rules.py, domain/case.py) states its refusals in English, and a problem
carries that reason as ``rule`` or ``reason`` for programs. A zh reader gets the problem's
``detail`` in Chinese: the code's message and this reason translated
(``refusal_zh``). A reason not found here keeps its English words after the Chinese
message, so nothing is lost; tests/api/test_refusals_zh.py fails for a reason of the
domain that has no translation.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from api.i18n.catalogue import MESSAGES
from api.i18n.providers import PROVIDER_PATTERNS, PROVIDER_REASONS

#: Fixed reasons, English as the domain raises them -> Chinese.
REASONS: dict[str, str] = {
    "only the reporting resident or the community may withdraw a case":
        "只有反映问题的居民本人或社区可以撤回案件",
    "a resident records ratings with source resident": "居民评价的来源应为 resident",
    "a resident rates only as themself": "居民只能以本人身份评价",
    "staff record ratings as call-backs (source callback)":
        "工作人员只能以回访(来源 callback)记录评价",
    "a meeting needs at least one stakeholder consultation (会前沟通) first":
        "会议协商前至少需要一次会前沟通",
    "outcome is agreed exactly when more voted for than against":
        "赞成票多于反对票时结果才是通过(agreed),反之亦然",
    "a referred topic names the body it is referred to (referred_to)":
        "转办的议题须写明转交的单位(referred_to)",
    "nothing has been published yet": "尚未公布任何决定",
    "the publicity period (公示期) is over": "公示期已结束",
    "the decision has not been published": "决定尚未公布",
    "the decision is already published": "决定已经公布",
    "the work has not been assigned (派单) yet": "尚未派单",
    "the assignee has not accepted the order (领单) yet": "承办方尚未领单",
    "after deliberation a case closes only with resolution no_consensus":
        "会议协商后只能以未达成共识(no_consensus)办结",
    "after supervision a case closes only with resolution resolved":
        "民主监督后只能以已解决(resolved)办结",
    "a case closes as resolved only after a passed supervision (督单)":
        "督单通过后案件才能以已解决办结",
    "only a resolved case can be reopened": "只有已解决的案件可以重办",
    "a call-back names the resident rated (resident_id)": "回访须写明被回访的居民(resident_id)",
    "only a resolved case can be rated": "只有已解决的案件可以评价",
    "a case cannot be merged into itself": "案件不能合并到自身",
    "the case merged into must be open": "被合并到的案件必须尚未办结",
    "only cases of the same compound can be merged": "只有同一小区的案件可以合并",
    "only an admin erases personal data": "只有管理员可以删除个人信息",
    "only an admin manages the directory": "只有管理员可以管理目录",
    "more votes (for + against + abstain) than attendees":
        "票数(赞成+反对+弃权)多于参会人数",
    "more attendee_ids than attendees": "参会者名单(attendee_ids)多于参会人数",
    # Participation points (积分制).
    "community staff record participants and points": "只有社区工作人员可以登记参与者和记录积分",
    # Fee periods (domain/fees; docs/adr/0110, 0111).
    "the period is already open": "该收费期已经开账",
    "open the period first (FeePeriodOpened)": "请先开账(FeePeriodOpened)",
    "other writers kept changing the period; retry": "该收费期正被同时修改,请重试",
    "fees are recorded by the community and the compound's provider":
        "收费由社区和小区的物业服务方记录",
}


def _role(name: str) -> str:
    return MESSAGES.get(f"role.{name.strip()}", (name, name))[0]


#: Reasons with a value in them: a pattern over the English and its Chinese.
PATTERNS: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], str]], ...] = (
    (re.compile(r"allowed roles are (?P<roles>[\w, ]+)"),
     lambda m: "可以记录的角色:" + "、".join(_role(r) for r in m["roles"].split(","))),
    (re.compile(r"the implementation is assigned to (?P<role>\w+)"),
     lambda m: f"实施已派给{_role(m['role'])}"),
    (re.compile(r"the publicity period runs until (?P<until>\S+)"),
     lambda m: f"公示期至 {m['until']}"),
    (re.compile(r"(?P<code>[A-Za-z0-9_-]{1,32}) is outside this credential's scope"),
     lambda m: f"{m['code']} 不在此凭证的范围内"),
    # Fee periods (domain/fees/rules.py).
    (re.compile(r"refunds exceed the households collected \((?P<n>\d+) left\)"),
     lambda m: f"退费户数超过已收户数(还可退 {m['n']} 户)"),
    (re.compile(r"refunds exceed the amount collected \((?P<n>\d+) fen left\)"),
     lambda m: f"退费金额超过已收金额(还可退 {m['n']} 分)"),
    (re.compile(r"at most the compound's (?P<n>\d+) households \(the directory's\)"),
     lambda m: f"开账户数不能超过目录中本小区的 {m['n']} 户"),
    (re.compile(r"a day from (?P<before>\d+) years? before the period to (?P<after>\d+)"
                r" years? after it"),
     lambda m: f"收费日期须在收费期前 {m['before']} 年至后 {m['after']} 年之内"),
    (re.compile(r"an? (?P<role>\w+) records the fees of the compounds it serves"
                r" \(this compound's provider: (?P<kind>\w+)\)"),
     lambda m: f"{_role(m['role'])}只记录其服务小区的收费(本小区的服务方:"
               f"{_role(m['kind']) if m['kind'] != 'none' else '无'})"),
)


# Issue 13: the providers' refusals (api/i18n/providers.py).
REASONS.update(PROVIDER_REASONS)
PATTERNS = (*PATTERNS, *PROVIDER_PATTERNS)


def refusal_zh(reason: str) -> str | None:
    """The Chinese of a refusal's reason, or None when the catalogue has none."""
    found = REASONS.get(reason)
    if found is not None:
        return found
    for pattern, render in PATTERNS:
        match = pattern.fullmatch(reason)
        if match:
            return render(match)
    return None
