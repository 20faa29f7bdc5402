from django.core.exceptions import ValidationError
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from qinglang.accounts.permissions import (
    INSTITUTION_ADMINS,
    INSTITUTION_USERS,
    REGULATOR_WRITERS,
    competent_or_task_force,
    has_role,
    is_institution_user,
    lock_in_scope,
    require_role,
)
from qinglang.core.errors import PermissionDeniedError
from qinglang.core.models import Division

from .. import public_cache
from ..models import Institution


def lock_institution(
    *,
    actor,
    institution_id: int,
    institution_may_write: bool = False,
    institution_admin_only: bool = False,
) -> Institution:
    """Lock the institution row and check, inside the transaction, that the actor may
    write to it: a regulator (leader/officer) whose division covers it, the platform
    admin, or (where allowed) the institution's own users."""
    inst = lock_in_scope(Institution, institution_id, actor=actor, what="机构", regulator_department=False)
    if institution_may_write and is_institution_user(
        actor, inst.pk, INSTITUTION_ADMINS if institution_admin_only else INSTITUTION_USERS
    ):
        return inst
    if has_role(actor, REGULATOR_WRITERS, division_code=inst.division_code):
        return inst
    raise PermissionDeniedError()


def may_decide_status(actor, inst: Institution) -> bool:
    """List and status decisions (whitelist, blacklist, suspension, stop of enrolment,
    closure, ban, runaway, reactivation) belong to the institution's competent
    department (谁审批、谁监管) and the county's task force (the 双减 office: regulator
    leaders and officers without a department); other departments record findings
    (inspections, clues, cases). The platform admin and system jobs may too."""
    competent = inst.competent_department.kind if inst.competent_department_id else None
    return competent_or_task_force(actor, inst.division_code, competent)


def require_status_authority(actor, inst: Institution) -> None:
    if not may_decide_status(actor, inst):
        raise PermissionDeniedError(
            _("名单和办学状态由机构的主管部门或双减工作专班决定；其他部门请记录检查发现或移交线索")
        )


def require_regulator_for_division(*, actor, division_code: str) -> None:
    require_role(actor, REGULATOR_WRITERS, division_code=division_code, message=_("无权在该区划登记机构"))


def check_division(code: str, *, min_len: int = 6) -> Division:
    code = (code or "").strip()
    if not code.isdigit() or len(code) not in (6, 9, 12) or len(code) < min_len:
        raise ValidationError(
            {
                "division_code": format_lazy(
                    _("区划代码应为6位(县)、9位(乡镇)或12位(社区)数字：{code}"), code=code
                )
            }
        )
    d = Division.objects.filter(code=code).first()
    if d is None:
        raise ValidationError({"division_code": format_lazy(_("区划代码不存在：{code}"), code=code)})
    return d


def institution_save(inst: Institution, fields: list[str] | None = None) -> None:
    """Save a changed institution, and say so to the public search cache (now and on
    commit, ``public_cache.bump``). Every registry service that changes an institution
    saves it here: explicit, so bulk paths cannot forget what a signal would have done."""
    if fields is None:
        inst.save()
    else:
        inst.save(update_fields=fields)
    public_cache.bump()
