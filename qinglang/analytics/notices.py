"""每周一通报: the weekly ranking of a county's townships and departments on every
indicator, with the change on the week before; issued once per county and week as an
official .docx and a page, sent to every unit's inbox; units below target get a 督办提醒
they acknowledge once and then report their follow-up on.

* ``ranking(county, week)`` reads the week's roll-ups only (two queries whatever the
  number of institutions): the live ranking page and the notice share it.
* ``notice_issue`` issues one week for one county, under the lock of the county's
  ``NoticeSeries`` row (and a unique constraint on county + week), so two runs at once
  never issue the same week twice nor reuse a document number.
* ``weekly_notices`` (the Monday job, run hourly so that it catches up after downtime)
  issues, for every county with figures, each complete week since its last notice (at
  most ``CATCH_UP_WEEKS``), from Monday 08:00 on."""

from datetime import date, datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from qinglang.accounts.models import Membership, Role
from qinglang.accounts.notifications import Message, notify_many
from qinglang.accounts.permissions import REGULATORS, has_role, is_system, require_role, system, user_id
from qinglang.accounts.scope import actor_for, division_in_scope
from qinglang.core import files
from qinglang.core.audit import audit_record
from qinglang.core.errors import NotFound, PermissionDeniedError
from qinglang.core.i18n import chinese_labels
from qinglang.core.models import DepartmentKind, Division

from .indicators import INDICATORS, Indicator
from .models import IndicatorValue, NoticeSeries, Period, RankingNotice, Reminder
from .refresh import week_start as monday_of

CATCH_UP_WEEKS = 4
ISSUE_HOUR = 8  # the notice of last week is issued from Monday 08:00
TOWNSHIP, COUNTY = 9, 6


def _value(ind: Indicator, num: int, den: int) -> float | None:
    if not den:
        return None
    return float(num) if ind.unit == "个" else num / den


def _ranked(ind: Indicator, units: list[dict]) -> list[dict]:
    """Best first (direction-aware), units without figures last; equal values share a rank."""
    sign = -1 if ind.direction == "up" else 1
    units.sort(key=lambda u: (u["value"] is None, sign * (u["value"] or 0), u["code"]))
    prev = None
    for i, u in enumerate(units):
        if u["value"] is None:
            u["rank"] = None
            continue
        u["rank"] = prev["rank"] if prev and prev["value"] == u["value"] else i + 1
        prev = u
    return units


def ranking(county: str, week: date) -> dict:
    """The week's ranking of the county's townships and departments on every indicator."""
    week = monday_of(week)
    node = Division.objects.filter(code=county).first()
    if node is None or len(county) != COUNTY:
        raise NotFound(_("区县"))
    towns = {d.code: d.name for d in Division.objects.filter(parent_id=county).order_by("code")}
    rows = IndicatorValue.objects.filter(
        Q(division_code__in=list(towns), department_kind="") | Q(division_code=county),
        division_code__in=[*towns, county],  # an index condition, not only a filter
        period=Period.WEEK,
        period_start__in=[week, week - timedelta(days=7)],
    ).values_list("indicator", "period_start", "division_code", "department_kind", "numerator", "denominator")
    got = {(k, s, d, dept): (n, dn) for k, s, d, dept, n, dn in rows}
    dept_names = chinese_labels(DepartmentKind)
    depts = sorted({dept for (_k, _s, d, dept) in got if d == county and dept})
    out = []
    for ind in INDICATORS.values():

        def unit(code, name, dept, ind=ind):
            n, d = got.get((ind.key, week, code, dept), (0, 0))
            pn, pd = got.get((ind.key, week - timedelta(days=7), code, dept), (0, 0))
            v, p = _value(ind, n, d), _value(ind, pn, pd)
            return {
                "code": dept or code,
                "name": name,
                "division": code,
                "department": dept,
                "numerator": n,
                "denominator": d,
                "value": v,
                "previous": p,
                "change": None if v is None or p is None else v - p,
                "status": ind.status(v),
            }

        total_n, total_d = got.get((ind.key, week, county, ""), (0, 0))
        out.append(
            {
                "key": ind.key,
                "name": ind.name,
                "unit": ind.unit,
                "target": ind.target,
                "direction": ind.direction,
                "value": _value(ind, total_n, total_d),
                "townships": _ranked(ind, [unit(c, n, "") for c, n in towns.items()]),
                "departments": _ranked(ind, [unit(county, dept_names.get(k, k), k) for k in depts]),
            }
        )
    lagging: dict[tuple[str, str], dict] = {}
    for r in out:
        for u in r["townships"] + r["departments"]:
            if u["value"] is not None and u["status"] != "green":
                lag = lagging.setdefault(
                    (u["division"], u["department"]),
                    {
                        "division": u["division"],
                        "department": u["department"],
                        "name": u["name"],
                        "items": [],
                    },
                )
                lag["items"].append({"indicator": r["name"], "value": u["value"], "unit": r["unit"]})
    return {
        "county": county,
        "county_name": node.full_name or node.name,
        "county_short": node.name,
        "week_start": week.isoformat(),
        "week_end": (week + timedelta(days=6)).isoformat(),
        "indicators": out,
        "lagging": sorted(lagging.values(), key=lambda x: (-len(x["items"]), x["division"], x["department"])),
    }


# --- who receives it ----------------------------------------------------------------------


def _regulators(county: str) -> list[tuple[int, tuple[str, ...], str]]:
    """(user id, prefixes, department) of the active regulator memberships of the county."""
    out = []
    for uid, prefixes, dept in Membership.objects.filter(
        active=True, role__in=list(REGULATORS), user__is_active=True
    ).values_list("user_id", "division_prefixes", "department_kind"):
        ps = tuple(p for p in prefixes or [] if p.startswith(county))
        if ps:
            out.append((uid, ps, dept or ""))
    return out


def _unit_users(regs, division: str, department: str) -> set[int]:
    if department:
        return {u for u, _ps, d in regs if d == department}
    return {u for u, ps, _d in regs if any(p.startswith(division) for p in ps)}


# --- issuing --------------------------------------------------------------------------------


def _number(county_short: str, year: int, n: int) -> str:
    return f"{county_short}双减办通报〔{year}〕{n}号"


def notice_issue(*, actor, county: str, week: date, today: date | None = None) -> RankingNotice | None:
    """Issue the notice of ``week`` for ``county``; None if that week was already issued
    (by the job or on demand: it is never issued twice)."""
    today = today or timezone.localdate()
    week = monday_of(week)
    if week > monday_of(today):
        raise ValidationError({"week": _("不能通报尚未开始的周")})
    data = ranking(county, week)
    series_key = {"division_code": county, "year": today.year}
    try:
        with transaction.atomic():
            NoticeSeries.objects.get_or_create(**series_key)
    except IntegrityError:
        pass  # created by a concurrent run meanwhile
    with transaction.atomic():
        series = NoticeSeries.objects.select_for_update().get(**series_key)
        if RankingNotice.objects.filter(division_code=county, week_start=week).exists():
            return None
        series.last_number += 1
        series.save(update_fields=["last_number"])
        notice = RankingNotice.objects.create(
            division_code=county,
            week_start=week,
            number=_number(data["county_short"], today.year, series.last_number),
            issued_on=today,
            issued_by_id=user_id(actor),
            data=data,
        )
        from .documents import ranking_notice_docx

        notice.file, notice.sha256, _size = files.store(
            ranking_notice_docx(notice), folder="analytics/notices", suffix=".docx"
        )
        notice.save(update_fields=["file", "sha256"])
        reminders = Reminder.objects.bulk_create(
            Reminder(
                notice=notice,
                division_code=lag["division"],
                department_kind=lag["department"],
                unit_name=lag["name"],
                lagging=lag["items"],
            )
            for lag in data["lagging"]
        )
        regs = _regulators(county)
        link = reverse("portal:analytics_notice", args=[notice.pk])
        title = f"{data['county_short']}“双减”工作第{series.last_number}期通报({week:%m月%d日}周)"
        messages = [
            Message(
                users={u for u, _p, _d in regs},
                kind="analytics.notice",
                title=title,
                body=f"{notice.number}已印发，请查阅本周各项指标排名。",
                link=link,
                division_code=county,
                about=("analytics.rankingnotice", str(notice.pk)),
            )
        ]
        for r in reminders:
            names = "、".join(i["indicator"] for i in r.lagging)
            messages.append(
                Message(
                    users=_unit_users(regs, r.division_code, r.department_kind),
                    kind="analytics.reminder",
                    title=f"督办提醒：{r.unit_name}{names}未达目标",
                    body=f"根据{notice.number}，请签收并报送整改落实情况。",
                    link=reverse("portal:analytics_reminder", args=[r.pk]),
                    division_code=r.division_code,
                    about=("analytics.reminder", str(r.pk)),
                )
            )
        sent = notify_many(messages, actor=actor)
        audit_record(
            actor=actor,
            action="analytics.notice_issue",
            obj=notice,
            changes={
                "number": notice.number,
                "week_start": week.isoformat(),
                "reminders": len(reminders),
                "notifications": sent,
                "sha256": notice.sha256,
            },
        )
    return notice


def notice_issue_on_demand(*, actor, county: str, week: date) -> RankingNotice:
    """The leader issues a week's notice now (this week so far, or a past week not yet
    issued)."""
    require_role(actor, {Role.REGULATOR_LEADER}, message=_("通报由监管领导印发"))
    if not division_in_scope(actor, county):
        raise NotFound(_("区县"))
    notice = notice_issue(actor=actor, county=county, week=week)
    if notice is None:
        existing = RankingNotice.objects.get(division_code=county, week_start=monday_of(week))
        raise ValidationError(
            {"week": format_lazy(_("该周通报已印发({number})，不重复印发"), number=existing.number)}
        )
    return notice


def target_week(now: datetime) -> date:
    """The last complete week whose notice is due at ``now`` (from Monday 08:00)."""
    local = timezone.localtime(now)
    this_monday = monday_of(local.date())
    if local.date() == this_monday and local.hour < ISSUE_HOUR:
        return this_monday - timedelta(days=14)
    return this_monday - timedelta(days=7)


def weekly_notices(*, now: datetime | None = None) -> dict:
    """Issue every due notice (every county with figures, each complete week since its last
    notice, catching up at most ``CATCH_UP_WEEKS``)."""
    now = now or timezone.now()
    week = target_week(now)
    today = timezone.localtime(now).date()
    counties = list(
        Division.objects.filter(
            level=3,
            code__in=IndicatorValue.objects.filter(
                period=Period.WEEK, period_start=week, department_kind=""
            ).values("division_code"),
        ).values_list("code", flat=True)
    )
    last = dict(
        RankingNotice.objects.filter(division_code__in=counties)
        .order_by("division_code", "week_start")
        .values_list("division_code", "week_start")
    )
    actor = system("weekly-notice")
    issued = []
    for county in counties:
        first = (
            max(last[county] + timedelta(days=7), week - timedelta(days=7 * (CATCH_UP_WEEKS - 1)))
            if county in last
            else week
        )
        w = first
        while w <= week:
            n = notice_issue(actor=actor, county=county, week=w, today=today)
            if n is not None:
                issued.append(n.number)
            w += timedelta(days=7)
    return {"week": week.isoformat(), "counties": len(counties), "issued": issued}


# --- reading --------------------------------------------------------------------------------


def notices_visible(actor):
    """The notices of the counties in or above the user's scope (a township's officers
    read their county's notice)."""
    require_role(actor, REGULATORS, message=_("通报仅对监管部门开放"))
    a = actor_for(actor)
    qs = RankingNotice.objects.all()
    if a.is_platform_admin or is_system(actor):
        return qs
    q = Q(pk__in=[])
    for ps, _d in a.regulator:
        for p in ps:
            q |= Q(division_code__startswith=p) | Q(division_code=p[:COUNTY])
    return qs.filter(q)


def notice_get(actor, notice_id: int) -> RankingNotice:
    n = notices_visible(actor).filter(pk=notice_id).first()
    if n is None:
        raise NotFound(_("通报"))
    return n


def is_unit_member(actor, r: Reminder) -> bool:
    """A regulator of the reminded unit itself: of the township (a prefix within it), or
    of the department in the county; not the task force above it."""
    if is_system(actor):
        return True
    a = actor_for(actor)
    if not (a.roles & REGULATORS):
        return False
    return any(
        (d == r.department_kind if r.department_kind else True)
        and any(p.startswith(r.division_code) for p in ps)
        for ps, d in a.regulator
    )


def reminders_visible(actor):
    """The reminders to the user's units, and every reminder of the counties a
    department-less leader or officer of the county (the task force) oversees."""
    a = actor_for(actor)
    qs = Reminder.objects.select_related("notice")
    if a.is_platform_admin or is_system(actor):
        return qs
    q = Q(pk__in=[])
    for ps, d in a.regulator:
        for p in ps:
            if d:
                q |= Q(department_kind=d, division_code__startswith=p[:COUNTY])
            else:
                q |= Q(division_code__startswith=p)
    return qs.filter(q)


def reminder_get(actor, reminder_id: int) -> Reminder:
    r = reminders_visible(actor).filter(pk=reminder_id).first()
    if r is None:
        raise NotFound(_("督办提醒"))
    return r


def _lock_reminder(actor, reminder_id: int, refused) -> Reminder:
    r = reminders_visible(actor).select_for_update(of=("self",)).filter(pk=reminder_id).first()
    if r is None:
        raise NotFound(_("督办提醒"))
    if not is_unit_member(actor, r):
        raise PermissionDeniedError(refused)
    return r


def reminder_acknowledge(*, actor, reminder_id: int) -> Reminder:
    """签收: once, by a member of the reminded unit."""
    with transaction.atomic():
        r = _lock_reminder(actor, reminder_id, _("督办提醒由被督办单位签收"))
        if r.acknowledged_at:
            raise ValidationError({"reminder": _("该督办提醒已签收")})
        r.acknowledged_at = timezone.now()
        r.acknowledged_by_id = user_id(actor)
        r.save(update_fields=["acknowledged_at", "acknowledged_by_id"])
        audit_record(
            actor=actor, action="analytics.reminder_acknowledge", obj=r, changes={"notice": r.notice_id}
        )
    return r


def reminder_follow_up(*, actor, reminder_id: int, text: str) -> Reminder:
    """整改落实情况, after the reminder was acknowledged (may be updated)."""
    text = (text or "").strip()
    if not text:
        raise ValidationError({"follow_up": _("请填写整改落实情况")})
    if len(text) > 2000:
        raise ValidationError({"follow_up": _("整改落实情况不超过2000字")})
    with transaction.atomic():
        r = _lock_reminder(actor, reminder_id, _("整改落实情况由被督办单位报送"))
        if not r.acknowledged_at:
            raise ValidationError({"follow_up": _("请先签收督办提醒")})
        before = r.follow_up
        r.follow_up, r.followed_up_at = text, timezone.now()
        r.save(update_fields=["follow_up", "followed_up_at"])
        audit_record(
            actor=actor, action="analytics.reminder_follow_up", obj=r, changes={"follow_up": [before, text]}
        )
    return r


def may_issue(actor, county: str) -> bool:
    return has_role(actor, {Role.REGULATOR_LEADER}, division_code=county) and not is_system(actor)
