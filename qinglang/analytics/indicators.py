"""The indicators of POLICY.md "Indicators and targets" as data.

Each indicator names its numerator and denominator, its target and direction, and two
set-based queries over the source rows: ``base(day)`` gives, for one day, one row per
(division code, competent department) with the numerator and denominator; ``rows(day)``
gives the source rows behind the value (the drill-through). Two kinds:

* ``snapshot``: the state of the register on the day the refresh runs (证照齐全率, …);
  a past day keeps the value recorded on it.
* ``deadline``: the rows whose time limit fell on the day (线索按时办结率, 整改销号率);
  any past day can be recomputed, so a back-dated or deleted row is caught up.

The lower apps stay the owners of their rows: only their models are read here, never
written."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db.models import Count, F, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone


@dataclass(frozen=True)
class Indicator:
    key: str
    name: str
    numerator: str
    denominator: str
    target: float  # a rate (0..1) or a count
    direction: str  # "up": higher is better; "down": lower is better
    unit: str  # "%" or "个"
    kind: str  # "snapshot" or "deadline"
    base: Callable[[date], QuerySet]
    rows: Callable[[date], QuerySet]
    link: str = ""  # portal URL name of a source row's page, with its id
    money: bool = False  # numerator and denominator are amounts in fen (shown in yuan)

    def status(self, value: float | None) -> str:
        """red / amber / green against the target (amber: within 10 points)."""
        if value is None:
            return "none"
        if self.direction == "up":
            if value >= self.target:
                return "green"
            return "amber" if value >= self.target - 0.10 else "red"
        if value <= self.target:
            return "green"
        return "amber" if value <= self.target + 2 else "red"


def _day_end(day: date) -> datetime:
    nxt = day + timedelta(days=1)
    return timezone.make_aware(datetime(nxt.year, nxt.month, nxt.day))


def _grouped(qs: QuerySet, division: str, department: str, num: Q) -> QuerySet:
    return (
        qs.annotate(_div=F(division), _dept=Coalesce(F(department), Value("")))
        .order_by()
        .values("_div", "_dept")
        .annotate(num=Count("id", filter=num), den=Count("id"))
        .values_list("_div", "_dept", "num", "den")
    )


def _summed(qs: QuerySet, division: str, department: str, num: str, den: str) -> QuerySet:
    return (
        qs.annotate(_div=F(division), _dept=Coalesce(F(department), Value("")))
        .order_by()
        .values("_div", "_dept")
        .annotate(num=Coalesce(Sum(num), 0), den=Coalesce(Sum(den), 0))
        .values_list("_div", "_dept", "num", "den")
    )


# --- registry ---------------------------------------------------------------------------


def _operating(_day: date) -> QuerySet:
    from qinglang.registry.models import Institution, InstitutionStatus

    return Institution.objects.filter(status=InstitutionStatus.ACTIVE)


def _licensed_base(day):
    from qinglang.registry.models import LicenceStatus

    return _grouped(
        _operating(day),
        "division_code",
        "competent_department__kind",
        Q(licence_status=LicenceStatus.FULLY_LICENSED),
    )


def _party_base(day):
    return _grouped(
        _operating(day),
        "division_code",
        "competent_department__kind",
        Q(party_organisation=True, party_charter_clause=True),
    )


def _current_staff(day):
    from qinglang.registry.models import InstitutionStatus, Staff

    return Staff.objects.filter(institution__status=InstitutionStatus.ACTIVE, left_on__isnull=True)


STAFF_VETTED = Q(background_check_on__isnull=False) & (
    Q(teaches_subject=False) | ~Q(teacher_qualification_no="")
)


def _staff_base(day):
    return _grouped(
        _current_staff(day),
        "institution__division_code",
        "institution__competent_department__kind",
        STAFF_VETTED,
    )


# --- funds: the coverage page's own definitions (funds.selectors_coverage) ---------------
# 账户开通率 and 资金纳管率 are read over the same population (operating fee-charging
# institutions) with the same per-institution figures as /console/funds/declarations/,
# so the two pages agree: a day's value is the coverage of the week containing it.


def _fee_charging(day):
    from qinglang.funds.selectors_coverage import operating_fee_charging, with_coverage
    from qinglang.funds.services.indicators import week_monday

    return with_coverage(operating_fee_charging(), week_monday(day))


def _account_base(day):
    return _grouped(_fee_charging(day), "division_code", "competent_department__kind", Q(acc=True))


def _coverage_base(day):
    return _summed(_fee_charging(day), "division_code", "competent_department__kind", "held", "known")


def _coverage_rows(day):
    return _fee_charging(day).annotate(meets_target=_ann(Q(held__gte=F("known"))))


# --- registry (培训材料审核率): materials of operating institutions reviewed ------------


def _materials(_day):
    from qinglang.registry.models import InstitutionStatus, TrainingMaterial

    return TrainingMaterial.objects.filter(institution__status=InstitutionStatus.ACTIVE)


def _material_reviewed(_day) -> Q:
    from qinglang.registry.models import MaterialStatus

    return ~Q(status=MaterialStatus.SUBMITTED)


def _materials_base(day):
    return _grouped(
        _materials(day),
        "institution__division_code",
        "institution__competent_department__kind",
        _material_reviewed(day),
    )


# --- inspections (检查覆盖率): tasks of the campaigns under way on the day ----------------


def _campaign_tasks(day):
    from qinglang.inspections.models import CampaignStatus, Task, TaskStatus

    return Task.objects.filter(
        campaign__starts_on__lte=day, campaign__ends_on__gte=day, campaign__status=CampaignStatus.DRAWN
    ).exclude(status=TaskStatus.CANCELLED)


def _task_done(_day) -> Q:
    from qinglang.inspections.models import TaskStatus

    return Q(status=TaskStatus.COMPLETED)


def _inspection_base(day):
    return _grouped(
        _campaign_tasks(day), "division_code", "institution__competent_department__kind", _task_done(day)
    )


# --- clues (隐形变异清零): disguised-training clues still open past their time limit -------


def _disguised_open(_day):
    from qinglang.clues.models import OPEN_STATUSES, Clue, ClueCategory

    return Clue.objects.filter(category=ClueCategory.DISGUISED_TRAINING, status__in=OPEN_STATUSES)


def _disguised_overdue(day) -> Q:
    return Q(resolve_due__lt=day)


def _disguised_base(day):
    return _grouped(
        _disguised_open(day),
        "division_code",
        "institution__competent_department__kind",
        _disguised_overdue(day),
    )


# --- schools (课后服务覆盖率, 作业时长达标率): the education department's school reports ---


def _school_reports(day):
    """Each division's latest school report on or before the day."""
    from .models import SchoolReport

    latest = (
        SchoolReport.objects.filter(division_code=OuterRef("division_code"), report_on__lte=day)
        .order_by("-report_on", "-id")
        .values("id")[:1]
    )
    return SchoolReport.objects.filter(report_on__lte=day, id=Subquery(latest))


def _after_school_base(day):
    return _summed(_school_reports(day), "division_code", "department_kind", "after_school", "schools")


def _homework_base(day):
    return _summed(_school_reports(day), "division_code", "department_kind", "homework_ok", "schools")


# --- clues (线索按时办结率): clues whose time limit fell on the day -------------------


def _clues_due(day):
    from qinglang.clues.models import Clue

    return Clue.objects.filter(resolve_due=day)


def _clue_on_time(day) -> Q:
    return Q(concluded_at__lt=_day_end(day)) | Q(concluded_at__isnull=True, closed_at__lt=_day_end(day))


def _clue_base(day):
    return _grouped(
        _clues_due(day), "division_code", "institution__competent_department__kind", _clue_on_time(day)
    )


# --- inspections (整改销号率): rectification items whose deadline fell on the day -----------------


def _items_due(day):
    from qinglang.inspections.models import RectificationItem

    return RectificationItem.objects.filter(deadline_on=day)


def _item_closed() -> Q:
    from qinglang.inspections.models import RectificationStatus

    return Q(status=RectificationStatus.CLOSED_OUT)


def _item_base(day):
    return _grouped(_items_due(day), "division_code", "department_kind", _item_closed())


def _ann(q):
    from django.db.models import BooleanField, ExpressionWrapper

    return ExpressionWrapper(q, output_field=BooleanField())


def _q_rows(qs_fn, q_fn):
    def rows(day):
        return qs_fn(day).annotate(meets_target=_ann(q_fn(day)))

    return rows


def _licensed_q(_day):
    from qinglang.registry.models import LicenceStatus

    return Q(licence_status=LicenceStatus.FULLY_LICENSED)


INDICATORS: dict[str, Indicator] = {
    i.key: i
    for i in [
        Indicator(
            "indicator.custody_coverage",
            "资金纳管率",
            "纳入监管的预收费(托管的预收和待划拨资金)",
            "已申报或已知的预收费(每家机构取申报与托管中的较大者)",
            1.0,
            "up",
            "%",
            "snapshot",
            _coverage_base,
            _coverage_rows,
            "portal:institution_detail",
            money=True,
        ),
        Indicator(
            "indicator.custody_account_rate",
            "账户开通率",
            "开通托管账户或缴纳风险保证金的在营收费机构",
            "在营收费机构(有定价课程或订单)",
            1.0,
            "up",
            "%",
            "snapshot",
            _account_base,
            lambda day: _fee_charging(day).annotate(meets_target=_ann(Q(acc=True))),
            "portal:institution_detail",
        ),
        Indicator(
            "indicator.licensed_rate",
            "证照齐全率",
            "证照齐全的在营机构",
            "在营机构",
            1.0,
            "up",
            "%",
            "snapshot",
            _licensed_base,
            _q_rows(_operating, _licensed_q),
            "portal:institution_detail",
        ),
        Indicator(
            "indicator.staff_vetted_rate",
            "从业人员审核率",
            "已查询无犯罪记录(学科类教师另须教师资格)的在职人员",
            "在营机构在职人员",
            1.0,
            "up",
            "%",
            "snapshot",
            _staff_base,
            _q_rows(_current_staff, lambda _d: STAFF_VETTED),
        ),
        Indicator(
            "indicator.materials_reviewed_rate",
            "培训材料审核率",
            "已审核(通过或不通过)的培训材料",
            "在营机构报送的培训材料",
            1.0,
            "up",
            "%",
            "snapshot",
            _materials_base,
            _q_rows(_materials, _material_reviewed),
        ),
        Indicator(
            "indicator.party_coverage_rate",
            "党建双覆盖率",
            "有党组织覆盖且党建入章的在营机构",
            "在营机构",
            1.0,
            "up",
            "%",
            "snapshot",
            _party_base,
            _q_rows(_operating, lambda _d: Q(party_organisation=True, party_charter_clause=True)),
            "portal:institution_detail",
        ),
        Indicator(
            "indicator.inspection_coverage",
            "检查覆盖率",
            "已完成检查的任务",
            "进行中专项行动的检查任务(不含已取消)",
            1.0,
            "up",
            "%",
            "snapshot",
            _inspection_base,
            _q_rows(_campaign_tasks, _task_done),
        ),
        Indicator(
            "indicator.clue_on_time_rate",
            "线索按时办结率",
            "在办结时限内办结的线索",
            "办结时限届满的线索",
            0.95,
            "up",
            "%",
            "deadline",
            _clue_base,
            _q_rows(_clues_due, _clue_on_time),
            "portal:clue_detail",
        ),
        Indicator(
            "indicator.rectification_closed_rate",
            "整改销号率",
            "已销号的整改事项",
            "整改期限届满的整改事项",
            1.0,
            "up",
            "%",
            "deadline",
            _item_base,
            _q_rows(_items_due, lambda _d: _item_closed()),
        ),
        Indicator(
            "indicator.disguised_open",
            "隐形变异线索超期未结",
            "超过办结时限仍未办结的隐形变异培训线索",
            "未办结的隐形变异培训线索",
            0,
            "down",
            "个",
            "snapshot",
            _disguised_base,
            _q_rows(_disguised_open, _disguised_overdue),
            "portal:clue_detail",
        ),
        Indicator(
            "indicator.after_school_coverage",
            "课后服务覆盖率",
            "开展课后服务的义务教育学校",
            "义务教育学校(教育部门最近一次报送)",
            1.0,
            "up",
            "%",
            "snapshot",
            _after_school_base,
            _q_rows(_school_reports, lambda _d: Q(after_school=F("schools"))),
        ),
        Indicator(
            "indicator.homework_compliance",
            "作业时长达标率",
            "书面作业时长符合规定的义务教育学校",
            "义务教育学校(教育部门最近一次报送)",
            1.0,
            "up",
            "%",
            "snapshot",
            _homework_base,
            _q_rows(_school_reports, lambda _d: Q(homework_ok=F("schools"))),
        ),
    ]
}
