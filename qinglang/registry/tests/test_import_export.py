"""Import of institutions from an official's .xlsx ledger, and export of lists to .xlsx."""

import inspect
import zipfile
from datetime import date, timedelta
from io import BytesIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from openpyxl import Workbook, load_workbook

from qinglang.core.errors import PermissionDeniedError
from qinglang.core.models import AuditEvent
from qinglang.registry import services, xlsx
from qinglang.registry.models import Institution, Licence, LicenceKind, LicenceStatus
from qinglang.registry.selectors import InstitutionFilter, institution_list
from qinglang.testing import OTHER_COUNTY, make_institution, make_user, valid_uscc

HEADERS = [
    "机构名称",
    "统一社会信用代码",
    "法定代表人",
    "类别",
    "培训类型",
    "办学许可证号",
    "营业执照或登记证号",
    "地址",
    "所属乡镇(街道)",
    "联系电话",
    "性质",
    "学段",
    "许可证有效期至",
]
NEXT_YEAR = date.today() + timedelta(days=365)


def _row(n: int, **over) -> dict:
    row = {
        "机构名称": f"导入测试机构{n}",
        "统一社会信用代码": valid_uscc(900_000 + n),
        "法定代表人": "张三",
        "类别": "非学科类",
        "培训类型": "文化艺术类",
        "办学许可证号": f"教民151010770{n:05d}",
        "营业执照或登记证号": valid_uscc(900_000 + n),
        "地址": f"武侯区测试路{n}号",
        "所属乡镇(街道)": "浆洗街街道",
        "联系电话": "13800138000",
        "性质": "",
        "学段": "小学、初中",
        "许可证有效期至": NEXT_YEAR,
    }
    row.update(over)
    return row


def _xlsx(rows: list[dict], headers: list[str] = HEADERS, *, title_rows: int = 0) -> bytes:
    wb = Workbook()
    ws = wb.active
    for _ in range(title_rows):
        ws.append(["武侯区校外培训机构台账"])
    ws.append(headers)
    for r in rows:
        ws.append([r.get(h) for h in headers])
    out = BytesIO()
    wb.save(out)
    return out.getvalue()


def _import(actor, content: bytes, **kw):
    return services.institution_import_xlsx(actor=actor, file_obj=BytesIO(content), **kw)


def _valid_rows() -> list[dict]:
    return [
        _row(1, 类别="学科类", 培训类型="学科类", 性质="非营利性"),
        # numeric township code and a landline, as Excel often stores them
        _row(2, **{"所属乡镇(街道)": 510107004, "联系电话": "028-85551234"}),
        # 托管 without 培训类型, no permit, the township written with its county
        _row(
            3,
            类别="托管(小饭桌)",
            培训类型=None,
            办学许可证号=None,
            许可证有效期至=None,
            **{"所属乡镇(街道)": "武侯区玉林街道"},
        ),
    ]


# --- import ---------------------------------------------------------------------------


def test_valid_file_creates_institutions_licences_and_audit(officer):
    before = AuditEvent.objects.count()
    result = _import(officer, _xlsx(_valid_rows(), title_rows=1))

    assert result.ok, result.errors
    assert result.created == 3
    insts = {i.name: i for i in Institution.objects.all()}
    assert set(insts) == {"导入测试机构1", "导入测试机构2", "导入测试机构3"}

    subject = insts["导入测试机构1"]
    assert (subject.category, subject.kind, subject.nature) == ("subject", "subject", "non_profit")
    assert subject.division_code == "510107001"
    assert subject.stages == "primary,junior"
    assert subject.licence_status == LicenceStatus.FULLY_LICENSED
    assert set(subject.licences.values_list("kind", flat=True)) == {
        LicenceKind.SCHOOL_PERMIT,
        LicenceKind.NONPROFIT_REGISTRATION,
    }
    assert subject.licences.get(kind=LicenceKind.SCHOOL_PERMIT).valid_until == NEXT_YEAR

    arts = insts["导入测试机构2"]
    assert arts.division_code == "510107004"
    assert arts.contact_phone == "028-85551234"
    assert arts.licences.filter(kind=LicenceKind.BUSINESS_LICENSE).exists()

    care = insts["导入测试机构3"]
    assert (care.category, care.kind, care.division_code) == ("meal_care", "meal_care", "510107005")
    assert care.licence_status == LicenceStatus.LICENSE_ONLY
    assert Licence.objects.count() == 5

    events = AuditEvent.objects.filter(seq__gt=before)
    actions = list(events.values_list("action", flat=True))
    assert actions.count("institution.create") == 3
    assert actions.count("licence.set") == 5
    assert actions.count("institution.import") == 1
    registry_events = events.exclude(action="department.ensure")  # first registration in the county
    assert set(registry_events.values_list("actor_id", flat=True)) == {officer.pk}


def test_partly_wrong_file_writes_nothing_and_reports_every_bad_row(officer):
    before = AuditEvent.objects.count()
    rows = [
        _row(1),
        _row(2, 统一社会信用代码="91510107MA12345678"),  # wrong check character
        _row(3, **{"所属乡镇(街道)": "不存在街道"}),
        _row(4, 统一社会信用代码=valid_uscc(900_001)),  # same code as row 2 of the sheet
        _row(5, 类别="学科类", 培训类型="体育类", 联系电话="12345"),
    ]
    result = _import(officer, _xlsx(rows))

    assert not result.ok
    assert result.created == 0
    got = {(e.row, e.column) for e in result.errors}
    assert got == {
        (3, "统一社会信用代码"),
        (4, "所属乡镇(街道)"),
        (5, "统一社会信用代码"),
        (6, "培训类型"),
        (6, "联系电话"),
    }
    by_row = {e.row: e.message for e in result.errors}
    assert "无效" in by_row[3]
    assert "未知的乡镇(街道)" in by_row[4]
    assert "与第2行" in by_row[5]
    assert "不符" in next(e.message for e in result.errors if e.column == "培训类型")
    assert Institution.objects.count() == 0
    assert Licence.objects.count() == 0
    assert AuditEvent.objects.count() == before
    assert "未写入任何数据" in result.message


def test_credit_code_already_registered_is_a_row_error(officer):
    existing = make_institution(officer)
    result = _import(officer, _xlsx([_row(1), _row(2, 统一社会信用代码=existing.uscc)]))
    assert [(e.row, e.column) for e in result.errors] == [(3, "统一社会信用代码")]
    assert "已登记" in result.errors[0].message
    assert Institution.objects.count() == 1


def test_every_problem_of_a_row_is_reported_at_once(officer):
    rows = [
        _row(1),
        _row(2, 统一社会信用代码=valid_uscc(900_001), 联系电话="abc", **{"所属乡镇(街道)": "510107"}),
    ]
    result = _import(officer, _xlsx(rows))
    assert {(e.row, e.column) for e in result.errors} == {
        (3, "统一社会信用代码"),
        (3, "联系电话"),
        (3, "所属乡镇(街道)"),
    }
    assert "9位" in next(e.message for e in result.errors if e.column == "所属乡镇(街道)")


def test_required_values_and_choices_are_checked(officer):
    rows = [
        _row(1, 机构名称="", 地址=None),
        _row(2, 类别="培训类", 性质="公益", 学段="大学"),
        _row(3, 培训类型=None),  # 非学科类 needs a kind
        _row(4, 办学许可证号="", 许可证有效期至=NEXT_YEAR),
    ]
    result = _import(officer, _xlsx(rows))
    got = {(e.row, e.column) for e in result.errors}
    assert {(2, "机构名称"), (2, "地址")} <= got
    assert {(3, "类别"), (3, "性质"), (3, "学段")} <= got
    assert (4, "培训类型") in got
    assert (5, "办学许可证号") in got
    assert Institution.objects.count() == 0


@pytest.mark.parametrize(
    "content, expected",
    [
        (b"this is not a spreadsheet", "不是有效的 Excel"),
        (b"", "为空"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, ".xls"),
        (b"PK\x03\x04 broken zip", "不是有效的 Excel"),
    ],
)
def test_malformed_files_are_refused(officer, content, expected):
    result = _import(officer, content)
    assert not result.ok
    assert len(result.errors) == 1
    assert expected in result.errors[0].message
    assert Institution.objects.count() == 0


def test_file_expanding_too_far_is_refused(officer, monkeypatch):
    monkeypatch.setattr(xlsx, "MAX_UNZIPPED_BYTES", 1000)
    result = _import(officer, _xlsx([_row(1)]))
    assert not result.ok and "过大" in result.errors[0].message


def test_missing_required_column_is_refused(officer):
    headers = [h for h in HEADERS if h != "所属乡镇(街道)"]
    result = _import(officer, _xlsx([_row(1)], headers))
    assert not result.ok
    assert [(e.row, e.column) for e in result.errors] == [(1, "所属乡镇(街道)")]
    assert "缺少必需的列" in result.errors[0].message
    assert Institution.objects.count() == 0


def test_header_only_file_is_refused(officer):
    result = _import(officer, _xlsx([]))
    assert not result.ok and "没有数据行" in result.errors[0].message


def test_too_many_rows_is_refused(officer):
    assert xlsx.MAX_ROWS == 10_000
    assert inspect.signature(services.institution_import_xlsx).parameters["max_rows"].default == 10_000
    # the cap itself, on a small file (10,001 real rows take seconds to build and parse)
    result = _import(officer, _xlsx([_row(n) for n in range(1, 5)]), max_rows=3)
    assert not result.ok
    assert "超过3行" in result.errors[0].message
    assert Institution.objects.count() == 0
    assert _import(officer, _xlsx([_row(n) for n in range(1, 4)]), max_rows=3).ok


def test_regulator_of_another_county_cannot_import_into_this_county(db):
    other = make_user("regulator_officer", prefixes=[OTHER_COUNTY])
    rows = [_row(1), _row(2, **{"所属乡镇(街道)": "510107004"})]
    result = _import(other, _xlsx(rows))
    assert not result.ok
    assert [(e.row, e.column) for e in result.errors] == [(2, "所属乡镇(街道)"), (3, "所属乡镇(街道)")]
    assert all("不在您的管辖范围内" in e.message for e in result.errors)
    assert Institution.objects.count() == 0


def test_users_who_may_not_register_are_refused(db):
    inst = make_institution()
    for user in (
        make_user("institution_admin", institution_id=inst.pk),
        make_user("inspector"),
    ):
        with pytest.raises(PermissionDeniedError):
            _import(user, _xlsx([_row(1)]))


def test_township_name_ambiguous_within_scope_asks_for_code(db):
    from qinglang.core.models import Division, DivisionLevel

    # a second 浆洗街街道 in another county of the same city
    Division.objects.create(
        code="510104999", name="浆洗街街道", level=DivisionLevel.TOWNSHIP, parent_id="510104"
    )
    city = make_user("regulator_officer", prefixes=["5101"])
    result = _import(city, _xlsx([_row(1), _row(2, **{"所属乡镇(街道)": "510107001 浆洗街街道"})]))
    assert [(e.row, e.column) for e in result.errors] == [(2, "所属乡镇(街道)")]
    assert "9位区划代码" in result.errors[0].message


def test_template_round_trips(officer):
    content = xlsx.institution_template_xlsx(townships=services.import_township_choices(actor=officer))
    wb = load_workbook(BytesIO(content))
    assert wb.sheetnames[:2] == ["培训机构", "填写说明"]
    ws = wb["培训机构"]
    headers = [c.value for c in ws[1]]
    assert headers == [c.header for c in xlsx.IMPORT_COLUMNS]
    validated = " ".join(str(dv.sqref) for dv in ws.data_validations.dataValidation)
    col = {h: i for i, h in enumerate(headers)}
    from openpyxl.utils import get_column_letter

    for header in ("类别", "培训类型", "所属乡镇(街道)"):
        assert f"{get_column_letter(col[header] + 1)}2:" in validated
    assert "浆洗街街道" in [c.value for c in wb["乡镇列表"]["A"]]
    assert ws.column_dimensions[get_column_letter(col["统一社会信用代码"] + 1)].number_format == "@"
    help_text = " ".join(str(c.value) for row in wb["填写说明"].iter_rows() for c in row if c.value)
    assert "文化艺术类" in help_text and "所属乡镇(街道)" in help_text

    for n, r in enumerate(_valid_rows(), start=2):
        for h, v in r.items():
            if h in col:
                ws.cell(row=n, column=col[h] + 1, value=v)
    out = BytesIO()
    wb.save(out)
    result = _import(officer, out.getvalue())
    assert result.ok, result.errors
    assert result.created == 3


# --- export ---------------------------------------------------------------------------


def _read(content: bytes) -> list[dict]:
    wb = load_workbook(BytesIO(content), read_only=True)
    rows = list(wb.active.iter_rows(values_only=True))
    return [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]


def test_export_contains_exactly_the_filtered_scoped_rows(officer, admin):
    subject = make_institution(admin, category="subject", kind="subject")
    arts = make_institution(admin)
    make_institution(admin, division_code=OTHER_COUNTY, category="subject", kind="subject")

    qs = institution_list(actor=officer, filters=InstitutionFilter(category="subject"))
    rows = _read(xlsx.institutions_to_xlsx(qs))
    assert [r["机构名称"] for r in rows] == [subject.name]
    r = rows[0]
    assert r["类别"] == "学科类" and r["培训类型"] == "学科类"
    assert r["所属乡镇(街道)"] == "浆洗街街道"
    assert r["所属区划代码"] == "510107001"
    assert r["办学许可证号"] == subject.licences.get(kind="school_permit").number
    assert r["营业执照或登记证号"] == subject.licences.get(kind="nonprofit_registration").number
    assert r["证照状态"] == "证照齐全" and r["办学状态"] == "正常办学"
    assert r["统一社会信用代码"] == subject.uscc

    everything = _read(xlsx.institutions_to_xlsx(institution_list(actor=officer)))
    assert {x["机构名称"] for x in everything} == {subject.name, arts.name}


def test_export_never_writes_formulas(admin):
    make_institution(admin, name='=HYPERLINK("http://evil.example","点我")')
    content = xlsx.institutions_to_xlsx(institution_list(actor=admin))
    with zipfile.ZipFile(BytesIO(content)) as z:
        sheet_xml = "".join(z.read(n).decode() for n in z.namelist() if n.startswith("xl/worksheets/"))
    assert "<f>" not in sheet_xml
    assert _read(content)[0]["机构名称"].startswith("=HYPERLINK")


def test_exported_file_reimports_after_removing_duplicates(officer, admin):
    """An export is a valid import file (same headers): moved to a fresh database it imports."""
    make_institution(admin, category="subject", kind="subject", legal_representative="李四")
    content = xlsx.institutions_to_xlsx(institution_list(actor=officer))
    Institution.objects.all().delete()
    result = _import(officer, content)
    assert result.ok, result.errors
    assert result.created == 1


# --- API ------------------------------------------------------------------------------

API = "/api/registry/institutions"


def _client(user=None) -> Client:
    c = Client(enforce_csrf_checks=False)
    if user is not None:
        c.force_login(user)
    return c


def _upload(content: bytes, name: str = "机构.xlsx") -> dict:
    return {"file": SimpleUploadedFile(name, content, content_type=xlsx.XLSX_CONTENT_TYPE)}


def test_api_export_uses_list_filters_and_scope(officer, admin):
    subject = make_institution(admin, category="subject", kind="subject")
    make_institution(admin)
    make_institution(admin, division_code=OTHER_COUNTY, category="subject", kind="subject")
    resp = _client(officer).get(f"{API}/export.xlsx", {"category": "subject"})
    assert resp.status_code == 200
    assert resp["Content-Type"] == xlsx.XLSX_CONTENT_TYPE
    assert "attachment" in resp["Content-Disposition"]
    assert [r["机构名称"] for r in _read(resp.content)] == [subject.name]
    # the institution detail route still works beside the literal paths
    assert _client(officer).get(f"{API}/{subject.pk}").status_code == 200


def test_every_export_is_audited_with_who_what_and_how_many(officer, admin):
    from qinglang.core.models import AuditEvent

    make_institution(admin, category="subject", kind="subject")
    make_institution(admin, category="subject", kind="subject")
    make_institution(admin)
    assert _client(officer).get(f"{API}/export.xlsx", {"category": "subject"}).status_code == 200
    e = AuditEvent.objects.filter(action="institution.export").get()
    assert e.actor_id == officer.pk
    assert e.changes == {"filters": {"category": "subject"}, "rows": 2}


def test_api_template(officer):
    resp = _client(officer).get(f"{API}/import-template.xlsx")
    assert resp.status_code == 200
    assert resp["Content-Type"] == xlsx.XLSX_CONTENT_TYPE
    assert load_workbook(BytesIO(resp.content)).sheetnames[:2] == ["培训机构", "填写说明"]


def test_api_import_success(officer):
    resp = _client(officer).post(f"{API}/import", _upload(_xlsx(_valid_rows())))
    assert resp.status_code == 200, resp.content
    assert resp.json() == {"created": 3, "errors": []}
    assert Institution.objects.count() == 3


def test_api_import_failure_is_422_with_every_error(officer):
    rows = [_row(1), _row(2, 统一社会信用代码="123")]
    resp = _client(officer).post(f"{API}/import", _upload(_xlsx(rows)))
    assert resp.status_code == 422
    body = resp.json()
    assert body["code"] == "import_failed"
    assert "未写入任何数据" in body["message"]
    assert body["detail"]["errors"] == [
        {"row": 3, "column": "统一社会信用代码", "message": "统一社会信用代码无效(位数或校验位不符)：123"}
    ]
    assert Institution.objects.count() == 0


def test_api_import_refuses_a_non_xlsx_file(officer):
    resp = _client(officer).post(f"{API}/import", _upload(b"name,uscc\n", name="list.csv"))
    assert resp.status_code == 422
    body = resp.json()
    assert body["code"] == "import_failed"
    assert "Excel" in body["message"]
    assert body["detail"]["errors"][0]["row"] == 0


def test_api_import_needs_login_and_a_registering_role(db):
    assert _client().post(f"{API}/import", _upload(_xlsx([_row(1)]))).status_code == 401
    assert _client().get(f"{API}/export.xlsx").status_code == 401
    inst = make_institution()
    staff = make_user("institution_admin", institution_id=inst.pk)
    resp = _client(staff).post(f"{API}/import", _upload(_xlsx([_row(1)])))
    assert resp.status_code == 403
    assert resp.json()["code"] == "forbidden"
    assert Institution.objects.count() == 1


def test_api_import_without_a_file_is_a_request_error(officer):
    resp = _client(officer).post(f"{API}/import", {})
    assert resp.status_code == 422
    assert resp.json()["code"] == "invalid_request"


def test_api_export_of_institution_user_shows_only_their_own(db):
    own = make_institution()
    make_institution()
    staff = make_user("institution_admin", institution_id=own.pk)
    resp = _client(staff).get(f"{API}/export.xlsx")
    assert resp.status_code == 200
    assert [r["机构名称"] for r in _read(resp.content)] == [own.name]
