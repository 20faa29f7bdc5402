"""National default policy parameters, each with its basis (../shared/POLICY.md).
Keys are stable: places override them by division code. ``None`` means "set locally":
the rule is not enforced until a place sets a figure."""

from typing import NamedTuple


class Default(NamedTuple):
    key: str
    value: object
    basis: str
    label: str


DOUBLE_REDUCTION = (
    "中共中央办公厅 国务院办公厅《关于进一步减轻义务教育阶段学生作业负担和校外培训负担的意见》(2021)"
)
THIRTEEN_DEPTS = "教育部等十三部门《关于规范面向中小学生的非学科类校外培训的意见》(2022年12月)"
JIANGUANHAN_2 = "教育部等六部门《关于加强校外培训机构预收费监管工作的通知》(教监管函〔2021〕2号)"
NATIONAL_PLATFORM = "全国校外教育培训监管与服务综合平台规则"

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
    Default("training.latest_end_offline", "20:30", THIRTEEN_DEPTS, "线下培训结束时间不晚于"),
    Default("training.latest_end_online", "21:00", THIRTEEN_DEPTS, "线上培训结束时间不晚于"),
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
    Default("whistle.report_hours", 24, "“街乡吹哨、部门报到”实践", "吹哨报到时限(小时)"),
]

BY_KEY: dict[str, Default] = {d.key: d for d in DEFAULTS}
