"""The demo users: one for every role, scoped to the demo county, township, institution
and custody bank."""

from __future__ import annotations

from django.db import transaction

from qinglang.accounts.models import Membership, Role, User
from qinglang.accounts.services import membership_grant, user_create
from qinglang.core.i18n import chinese_labels
from qinglang.core.models import DepartmentKind
from qinglang.registry.models import Institution

from .common import ACTOR, DEMO_COUNTY, DEMO_PASSWORD, DEMO_TOWNSHIP, DEMO_USERS


def demo_institution() -> Institution | None:
    """The institution whose admin and staff are demo users: a whitelisted one in the demo
    township if there is one."""
    qs = Institution.objects.order_by("id")
    return (
        qs.filter(division_code__startswith=DEMO_TOWNSHIP, whitelisted=True).first()
        or qs.filter(division_code__startswith=DEMO_COUNTY).first()
        or qs.first()
    )


def demo_bank():
    """The demo county's custody bank (funds' demo seeds its accounts there), created here
    when the demo users come first, so the bank operator is an operator of it whatever
    ids the database hands out."""
    from qinglang.funds import services as funds_services
    from qinglang.funds.models import Bank

    code = f"DEMO{DEMO_COUNTY}"
    bank = Bank.objects.filter(code=code).first()
    if bank is None:
        bank, _ = funds_services.bank_create(
            actor=ACTOR, code=code, name="成都银行武侯支行(托管)", division_code=DEMO_COUNTY
        )
    return bank


@transaction.atomic
def ensure_demo_users(*, password: str = DEMO_PASSWORD) -> list[User]:
    """One demo user for every role (existing ones are kept)."""
    inst = demo_institution()
    bank = demo_bank()
    scope = {
        Role.REGULATOR_LEADER: {"division_prefixes": [DEMO_COUNTY]},
        Role.REGULATOR_OFFICER: {"division_prefixes": [DEMO_COUNTY], "department_kind": "education"},
        Role.INSPECTOR: {"division_prefixes": [DEMO_COUNTY], "department_kind": "education"},
        Role.GRID_WORKER: {"division_prefixes": [DEMO_TOWNSHIP]},
        Role.INSTITUTION_ADMIN: {"institution_id": inst.pk if inst else None},
        Role.INSTITUTION_STAFF: {"institution_id": inst.pk if inst else None},
        Role.BANK_OPERATOR: {"bank_id": bank.pk},
    }
    # the township's officer (街道办事处): a regulator officer scoped to the demo township
    township = {"division_prefixes": [DEMO_TOWNSHIP], "department_kind": DepartmentKind.TOWNSHIP_GOVERNMENT}
    users = []
    for username, role, display in DEMO_USERS:
        user = User.objects.filter(username=username).first()
        if user is None:
            kw = township if username == "township" else scope.get(role, {})
            if role in (Role.INSTITUTION_ADMIN, Role.INSTITUTION_STAFF) and not kw["institution_id"]:
                continue
            if role == Role.INSTITUTION_ADMIN and inst:
                display = f"{inst.name} 管理员"
            elif role == Role.INSTITUTION_STAFF and inst:
                display = f"{inst.name} 工作人员"
            user = user_create(
                actor=ACTOR, username=username, password=password, display_name=display, check_password=False
            )
            membership_grant(actor=ACTOR, user=user, role=role, **kw)
        users.append(user)
    return users


def demo_login_rows() -> list[tuple[str, str, str, str]]:
    """(username, role label, display name, scope) of the demo users present."""
    labels = chinese_labels(Role)
    rows = []
    for username, role, _ in DEMO_USERS:
        user = User.objects.filter(username=username).first()
        if user is None:
            continue
        m = Membership.objects.filter(user=user, role=role, active=True).first()
        scope = ""
        if m:
            if m.division_prefixes:
                scope = ",".join(m.division_prefixes) + (
                    f" ({m.department_kind})" if m.department_kind else ""
                )
            elif m.institution_id:
                scope = f"机构 #{m.institution_id}"
            elif m.bank_id:
                scope = f"银行 #{m.bank_id}"
        rows.append((username, labels[role], str(user), scope))
    return rows
