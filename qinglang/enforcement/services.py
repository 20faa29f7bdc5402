"""Every write of the enforcement app: penalty cases (行政处罚) from filing to decision,
the decision's effects through the registry and funds services, publication as a typical
case, and the escalation of overdue rectification items into cases."""

from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy

from qinglang.accounts.permissions import (
    REGULATOR_WRITERS,
    lock_in_scope,
    require_role,
    system,
    user_id,
)
from qinglang.accounts.scope import in_scope
from qinglang.core import files
from qinglang.core.audit import Entry, audit_record, audit_record_many
from qinglang.core.errors import DomainError, NotFound
from qinglang.core.i18n import chinese_label, choice_label
from qinglang.core.models import DepartmentKind
from qinglang.inspections.models import Evidence
from qinglang.inspections.services import rectification_items_case_due, rectification_mark_cases_filed
from qinglang.registry import services as registry
from qinglang.registry.models import INSTITUTION_STATES, Institution, InstitutionStatus, LicenceStatus
from qinglang.registry.supervision import competent_department_kind

from .models import (
    CASE_STATES,
    CaseEvidence,
    CaseStatus,
    CaseType,
    Decision,
    Gravity,
    Origin,
    Penalty,
    PenaltyCase,
    PenaltyKind,
    TypicalCase,
)

YUAN = 100
MONEY_KINDS = {PenaltyKind.FINE, PenaltyKind.CONFISCATION}
STOPS_OPERATION = {PenaltyKind.STOP_OPERATION, PenaltyKind.REVOKE_PERMIT}
# Art. 18 ladder (disguised training; unauthorised competitions follow the same ladder)
FINE_LADDER = {
    Gravity.ORDINARY: (0, 0),
    Gravity.SERIOUS: (1, 50_000 * YUAN),
    Gravity.ESPECIALLY_SERIOUS: (50_000 * YUAN, 100_000 * YUAN),
}


def _lock_case(actor, case_id: int) -> PenaltyCase:
    case = lock_in_scope(PenaltyCase, case_id, actor=actor, what="处罚案件")
    require_role(
        actor,
        REGULATOR_WRITERS,
        division_code=case.division_code,
        message=gettext_lazy("无权执行办理处罚案件"),
    )
    return case


def _create_case(
    *, actor, inst: Institution, case_type, origin, facts, origin_ref="", gains=0
) -> PenaltyCase:
    today = timezone.localdate()
    case = PenaltyCase.objects.create(
        number=f"tmp-{inst.pk}-{timezone.now().timestamp()}",
        institution=inst,
        division_code=inst.division_code,
        department_kind=competent_department_kind(inst.kind),
        case_type=case_type,
        origin=origin,
        origin_ref=(origin_ref or "")[:64],
        facts=facts,
        illegal_gains_fen=gains,
        filed_on=today,
        filed_by_id=user_id(actor),
    )
    case.number = f"{inst.division_code[:6]}教罚〔{today.year}〕{case.pk:05d}号"
    case.save(update_fields=["number"])
    CASE_STATES.record_many([(case.pk, CaseStatus.FILED, CaseStatus.FILED)], actor=actor, reason="立案")
    audit_record(
        actor=actor,
        action="case.file",
        obj=case,
        changes={
            "number": case.number,
            "institution_id": inst.pk,
            "type": case_type,
            "origin": origin,
            "origin_ref": origin_ref,
        },
    )
    return case


@transaction.atomic
def case_file(
    *,
    actor,
    institution_id: int,
    case_type: str,
    origin: str,
    facts: str,
    origin_ref: str = "",
    illegal_gains_fen: int = 0,
) -> PenaltyCase:
    """立案."""
    if case_type not in CaseType.values:
        raise ValidationError(
            {"case_type": format_lazy(gettext_lazy("未知的案件类型：{case_type}"), case_type=case_type)}
        )
    if origin not in Origin.values:
        raise ValidationError(
            {"origin": format_lazy(gettext_lazy("未知的案件来源：{origin}"), origin=origin)}
        )
    facts = (facts or "").strip()
    if not facts:
        raise ValidationError({"facts": gettext_lazy("请填写违法事实")})
    if illegal_gains_fen < 0:
        raise ValidationError({"illegal_gains_fen": gettext_lazy("违法所得不能为负数")})
    inst = Institution.objects.select_for_update().filter(pk=institution_id).first()
    if inst is None or not in_scope(inst, actor, regulator_department=False):
        raise NotFound(gettext_lazy("机构"))
    require_role(
        actor, REGULATOR_WRITERS, division_code=inst.division_code, message=gettext_lazy("无权执行立案")
    )
    return _create_case(
        actor=actor,
        inst=inst,
        case_type=case_type,
        origin=origin,
        facts=facts,
        origin_ref=origin_ref,
        gains=illegal_gains_fen,
    )


@transaction.atomic
def case_start_investigation(*, actor, case_id: int, note: str = "") -> PenaltyCase:
    case = _lock_case(actor, case_id)
    return CASE_STATES.move(
        case, CaseStatus.INVESTIGATING, actor=actor, reason=(note or "开始调查取证").strip()
    )


@transaction.atomic
def case_withdraw(*, actor, case_id: int, reason: str) -> PenaltyCase:
    case = _lock_case(actor, case_id)
    if not (reason or "").strip():
        raise ValidationError({"reason": gettext_lazy("请说明撤销立案的理由")})
    return CASE_STATES.move(case, CaseStatus.WITHDRAWN, actor=actor, reason=reason.strip())


@transaction.atomic
def case_close(*, actor, case_id: int, note: str = "") -> PenaltyCase:
    case = _lock_case(actor, case_id)
    return CASE_STATES.move(case, CaseStatus.CLOSED, actor=actor, reason=(note or "结案").strip())


@transaction.atomic
def case_add_evidence(*, actor, case_id: int, description: str, upload=None) -> CaseEvidence:
    case = _lock_case(actor, case_id)
    if case.status not in (CaseStatus.FILED, CaseStatus.INVESTIGATING):
        raise DomainError("case_evidence_closed", gettext_lazy("案件已作出决定，不能再补充证据"))
    description = (description or "").strip()
    if not description:
        raise ValidationError({"description": gettext_lazy("请说明证据内容")})
    ev = None
    created = False
    if upload is not None:
        c = files.check_upload(upload)
        rel, digest, created = files.store(c.data, folder="evidence")
        ev = Evidence.objects.create(
            institution_id=case.institution_id,
            division_code=case.division_code,
            original_name=c.name,
            content_type=c.content_type,
            size=len(c.data),
            sha256=digest,
            path=rel,
            uploaded_by_id=user_id(actor),
        )
    try:
        row = CaseEvidence.objects.create(
            case=case, file=ev, description=description[:300], added_by_id=user_id(actor)
        )
        audit_record(
            actor=actor,
            action="case.evidence",
            obj=case,
            changes={"description": description, "sha256": ev.sha256 if ev else None},
        )
    except BaseException:
        if created:
            files.discard(ev.path)
        raise
    return row


def _check_penalties(
    case: PenaltyCase, penalties: list[dict], gravity: str, refunded_fen: int
) -> list[tuple[str, int]]:
    """The penalty kinds and amounts of POLICY.md ("Penalties")."""
    out: dict[str, int] = {}
    for p in penalties:
        kind, amount = p.get("kind"), int(p.get("amount_fen") or 0)
        if kind not in PenaltyKind.values:
            raise ValidationError(
                {"penalties": format_lazy(gettext_lazy("未知的处罚种类：{kind}"), kind=kind)}
            )
        if kind in out:
            raise ValidationError(
                {
                    "penalties": format_lazy(
                        gettext_lazy("处罚种类重复：{PenaltyKind}"),
                        PenaltyKind=choice_label(PenaltyKind, kind),
                    )
                }
            )
        if kind in MONEY_KINDS and amount <= 0:
            raise ValidationError(
                {
                    "penalties": format_lazy(
                        gettext_lazy("{PenaltyKind}须填写金额"), PenaltyKind=choice_label(PenaltyKind, kind)
                    )
                }
            )
        if kind not in MONEY_KINDS and amount:
            raise ValidationError(
                {
                    "penalties": format_lazy(
                        gettext_lazy("{PenaltyKind}不涉及金额"), PenaltyKind=choice_label(PenaltyKind, kind)
                    )
                }
            )
        out[kind] = amount
    if not out:
        raise ValidationError({"penalties": gettext_lazy("请至少选择一种处罚")})
    # fees already refunded for unused lessons are deducted from illegal gains
    net = max(0, case.illegal_gains_fen - refunded_fen)
    if PenaltyKind.CONFISCATION in out and out[PenaltyKind.CONFISCATION] > net:
        raise DomainError(
            "confiscation_exceeds_gains",
            format_lazy(
                gettext_lazy("没收金额超过违法所得(扣除已退费后为{value}元)"), value=format(net / YUAN, ".2f")
            ),
            {"net_gains_fen": net},
            status=422,
        )
    fine = out.get(PenaltyKind.FINE, 0)
    if case.case_type == CaseType.UNAUTHORIZED:
        if PenaltyKind.STOP_OPERATION not in out:
            raise DomainError(
                "stop_required",
                gettext_lazy("擅自举办校外培训机构的，应当责令停止举办(第十七条)"),
                status=422,
            )
        if (fine and not (net <= fine <= 5 * net)) or (fine and net == 0):
            raise DomainError(
                "fine_out_of_range",
                format_lazy(
                    gettext_lazy("罚款应为违法所得的1至5倍(违法所得扣除已退费后为{value}元；第十七条)"),
                    value=format(net / YUAN, ".2f"),
                ),
                {"min_fen": net, "max_fen": 5 * net},
                status=422,
            )
    elif case.case_type in (CaseType.DISGUISED, CaseType.COMPETITION):
        lo, hi = FINE_LADDER[gravity]
        if fine and not (lo <= fine <= hi):
            if hi == 0:
                msg = "情节一般的，予以警告或通报批评，不处罚款(第十八条)"
            else:
                msg = f"{chinese_label(Gravity, gravity)}的，罚款应在{lo / YUAN:,.0f}元至{hi / YUAN:,.0f}元之间(第十八条)"
            raise DomainError("fine_out_of_range", msg, {"min_fen": lo, "max_fen": hi}, status=422)
    return sorted(out.items())


def _apply_effects(*, actor, case: PenaltyCase, kinds: set[str], blacklist: bool) -> list[dict]:
    """Status change, whitelist removal, blacklist, freeze of fund releases — each through
    the owning app's service, inside this transaction (all or nothing)."""
    effects: list[dict] = []
    inst = Institution.objects.get(pk=case.institution_id)
    reason = f"行政处罚决定 {case.number}"
    target = None
    if PenaltyKind.STOP_OPERATION in kinds:
        target = (
            InstitutionStatus.BANNED
            if inst.licence_status == LicenceStatus.UNLICENSED
            else InstitutionStatus.CLOSED
        )
    elif PenaltyKind.REVOKE_PERMIT in kinds:
        target = InstitutionStatus.CLOSED
    elif PenaltyKind.STOP_ENROLLMENT in kinds:
        target = InstitutionStatus.STOP_ENROLLMENT
    if target and inst.status != target and INSTITUTION_STATES.can(inst.status, target):
        registry.institution_transition(actor=actor, institution_id=inst.pk, to_status=target, reason=reason)
        effects.append({"effect": "status", "from": inst.status, "to": target})
        inst.refresh_from_db()
    heavy = kinds - {PenaltyKind.WARNING, PenaltyKind.PUBLIC_CRITICISM}
    if inst.whitelisted and heavy:
        registry.whitelist_remove(actor=actor, institution_id=inst.pk, reason=reason)
        effects.append({"effect": "whitelist_remove"})
    if (blacklist or kinds & STOPS_OPERATION) and not inst.blacklisted:
        registry.blacklist_add(actor=actor, institution_id=inst.pk, reason=reason)
        effects.append({"effect": "blacklist_add"})
    if kinds & STOPS_OPERATION:
        try:
            from qinglang.funds.services import releases_freeze
        except ImportError:
            effects.append({"effect": "funds_freeze", "applied": False, "why": "funds service unavailable"})
        else:
            try:
                releases_freeze(actor=actor, institution_id=inst.pk, reason=reason)
            except DomainError as exc:
                if exc.code != "no_custody_account":
                    raise
                # nothing to freeze: an unlicensed operator has no custody account
                effects.append({"effect": "funds_freeze", "applied": False, "why": exc.chinese_message})
            else:
                effects.append({"effect": "funds_freeze", "applied": True})
    return effects


def _enter_bans(*, actor, case: PenaltyCase, decision: Decision, banned: list[dict], ends_on) -> list[dict]:
    """限制从业: each person on the registry's practice-ban list, keyed by the digest of
    the resident ID, citing this decision."""
    from qinglang.registry.models import Staff

    out = []
    for b in banned:
        kw = {}
        if b.get("staff_id"):
            staff = Staff.objects.filter(pk=b["staff_id"], institution_id=case.institution_id).first()
            if staff is None or not staff.resident_id_digest:
                raise ValidationError(
                    {"banned": gettext_lazy("被限制从业人员须为本机构登记了身份证号的从业人员")}
                )
            kw = {"digest": staff.resident_id_digest, "name": staff.name}
        else:
            kw = {"resident_id": b.get("resident_id"), "name": b.get("name", "")}
        ban = registry.practice_ban_enter(
            actor=actor,
            authority=chinese_label(DepartmentKind, case.department_kind),
            decision_no=case.number,
            basis="《校外培训行政处罚暂行办法》：" + decision.reasoning[:200],
            division_code=case.division_code,
            starts_on=decision.decided_on,
            ends_on=ends_on,
            source="penalty_decision",
            source_ref=str(decision.pk),
            **kw,
        )
        out.append({"effect": "practice_ban", "ban_id": ban.pk})
    return out


@transaction.atomic
def case_decide(
    *,
    actor,
    case_id: int,
    penalties: list[dict],
    reasoning: str,
    gravity: str = Gravity.ORDINARY,
    blacklist: bool = False,
    refunded_fen: int | None = None,
    decided_on: date | None = None,
    banned: list[dict] | None = None,
    ban_ends_on: date | None = None,
) -> Decision:
    """作出行政处罚决定 and apply its effects. ``penalties``: [{"kind", "amount_fen"}].
    A practice ban (限制从业) names the people it bans in ``banned``: [{"staff_id"}] or
    [{"resident_id", "name"}]; each goes on the registry's practice-ban list."""
    case = _lock_case(actor, case_id)
    if gravity not in Gravity.values:
        raise ValidationError(
            {"gravity": format_lazy(gettext_lazy("未知的情节：{gravity}"), gravity=gravity)}
        )
    reasoning = (reasoning or "").strip()
    if not reasoning:
        raise ValidationError({"reasoning": gettext_lazy("请填写处罚理由和依据")})
    CASE_STATES.check(case.status, CaseStatus.DECIDED)
    if refunded_fen is not None:
        if refunded_fen < 0:
            raise ValidationError({"refunded_fen": gettext_lazy("退费金额不能为负数")})
        case.refunded_fen = refunded_fen
        case.save(update_fields=["refunded_fen"])
    checked = _check_penalties(case, penalties, gravity, case.refunded_fen)
    if any(k == PenaltyKind.PRACTICE_BAN for k, _ in checked) and not banned:
        raise ValidationError({"banned": gettext_lazy("限制从业须指明被限制从业的人员")})
    decision = Decision.objects.create(
        case=case,
        decided_on=decided_on or timezone.localdate(),
        gravity=gravity,
        reasoning=reasoning,
        blacklist=blacklist,
        decided_by_id=user_id(actor),
    )
    Penalty.objects.bulk_create(Penalty(decision=decision, kind=k, amount_fen=a) for k, a in checked)
    effects = _apply_effects(actor=actor, case=case, kinds={k for k, _ in checked}, blacklist=blacklist)
    if any(k == PenaltyKind.PRACTICE_BAN for k, _ in checked):
        effects += _enter_bans(actor=actor, case=case, decision=decision, banned=banned, ends_on=ban_ends_on)
    decision.effects = effects
    decision.save(update_fields=["effects"])
    CASE_STATES.move(
        case,
        CaseStatus.DECIDED,
        actor=actor,
        reason=reasoning,
        changes={"penalties": checked, "gravity": gravity, "effects": effects},
    )
    return decision


@transaction.atomic
def case_publish(*, actor, case_id: int, title: str, summary: str) -> TypicalCase:
    """Publish a decided case as a typical case (典型案例) on the public site."""
    case = _lock_case(actor, case_id)
    if case.status not in (CaseStatus.DECIDED, CaseStatus.CLOSED):
        raise DomainError("case_not_decided", gettext_lazy("只有已作出处罚决定的案件才能作为典型案例公开"))
    if TypicalCase.objects.filter(case=case).exists():
        raise DomainError("already_published", gettext_lazy("该案件已公开"))
    title, summary = (title or "").strip(), (summary or "").strip()
    if not title or not summary:
        raise ValidationError({"title": gettext_lazy("请填写标题和案情摘要")})
    t = TypicalCase.objects.create(
        case=case,
        title=title[:200],
        summary=summary,
        published_on=timezone.localdate(),
        published_by_id=user_id(actor),
    )
    audit_record(actor=actor, action="case.publish", obj=case, changes={"title": title})
    return t


def escalate_overdue_items(*, actor=system("escalation"), limit: int = 1000) -> int:
    """Periodic job: file one penalty case per institution for its rectification items
    the sweep marked as due for a case (逾期未整改立案). Set-based, one transaction per
    chunk of up to ``limit`` items: the items and their institutions are locked with one
    statement each, the cases and their first transition rows are bulk-inserted, the case
    numbers set by one bulk update and the items marked by one UPDATE. Works from state
    (items still open, due and without a case), so it is idempotent and catches up."""
    with transaction.atomic():
        items = rectification_items_case_due(limit=limit, lock=True)
        if not items:
            return 0
        by_inst: dict[int, list] = {}
        for i in items:
            by_inst.setdefault(i.institution_id, []).append(i)
        insts = {
            inst.pk: inst
            for inst in Institution.objects.select_for_update().filter(pk__in=list(by_inst)).order_by("pk")
        }
        today = timezone.localdate()
        stamp = timezone.now().timestamp()
        cases = PenaltyCase.objects.bulk_create(
            PenaltyCase(
                number=f"tmp-{inst_id}-{stamp}",
                institution=insts[inst_id],
                division_code=insts[inst_id].division_code,
                department_kind=competent_department_kind(insts[inst_id].kind),
                case_type=CaseType.OTHER,
                origin=Origin.ESCALATION,
                origin_ref=f"rectification:{','.join(str(i.pk) for i in group)}"[:64],
                facts="；".join(
                    f"《整改通知书》{i.notice.number}所列“{i.title}”逾期未整改(期限{i.deadline_on})"
                    for i in group
                ),
                illegal_gains_fen=0,
                filed_on=today,
                filed_by_id=user_id(actor),
            )
            for inst_id, group in by_inst.items()
        )
        for c in cases:
            c.number = f"{c.division_code[:6]}教罚〔{today.year}〕{c.pk:05d}号"
        PenaltyCase.objects.bulk_update(cases, ["number"], batch_size=1000)
        CASE_STATES.record_many(
            [(c.pk, CaseStatus.FILED, CaseStatus.FILED) for c in cases], actor=actor, reason="立案"
        )
        audit_record_many(
            actor=actor,
            entries=[
                Entry(
                    "case.file",
                    "enforcement.penaltycase",
                    str(c.pk),
                    c.division_code,
                    {
                        "number": c.number,
                        "institution_id": c.institution_id,
                        "type": c.case_type,
                        "origin": c.origin,
                        "origin_ref": c.origin_ref,
                    },
                )
                for c in cases
            ],
        )
        rectification_mark_cases_filed(
            actor=actor, filed={c.pk: [i.pk for i in by_inst[c.institution_id]] for c in cases}
        )
        return len(cases)
