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

from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Value
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
        .values("_div", "_dept")
        .annotate(num=Count("id", filter=num), den=Count("id"))
        .values_list("_div", "_dept", "num", "den")
    )


# --- registry ---------------------------------------------------------------------------


def _operating(_day: date) -> QuerySet:
    from qinglang.registry.models import Institution, Status

    return Institution.objects.filter(status=Status.ACTIVE)


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
    from qinglang.registry.models import Staff, Status

    return Staff.objects.filter(institution__status=Status.ACTIVE, left_on__isnull=True)


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


# --- funds (账户开通率): an institution with a custody account or a risk deposit -------


def _has_custody():
    from qinglang.funds.models import CustodyAccount

    return Exists(CustodyAccount.objects.filter(institution_id=OuterRef("pk")))


def _account_base(day):
    return _grouped(
        _operating(day).annotate(_custody=_has_custody()),
        "division_code",
        "competent_department__kind",
        Q(_custody=True),
    )


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


# --- inspections (整改销号率): ledger items whose deadline fell on the day -----------------


def _items_due(day):
    from qinglang.inspections.models import LedgerItem

    return LedgerItem.objects.filter(deadline_on=day)


def _item_closed() -> Q:
    from qinglang.inspections.models import LedgerStatus

    return Q(status=LedgerStatus.CLOSED_OUT)


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
            "indicator.custody_account_rate",
            "账户开通率",
            "开通托管账户或缴纳风险保证金的在营机构",
            "在营机构",
            1.0,
            "up",
            "%",
            "snapshot",
            _account_base,
            lambda day: _operating(day).annotate(meets_target=_has_custody()),
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
    ]
}


def indicator_get(key: str) -> Indicator | None:
    return INDICATORS.get(key)
