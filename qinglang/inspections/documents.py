"""Official documents as .docx: the rectification notice (整改通知书) and the reminder and
supervision letters (提示函 / 督办函), in the official layout of ``core.documents``
(GB/T 9704: A4, margins, 仿宋_GB2312 三号 through ``eastAsia``, 发文字号, signature and
seal, date in Chinese, 送达回执). Each type is laid out once per process (``Prepared``)."""

from datetime import date
from functools import cache

from qinglang.core import documents as official
from qinglang.core.documents import Prepared, cn_date, ph
from qinglang.core.i18n import chinese_labels
from qinglang.core.models import DepartmentKind

NOTICE_SERIES = "校外整改"
LETTER_SERIES = {"reminder": "校外整改提", "supervision": "校外整改督"}


def department_names(kinds: list[str], place: str) -> list[str]:
    labels = chinese_labels(DepartmentKind)
    return [f"{place}{labels.get(k, k)}" for k in kinds]


def _ar_date(d: date) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


def _notice_layout():
    doc = official.new_document()
    official.add_mark(doc, f"{ph('place')}校外培训联合执法检查组", ph("number"))
    official.add_title(doc, "整改通知书")
    official.add_text(doc, "")
    official.add_addressee(doc, ph("institution"))
    official.add_text(
        doc,
        f"{ph('inspected_on')}，联合执法检查组对你单位({ph('address')})进行了检查，"
        "发现以下问题，现责令限期整改：",
    )
    official.add_table(
        doc, [("序号", "问题", "依据", "整改要求"), (ph("no"), ph("problem"), ph("basis"), ph("requirement"))]
    )
    official.add_text(
        doc,
        f"请你单位于{ph('deadline_on')}前(自收到本通知之日起{ph('deadline_days')}个工作日内)"
        "完成整改，并通过“清朗”平台机构端提交整改材料。逾期未整改的，将依次发出整改提示函、"
        "督办函，并依据《校外培训行政处罚暂行办法》立案查处。",
    )
    official.add_text(doc, f"执法人员：{ph('inspectors')}")
    official.add_signature(doc, [ph("issuer")], ph("date"))
    official.add_receipt(
        doc,
        document=f"《整改通知书》({ph('number')})",
        addressee=ph("institution"),
        address=ph("address"),
        servers=ph("inspectors"),
        issuer=ph("receipt_issuer"),
        date_text=ph("date"),
    )
    return doc


def _letter_layout():
    doc = official.new_document()
    official.add_mark(doc, f"{ph('place')}校外培训监管工作专班", ph("number"))
    official.add_title(doc, ph("kind_label"))
    official.add_text(doc, "")
    official.add_addressee(doc, ph("institution"))
    official.add_text(
        doc,
        f"你单位收到的《整改通知书》({ph('notice_number')})所列问题“{ph('item_title')}”，整改期限为"
        f"{ph('deadline_on')}，截至{ph('issued_on')}已逾期{ph('overdue_days')}个工作日仍未完成整改。",
    )
    official.add_text(doc, f"请立即落实整改并提交整改材料。{ph('next_step')}")
    official.add_signature(doc, [ph("issuer")], ph("date"))
    official.add_receipt(
        doc,
        document=f"《{ph('kind_label')}》({ph('number')})",
        addressee=ph("institution"),
        address=ph("address"),
        servers="",
        issuer=ph("receipt_issuer"),
        date_text=ph("date"),
    )
    return doc


@cache
def notice_template() -> Prepared:
    """The notice layout, prepared once per process."""
    return Prepared(_notice_layout, {"findings": ("w:tr", "no"), "issuers": ("w:p", "issuer")})


@cache
def letter_template() -> Prepared:
    return Prepared(_letter_layout, {"issuers": ("w:p", "issuer")})


def _inspectors_text(inspectors: list[tuple[str, str]]) -> str:
    return "、".join(f"{name}(执法证号：{cert or '未登记'})" for name, cert in inspectors) or "—"


def notice_docx(
    *,
    number: str,
    institution: str,
    address: str,
    place: str,
    inspected_on: date,
    findings: list[dict],
    deadline_days: int,
    deadline_on: date,
    issuers: list[str],
    issued_on: date,
    inspectors: list[tuple[str, str]] = (),
) -> bytes:
    """整改通知书. ``findings``: dicts with title, description, basis, requirement;
    ``inspectors``: (name, 执法证号) of the inspectors who served it."""
    return notice_template().render(
        {
            "place": place,
            "number": number,
            "institution": institution,
            "address": address,
            "inspected_on": _ar_date(inspected_on),
            "deadline_on": _ar_date(deadline_on),
            "deadline_days": deadline_days,
            "inspectors": _inspectors_text(list(inspectors)),
            "receipt_issuer": "、".join(issuers),
            "date": cn_date(issued_on),
        },
        {
            "findings": [
                {
                    "no": i,
                    "problem": f"{f['title']}：{f['description']}",
                    "basis": f["basis"],
                    "requirement": f["requirement"] or "按规定整改到位",
                }
                for i, f in enumerate(findings, 1)
            ],
            "issuers": [{"issuer": name} for name in issuers],
        },
    )


def letter_docx(
    *,
    kind_label: str,
    number: str,
    institution: str,
    place: str,
    notice_number: str,
    item_title: str,
    deadline_on: date,
    overdue_days: int,
    issuers: list[str],
    issued_on: date,
    next_step: str,
    address: str = "",
) -> bytes:
    """提示函 / 督办函 for one overdue rectification item."""
    return letter_template().render(
        {
            "kind_label": kind_label,
            "place": place,
            "number": number,
            "institution": institution,
            "address": address or "登记地址",
            "notice_number": notice_number,
            "item_title": item_title,
            "deadline_on": _ar_date(deadline_on),
            "issued_on": _ar_date(issued_on),
            "overdue_days": overdue_days,
            "next_step": next_step,
            "receipt_issuer": "、".join(issuers),
            "date": cn_date(issued_on),
        },
        {"issuers": [{"issuer": name} for name in issuers]},
    )
