"""National default policy parameters, each with its basis (../shared/POLICY.md).
Keys are stable: places override them by division code. ``None`` means "set locally":
the rule is not enforced until a place sets a figure."""

import re
from collections.abc import Callable
from typing import NamedTuple

from django.core.exceptions import ValidationError
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _


def _month_day(v) -> tuple[int, int]:
    from datetime import date

    m = re.fullmatch(r"(\d{2})-(\d{2})", v) if isinstance(v, str) else None
    try:
        if m is None:
            raise ValueError
        date(2024, int(m[1]), int(m[2]))  # a leap year: 02-29 is a day
    except ValueError:
        raise ValidationError({"value": format_lazy(_("日期应为“月-日”格式，如 07-10：{v}"), v=v)}) from None
    return int(m[1]), int(m[2])


def check_vacation(value) -> None:
    """A vacation as ["MM-DD", "MM-DD"], the start not after the end (same year)."""
    if not (isinstance(value, list) and len(value) == 2):
        raise ValidationError({"value": _('假期应为起止两个日期，如 ["07-10", "08-31"]')})
    if _month_day(value[0]) > _month_day(value[1]):
        raise ValidationError(
            {
                "value": format_lazy(
                    _("假期起始日期 {value} 晚于截止日期 {value2}"), value=value[0], value2=value[1]
                )
            }
        )


def check_clock(value) -> None:
    m = re.fullmatch(r"([01]\d|2[0-3]):([0-5]\d)", value) if isinstance(value, str) else None
    if m is None:
        raise ValidationError(
            {"value": format_lazy(_("时间应为“时:分”格式，如 20:30：{value}"), value=value)}
        )


def check_share_range(value) -> None:
    ok = (
        isinstance(value, list)
        and len(value) == 2
        and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in value)
    )
    if not ok or not 0 <= value[0] <= value[1] <= 1:
        raise ValidationError({"value": _("抽查比例应为 [下限, 上限]，0 ≤ 下限 ≤ 上限 ≤ 1")})


class Default(NamedTuple):
    key: str
    value: object
    basis: str
    label: str
    check: Callable | None = None  # validates a place's figure beyond its type


DOUBLE_REDUCTION = (
    "中共中央办公厅 国务院办公厅《关于进一步减轻义务教育阶段学生作业负担和校外培训负担的意见》(2021)"
)
THIRTEEN_DEPTS = "教育部等十三部门《关于规范面向中小学生的非学科类校外培训的意见》(2022年12月)"
JIANGUANHAN_2 = "教育部等六部门《关于加强校外培训机构预收费监管工作的通知》(教监管函〔2021〕2号)"
NATIONAL_PLATFORM = "全国校外教育培训监管与服务综合平台规则"

# Risk signals: (kind, label, national threshold, weight, basis). Large movements take their
# threshold from ``alerts.large_transaction_ratio``; their weight is ``risk.weight.large_movement``.
RISK_SIGNALS: list[tuple[str, str, object, int, str]] = [
    ("custody_shortfall", "监管余额低于未消课预收费(缺口比例)", 0.10, 40, JIANGUANHAN_2 + "：预收费纳入监管"),
    ("large_movement", "单笔大额资金变动", None, 15, "广东：单笔资金变动超过监管余额10%预警"),
    ("refunds_overdue", "退费申请逾期未答复(笔)", 1, 20, NATIONAL_PLATFORM + "：机构逾期未答复视为同意"),
    ("refunds_rising", "近7日退费申请较前7日增加(笔)", 3, 20, "教育部“冒烟”机构监测：退费集中"),
    ("sales_surge", "近30日收费较前90日月均倍数", 2.0, 15, "节假日前、涨价后集中收费(爆雷前兆)"),
    ("price_rise", "近30日课时均价较前90日倍数", 1.2, 10, "涨价后集中收费(爆雷前兆)"),
    ("long_packages", "近30日满期限(≥3个月)收费订单占比", 0.5, 10, JIANGUANHAN_2 + "：单次收费不超过3个月"),
    ("complaints_rising", "近7日投诉较前7日增加(件)", 3, 15, "投诉周环比上升"),
    ("complaints_runaway", "近30日跑路、退费难投诉(件)", 2, 25, "投诉类别：卷款跑路、退费难"),
    ("wage_arrears", "欠薪投诉或报送(件)", 1, 25, "劳动监察：拖欠工资"),
    ("staff_leaving", "近30日离职人数", 3, 15, "教职工集中离职"),
    ("rectification_overdue", "逾期未整改事项(项)", 1, 10, "整改台账逾期"),
    ("licence_expiring", "证照距到期天数(≤)", 30, 5, "证照即将到期"),
    ("site_change", "场所租约到期或变更报送(件)", 1, 15, "租约到期、场所变更"),
    ("head_unreachable", "负责人失联(件)", 1, 40, "负责人失联(线索文本或乡镇报送)"),
]

DEFAULTS: list[Default] = [
    Default(
        "subject.new_approvals_allowed",
        False,
        DOUBLE_REDUCTION + "：不再审批新的面向义务教育阶段学生的学科类校外培训机构",
        "可否新批学科类机构",
    ),
    Default(
        "subject.must_be_non_profit",
        True,
        DOUBLE_REDUCTION + "：学科类机构统一登记为非营利性(营转非)",
        "学科类须为非营利性",
    ),
    Default(
        "subject.no_training_on_rest_days",
        True,
        DOUBLE_REDUCTION + "：不得占用国家法定节假日、休息日及寒暑假期组织学科类培训",
        "学科类休息日禁训",
    ),
    Default(
        "calendar.winter_vacation",
        ["01-20", "02-20"],
        "中小学校历：寒假起止日期(月-日)由省级教育行政部门按年公布；默认值为近似，各地设定",
        "寒假起止(月-日)",
        check_vacation,
    ),
    Default(
        "calendar.summer_vacation",
        ["07-10", "08-31"],
        "中小学校历：暑假起止日期(月-日)由省级教育行政部门按年公布；默认值为近似，各地设定",
        "暑假起止(月-日)",
        check_vacation,
    ),
    Default("training.latest_end_offline", "20:30", THIRTEEN_DEPTS, "线下培训结束时间不晚于", check_clock),
    Default("training.latest_end_online", "21:00", THIRTEEN_DEPTS, "线上培训结束时间不晚于", check_clock),
    Default(
        "preschool.subject_training_allowed",
        False,
        THIRTEEN_DEPTS + "：不得对学龄前儿童进行小学课程培训",
        "学龄前可否学科培训",
    ),
    Default(
        "staff.subject_teacher_needs_qualification",
        True,
        "学科类培训教师须具有相应教师资格",
        "学科类教师须持教师资格证",
    ),
    Default(
        "staff.background_check_required",
        True,
        "面向未成年人的从业人员须经无犯罪记录查询",
        "从业人员须无犯罪记录查询",
    ),
    Default("materials.review_required", True, "校外培训材料须经审核后使用", "培训材料须审核"),
    Default(
        "disclosure.required_items",
        ["permit", "registration", "teachers", "fees", "content", "safety", "custody"],
        "区县办学信息公示实践",
        "公示必备事项",
    ),
    Default(
        "approval.decision_days",
        20,
        "《中华人民共和国行政许可法》第四十二条、第八十二条：二十个工作日内作出决定",
        "审批决定时限(工作日)",
    ),
    Default(
        "approval.min_area_per_pupil_sqm",
        3.0,  # a float: a city may set 2.5 m²
        "各省校外培训机构设置标准(地方示例)：教学用房生均不少于3平方米",
        "生均教学面积下限(平方米)",
    ),
    Default("fees.max_lessons_per_charge", 60, JIANGUANHAN_2 + "(含充值、次卡)", "单次收费课时上限"),
    Default("fees.max_months_per_charge", 3, JIANGUANHAN_2, "单次收费时间跨度上限(月)"),
    Default(
        "fees.max_amount_per_charge_fen",
        500000,
        THIRTEEN_DEPTS + "；城市规则(5000元)",
        "单次收费金额上限(分)",
    ),
    Default(
        "fees.earliest_charge_before_start_days",
        30,
        "成都、江苏规则(地方示例，作为默认)",
        "开课前最早收费天数",
    ),
    Default(
        "fees.per_lesson_charge_when_remaining_at_most",
        20,
        "成都、江苏规则：剩余课时不多于20课时方可按课时续费",
        "按课时续费剩余课时上限",
    ),
    Default("fees.cross_semester_allowed", False, "成都规则(地方示例)", "可否跨学期收费"),
    Default(
        "fees.semester_starts",
        ["02-01", "09-01"],
        "中小学校历：秋季学期9月1日至次年1月31日，春季学期2月1日至8月31日(寒暑假归前一学期)；"
        "各地按本地校历调整",
        "学期起始日(月-日)",
    ),
    Default("fees.training_loans_allowed", False, THIRTEEN_DEPTS + "：不得使用培训贷", "可否培训贷"),
    Default(
        "custody.modes_allowed",
        ["bank_custody", "risk_deposit"],
        JIANGUANHAN_2 + "；河南、辽宁等省级规则",
        "允许的监管方式",
    ),
    Default("custody.release_rule", "per_lesson", "一课一消 / 消拨同步；可选 staged", "资金拨付规则"),
    Default(
        "custody.staged_release",
        [[1, 3, 30], [2, 3, 30], [3, 3, 40]],
        "天津滨海新区(地方示例)：完成1/3课时拨30%，2/3拨30%，全部拨40%",
        "分段拨付比例",
    ),
    Default("custody.min_balance_reserve_ratio", 0.0, "自贡(地方示例，示例值0.20)", "监管账户最低留存比例"),
    Default(
        "custody.risk_deposit_ratio",
        None,
        "风险保证金模式：固定保证金，不得质押(由地方设定)",
        "风险保证金比例",
    ),
    Default(
        "lesson.parent_confirm_days",
        15,
        NATIONAL_PLATFORM + "：家长未确认视为确认(某地通知为7个工作日)",
        "家长确认消课时限(工作日)",
    ),
    Default(
        "refund.institution_response_days",
        5,
        NATIONAL_PLATFORM + "：机构逾期未答复视为同意",
        "机构答复退费时限(工作日)",
    ),
    Default(
        "refund.destination",
        "original_payment_account",
        NATIONAL_PLATFORM + "：原路退回",
        "退费去向",
    ),
    Default(
        "alerts.large_transaction_ratio",
        0.10,
        "广东：单笔资金变动超过监管余额10%预警",
        "大额变动预警比例",
    ),
    Default(
        "guided_price.subject_per_lesson_fen",
        None,
        "政府指导价(由地方设定，如上海线下8000/6000/4000分每生每课时)",
        "学科类政府指导价(分/课时)",
    ),
    Default(
        "random_inspection.annual_share",
        [0.10, 0.20],
        "成都(地方示例)：每年抽查10%-20%",
        "年度随机抽查比例",
        check_share_range,
    ),
    Default(
        "random_inspection.same_inspector_gap_days",
        365,
        "实践：同一检查人员一年内不重复抽到同一机构",
        "同一检查人员回避间隔(天)",
    ),
    Default("rectification.default_deadline_days", 10, "地方实践；每份通知书自定", "整改期限(工作日)"),
    Default("rectification.reminder_after_overdue_days", 1, "逾期升级：提示函", "逾期发提示函(工作日)"),
    Default(
        "rectification.supervision_letter_after_overdue_days",
        5,
        "逾期升级：督办函",
        "逾期发督办函(工作日)",
    ),
    Default("rectification.case_after_overdue_days", 10, "逾期升级：立案处罚", "逾期立案(工作日)"),
    Default("clue.acknowledge_days", 1, "热线实践", "线索受理时限(工作日)"),
    Default("clue.resolve_days", 15, "热线实践；举报平台转办至属地", "线索办结时限(工作日)"),
    Default("clue.dedupe_window_days", 30, "实践", "线索合并窗口(天)"),
    Default(
        "clue.routing",
        {
            "disguised_training": ["education", "sector", "township"],
            "unlicensed": ["education", "sector", "township"],
            "beyond_syllabus": ["education", "sector"],
            "illegal_competition": ["education", "sector"],
            "staff_conduct": ["education", "sector"],
            "refund_difficulty": ["education", "market_regulation"],
            "runaway": ["education", "market_regulation", "public_security"],
            "price": ["market_regulation", "education"],
            "fire_safety": ["fire"],
            "food_safety": ["market_regulation"],
            "advertising": ["market_regulation"],
            "other": ["education"],
        },
        "线索分办矩阵：sector = 机构类别的主管部门(非教育时)，township = 问题所在乡镇(街道)政府；"
        "未在登记名录的经营者一律加属地乡镇",
        "线索分办矩阵(问题类别 → 承办部门，首个牵头)",
    ),
    Default(
        "clue.triage_confidence", 0.5, "分类置信度低于此值的线索进入待人工分类", "线索自动分类置信度下限"
    ),
    Default("whistle.report_hours", 24, "“街乡吹哨、部门报到”实践", "吹哨报到时限(小时)"),
    # --- risk early warning (风险预警, ../shared/POLICY.md "Risk"; qinglang/risk) ---
    Default(
        "risk.level_thresholds",
        [25, 50, 80],
        "风险分级(蓝黄橙红)由地方设定；示例值：≥25黄、≥50橙、≥80红",
        "风险等级分值线(黄/橙/红)",
    ),
    Default(
        "risk.alert_days", [10, 5, 2], "分级处置时限(黄/橙/红，工作日)，由地方设定", "预警处置时限(工作日)"
    ),
    Default("risk.guardian_checkin_days", 7, "天津包保实践：包保责任人定期走访", "包保走访间隔(天)"),
    Default("risk.manual_signal_days", 30, "人工报送信号的有效期(天)", "报送信号有效期(天)"),
    *[
        Default(f"risk.threshold.{kind}", threshold, basis, f"风险信号阈值：{label}")
        for kind, label, threshold, _w, basis in RISK_SIGNALS
        if threshold is not None
    ],
    *[
        Default(f"risk.weight.{kind}", w, basis, f"风险信号分值：{label}")
        for kind, label, _t, w, basis in RISK_SIGNALS
    ],
]

BY_KEY: dict[str, Default] = {d.key: d for d in DEFAULTS}
