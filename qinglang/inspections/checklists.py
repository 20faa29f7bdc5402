"""Default checklists (检查清单): items grouped by the POLICY.md domains, each with its legal
basis, severity and responsible department; one national default template per campaign
type, created on first use. Regulators copy and edit them for their division."""

from .models import CampaignType, ChecklistItem, ChecklistTemplate, Domain, Severity

E, M, F, S = "education", "market_regulation", "fire", "public_security"
ALL = frozenset(CampaignType.values)
MEAL = frozenset({CampaignType.MEAL_CARE, CampaignType.GENERAL, CampaignType.SAFETY})
SAFE = frozenset({CampaignType.GENERAL, CampaignType.SAFETY, CampaignType.MEAL_CARE})
DISG = frozenset({CampaignType.GENERAL, CampaignType.DISGUISED})
GEN = frozenset({CampaignType.GENERAL})
GEN_MEAL = frozenset({CampaignType.GENERAL, CampaignType.MEAL_CARE})

# (code, domain, title, basis, severity, department, campaign types)
DEFAULT_ITEMS = [
    ("Q01", Domain.QUALIFICATION, "办学许可证、营业执照(登记证书)齐全有效", "《民办教育促进法》第十八条；《校外培训行政处罚暂行办法》第十七条", Severity.SERIOUS, E, ALL),
    ("Q02", Domain.QUALIFICATION, "实际办学地址与许可地址一致", "《民办教育促进法实施条例》第二十九条", Severity.MAJOR, E, ALL),
    ("D01", Domain.DISCLOSURE, "在显著位置公示收费项目、标准及退费办法", "《关于加强校外培训机构预收费监管工作的通知》", Severity.MINOR, M, GEN_MEAL),
    ("D02", Domain.DISCLOSURE, "公示授课教师信息及资格证书", "《校外培训机构从业人员管理办法(试行)》", Severity.MINOR, E, GEN),
    ("C01", Domain.FUNDS, "预收费纳入资金监管账户，不超过3个月或60课时", "《关于加强校外培训机构预收费监管工作的通知》", Severity.SERIOUS, E, GEN),
    ("C02", Domain.FUNDS, "通过全国监管平台销售课程、签订合同", "教育部等六部门《关于加强校外培训机构预收费监管工作的通知》", Severity.MAJOR, E, GEN),
    ("P01", Domain.STAFF_MATERIALS, "从业人员无犯罪记录查询、学科类教师具备教师资格", "《校外培训机构从业人员管理办法(试行)》第七条", Severity.MAJOR, E, GEN_MEAL),
    ("P02", Domain.STAFF_MATERIALS, "培训材料经审核备案", "《中小学生校外培训材料管理办法(试行)》", Severity.MINOR, E, GEN),
    ("V01", Domain.SURVEILLANCE, "教学及公共区域视频监控全覆盖并保存30日以上", "地方校外培训机构安全管理规定", Severity.MINOR, S, SAFE),
    ("F01", Domain.FIRE, "疏散通道、安全出口畅通，消防设施完好", "《消防法》第十六条、第二十八条", Severity.SERIOUS, F, SAFE),
    ("F02", Domain.FIRE, "取得消防验收或备案，不设于地下室、居民楼高层", "《消防法》第十五条", Severity.MAJOR, F, SAFE),
    ("H01", Domain.FOOD, "取得食品经营许可证，从业人员持健康证", "《食品安全法》第三十五条、第四十五条", Severity.SERIOUS, M, MEAL),
    ("H02", Domain.FOOD, "食品留样48小时以上，加工场所卫生达标", "《食品安全法》；《学校食品安全与营养健康管理规定》", Severity.MAJOR, M, MEAL),
    ("T01", Domain.DISGUISED, "无以托管、咨询、研学、家政等名义开展学科类培训", "《校外培训行政处罚暂行办法》第十八条", Severity.SERIOUS, E, DISG | {CampaignType.MEAL_CARE}),
    ("T02", Domain.COMPETITION, "未组织面向中小学生的违规竞赛", "《面向中小学生的全国性竞赛活动管理办法》", Severity.MAJOR, E, DISG),
    ("T03", Domain.BEYOND_SYLLABUS, "无超标超前培训", "《关于进一步减轻义务教育阶段学生作业负担和校外培训负担的意见》", Severity.MAJOR, E, DISG),
    ("N01", Domain.SIGNAGE, "招牌名称与登记名称一致", "《市场主体登记管理条例》", Severity.MINOR, M, GEN),
    ("N02", Domain.SCOPE, "实际培训内容在经营(业务)范围内", "《市场主体登记管理条例》第二十六条", Severity.MAJOR, M, GEN | {CampaignType.DISGUISED}),
    ("A01", Domain.ARCHIVES, "学员、合同、收退费档案完整", "《民办教育促进法实施条例》", Severity.MINOR, E, GEN),
    ("A02", Domain.ADVERTISING, "无虚假宣传、制造焦虑的广告", "《广告法》第二十四条", Severity.MAJOR, M, GEN | {CampaignType.DISGUISED}),
]  # fmt: skip

TEMPLATE_NAMES = {
    CampaignType.GENERAL: "综合检查清单(全国默认)",
    CampaignType.MEAL_CARE: "托管(小饭桌)专项检查清单(全国默认)",
    CampaignType.DISGUISED: "隐形变异培训专项检查清单(全国默认)",
    CampaignType.SAFETY: "安全专项检查清单(全国默认)",
}


def default_template(campaign_type: str) -> ChecklistTemplate:
    """The national default template of a campaign type, seeded on first use."""
    t = ChecklistTemplate.objects.filter(
        campaign_type=campaign_type, division_code="", is_default=True
    ).first()
    if t is not None:
        return t
    t = ChecklistTemplate.objects.create(
        name=TEMPLATE_NAMES[campaign_type], campaign_type=campaign_type, division_code="", is_default=True
    )
    ChecklistItem.objects.bulk_create(
        ChecklistItem(
            template=t,
            code=code,
            domain=dom,
            title=title,
            basis=basis,
            severity=sev,
            department_kind=dept,
            position=i,
        )
        for i, (code, dom, title, basis, sev, dept, types) in enumerate(DEFAULT_ITEMS)
        if campaign_type in types
    )
    return t


# --- follow-up items (跟进事项) ---------------------------------------------------------

HOURS_ITEM = (
    "R01",
    Domain.TRAINING_HOURS,
    "核查培训时间违规记录：培训结束时间不晚于规定时间，学科类不占用休息日、法定节假日和寒暑假",
    "《关于进一步减轻义务教育阶段学生作业负担和校外培训负担的意见》；policy training.latest_end_*、"
    "subject.no_training_on_rest_days",
    Severity.MAJOR,
    E,
)


def hours_item() -> ChecklistItem:
    """The follow-up item for training-hours violations, created on first use."""
    t = ChecklistTemplate.objects.filter(follow_up=True, division_code="").first()
    if t is None:
        t = ChecklistTemplate.objects.create(
            name="跟进事项(平台生成)",
            campaign_type=CampaignType.GENERAL,
            division_code="",
            follow_up=True,
        )
    code, domain, title, basis, severity, dept = HOURS_ITEM
    item, _ = ChecklistItem.objects.get_or_create(
        template=t,
        code=code,
        defaults={
            "domain": domain,
            "title": title,
            "basis": basis,
            "severity": severity,
            "department_kind": dept,
        },
    )
    return item


def hours_violations_to_follow(institution_id: int):
    """The institution's training-hours violations recorded since its last completed
    inspection: what the next inspection (its campaign's checklist) follows up."""
    from qinglang.registry.models import HoursViolation

    from .models import Record

    last = (
        Record.objects.filter(task__institution_id=institution_id)
        .order_by("-created_at")
        .values_list("created_at", flat=True)
        .first()
    )
    qs = HoursViolation.objects.filter(institution_id=institution_id).select_related("course")
    if last is not None:
        qs = qs.filter(created_at__gt=last)
    return qs.order_by("-starts_at", "-id")


def task_items(task) -> tuple[list[ChecklistItem], list]:
    """A task's checklist: its campaign template's items (the general default without a
    campaign), plus the training-hours follow-up item when the institution has violations
    to follow up; and those violations, shown with the item."""
    if task.campaign_id:
        items = list(
            ChecklistItem.objects.filter(
                template__campaigns=task.campaign_id, retired_at__isnull=True
            ).order_by("position", "id")
        )
    else:
        items = list(default_template(CampaignType.GENERAL).active_items())
    violations = list(hours_violations_to_follow(task.institution_id)[:50])
    if violations:
        items.append(hours_item())
    return items, violations
