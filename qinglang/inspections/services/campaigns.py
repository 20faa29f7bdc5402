"""Campaigns (专项行动), their target population, conflicts of interest, tasks outside a
draw and their teams, checklists. The draw itself is ``draws``."""

from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from qinglang.accounts.models import Membership, Role
from qinglang.accounts.permissions import REGULATOR_WRITERS, has_role, lock_in_scope, require_role, user_id
from qinglang.core.audit import audit_record
from qinglang.core.errors import DomainError, IllegalTransition, NotFound, PermissionDeniedError
from qinglang.core.i18n import chinese_display, chinese_label
from qinglang.core.models import DepartmentKind, Division
from qinglang.registry.models import Institution, InstitutionStatus, LicenceStatus, Site

from ..checklists import default_template
from ..models import (
    Campaign,
    CampaignStatus,
    CampaignType,
    ChecklistItem,
    ChecklistTemplate,
    ConflictOfInterest,
    Domain,
    Severity,
    Task,
    TaskOrigin,
    TaskStatus,
    Team,
    TeamMember,
)
from . import inspector_notices

LIVE_STATUSES = (InstitutionStatus.ACTIVE, InstitutionStatus.SUSPENDED, InstitutionStatus.STOP_ENROLLMENT)
FILTER_KEYS = {"categories", "kinds", "licence_statuses", "whitelisted", "townships"}


def _clean_filter(f: dict, division_code: str) -> dict:
    f = dict(f or {})
    unknown = set(f) - FILTER_KEYS
    if unknown:
        raise ValidationError(
            {"target_filter": format_lazy(_("未知的筛选条件：{value}"), value=", ".join(sorted(unknown)))}
        )
    out: dict = {}
    for key in ("categories", "kinds", "licence_statuses", "townships"):
        vals = [str(v) for v in (f.get(key) or []) if str(v).strip()]
        if vals:
            out[key] = sorted(set(vals))
    bad = set(out.get("licence_statuses", [])) - set(LicenceStatus.values)
    if bad:
        raise ValidationError(
            {"target_filter": format_lazy(_("未知的证照状态：{value}"), value=", ".join(sorted(bad)))}
        )
    for t in out.get("townships", []):
        if not t.startswith(division_code):
            raise ValidationError({"target_filter": format_lazy(_("乡镇(街道) {t} 不在专项行动区划内"), t=t)})
    if f.get("whitelisted") is not None:
        out["whitelisted"] = bool(f["whitelisted"])
    return out


def population_for(campaign: Campaign) -> QuerySet:
    """The target population: institutions in the campaign's division matching its saved
    filter, still operating (active, suspended or stopped from enrolling)."""
    f = campaign.target_filter or {}
    qs = Institution.objects.filter(
        division_code__startswith=campaign.division_code, status__in=LIVE_STATUSES
    )
    if f.get("categories"):
        qs = qs.filter(category__in=f["categories"])
    if f.get("kinds"):
        qs = qs.filter(kind__in=f["kinds"])
    if f.get("licence_statuses"):
        qs = qs.filter(licence_status__in=f["licence_statuses"])
    if f.get("whitelisted") is not None:
        qs = qs.filter(whitelisted=f["whitelisted"])
    if f.get("townships"):
        from django.db.models import Q

        q = Q()
        for t in f["townships"]:
            q |= Q(division_code__startswith=t)
        qs = qs.filter(q)
    return qs


@transaction.atomic
def campaign_create(*, actor, data: dict) -> Campaign:
    """Plan a campaign: period, division, target population, departments, checklist."""
    code = (data.get("division_code") or "").strip()
    if not Division.objects.filter(code=code).exists() or len(code) < 2:
        raise ValidationError({"division_code": format_lazy(_("区划代码不存在：{code}"), code=code)})
    require_role(actor, REGULATOR_WRITERS, division_code=code, message=_("无权执行创建专项行动"))
    name = (data.get("name") or "").strip()
    if not name:
        raise ValidationError({"name": _("请填写专项行动名称")})
    ctype = data.get("campaign_type") or CampaignType.GENERAL
    if ctype not in CampaignType.values:
        raise ValidationError({"campaign_type": format_lazy(_("未知的专项类型：{ctype}"), ctype=ctype)})
    starts, ends = data.get("starts_on"), data.get("ends_on")
    if not isinstance(starts, date) or not isinstance(ends, date) or ends < starts:
        raise ValidationError({"ends_on": _("请填写有效的起止日期(结束不早于开始)")})
    depts = sorted({str(d) for d in (data.get("departments") or [])})
    bad = set(depts) - set(DepartmentKind.values)
    if bad:
        raise ValidationError(
            {"departments": format_lazy(_("未知的部门：{value}"), value=", ".join(sorted(bad)))}
        )
    goal = int(data.get("coverage_goal") or 100)
    if not 1 <= goal <= 100:
        raise ValidationError({"coverage_goal": _("覆盖率目标应在1-100之间")})
    if data.get("template_id"):
        from qinglang.accounts.scope import restrict

        tpl = restrict(ChecklistTemplate.objects.filter(pk=data["template_id"]), actor).first()
        tpl = tpl or ChecklistTemplate.objects.filter(pk=data["template_id"], division_code="").first()
        if tpl is None:
            raise ValidationError({"template_id": _("检查清单模板不存在")})
    else:
        tpl = default_template(ctype)
    c = Campaign(
        name=name,
        campaign_type=ctype,
        division_code=code,
        starts_on=starts,
        ends_on=ends,
        target_filter=_clean_filter(data.get("target_filter") or {}, code),
        departments=depts,
        template=tpl,
        coverage_goal=goal,
        created_by_id=user_id(actor),
    )
    c.full_clean()
    c.save()
    audit_record(
        actor=actor,
        action="campaign.create",
        obj=c,
        changes={"name": name, "type": ctype, "filter": c.target_filter, "departments": depts},
    )
    return c


@transaction.atomic
def campaign_close(*, actor, campaign_id: int) -> Campaign:
    c = lock_in_scope(Campaign, campaign_id, actor=actor, what="专项行动")
    require_role(actor, REGULATOR_WRITERS, division_code=c.division_code, message=_("无权执行结束专项行动"))
    if c.status != CampaignStatus.DRAWN:
        raise IllegalTransition(
            "campaign", chinese_display(c, "status"), chinese_label(CampaignStatus, CampaignStatus.CLOSED), []
        )
    c.status = CampaignStatus.CLOSED
    c.save(update_fields=["status"])
    audit_record(actor=actor, action="campaign.close", obj=c, changes={"status": ["drawn", "closed"]})
    return c


def _check_reason(reason: str, label, missing) -> None:
    if not reason:
        raise ValidationError({"reason": missing})
    if len(reason) > 300:
        raise ValidationError({"reason": format_lazy(_("{label}不能超过300字"), label=label)})


def _standing_conflicts():
    return ConflictOfInterest.objects.filter(withdrawn_at__isnull=True)


@transaction.atomic
def conflict_declare(
    *, actor, institution_id: int, reason: str, inspector_id: int | None = None
) -> ConflictOfInterest:
    """An inspector declares a conflict of interest (回避); leaders and officers may record
    one for an inspector of the institution's area. Declaring a conflict that already
    stands returns it unchanged."""
    from qinglang.accounts.scope import in_scope

    reason = (reason or "").strip()
    inst = Institution.objects.filter(pk=institution_id).first()
    if inst is None or not in_scope(inst, actor, regulator_department=False):
        raise NotFound(_("机构"))
    target = inspector_id or user_id(actor)
    if target != user_id(actor):
        require_role(
            actor, REGULATOR_WRITERS, division_code=inst.division_code, message=_("无权执行登记回避")
        )
        if not any(
            inst.division_code.startswith(p)
            for m in Membership.objects.filter(user_id=target, role=Role.INSPECTOR, active=True)
            for p in (m.division_prefixes or [])
            if isinstance(p, str)
        ):
            raise ValidationError({"inspector_id": _("所选人员不是该机构所在区划的执法检查人员")})
    elif not has_role(actor, {Role.INSPECTOR, Role.REGULATOR_OFFICER}):
        raise PermissionDeniedError(_("只有执法检查人员可以申报回避"))
    _check_reason(reason, _("回避理由"), _("请说明回避理由"))
    coi = _standing_conflicts().filter(inspector_id=target, institution=inst).first()
    if coi is not None:
        return coi
    coi = ConflictOfInterest.objects.create(
        inspector_id=target,
        institution=inst,
        reason=reason,
        declared_on=timezone.localdate(),
        declared_by_id=user_id(actor),
    )
    audit_record(
        actor=actor,
        action="conflict.declare",
        obj=coi,
        division_code=inst.division_code,
        changes={"inspector_id": target, "institution_id": inst.pk, "reason": reason},
    )
    return coi


@transaction.atomic
def conflict_withdraw(*, actor, conflict_id: int, reason: str) -> ConflictOfInterest:
    """A leader or officer of the institution's area withdraws a declared conflict (the
    inspector may then be drawn there again). The row stays, with who, when and why."""
    coi = lock_in_scope(ConflictOfInterest, conflict_id, actor=actor, what="回避申报")
    inst = Institution.objects.get(pk=coi.institution_id)
    require_role(actor, REGULATOR_WRITERS, division_code=inst.division_code, message=_("无权执行撤销回避"))
    reason = (reason or "").strip()
    _check_reason(reason, _("撤销理由"), _("请说明撤销理由"))
    if coi.withdrawn_at is not None:
        raise DomainError(
            "conflict_withdrawn", _("该回避申报已撤销"), {"withdrawn_at": coi.withdrawn_at}, status=409
        )
    coi.withdrawn_at = timezone.now()
    coi.withdrawn_by_id = user_id(actor)
    coi.withdraw_reason = reason
    coi.save(update_fields=["withdrawn_at", "withdrawn_by_id", "withdraw_reason"])
    audit_record(
        actor=actor,
        action="conflict.withdraw",
        obj=coi,
        division_code=inst.division_code,
        changes={"inspector_id": coi.inspector_id, "institution_id": inst.pk, "reason": reason},
    )
    return coi


@transaction.atomic
def inspection_task_create_adhoc(
    *,
    actor,
    institution_id: int,
    due_on: date,
    reason: str,
    origin: str = TaskOrigin.CLUE,
    origin_ref: str = "",
    site_id: int | None = None,
) -> Task:
    """An inspection outside a draw (a clue to verify, a follow-up); a team is assigned
    with ``task_assign``."""
    from qinglang.accounts.scope import in_scope

    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("请说明检查事由")})
    if origin not in TaskOrigin.values or origin == TaskOrigin.DRAW:
        raise ValidationError({"origin": format_lazy(_("未知的任务来源：{origin}"), origin=origin)})
    inst = Institution.objects.select_for_update().filter(pk=institution_id).first()
    if inst is None or not in_scope(inst, actor, regulator_department=False):
        raise NotFound(_("机构"))
    require_role(
        actor, REGULATOR_WRITERS, division_code=inst.division_code, message=_("无权执行安排检查任务")
    )
    site = None
    if site_id is not None:
        site = Site.objects.filter(pk=site_id, institution=inst).first()
        if site is None:
            raise NotFound(_("场所"))
    today = timezone.localdate()
    if due_on < today:
        raise ValidationError({"due_on": _("完成期限不能早于今天")})
    task = Task.objects.create(
        institution=inst,
        site=site,
        division_code=site.division_code if site else inst.division_code,
        scheduled_on=today,
        due_on=due_on,
        origin=origin,
        origin_ref=(origin_ref or "")[:64],
        reason=reason[:300],
    )
    audit_record(
        actor=actor,
        action="inspection_task.create",
        obj=task,
        changes={"institution_id": inst.pk, "origin": origin, "origin_ref": origin_ref, "reason": reason},
    )
    return task


@transaction.atomic
def task_assign(*, actor, task_id: int, inspector_ids: list[int]) -> Task:
    """Assign a team (formed from the given inspectors) to a task."""
    task = lock_in_scope(Task, task_id, actor=actor, what="检查任务")
    require_role(actor, REGULATOR_WRITERS, division_code=task.division_code, message=_("无权执行指派检查组"))
    if task.status != TaskStatus.PLANNED:
        raise IllegalTransition("task", chinese_display(task, "status"), "已指派", [])
    ids = sorted({int(i) for i in inspector_ids})
    if not ids:
        raise ValidationError({"inspector_ids": _("请选择执法检查人员")})
    members = {
        m.user_id: m
        for m in Membership.objects.filter(user_id__in=ids, role=Role.INSPECTOR, active=True)
        if any(task.division_code.startswith(p) for p in (m.division_prefixes or []) if isinstance(p, str))
    }
    if set(ids) - set(members):
        raise ValidationError({"inspector_ids": _("所选人员不是该区划的执法检查人员")})
    if _standing_conflicts().filter(inspector_id__in=ids, institution_id=task.institution_id).exists():
        raise DomainError("conflict_of_interest", _("所选人员已申报与该机构存在利害关系，应当回避"))
    team = Team.objects.create(
        campaign=task.campaign, division_code=task.division_code, name=f"任务{task.pk}检查组"
    )
    TeamMember.objects.bulk_create(
        TeamMember(team=team, user_id=i, department_kind=members[i].department_kind or "") for i in ids
    )
    old = task.team_id
    task.team = team
    task.save(update_fields=["team"])
    inspector_notices.assigned(task=task, user_ids=ids, actor=actor)
    audit_record(
        actor=actor,
        action="inspection_task.assign",
        obj=task,
        changes={"team": [old, team.pk], "inspectors": ids},
    )
    return task


@transaction.atomic
def task_cancel(*, actor, task_id: int, reason: str) -> Task:
    task = lock_in_scope(Task, task_id, actor=actor, what="检查任务")
    require_role(
        actor, REGULATOR_WRITERS, division_code=task.division_code, message=_("无权执行取消检查任务")
    )
    if not (reason or "").strip():
        raise ValidationError({"reason": _("请说明取消理由")})
    if task.status != TaskStatus.PLANNED:
        raise IllegalTransition(
            "task", chinese_display(task, "status"), chinese_label(TaskStatus, TaskStatus.CANCELLED), []
        )
    task.status = TaskStatus.CANCELLED
    task.save(update_fields=["status"])
    audit_record(
        actor=actor,
        action="inspection_task.cancel",
        obj=task,
        changes={"status": ["planned", "cancelled"], "reason": reason},
    )
    return task


# --- checklists ---------------------------------------------------------------------------


@transaction.atomic
def checklist_template_copy(*, actor, template_id: int, division_code: str, name: str) -> ChecklistTemplate:
    """Copy a template (a national default or one of the division's) for local editing."""
    require_role(actor, REGULATOR_WRITERS, division_code=division_code, message=_("无权执行编辑检查清单"))
    src = ChecklistTemplate.objects.filter(pk=template_id).first()
    if src is None or not (src.division_code == "" or division_code.startswith(src.division_code)):
        raise NotFound(_("检查清单模板"))
    if not (name or "").strip():
        raise ValidationError({"name": _("请填写模板名称")})
    t = ChecklistTemplate.objects.create(
        name=name.strip(), campaign_type=src.campaign_type, division_code=division_code
    )
    ChecklistItem.objects.bulk_create(
        ChecklistItem(
            template=t,
            code=i.code,
            domain=i.domain,
            title=i.title,
            basis=i.basis,
            severity=i.severity,
            department_kind=i.department_kind,
            position=i.position,
        )
        for i in src.active_items()
    )
    audit_record(actor=actor, action="checklist.copy", obj=t, changes={"from": src.pk, "name": t.name})
    return t


def _lock_local_template(actor, template_id: int) -> ChecklistTemplate:
    if ChecklistTemplate.objects.filter(pk=template_id, division_code="").exists():
        raise DomainError("template_national", _("全国默认模板不能直接修改，请先复制为本地模板"))
    t = lock_in_scope(ChecklistTemplate, template_id, actor=actor, what="检查清单模板")
    if t.division_code == "":
        raise DomainError("template_national", _("全国默认模板不能直接修改，请先复制为本地模板"))
    require_role(actor, REGULATOR_WRITERS, division_code=t.division_code, message=_("无权执行编辑检查清单"))
    return t


@transaction.atomic
def checklist_item_add(*, actor, template_id: int, data: dict) -> ChecklistItem:
    t = _lock_local_template(actor, template_id)
    item = ChecklistItem(
        template=t,
        code=(data.get("code") or "").strip(),
        domain=data.get("domain") or "",
        title=(data.get("title") or "").strip(),
        basis=(data.get("basis") or "").strip(),
        severity=data.get("severity") or Severity.MINOR,
        department_kind=data.get("department_kind") or DepartmentKind.EDUCATION,
        position=t.items.count(),
    )
    if not item.code:
        raise ValidationError({"code": _("请填写事项编号")})
    _check_item_choices({k: getattr(item, k) for k in CHECKLIST_FIELDS})
    if t.items.filter(code=item.code).exists():
        raise ValidationError({"code": format_lazy(_("事项编号 {code} 已存在"), code=item.code)})
    item.full_clean()
    item.save()
    audit_record(
        actor=actor, action="checklist.item_add", obj=t, changes={"code": item.code, "title": item.title}
    )
    return item


@transaction.atomic
def checklist_item_remove(*, actor, template_id: int, item_id: int) -> None:
    t = _lock_local_template(actor, template_id)
    item = t.items.filter(pk=item_id).first()
    if item is None:
        raise NotFound(_("检查事项"))
    if t.campaigns.exclude(status=CampaignStatus.DRAFT).exists():
        raise DomainError("template_in_use", _("模板已用于进行中的专项行动，不能删除事项"))
    item.delete()
    audit_record(actor=actor, action="checklist.item_remove", obj=t, changes={"code": item.code})


CHECKLIST_FIELDS = ("domain", "title", "basis", "severity", "department_kind")


def _check_item_choices(data: dict) -> None:
    if data.get("domain") not in Domain.values:
        raise ValidationError({"domain": _("请选择检查领域")})
    if data.get("severity") not in Severity.values:
        raise ValidationError({"severity": _("请选择严重程度")})
    if data.get("department_kind") not in DepartmentKind.values:
        raise ValidationError({"department_kind": _("请选择责任部门")})
    if not (data.get("title") or "").strip():
        raise ValidationError({"title": _("请填写检查事项")})
    if not (data.get("basis") or "").strip():
        raise ValidationError({"basis": _("请填写法律依据")})


@transaction.atomic
def checklist_item_update(*, actor, template_id: int, item_id: int, data: dict) -> ChecklistItem:
    """Edit one item of a local template: domain, text, legal basis, severity and the
    responsible department. Refused once the template is used by a campaign that has left
    the draft stage: recorded results must keep meaning what they meant."""
    t = _lock_local_template(actor, template_id)
    item = t.items.select_for_update().filter(pk=item_id).first()
    if item is None:
        raise NotFound(_("检查事项"))
    if t.campaigns.exclude(status=CampaignStatus.DRAFT).exists():
        raise DomainError("template_in_use", _("模板已用于进行中的专项行动，不能修改事项"))
    new = {k: (data.get(k) or "").strip() for k in CHECKLIST_FIELDS}
    _check_item_choices(new)
    before = {k: getattr(item, k) for k in CHECKLIST_FIELDS}
    for k, v in new.items():
        setattr(item, k, v)
    item.full_clean()
    item.save(update_fields=list(CHECKLIST_FIELDS))
    changed = {k: [before[k], new[k]] for k in CHECKLIST_FIELDS if before[k] != new[k]}
    if changed:
        audit_record(
            actor=actor, action="checklist.item_update", obj=t, changes={"code": item.code, **changed}
        )
    return item


@transaction.atomic
def checklist_item_retire(*, actor, template_id: int, item_id: int, retired: bool = True) -> ChecklistItem:
    """Retire (停用) an item of a local template, or bring it back. A retired item is no
    longer asked in new inspections; results already recorded keep pointing at it, so
    this is allowed even while the template is in use. The last active item stays."""
    t = _lock_local_template(actor, template_id)
    item = t.items.select_for_update().filter(pk=item_id).first()
    if item is None:
        raise NotFound(_("检查事项"))
    if (item.retired_at is not None) == retired:
        raise DomainError(
            "item_already_retired" if retired else "item_not_retired",
            "该检查事项已停用" if retired else "该检查事项未停用",
            {"code": item.code},
            status=409,
        )
    if retired and not t.active_items().exclude(pk=item.pk).exists():
        raise DomainError("template_empty", _("检查清单至少要保留一个启用的检查事项"), {"code": item.code})
    item.retired_at = timezone.now() if retired else None
    item.save(update_fields=["retired_at"])
    audit_record(
        actor=actor,
        action="checklist.item_retire" if retired else "checklist.item_reinstate",
        obj=t,
        changes={"code": item.code, "item_id": item.pk},
    )
    return item
