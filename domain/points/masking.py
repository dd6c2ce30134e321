"""Masked names for public leaderboards (姓名脱敏): the surname, then one ``*`` for each
other character, so ``张三`` reads ``张*`` and ``欧阳娜娜`` reads ``欧阳**``.

practices.md ("Participation points") asks for 张* and 欧阳**: a compound surname (复姓)
keeps both its characters and the given name is starred. ``COMPOUND_SURNAMES`` lists the
common two-character surnames; a name that starts with one keeps the two characters.
"""

from __future__ import annotations

#: Common compound surnames (复姓).
COMPOUND_SURNAMES: frozenset[str] = frozenset({
    "欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙", "宇文",
    "司徒", "令狐", "夏侯", "轩辕", "端木", "独孤", "南宫", "西门", "百里", "呼延", "万俟",
    "闻人", "赫连", "澹台", "公冶", "宗政", "濮阳", "太史", "申屠", "仲孙", "钟离", "司空",
    "鲜于", "闾丘", "乐正", "拓跋", "东郭", "左丘", "第五",
})


def mask_name(name: str | None) -> str | None:
    """The public form of a name: surname kept, each other character a ``*``.

    ``张三`` -> ``张*``, ``张三丰`` -> ``张**``, ``欧阳娜娜`` -> ``欧阳**``, ``欧阳`` alone ->
    ``欧*``, a one-character name -> ``*``. None (an erased name) stays None.
    """
    if name is None:
        return None
    name = name.strip()
    if not name:
        return ""
    if len(name) == 1:
        return "*"
    keep = 2 if name[:2] in COMPOUND_SURNAMES and len(name) > 2 else 1
    return name[:keep] + "*" * (len(name) - keep)
