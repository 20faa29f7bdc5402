from django.core.exceptions import ValidationError

from qinglang.accounts.models import INSTITUTION_ROLES, Role
from qinglang.accounts.scope import actor_for, division_in_scope, in_scope
from qinglang.core.errors import NotFound, PermissionDeniedError
from qinglang.core.models import Division

from ..models import Institution

WRITER_REGULATOR_ROLES = {Role.REGULATOR_LEADER, Role.REGULATOR_OFFICER}


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
    inst = Institution.objects.select_for_update().filter(pk=institution_id).first()
    if inst is None or not in_scope(inst, actor, regulator_department=False):
        raise NotFound("机构")
    a = actor_for(actor)
    if a.is_platform_admin:
        return inst
    if inst.id in a.institution_ids and institution_may_write:
        roles = {Role.INSTITUTION_ADMIN} if institution_admin_only else set(INSTITUTION_ROLES)
        if a.roles & roles:
            return inst
    if a.roles & WRITER_REGULATOR_ROLES and division_in_scope(actor, inst.division_code):
        return inst
    raise PermissionDeniedError()


def require_regulator_for_division(*, actor, division_code: str) -> None:
    a = actor_for(actor)
    if a.is_platform_admin:
        return
    if not (a.roles & WRITER_REGULATOR_ROLES) or not division_in_scope(actor, division_code):
        raise PermissionDeniedError("无权在该区划登记机构")


def check_division(code: str, *, min_len: int = 6) -> Division:
    code = (code or "").strip()
    if not code.isdigit() or len(code) not in (6, 9, 12) or len(code) < min_len:
        raise ValidationError({"division_code": f"区划代码应为6位(县)、9位(乡镇)或12位(社区)数字：{code}"})
    d = Division.objects.filter(code=code).first()
    if d is None:
        raise ValidationError({"division_code": f"区划代码不存在：{code}"})
    return d
