"""Moving an institution to another place, with every row that carries its place.

Scope is read from each row's own ``division_code`` (orders, ledger accounts, custody,
sites, clues, cases, inspection tasks and their records, risk rows…), so a move that
changed only the institution would leave the old county reading its learners' orders and
the new county seeing none. ``institution_move`` rewrites them all in one transaction,
set-based (one UPDATE per table and old code). The tables are found, not listed: every
installed model with a ``division_code`` and a link to the institution (a foreign key
path, or a plain ``institution_id``), so a new place-bound table is carried without being
named here. Tables with a ``division_code`` that is not an institution's place are named
in ``NOT_AN_INSTITUTIONS_PLACE`` (a test holds every model to one of the two)."""

from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils.translation import gettext_lazy

from qinglang.accounts.models import Role
from qinglang.accounts.permissions import require_role
from qinglang.core.audit import audit_record

from .. import public_cache
from ..models import Institution
from .common import check_division, institution_save, lock_institution

__all__ = ["NOT_AN_INSTITUTIONS_PLACE", "carry_place", "institution_move", "place_bound_models"]

# model label → why its division code stays when an institution moves
NOT_AN_INSTITUTIONS_PLACE = {
    "core.PolicyParameter": "a rule set for an area",
    "core.AuditEvent": "history: where the event happened then (never rewritten)",
    "accounts.User": "a person's own place",
    "registry.Institution": "moved by the service itself",
    "registry.PracticeBan": "where the banning decision was made",
    "funds.Bank": "the bank's own area",
    "inspections.ChecklistTemplate": "an area's template",
    "inspections.Campaign": "the campaign's area",
    "inspections.Draw": "the campaign's area",
    "inspections.Team": "the team's area",
    "clues.ClueImport": "the importing office's area",
    "clues.ClueTrend": "an area's statistics",
    "clues.RetriageRun": "the area a re-triage run covered",
    "screening.Sweep": "the sweep's area",
    "screening.SweepPlace": "a place found on a sweep, not a registered institution",
    "risk.RiskReport": "the reporting office's area",
    "analytics.IndicatorValue": "an area's statistics (recomputed)",
    "analytics.SchoolReport": "an area's school figures",
    "analytics.NoticeSeries": "a county's numbering of its weekly notices",
    "analytics.RankingNotice": "a county's weekly notice",
    "analytics.Reminder": "a unit's reminder in its county",
    "analytics.DailyReport": "a unit's daily report",
    "analytics.Dispatch": "a county's dispatch note",
    "analytics.DispatchTarget": "a unit named in a dispatch note",
    "analytics.WorkTask": "a county task force's work-ledger task",
    "analytics.SupervisionProblem": "a problem fed back to a county",
}


def _institution_lookup(model, depth: int = 3) -> str | None:
    """The shortest filter path from ``model`` to the institution's id, or None."""
    frontier: list[tuple[type[models.Model], str]] = [(model, "")]
    seen = {model}
    for _ in range(depth):
        nxt = []
        for m, prefix in frontier:
            for f in m._meta.concrete_fields:
                if f.is_relation and f.related_model is Institution:
                    return f"{prefix}{f.name}_id"
                if not f.is_relation and f.name == "institution_id":
                    return f"{prefix}institution_id"
            for f in m._meta.concrete_fields:
                if f.is_relation and (f.many_to_one or f.one_to_one):
                    rm = f.related_model
                    if rm is not None and rm not in seen and rm is not Institution:
                        seen.add(rm)
                        nxt.append((rm, f"{prefix}{f.name}__"))
        frontier = nxt
    return None


def place_bound_models() -> list[tuple[type[models.Model], str]]:
    """(model, lookup to the institution id) for every installed model whose
    ``division_code`` is its institution's place."""
    out = []
    for model in apps.get_models():
        if model._meta.label in NOT_AN_INSTITUTIONS_PLACE:
            continue
        if "division_code" not in {f.name for f in model._meta.concrete_fields}:
            continue
        lookup = _institution_lookup(model)
        if lookup:
            out.append((model, lookup))
    return out


def _carried(code: str, new: str) -> str:
    """A row's code in the old county after a move across counties: the new place, cut
    to the row's own level when that level is above it (a county-level row stays
    county-level)."""
    return new[: len(code)] if len(code) < len(new) else new


def carry_place(inst: Institution, old: str, new: str) -> dict[str, int]:
    """Rewrite the place of every row of ``inst`` (the caller holds the institution's
    lock and checked the move): rows at the institution's old code take the new code;
    across counties, rows elsewhere in the old county (a site in another township) move
    into the new county too. Rows outside the old county (a city's) are left. Returns
    rows changed per table."""
    counts: dict[str, int] = {}
    across = old[:6] != new[:6]
    for model, lookup in place_bound_models():
        qs = model._base_manager.filter(**{lookup: inst.pk})
        n = qs.filter(division_code=old).update(division_code=new)
        if across:
            others = (
                qs.filter(division_code__startswith=old[:6])
                .exclude(division_code=old)
                .values_list("division_code", flat=True)
                .distinct()
            )
            for code in list(others):
                n += qs.filter(division_code=code).update(division_code=_carried(code, new))
        if n:
            counts[model._meta.label] = n
    return counts


@transaction.atomic
def institution_move(*, actor, institution_id: int, division_code: str, reason: str) -> Institution:
    """Move an institution to another county (the platform admin only; a move inside a
    county is an ordinary profile change, ``institution_update``), with every row that
    carries its place. The competent department is derived again in the new place."""
    from .institutions import competent_department

    require_role(actor, {Role.PLATFORM_ADMIN}, message=gettext_lazy("只有平台管理员可以把机构迁移到其他区县"))
    if not (reason or "").strip():
        raise ValidationError({"reason": gettext_lazy("请说明迁移的理由")})
    div = check_division(division_code)
    inst = lock_institution(actor=actor, institution_id=institution_id)
    old = inst.division_code
    if div.code == old:
        raise ValidationError({"division_code": gettext_lazy("机构已在该区划")})
    before_dept = inst.competent_department_id
    inst.division_code = div.code
    if old[:6] != div.code[:6]:
        inst.competent_department_overridden = False  # a department of the old county
    if not inst.competent_department_overridden:
        inst.competent_department = competent_department(inst)
    institution_save(
        inst, ["division_code", "competent_department", "competent_department_overridden", "updated_at"]
    )
    counts = carry_place(inst, old, div.code)
    audit_record(
        actor=actor,
        action="institution.move",
        obj=inst,
        changes={
            "division_code": [old, div.code],
            "competent_department_id": [before_dept, inst.competent_department_id],
            "reason": reason,
            "rows": counts,
        },
    )
    public_cache.bump()
    return inst
