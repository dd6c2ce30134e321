"""What the simulated district reports (模拟问题): problems, channels and the phrases of a case.

Each problem has a category, a title, a place and seasons; the tables of venues, reasons and
comments give each step its words. Data only: the stories in ``simulation.story`` use them.
"""

from __future__ import annotations

from dataclasses import dataclass

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
            ("snapshot", 14), ("api", 3),
            # 两巡两访 (practices.md): property patrols and household visits.
            ("property_patrol", 8), ("household_visit", 10))
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
