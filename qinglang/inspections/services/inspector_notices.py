"""What inspectors hear of, once the service's transaction commits: being drawn into a
campaign's team (one notification each, with their team's task count), being assigned a
task, and a rectification item of an inspection of theirs awaiting reinspection. Only
the members of the team concerned: never another team, county or department."""

from django.db.models import Count
from django.urls import reverse

from qinglang.accounts.notifications import Message, notify_many_on_commit
from qinglang.core.i18n import chinese_display

from ..models import Campaign, RectificationItem, Task, Team, TeamMember


def _members(team_ids) -> dict[int, list[int]]:
    out: dict[int, list[int]] = {}
    for team_id, user_id in TeamMember.objects.filter(team_id__in=list(team_ids)).values_list(
        "team_id", "user_id"
    ):
        out.setdefault(team_id, []).append(user_id)
    return out


def drawn(*, campaign: Campaign, teams: list[Team], origin_ref: str, actor) -> None:
    """Each member of a drawn team with tasks: their team, its tasks and the deadline."""
    counts = dict(
        Task.objects.filter(campaign=campaign, origin_ref=origin_ref, team__isnull=False)
        .values("team_id")
        .annotate(n=Count("id"))
        .values_list("team_id", "n")
    )
    members = _members(counts)
    link = reverse("portal:inspection_tasks")
    notify_many_on_commit(
        [
            Message(
                users=members.get(t.pk, []),
                kind="inspection.assigned.draw",
                title=f"随机抽取：您被选入{campaign.name}{t.name}",
                body=f"本组检查任务 {counts[t.pk]} 项，须于{campaign.ends_on:%Y-%m-%d}前完成。",
                link=link,
                division_code=campaign.division_code,
                about=("inspections.team", str(t.pk)),
            )
            for t in teams
            if counts.get(t.pk)
        ],
        actor=actor,
    )


def assigned(*, task: Task, user_ids: list[int], actor) -> None:
    notify_many_on_commit(
        [
            Message(
                users=list(user_ids),
                kind="inspection.assigned.task",
                title=f"检查任务：{task.institution.name}",
                body=f"您已被指派检查该机构({task.reason or chinese_display(task, 'origin')})，须于{task.due_on:%Y-%m-%d}前完成。",
                link=reverse("portal:task_detail", args=[task.pk]),
                division_code=task.division_code,
                about=("inspections.task", str(task.pk)),
            )
        ],
        actor=actor,
    )


def awaiting_reinspection(*, item: RectificationItem, actor) -> None:
    """The institution submitted its rectification: the members of the joint team whose
    inspection issued the notice are to reinspect it."""
    team_id = item.notice.task.team_id
    if team_id is None:
        return
    notify_many_on_commit(
        [
            Message(
                users=_members([team_id]).get(team_id, []),
                kind="rectification.reinspect",
                title=f"待复查：{item.institution.name}——{item.title}"[:200],
                body=f"机构已提交整改材料(整改通知书{item.notice.number})，请复查并确认整改是否到位。",
                link=reverse("portal:rectification_item", args=[item.pk]),
                division_code=item.division_code,
                about=("inspections.rectificationitem", str(item.pk)),
            )
        ],
        actor=actor,
    )
