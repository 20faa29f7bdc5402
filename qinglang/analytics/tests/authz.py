"""Authorization sweep plug-in (see qinglang/portal/tests/test_authorization.py): in each
world the county has a weekly notice with a reminder to its lagging township, a daily
report of that township and a dispatch note to it."""

from datetime import timedelta

PARAM_RULES = [
    ({"ranking_notice_id"}, None, "analytics_notice"),
    ({"reminder_id"}, None, "analytics_reminder"),
    ({"dispatch_id"}, None, "analytics_dispatch"),
    ({"problem_id"}, None, "analytics_problem"),
    ({"problem_evidence_id"}, None, "analytics_problem_evidence"),
    ({"work_task_id"}, None, "analytics_work_task"),
]
FORM_DATA = {
    "console/analytics/problems/": {"action": "note", "text": "整改进展"},
    "console/analytics/ledger/": {"text": "推进情况", "progress": "10"},
}


def build_side(*, admin, side, users, which) -> dict:
    from django.utils import timezone

    from qinglang.accounts.permissions import system
    from qinglang.analytics.daily import units
    from qinglang.analytics.models import DailyReport, Dispatch, DispatchTarget, IndicatorValue
    from qinglang.analytics.notices import notice_issue
    from qinglang.analytics.refresh import week_start
    from qinglang.core.models import Division

    county = side.division[:6]
    # a township of the county named with the world's tag: it is ranked and named in the
    # notice (page and .docx) and reminded
    town = f"{county}901"
    Division.objects.get_or_create(
        code=town, defaults={"name": f"{side.name}督办街道{side.tag}", "level": 4, "parent_id": county}
    )
    week = week_start(timezone.localdate()) - timedelta(days=7)
    IndicatorValue.objects.bulk_create(
        IndicatorValue(
            indicator="indicator.licensed_rate",
            period="week",
            period_start=week,
            division_code=code,
            numerator=1,
            denominator=2,
        )
        for code in (county, town)
    )
    notice = notice_issue(actor=system("weekly-notice"), county=county, week=week)
    unit = next(u for u in units(county) if u["division"] == town)
    day = timezone.localdate()
    DailyReport.objects.create(
        division_code=town,
        unit_name=unit["name"],
        report_on=day,
        notable_events=f"日报要情{side.tag}",
        submitted_at=timezone.now(),
    )
    d = Dispatch.objects.create(division_code=county, report_on=day, text=f"调度意见{side.tag}")
    DispatchTarget.objects.create(dispatch=d, division_code=town, unit_name=unit["name"])
    reminder = notice.reminders.get(division_code=town)
    reminder.follow_up = f"整改落实{side.tag}"
    reminder.save(update_fields=["follow_up"])
    from qinglang.analytics.models import ProblemEvidence, SupervisionProblem, WorkTask

    problem = SupervisionProblem.objects.create(
        division_code=county,
        department_kind="education",
        source="superior",
        source_ref=f"督查清单{side.tag}",
        description=f"督查问题{side.tag}",
        lead_leader="牵头领导",
        deadline=day,
    )
    from qinglang.core import files

    png = f"\x89PNG\r\n\x1a\n{side.tag}".encode("latin-1")
    path, digest, _created = files.store(png, folder="problems")
    evidence = ProblemEvidence.objects.create(
        problem=problem,
        original_name=f"佐证{side.tag}.png",
        content_type="image/png",
        size=len(png),
        sha256=digest,
        path=path,
    )
    task = WorkTask.objects.create(
        division_code=county, department_kind="education", title=f"台账任务{side.tag}"
    )
    return {
        "analytics_problem": problem,
        "analytics_problem_evidence": evidence,
        "analytics_work_task": task,
        "analytics_notice": notice,
        "analytics_reminder": reminder,
        "analytics_dispatch": d,
    }


def markers(side) -> list[str]:
    return [
        f"日报要情{side.tag}",
        f"调度意见{side.tag}",
        f"整改落实{side.tag}",
        f"督查问题{side.tag}",
        f"台账任务{side.tag}",
    ]


def audit_ids(side) -> dict:
    return {
        "analytics.rankingnotice": side.extra["analytics_notice"],
        "analytics.reminder": side.extra["analytics_reminder"],
        "analytics.supervisionproblem": side.extra["analytics_problem"],
        "analytics.worktask": side.extra["analytics_work_task"],
    }
