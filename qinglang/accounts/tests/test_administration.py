"""Account, division and department administration (accounts.administration, admin_api,
core division/department services): no privilege escalation, withdrawals that bite on the
next request, and bad input refused in Chinese with nothing half-written."""

from io import BytesIO, StringIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.test import Client
from openpyxl import Workbook

from qinglang.accounts import administration as adm
from qinglang.accounts.models import ApiToken, Membership, Role, TokenScope, User
from qinglang.accounts.services import api_token_create, membership_grant
from qinglang.core.errors import PermissionDeniedError
from qinglang.core.models import AuditEvent, Department, Division
from qinglang.core.services import department_ensure_for_division, division_sync
from qinglang.testing import DEMO_COUNTY, OTHER_COUNTY, ROOT, TOWNSHIP, make_user

pytestmark = pytest.mark.django_db

STAFF_HEADER = ["姓名", "手机号码", "角色", "部门", "乡镇(街道)"]


def xlsx(header, rows) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.append(header)
    for r in rows:
        ws.append(r)
    buf = BytesIO()
    wb.save(buf)
    return buf.getvalue()


def client(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


def seq() -> int:
    return AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first() or 0


@pytest.fixture
def county(db):
    department_ensure_for_division(actor=ROOT, division_code=DEMO_COUNTY)
    department_ensure_for_division(actor=ROOT, division_code=TOWNSHIP)
    department_ensure_for_division(actor=ROOT, division_code=OTHER_COUNTY)
    return DEMO_COUNTY


@pytest.fixture
def leader(county):
    return make_user(Role.REGULATOR_LEADER, prefixes=[DEMO_COUNTY])


@pytest.fixture
def staff(leader):
    """An officer of the demo county, created by its leader."""
    user, _ = adm.staff_account_create(
        actor=leader,
        username="13811110001",
        display_name="李明",
        phone="13811110001",
        role=Role.REGULATOR_OFFICER,
        division_code=DEMO_COUNTY,
    )
    return user


# --- escalation -------------------------------------------------------------------------


def test_officer_cannot_grant_leader(county, staff):
    officer = make_user(Role.REGULATOR_OFFICER, prefixes=[DEMO_COUNTY])
    before = seq()
    with pytest.raises(PermissionDeniedError, match="不能授予高于自己的角色"):
        membership_grant(
            actor=officer, user=staff, role=Role.REGULATOR_LEADER, division_prefixes=[DEMO_COUNTY]
        )
    r = client(officer).post(
        f"/api/admin/users/{staff.pk}/memberships",
        {"role": Role.REGULATOR_LEADER, "division_prefixes": [DEMO_COUNTY]},
        content_type="application/json",
    )
    assert r.status_code == 403 and r.json()["code"] == "forbidden"
    assert client(officer).get("/console/admin/users/").status_code == 403
    assert not staff.memberships.filter(role=Role.REGULATOR_LEADER).exists() and seq() == before


def test_leader_cannot_grant_another_county_or_platform_admin(leader, staff):
    c = client(leader)
    before = seq()
    r = c.post(
        f"/api/admin/users/{staff.pk}/memberships",
        {"role": Role.REGULATOR_OFFICER, "division_prefixes": [OTHER_COUNTY]},
        content_type="application/json",
    )
    assert r.status_code == 403 and "超出本人管辖范围" in r.json()["message"]
    r = c.post(
        f"/api/admin/users/{staff.pk}/memberships",
        {"role": Role.PLATFORM_ADMIN},
        content_type="application/json",
    )
    assert r.status_code == 403 and "平台管理员" in r.json()["message"]
    r = c.post(  # the whole country is outside a county leader's scope too
        f"/api/admin/users/{staff.pk}/memberships",
        {"role": Role.REGULATOR_LEADER, "division_prefixes": [""]},
        content_type="application/json",
    )
    assert r.status_code == 403
    # a page post of the same is refused the same way
    r = c.post(
        f"/console/admin/users/{staff.pk}/action/",
        {"op": "grant", "role": Role.REGULATOR_OFFICER, "division_code": OTHER_COUNTY},
        follow=True,
    )
    assert "超出本人管辖范围" in r.content.decode()
    assert list(staff.memberships.values_list("role", flat=True)) == [Role.REGULATOR_OFFICER]
    assert seq() == before
    # a leader may grant within their county (their own level included)
    r = c.post(
        f"/api/admin/users/{staff.pk}/memberships",
        {"role": Role.INSPECTOR, "division_prefixes": [TOWNSHIP]},
        content_type="application/json",
    )
    assert r.status_code == 201 and r.json()["role_label"] == "执法检查人员"


def test_leader_of_one_department_grants_only_that_department(county, staff):
    edu_leader = make_user(Role.REGULATOR_LEADER, prefixes=[DEMO_COUNTY], department_kind="education")
    with pytest.raises(PermissionDeniedError, match="本部门"):
        membership_grant(
            actor=edu_leader,
            user=staff,
            role=Role.REGULATOR_OFFICER,
            division_prefixes=[DEMO_COUNTY],
            department_kind="fire",
        )
    m = membership_grant(
        actor=edu_leader,
        user=staff,
        role=Role.REGULATOR_OFFICER,
        division_prefixes=[DEMO_COUNTY],
        department_kind="education",
    )
    assert m.department_kind == "education"


def test_leader_of_county_a_cannot_see_or_touch_accounts_of_county_b(leader, county):
    other_leader = make_user(Role.REGULATOR_LEADER, prefixes=[OTHER_COUNTY])
    b_user, _ = adm.staff_account_create(
        actor=other_leader,
        username="13922220001",
        display_name="外县人员",
        phone="13922220001",
        role=Role.REGULATOR_OFFICER,
        division_code=OTHER_COUNTY,
    )
    c = client(leader)
    password_before = b_user.password
    assert c.get(f"/api/admin/users/{b_user.pk}").status_code == 404
    assert c.post(f"/api/admin/users/{b_user.pk}/deactivate").status_code == 404
    assert c.post(f"/api/admin/users/{b_user.pk}/reset-password").status_code == 404
    assert "外县人员" not in c.get("/console/admin/users/").content.decode()
    b_user.refresh_from_db()
    assert b_user.is_active and b_user.password == password_before
    # nor create an account homed there
    with pytest.raises(PermissionDeniedError):
        adm.staff_account_create(
            actor=leader,
            username="13922220002",
            display_name="越权",
            phone="13922220002",
            role=Role.REGULATOR_OFFICER,
            division_code=OTHER_COUNTY,
        )
    assert not User.objects.filter(username="13922220002").exists()


def test_withdrawn_membership_takes_effect_on_the_next_request(leader, staff):
    officer = client(staff)
    User.objects.filter(pk=staff.pk).update(must_change_password=False)
    assert officer.get("/console/institutions/").status_code == 200
    _, token = api_token_create(actor=leader, user=staff, name="对接系统")
    api = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert api.get("/api/accounts/me").json()["division_prefixes"] == [DEMO_COUNTY]
    m = staff.memberships.get()
    r = client(leader).delete(f"/api/admin/memberships/{m.pk}")
    assert r.status_code == 200 and r.json()["active"] is False
    assert officer.get("/console/institutions/").status_code == 403  # the very next request
    assert api.get("/api/accounts/me").json()["roles"] == []
    assert AuditEvent.objects.filter(action="membership.revoke", object_id=str(m.pk)).exists()


def test_deactivated_account_cannot_log_in_and_its_tokens_stop(leader, staff):
    staff.set_password("Known-pass-2026")
    staff.save()
    _, token = api_token_create(actor=leader, user=staff, name="对接系统")
    assert Client(HTTP_AUTHORIZATION=f"Bearer {token}").get("/api/accounts/me").status_code == 200
    r = client(leader).post(f"/api/admin/users/{staff.pk}/deactivate")
    assert r.status_code == 200 and r.json()["is_active"] is False
    assert Client(HTTP_AUTHORIZATION=f"Bearer {token}").get("/api/accounts/me").status_code == 401
    staff.refresh_from_db()
    r = Client().post("/accounts/login/", {"username": staff.username, "password": "Known-pass-2026"})
    assert r.status_code == 200 and not staff.is_active
    assert AuditEvent.objects.filter(action="user.deactivate", object_id=str(staff.pk)).exists()


def test_reset_password_gives_a_one_time_password_to_change_at_next_login(leader, staff):
    r = client(leader).post(f"/api/admin/users/{staff.pk}/reset-password")
    assert r.status_code == 200
    plain = r.json()["initial_password"]
    staff.refresh_from_db()
    assert staff.must_change_password and staff.check_password(plain)
    c = Client()
    assert c.post("/accounts/login/", {"username": staff.username, "password": plain}).status_code == 302
    assert c.get("/console/institutions/")["Location"] == "/accounts/password/"
    assert AuditEvent.objects.filter(action="user.reset_password", object_id=str(staff.pk)).exists()


def test_tokens_created_with_scope_shown_once_listed_and_revoked(leader, staff):
    c = client(leader)
    r = c.post(
        f"/api/admin/users/{staff.pk}/tokens",
        {"name": "热线系统", "scope": "read"},
        content_type="application/json",
    )
    assert r.status_code == 201
    plain = r.json()["token"]
    tok = ApiToken.objects.get(pk=r.json()["id"])
    assert tok.scope == TokenScope.READ and plain not in str(tok.__dict__) and tok.prefix == plain[:12]
    listed = c.get(f"/api/admin/users/{staff.pk}/tokens").json()
    assert [t["name"] for t in listed] == ["热线系统"] and "token" not in listed[0]
    assert Client(HTTP_AUTHORIZATION=f"Bearer {plain}").get("/api/accounts/me").status_code == 200
    assert c.delete(f"/api/admin/tokens/{tok.pk}").json()["revoked_at"]
    assert Client(HTTP_AUTHORIZATION=f"Bearer {plain}").get("/api/accounts/me").status_code == 401
    bad = c.post(
        f"/api/admin/users/{staff.pk}/tokens", {"name": "x", "scope": "all"}, content_type="application/json"
    )
    assert bad.status_code == 422 and "权限范围" in bad.json()["message"]


# --- bad input ----------------------------------------------------------------------------


def test_township_code_under_another_county_and_duplicates_are_refused(leader):
    c = client(leader)
    before = seq(), Division.objects.count()
    r = c.post(
        "/api/admin/divisions",
        {"code": OTHER_COUNTY + "999", "name": "外县镇"},
        content_type="application/json",
    )
    assert r.status_code == 403 and "不在本人管辖范围" in r.json()["message"]
    r = c.post(
        "/api/admin/divisions", {"code": TOWNSHIP, "name": "重复街道"}, content_type="application/json"
    )
    assert (
        r.status_code == 400 and r.json()["code"] == "duplicate_division" and TOWNSHIP in r.json()["message"]
    )
    r = c.post("/api/admin/divisions", {"code": "5101079", "name": "短码"}, content_type="application/json")
    assert r.status_code == 422 and "9位" in r.json()["message"]
    # the template import: every row checked, nothing written when one is wrong
    content = xlsx(
        ["区划代码", "名称"],
        [["510107888", "新镇"], [OTHER_COUNTY + "888", "外县镇"], ["510107888", "重复行"], [TOWNSHIP, ""]],
    )
    r = c.post(
        "/api/admin/divisions/import",
        {"county_code": DEMO_COUNTY, "file": SimpleUploadedFile("d.xlsx", content)},
    )
    body = r.json()
    assert r.status_code == 200 and body["ok"] is False
    msgs = {(e["row"], e["message"]) for e in body["errors"]}
    assert (3, f"区划代码{OTHER_COUNTY}888不在{DEMO_COUNTY}之下(前6位应为{DEMO_COUNTY})") in msgs
    assert (4, "区划代码510107888与第2行重复") in msgs and (5, "请填写名称") in msgs
    assert (seq(), Division.objects.count()) == before
    # and the right file imports, with a township government for the new township
    ok = xlsx(["区划代码", "名称"], [["510107888", "新镇"], ["510107888001", "新村"]])
    r = c.post(
        "/api/admin/divisions/import", {"county_code": DEMO_COUNTY, "file": SimpleUploadedFile("d.xlsx", ok)}
    )
    assert r.json()["ok"] and r.json()["added"] == ["510107888", "510107888001"]
    assert Department.objects.get(division_id="510107888").name == "新镇人民政府"


def test_staff_import_rejects_unknown_role_used_mobile_and_writes_nothing(leader, staff):
    content = xlsx(
        STAFF_HEADER,
        [
            ["张三", "13811110002", "监管人员", "教育局", ""],
            ["李四", "13811110001", "监管人员", "", ""],  # staff's mobile
            ["王五", "13811110003", "局长", "", ""],
            ["赵六", "1381111", "网格员", "", ""],
            ["钱七", "13811110004", "网格员", "", "没有这个镇"],
            ["孙八", "13811110002", "执法检查人员", "宣传部", ""],
        ],
    )
    before = seq(), User.objects.count()
    r = client(leader).post(
        "/console/admin/users/import/", {"county": DEMO_COUNTY, "file": SimpleUploadedFile("s.xlsx", content)}
    )
    page = r.content.decode()
    assert r.status_code == 200 and "未导入任何数据" in page
    for text in (
        "<td>3</td><td>手机号码</td><td>手机号码已被其他账号使用：13811110001</td>",
        "<td>4</td><td>角色</td><td>角色不存在：局长",
        "<td>5</td><td>手机号码</td><td>手机号码无效：1381111</td>",
        "<td>5</td><td>乡镇(街道)</td><td>网格员须填写所在乡镇(街道)</td>",
        "<td>6</td><td>乡镇(街道)</td><td>武侯区没有这个乡镇(街道)：没有这个镇</td>",
        "<td>7</td><td>手机号码</td><td>手机号码与第2行重复：13811110002</td>",
        "<td>7</td><td>部门</td><td>部门不存在：宣传部</td>",
    ):
        assert text in page, text
    assert (seq(), User.objects.count()) == before


def test_malformed_xlsx_and_missing_columns_are_refused_in_chinese(leader):
    c = client(leader)
    before = seq(), User.objects.count()
    for content, message in (
        (b"PK\x03\x04 not really a zip", "不是有效的 Excel(.xlsx) 文件"),
        (b"\xd0\xcf\x11\xe0old excel", "不支持旧版 .xls 格式"),
        (xlsx(["姓名", "电话"], [["张三", "13811110009"]]), "缺少必需的列：手机号码、角色"),
        (xlsx(STAFF_HEADER, []), "没有数据行"),
    ):
        r = c.post(
            "/api/admin/users/import",
            {"county_code": DEMO_COUNTY, "file": SimpleUploadedFile("s.xlsx", content)},
        )
        assert r.status_code == 422 and r.json()["code"] == "bad_file" and message in r.json()["message"], (
            r.json()
        )
        page = c.post(
            "/console/admin/users/import/",
            {"county": DEMO_COUNTY, "file": SimpleUploadedFile("s.xlsx", content)},
        )
        assert message in page.content.decode()
    assert (seq(), User.objects.count()) == before


def test_api_account_with_used_mobile_or_unknown_role_is_refused(leader, staff):
    c = client(leader)
    before = seq(), User.objects.count()
    r = c.post(
        "/api/admin/users",
        {
            "display_name": "重号",
            "phone": staff.phone,
            "role": Role.REGULATOR_OFFICER,
            "division_code": DEMO_COUNTY,
        },
        content_type="application/json",
    )
    assert r.status_code == 400 and r.json()["code"] in ("duplicate_username", "duplicate_phone")
    r = c.post(
        "/api/admin/users",
        {"display_name": "无角色", "phone": "13811119999", "role": "superuser", "division_code": DEMO_COUNTY},
        content_type="application/json",
    )
    assert r.status_code == 422 and "superuser" in r.json()["message"]
    r = c.post(f"/api/admin/users/{staff.pk}/memberships", {"role": "boss"}, content_type="application/json")
    assert r.status_code == 422 and r.json()["message"] == "角色不存在：boss"
    assert (seq(), User.objects.count()) == before  # the refused account was not half-created


def test_departments_added_renamed_and_given_contacts(leader):
    c = client(leader)
    dep = Department.objects.get(division_id=DEMO_COUNTY, kind="education")
    r = c.patch(
        f"/api/admin/departments/{dep.pk}",
        {"name": "武侯区教育局(双减办)", "phone": "028-85551234", "person_in_charge": "周局长"},
        content_type="application/json",
    )
    assert r.status_code == 200 and r.json()["person_in_charge"] == "周局长"
    bad = c.patch(f"/api/admin/departments/{dep.pk}", {"phone": "12345"}, content_type="application/json")
    assert bad.status_code == 422 and "号码无效" in bad.json()["message"]
    dep.refresh_from_db()
    assert (dep.name, dep.phone) == ("武侯区教育局(双减办)", "028-85551234")
    r = c.post(
        "/api/admin/departments",
        {"division_code": DEMO_COUNTY, "kind": "education"},
        content_type="application/json",
    )
    assert r.status_code == 400 and r.json()["code"] == "duplicate_department"
    other = Department.objects.get(division_id=OTHER_COUNTY, kind="education")
    assert (
        c.patch(
            f"/api/admin/departments/{other.pk}", {"name": "越权"}, content_type="application/json"
        ).status_code
        == 404
    )


def test_rename_and_retire_a_township(leader):
    c = client(leader)
    division_sync(
        actor=ROOT,
        county_code=DEMO_COUNTY,
        rows=[(0, "510107777", "旧名镇"), (0, "510107777001", "某村")],
    )
    r = c.patch("/api/admin/divisions/510107777", {"name": "新名镇"}, content_type="application/json")
    assert r.status_code == 200 and r.json()["full_name"].endswith("新名镇")
    assert Division.objects.get(code="510107777001").full_name.endswith("新名镇某村")
    r = c.patch("/api/admin/divisions/510107777", {"retired": True}, content_type="application/json")
    assert r.json()["retired"] is True and Division.objects.get(code="510107777001").retired
    assert (
        c.patch(
            f"/api/admin/divisions/{OTHER_COUNTY}001", {"name": "x"}, content_type="application/json"
        ).status_code
        == 404
    )


# --- qinglang setup ---------------------------------------------------------------------


def test_setup_refuses_unknown_place_without_name_and_missing_password_file(tmp_path):
    with pytest.raises(CommandError, match="内置区划数据中没有469098"):
        call_command("setup", "--county", "469098", "--no-migrate", stdout=StringIO())
    with pytest.raises(CommandError, match="内置区划数据中没有地级区划4699"):
        call_command("setup", "--county", "469901", "--name", "新县", "--no-migrate", stdout=StringIO())
    with pytest.raises(CommandError, match="无法读取密码文件"):
        call_command(
            "setup",
            "--county",
            DEMO_COUNTY,
            "--admin-password-file",
            str(tmp_path / "none"),
            "--no-migrate",
            stdout=StringIO(),
        )
    assert not Division.objects.filter(code__in=["469098", "469901", "4699"]).exists()
    assert not User.objects.exists()  # the failed runs left nothing behind (one transaction)
    assert not Department.objects.filter(division_id=DEMO_COUNTY).exists()


def test_setup_of_a_place_whose_city_is_missing_too(tmp_path):
    pw = tmp_path / "pw"
    pw.write_text("Qinglang-first-2026")
    call_command(
        "setup",
        "--county",
        "469901",
        "--name",
        "新县",
        "--city-name",
        "新市",
        "--township",
        "469901001=城关镇",
        "--admin",
        "root",
        "--admin-password-file",
        str(pw),
        "--no-migrate",
        stdout=StringIO(),
    )
    assert Division.objects.get(code="469901").full_name == "海南省新市新县"
    admin = User.objects.get(username="root")
    assert Membership.objects.filter(user=admin, role=Role.PLATFORM_ADMIN, active=True).count() == 1
    assert Department.objects.get(division_id="469901001").name == "城关镇人民政府"


def test_platform_admin_makes_a_bank_operator_and_its_token_on_the_page(county):
    from qinglang.funds.services import bank_create

    admin = make_user(Role.PLATFORM_ADMIN)
    bank, _ = bank_create(actor=admin, code="B001", name="示范农商银行", division_code=DEMO_COUNTY)
    u, _ = adm.staff_account_create(
        actor=admin, username="13833330001", display_name="银行对接", phone="13833330001",
        role=Role.REGULATOR_OFFICER, division_code=DEMO_COUNTY,
    )  # fmt: skip
    c = client(admin)
    page = c.get(f"/console/admin/users/{u.pk}/").content.decode()
    assert "示范农商银行" in page
    r = c.post(
        f"/console/admin/users/{u.pk}/action/", {"op": "grant", "role": Role.BANK_OPERATOR, "bank": bank.pk}
    )
    assert r.status_code == 302
    assert u.memberships.filter(role=Role.BANK_OPERATOR, bank_id=bank.pk, active=True).exists()
    r = c.post(
        f"/console/admin/users/{u.pk}/action/",
        {"op": "token", "name": "银行系统", "scope": "read_write"},
        follow=True,
    )
    assert "令牌仅显示这一次" in r.content.decode()
    assert ApiToken.objects.filter(user=u, name="银行系统", scope="read_write").exists()
    # a leader of the bank's county is offered it; a leader of another county neither is
    # offered it nor can name it
    leader = make_user(Role.REGULATOR_LEADER, prefixes=[DEMO_COUNTY])
    assert "示范农商银行" in client(leader).get(f"/console/admin/users/{u.pk}/").content.decode()
    other = make_user(Role.REGULATOR_LEADER, prefixes=[OTHER_COUNTY])
    assert client(other).get(f"/console/admin/users/{u.pk}/").status_code == 404
    v, _ = adm.staff_account_create(
        actor=admin, username="13833330002", display_name="锦江对接", phone="13833330002",
        role=Role.REGULATOR_OFFICER, division_code=OTHER_COUNTY,
    )  # fmt: skip
    assert "示范农商银行" not in client(other).get(f"/console/admin/users/{v.pk}/").content.decode()
    r = client(other).post(
        f"/console/admin/users/{v.pk}/action/", {"op": "grant", "role": Role.BANK_OPERATOR, "bank": bank.pk}
    )
    assert r.status_code == 404
    assert not v.memberships.filter(role=Role.BANK_OPERATOR).exists()


# --- institution administrators and bank operators through the API ------------------------


def test_api_invites_an_institution_admin_from_the_registry_record(leader):
    from qinglang.testing import make_institution

    inst = make_institution(division_code=TOWNSHIP, legal_representative="王法人")
    other = make_institution(division_code=OTHER_COUNTY)
    c = client(leader)
    r = c.post(
        f"/api/admin/institutions/{inst.pk}/invite", {"username": "org-wang"}, content_type="application/json"
    )
    assert r.status_code == 201, r.content
    body = r.json()
    plain = body["initial_password"]
    user = User.objects.get(username="org-wang")
    assert body["user"]["display_name"] == "王法人" and user.division_code == inst.division_code
    assert user.must_change_password and user.check_password(plain)
    assert [(m.role, m.institution_id) for m in user.memberships.all()] == [(Role.INSTITUTION_ADMIN, inst.pk)]
    assert set(AuditEvent.objects.filter(actor_id=str(leader.pk)).values_list("action", flat=True)) >= {
        "user.create",
        "membership.grant",
    }
    login = Client()
    assert login.post("/accounts/login/", {"username": "org-wang", "password": plain}).status_code == 302
    assert login.get("/org/")["Location"] == "/accounts/password/"  # choose a password first
    officer = make_user(Role.REGULATOR_OFFICER, prefixes=[DEMO_COUNTY])
    before = seq()
    # the same username again: refused in Chinese, nothing written
    r = c.post(
        f"/api/admin/institutions/{inst.pk}/invite", {"username": "org-wang"}, content_type="application/json"
    )
    assert r.status_code == 400 and r.json() == {
        "code": "duplicate_username",
        "message": "用户名已存在：org-wang",
        "detail": {"username": "org-wang"},
    }
    # another county's institution is not found (as a missing one); an officer may not invite
    r = c.post(
        f"/api/admin/institutions/{other.pk}/invite", {"username": "org-b"}, content_type="application/json"
    )
    missing = c.post(
        "/api/admin/institutions/987654/invite", {"username": "org-b"}, content_type="application/json"
    )
    assert r.status_code == missing.status_code == 404 and r.json()["code"] == "not_found"
    r = client(officer).post(
        f"/api/admin/institutions/{inst.pk}/invite", {"username": "org-c"}, content_type="application/json"
    )
    assert r.status_code == 403 and r.json()["code"] == "forbidden"
    assert seq() == before and not User.objects.filter(username__in=["org-b", "org-c"]).exists()


def test_an_existing_account_gets_a_role_in_a_second_institution(leader):
    """One person works for two institutions: the leader gives the account that the first
    invited a staff role in the second, through the API and the account's page; the person
    then works in both; refusals (another county, a regulator role, twice, an officer, an
    unknown name) change nothing."""
    from qinglang.registry.services import institution_admin_invite
    from qinglang.testing import make_institution

    first = make_institution(division_code=TOWNSHIP, legal_representative="王法人")
    second = make_institution(division_code=TOWNSHIP)
    third = make_institution(division_code=TOWNSHIP)
    other = make_institution(division_code=OTHER_COUNTY)
    person, _plain = institution_admin_invite(actor=leader, institution_id=first.pk, username="org-wang")
    url = f"/api/admin/institutions/{second.pk}/members/{person.pk}"
    c = client(leader)
    r = c.post(url, {"role": "institution_staff"}, content_type="application/json")
    assert r.status_code == 201, r.content
    assert r.json()["role_label"] == "机构工作人员" and r.json()["institution_id"] == second.pk
    grant = AuditEvent.objects.filter(action="membership.grant").order_by("-seq").first()
    assert str(grant.actor_id) == str(leader.pk) and grant.changes["institution_id"] == second.pk
    assert set(person.memberships.filter(active=True).values_list("role", "institution_id")) == {
        (Role.INSTITUTION_ADMIN, first.pk),
        (Role.INSTITUTION_STAFF, second.pk),
    }
    person.must_change_password = False
    person.save(update_fields=["must_change_password"])
    org = client(person)
    assert org.get(f"/org/{second.pk}/courses/").status_code == 200
    assert org.get(f"/org/{third.pk}/courses/").status_code in (403, 404)

    officer = make_user(Role.REGULATOR_OFFICER, prefixes=[DEMO_COUNTY])
    before = (seq(), person.memberships.count())
    r = c.post(url, {"role": "institution_staff"}, content_type="application/json")
    assert r.status_code == 400 and r.json()["code"] == "already_granted", r.content
    r = c.post(url, {"role": "regulator_leader"}, content_type="application/json")
    assert r.status_code == 422 and set(r.json()) == {"code", "message", "detail"}, r.content
    assert "机构管理员或机构工作人员" in r.json()["message"] + str(r.json()["detail"])
    r = c.post(
        f"/api/admin/institutions/{other.pk}/members/{person.pk}",
        {"role": "institution_staff"},
        content_type="application/json",
    )
    assert r.status_code == 404 and r.json()["code"] == "not_found"
    r = client(officer).post(url, {"role": "institution_admin"}, content_type="application/json")
    assert r.status_code == 403
    assert (seq(), person.memberships.count()) == before

    # the console: the account's page names the institution by its credit code or its name
    page = f"/console/admin/users/{person.pk}/action/"
    r = c.post(page, {"op": "grant", "role": "institution_admin", "institution": "没有这家机构"}, follow=True)
    assert "未找到机构“没有这家机构”" in r.content.decode()
    r = c.post(page, {"op": "grant", "role": "institution_staff", "institution": other.uscc}, follow=True)
    assert "未找到机构" in r.content.decode()
    assert (seq(), person.memberships.count()) == before
    r = c.post(page, {"op": "grant", "role": "institution_staff", "institution": third.uscc}, follow=True)
    assert "已授权" in r.content.decode() and third.name in r.content.decode()
    assert person.memberships.filter(
        role=Role.INSTITUTION_STAFF, institution_id=third.pk, active=True
    ).exists()


def test_api_grants_and_withdraws_bank_operators_within_the_leaders_prefixes(leader, staff):
    from qinglang.funds.services import bank_create

    admin = make_user(Role.PLATFORM_ADMIN)
    mine, _ = bank_create(actor=admin, code="B010", name="武侯农商银行", division_code=DEMO_COUNTY)
    theirs, _ = bank_create(actor=admin, code="B011", name="锦江农商银行", division_code=OTHER_COUNTY)
    c = client(leader)
    assert [b["name"] for b in c.get("/api/admin/banks").json()] == ["武侯农商银行"]
    r = c.post(
        f"/api/admin/banks/{mine.pk}/operators", {"user_id": staff.pk}, content_type="application/json"
    )
    assert r.status_code == 201, r.content
    m = Membership.objects.get(pk=r.json()["id"])
    assert (m.role, m.bank_id, m.division_prefixes, m.active) == (Role.BANK_OPERATOR, mine.pk, [], True)
    assert AuditEvent.objects.filter(action="membership.grant", object_id=str(m.pk)).exists()
    listed = c.get(f"/api/admin/banks/{mine.pk}/operators").json()
    assert listed["bank"]["name"] == "武侯农商银行" and [o["username"] for o in listed["operators"]] == [
        staff.username
    ]
    _, token = api_token_create(actor=leader, user=staff, name="银行对账系统")
    bank_api = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    officer = make_user(Role.REGULATOR_OFFICER, prefixes=[DEMO_COUNTY])
    leader_b = make_user(Role.REGULATOR_LEADER, prefixes=[OTHER_COUNTY])
    before = seq()
    # twice is refused; another county's bank is as absent as a missing one; an officer: 403
    r = c.post(
        f"/api/admin/banks/{mine.pk}/operators", {"user_id": staff.pk}, content_type="application/json"
    )
    assert r.status_code == 409 and r.json()["code"] == "duplicate_membership"
    r = c.post(
        f"/api/admin/banks/{theirs.pk}/operators", {"user_id": staff.pk}, content_type="application/json"
    )
    missing = c.post(
        "/api/admin/banks/987654/operators", {"user_id": staff.pk}, content_type="application/json"
    )
    assert r.status_code == missing.status_code == 404
    assert c.get(f"/api/admin/banks/{theirs.pk}/operators").status_code == 404
    r = client(officer).post(
        f"/api/admin/banks/{mine.pk}/operators", {"user_id": staff.pk}, content_type="application/json"
    )
    assert r.status_code == 403
    # a leader of the other county can neither see nor withdraw it
    assert client(leader_b).delete(f"/api/admin/memberships/{m.pk}").status_code == 404
    assert seq() == before and Membership.objects.filter(role=Role.BANK_OPERATOR).count() == 1
    r = c.delete(f"/api/admin/memberships/{m.pk}")
    assert r.status_code == 200 and r.json()["active"] is False
    # the platform admin grants for any bank: the operator's token reaches the other
    # county's bank files, until the membership is withdrawn
    assert bank_api.get(f"/api/funds/banks/{theirs.pk}/instructions").status_code == 404
    r = client(admin).post(
        f"/api/admin/banks/{theirs.pk}/operators", {"user_id": staff.pk}, content_type="application/json"
    )
    assert r.status_code == 201
    assert bank_api.get(f"/api/funds/banks/{theirs.pk}/instructions").status_code == 200
    assert client(admin).delete(f"/api/admin/memberships/{r.json()['id']}").status_code == 200
    assert bank_api.get(f"/api/funds/banks/{theirs.pk}/instructions").status_code == 404  # the next request


def test_granting_a_bank_operator_checks_the_banks_division_in_the_service(leader, staff):
    """Whatever calls it, membership_grant refuses a leader a bank outside their prefixes."""
    from qinglang.funds.services import bank_create

    theirs, _ = bank_create(actor=ROOT, code="B012", name="锦江银行", division_code=OTHER_COUNTY)
    with pytest.raises(PermissionDeniedError, match="银行不在本人管辖范围内"):
        membership_grant(actor=leader, user=staff, role=Role.BANK_OPERATOR, bank_id=theirs.pk)
    with pytest.raises(PermissionDeniedError, match="银行不在本人管辖范围内"):
        membership_grant(actor=leader, user=staff, role=Role.BANK_OPERATOR, bank_id=987654)
    assert not staff.memberships.filter(role=Role.BANK_OPERATOR).exists()


# --- one's own API tokens -------------------------------------------------------------------


def test_my_tokens_page_creates_shows_once_lists_and_revokes_through_the_services(county):
    from qinglang.testing import make_institution

    inst = make_institution(division_code=TOWNSHIP)
    org_admin = make_user(Role.INSTITUTION_ADMIN, institution_id=inst.pk)
    c = client(org_admin)
    assert c.get("/tokens/").status_code == 200
    r = c.post("/tokens/", {"name": "机构管理系统", "scope": "read"}, follow=True)
    page = r.content.decode()
    tok = ApiToken.objects.get(user=org_admin)
    plain = page.split('id="token-value">')[1].split("<")[0]
    assert "令牌仅显示这一次" in page and plain.startswith(tok.prefix) and tok.scope == TokenScope.READ
    assert AuditEvent.objects.filter(action="api_token.create", object_id=str(tok.pk)).exists()
    again = c.get("/tokens/").content.decode()
    assert "机构管理系统" in again and plain not in again  # listed, never shown again
    api = Client(HTTP_AUTHORIZATION=f"Bearer {plain}")
    assert api.get("/api/accounts/me").status_code == 200
    assert api.post("/api/registry/institutions", {}, content_type="application/json").status_code == 403
    # bad input: no name, an unknown scope — nothing created
    r = c.post("/tokens/", {"name": "", "scope": "all"})
    errors = r.content.decode()
    assert r.status_code == 200 and "这个字段是必填项" in errors and "选择一个有效的选项" in errors
    assert ApiToken.objects.filter(user=org_admin).count() == 1
    # another user's token is not found and stays valid; one's own is revoked at once
    other = make_user(Role.BANK_OPERATOR, bank_id=1)
    foreign, _foreign_plain = api_token_create(actor=other, user=other, name="银行系统")
    before = seq()
    assert c.post(f"/tokens/{foreign.pk}/revoke/").status_code == 404
    assert seq() == before and ApiToken.objects.get(pk=foreign.pk).revoked_at is None
    assert c.post(f"/tokens/{tok.pk}/revoke/").status_code == 302
    assert api.get("/api/accounts/me").status_code == 401  # the next request
    assert AuditEvent.objects.filter(action="api_token.revoke", object_id=str(tok.pk)).exists()


def test_roles_that_may_not_hold_tokens_are_refused_the_page_and_the_service(county):
    from qinglang.testing import make_institution

    inst = make_institution(division_code=TOWNSHIP)
    for role, kw in ((Role.PARENT, {}), (Role.INSTITUTION_STAFF, {"institution_id": inst.pk})):
        u = make_user(role, **kw)
        assert client(u).get("/tokens/").status_code == 403
        assert client(u).post("/tokens/", {"name": "x", "scope": "read"}).status_code == 403
        with pytest.raises(PermissionDeniedError, match="不能持有接口令牌"):
            api_token_create(actor=u, user=u, name="自建")
        assert not ApiToken.objects.filter(user=u).exists()
    officer = make_user(Role.REGULATOR_OFFICER, prefixes=[DEMO_COUNTY])
    assert client(officer).post("/tokens/", {"name": "热线系统", "scope": "read_write"}).status_code == 302
    assert ApiToken.objects.filter(user=officer, scope="read_write").exists()


# --- English -------------------------------------------------------------------------------

ENGLISH_TEMPLATES = [
    "qinglang/portal/templates/portal/admin",
    "qinglang/portal/templates/portal/tokens",
    "qinglang/accounts/templates/accounts",
]


def _template_msgids():
    """Every {% trans "…" %} and {% blocktrans %}…{% endblocktrans %} of the administration,
    token and account templates, as the catalogue keys them."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[3]
    out = []
    for folder in ENGLISH_TEMPLATES:
        for f in sorted((root / folder).glob("*.html")):
            text = f.read_text(encoding="utf-8")
            out += [(f.name, m) for m in re.findall(r'{%\s*trans\s+"([^"]+)"', text)]
            for body in re.findall(r"{%\s*blocktrans[^%]*%}(.*?){%\s*endblocktrans\s*%}", text, re.S):
                singular = re.split(r"{%\s*plural\s*%}", body)[0]
                out.append((f.name, re.sub(r"{{\s*(\w+)\s*}}", r"%(\1)s", singular)))
    return out


def test_every_administration_and_account_template_string_has_english():
    from django.utils import translation

    msgids = _template_msgids()
    assert len(msgids) > 80 and any("%(n)s" in m for _, m in msgids)  # blocktrans sentences are in
    with translation.override("en"):
        missing = [(f, m) for f, m in msgids if translation.gettext(m) == m]
    assert not missing, missing


def test_administration_pages_speak_english_when_asked(leader, staff):
    c = client(leader)
    c.cookies["django_language"] = "en"
    data = xlsx(STAFF_HEADER, [["王五", "12345", "监管人员", "", ""]])
    r = c.post(
        "/console/admin/users/import/",
        {"county": DEMO_COUNTY, "file": SimpleUploadedFile("s.xlsx", data)},
    )
    assert "Not imported: 1 error was found and nothing was imported." in r.content.decode()
    r = c.post(f"/console/admin/users/{staff.pk}/action/", {"op": "nonsense"}, follow=True)
    assert "Not done: unknown action" in r.content.decode()
    r = c.post("/tokens/", {"name": "热线系统", "scope": "read"}, follow=True)
    page = r.content.decode()
    assert "My API tokens" in page and "It is shown only this once" in page
