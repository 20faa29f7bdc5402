"""Test personas and factories, shared by every app's tests. They build objects through
the real services, so tests exercise the same paths users do."""

import itertools
from datetime import date, timedelta

from qinglang.accounts.models import Role, User
from qinglang.accounts.permissions import system
from qinglang.accounts.services import membership_grant, user_create

_seq = itertools.count(1)

DEMO_COUNTY = "510107"  # 四川省成都市武侯区
OTHER_COUNTY = "510104"  # 四川省成都市锦江区
TOWNSHIP = "510107001"  # 浆洗街街道

ROOT = system("test")


def make_user(
    role: str = Role.REGULATOR_OFFICER,
    *,
    prefixes=None,
    department_kind: str = "",
    institution_id=None,
    bank_id=None,
    username: str | None = None,
) -> User:
    n = next(_seq)
    user = user_create(
        actor=ROOT,
        username=username or f"{role}-{n}",
        password="Qinglang-test-2026",
        display_name=f"测试{n}",
        check_password=False,
    )
    if (
        role in {Role.REGULATOR_LEADER, Role.REGULATOR_OFFICER, Role.INSPECTOR, Role.GRID_WORKER}
        and prefixes is None
    ):
        prefixes = [DEMO_COUNTY]
    membership_grant(
        actor=ROOT,
        user=user,
        role=role,
        division_prefixes=prefixes or [],
        department_kind=department_kind,
        institution_id=institution_id,
        bank_id=bank_id,
    )
    return user


def admin_user() -> User:
    return make_user(Role.PLATFORM_ADMIN)


def valid_uscc(n: int) -> str:
    """A valid unified social credit code derived from n (check character computed)."""
    from stdnum.cn import uscc

    body = f"52510107MJ{n:07d}"[:17]
    return body + uscc.calc_check_digit(body)


FULL_DISCLOSURE = {
    "teachers": "教师信息见公示栏附表",
    "fees": "收费标准：按课时收费，见课程表",
    "content": "培训内容：见课程目录",
    "safety": "消防安全责任人：张三，应急电话 028-00000000",
    "custody": "预收费资金由托管银行监管",
}


def make_institution(
    actor=None,
    *,
    division_code: str = TOWNSHIP,
    category: str = "non_subject",
    kind: str = "arts",
    licensed: bool = True,
    whitelisted: bool = False,
    **extra,
):
    from qinglang.registry import services

    actor = actor or admin_user()
    n = next(_seq)
    data = {
        "name": f"测试培训机构{n}",
        "category": category,
        "kind": kind,
        "division_code": division_code,
        "uscc": valid_uscc(n),
        "stages": ["primary"],
        "address": "测试路1号",
        "nature": "non_profit" if category == "subject" else "for_profit",
        **extra,
    }
    inst = services.institution_create(actor=actor, data=data)
    if licensed:
        today = date.today()
        services.licence_set(
            actor=actor,
            institution_id=inst.pk,
            kind="school_permit",
            number=f"教民{n:08d}",
            issuer="武侯区教育局",
            valid_from=today - timedelta(days=365),
            valid_until=today + timedelta(days=365),
        )
        services.licence_set(
            actor=actor,
            institution_id=inst.pk,
            kind="business_license" if data["nature"] == "for_profit" else "nonprofit_registration",
            number=data["uscc"],
            issuer="武侯区市场监督管理局",
            valid_from=today - timedelta(days=365),
        )
    if whitelisted:
        services.disclosure_publish(actor=actor, institution_id=inst.pk, items=FULL_DISCLOSURE)
        services.whitelist_add(actor=actor, institution_id=inst.pk, reason="证照齐全，审核通过")
    inst.refresh_from_db()
    return inst


def xlsx_bomb(unzipped_bytes: int) -> bytes:
    """A well-formed .xlsx whose first sheet expands to ``unzipped_bytes`` of rows (about
    1,000:1 compressed)."""
    import io
    import zipfile

    from openpyxl import Workbook

    wb = Workbook()
    wb.active.append(["工单编号", "受理时间"])
    base = io.BytesIO()
    wb.save(base)
    out = io.BytesIO()
    row = b'<row><c t="inlineStr"><is><t>x</t></is></c></row>'
    with zipfile.ZipFile(base) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            if info.filename != "xl/worksheets/sheet1.xml":
                dst.writestr(info.filename, src.read(info.filename))
                continue
            head = b'<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
            tail = b"</sheetData></worksheet>"
            with dst.open("xl/worksheets/sheet1.xml", "w", force_zip64=unzipped_bytes > 2**31 - 1) as f:
                f.write(head)
                chunk = row * (1024 * 1024 // len(row))
                left = unzipped_bytes - len(head) - len(tail)
                while left > 0:
                    piece = chunk[: min(len(chunk), left)]
                    f.write(piece)
                    left -= len(piece)
                f.write(tail)
    return out.getvalue()


def built_once(django_db_blocker, build):
    """Yield ``build()``'s result to a module's tests, building it once inside a
    transaction that is rolled back when the module is done. Each test still runs in its
    own savepoint within it (pytest-django's ``db``), so what one test writes is gone
    before the next. For a module-scoped fixture that needs ``django_db_setup``:

        @pytest.fixture(scope="module")
        def world(django_db_setup, django_db_blocker):
            yield from built_once(django_db_blocker, _build_world)
    """
    from django.db import transaction

    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            built = build()
        except BaseException:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)
            raise
    try:
        yield built
    finally:
        with django_db_blocker.unblock():
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


def seed_district_demo(*args: str) -> str:
    """The district demo (``seed-demo --scale district``, extra arguments appended); its
    printed summary."""
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("seed_demo", "--scale", "district", *args, stdout=out)
    return out.getvalue()
