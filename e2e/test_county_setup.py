"""Must show (county set-up): from a database with nothing but the reference data, a new
county runs through the product alone — ``qinglang setup`` for a place not in the bundled
division data with 8 townships; the first administrator appoints a leader; the leader
(first login: own password) creates officers and a grid worker from an .xlsx; an officer
imports the institution ledger and a hotline file; a clue about an unregistered operator
reaches that township's government."""

from datetime import date, datetime, timedelta
from io import BytesIO, StringIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client
from openpyxl import Workbook

from qinglang.accounts.models import Membership, Role, User
from qinglang.core.models import AuditEvent, Department, DepartmentKind, Division

pytestmark = pytest.mark.django_db(transaction=False)

COUNTY = "469099"  # not in the bundled GB/T 2260 data
TOWNSHIPS = [
    ("469099100", "城关镇"),
    ("469099101", "河西街道"),
    ("469099102", "南山镇"),
    ("469099103", "北岭镇"),
    ("469099104", "东湖乡"),
    ("469099105", "西坝镇"),
    ("469099106", "青石乡"),
    ("469099107", "白沙镇"),
]
PASSWORD = "Qinglang-first-2026"


def xlsx(header: list[str], rows: list[list]) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.append(header)
    for r in rows:
        ws.append(r)
    buf = BytesIO()
    wb.save(buf)
    return buf.getvalue()


def login(username: str, password: str) -> Client:
    c = Client()
    r = c.post("/accounts/login/", {"username": username, "password": password})
    assert r.status_code == 302, r.content.decode()[:500]
    return c


def first_login(username: str, initial: str) -> Client:
    """Log in with the initial password: everything redirects to the change form until a
    new password is set."""
    c = login(username, initial)
    r = c.get("/home/")
    assert r.status_code == 302 and r["Location"] == "/accounts/password/"
    api = c.get("/api/accounts/me")
    assert api.status_code == 403 and api.json()["code"] == "password_change_required"
    new = f"{username}-Own-pass-2026"
    r = c.post("/accounts/password/", {"old_password": initial, "new_password1": new, "new_password2": new})
    assert r.status_code == 302, r.content.decode()[:800]
    assert not User.objects.get(username=username).must_change_password
    return c


def test_a_new_county_from_setup_to_a_routed_clue(tmp_path, settings):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    assert not User.objects.exists() and not Division.objects.filter(code=COUNTY).exists()

    # 1. qinglang setup: the county (not in the bundled data), 8 townships from the template,
    #    a community given one by one, departments, the first administrator (password file)
    divisions = tmp_path / "乡镇社区.xlsx"
    divisions.write_bytes(xlsx(["区划代码", "名称"], [list(t) for t in TOWNSHIPS]))
    pw = tmp_path / "admin-password"
    pw.write_text(PASSWORD + "\n")
    out = StringIO()
    args = ["--county", COUNTY, "--name", "示范县", "--divisions", str(divisions)]
    call_command(
        "setup",
        *args,
        "--community",
        "469099100001=东街社区居民委员会",
        "--admin-password-file",
        str(pw),
        "--no-migrate",
        stdout=out,
    )
    assert "新设县级区划：469099" in out.getvalue()
    county = Division.objects.get(code=COUNTY)
    assert county.full_name.endswith("示范县") and county.parent_id == "4690"
    assert Division.objects.filter(code__startswith=COUNTY, level=4).count() == 8
    assert Division.objects.get(code="469099100001").name == "东街社区居民委员会"
    kinds = set(Department.objects.filter(division=county).values_list("kind", flat=True))
    assert kinds == set(DepartmentKind.values) - {DepartmentKind.TOWNSHIP_GOVERNMENT}
    govs = Department.objects.filter(
        division__code__startswith=COUNTY, kind=DepartmentKind.TOWNSHIP_GOVERNMENT
    )
    assert {g.division_id for g in govs} == {c for c, _ in TOWNSHIPS}
    assert Department.objects.get(division_id="469099101").name == "河西街道办事处"
    assert AuditEvent.objects.filter(action="setup.run").count() == 1

    # re-running changes nothing (one township renamed in the file: only that changes)
    before = Division.objects.filter(code__startswith=COUNTY).count(), Department.objects.count()
    divisions.write_bytes(
        xlsx(["区划代码", "名称"], [list(t) for t in TOWNSHIPS[:-1]] + [["469099107", "白沙镇(新)"]])
    )
    out = StringIO()
    call_command("setup", *args, "--admin-password-file", str(pw), "--no-migrate", stdout=out)
    assert "新增0个，更新1个" in out.getvalue() and "已有 admin" in out.getvalue()
    assert (Division.objects.filter(code__startswith=COUNTY).count(), Department.objects.count()) == before
    assert Division.objects.get(code="469099107").name == "白沙镇(新)"

    # 2. the administrator appoints the county's leader through the API
    admin = login("admin", PASSWORD)
    r = admin.post(
        "/api/admin/users",
        {
            "display_name": "王局长",
            "phone": "13900000001",
            "role": Role.REGULATOR_LEADER,
            "division_code": COUNTY,
        },
        content_type="application/json",
    )
    assert r.status_code == 201, r.content
    leader_initial = r.json()["initial_password"]
    assert r.json()["user"]["must_change_password"] is True

    # 3. the leader's first login, then officers and a grid worker from an .xlsx
    leader = first_login("13900000001", leader_initial)
    staff = xlsx(
        ["姓名", "手机号码", "角色", "部门", "乡镇(街道)"],
        [
            ["李明", "13900000011", "监管人员", "教育局", ""],
            ["赵强", "13900000012", "监管人员", "市场监督管理局", ""],
            ["陈红", "13900000013", "网格员", "", "南山镇"],
        ],
    )
    r = leader.post(
        "/console/admin/users/import/",
        {"county": COUNTY, "file": SimpleUploadedFile("staff.xlsx", staff)},
    )
    assert r.status_code == 302, r.content.decode()[:2000]
    page = leader.get(r["Location"]).content.decode()
    assert "已创建3个账号" in page and "初始密码仅显示这一次" in page
    grid = User.objects.get(username="13900000013")
    assert grid.memberships.get().division_prefixes == ["469099102"]
    assert grid.memberships.get().role == Role.GRID_WORKER
    officer_user = User.objects.get(username="13900000011")
    m = officer_user.memberships.get()
    assert (m.role, m.division_prefixes, m.department_kind) == (Role.REGULATOR_OFFICER, [COUNTY], "education")
    # the passwords were shown once on that page; the leader hands one over
    officer_initial = page.split('13900000011</td><td>李明</td><td><code class="initial-password">')[1].split(
        "<"
    )[0]

    # 4. the officer imports the institution ledger (a township named as officials write it)
    officer = first_login("13900000011", officer_initial)
    from qinglang.testing import valid_uscc

    next_year = date.today() + timedelta(days=365)
    header = ["机构名称", "统一社会信用代码", "法定代表人", "类别", "培训类型", "办学许可证号"]
    header += ["营业执照或登记证号", "地址", "所属乡镇(街道)", "联系电话", "学段", "许可证有效期至"]
    ledger = xlsx(
        header,
        [
            [
                "示范县育才艺术培训中心",
                valid_uscc(770001),
                "刘一",
                "非学科类",
                "文化艺术类",
                "教民1469099000001",
                valid_uscc(770001),
                "城关镇人民路1号",
                "城关镇",
                "13800000001",
                "小学",
                next_year,
            ],
            [
                "示范县健体体育培训中心",
                valid_uscc(770002),
                "刘二",
                "非学科类",
                "体育类",
                "教民1469099000002",
                valid_uscc(770002),
                "河西街道滨江路2号",
                "469099101",
                "13800000002",
                "小学、初中",
                next_year,
            ],
        ],
    )
    r = officer.post("/console/import/", {"file": SimpleUploadedFile("台账.xlsx", ledger)})
    assert r.status_code == 200 and "导入成功：共登记 2 家机构" in r.content.decode(), (
        r.content.decode().partition("<main")[2][:3000]
    )

    # 5. a hotline file: one order about an operator in no register, in 南山镇
    now = datetime.now().strftime("%Y-%m-%d %H:%M")
    orders = xlsx(
        ["工单编号", "受理时间", "诉求人", "联系电话", "诉求内容", "涉及机构", "事发地址", "所属区域"],
        [
            [
                "RX0001",
                now,
                "周女士",
                "13700000001",
                "小区里有人以托管名义给小学生上数学课，收费很高",
                "某某托管班",
                "南山镇幸福小区3栋",
                "南山镇",
            ]
        ],
    )
    from qinglang.clues.models import Clue

    # the officer picks the county (a division, not a typed code) and uploads the file
    picker = officer.get("/console/clues/import/").content.decode()
    assert f'value="{COUNTY}"' in picker
    r = officer.post(
        "/console/clues/import/", {"division_code": COUNTY, "file": SimpleUploadedFile("热线.xlsx", orders)}
    )
    page = r.content.decode()
    assert r.status_code == 200 and "共1行：新建线索1，合并0，跳过0，错误0。" in page, page.partition(
        "<main"
    )[2][:3000]
    clue = Clue.objects.get(operator_name="某某托管班")
    assert clue.suspected_unlicensed and clue.institution_id is None
    assert clue.division_code.startswith("469099102")
    gov = Department.objects.get(division_id="469099102", kind=DepartmentKind.TOWNSHIP_GOVERNMENT)
    assert clue.routings.filter(department=gov).exists(), list(
        clue.routings.values("department_kind", "department_id")
    )

    # the grid worker of 南山镇 sees the clue in their township; every step above is audited
    assert Membership.objects.filter(user=grid, active=True).exists()
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {
        "division.add",
        "division.import",
        "department.ensure",
        "user.create",
        "membership.grant",
    } <= actions
    assert {"user.change_password", "setup.run"} <= actions
