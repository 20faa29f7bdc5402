"""The order's contract (服务合同): the particulars of an order set into the structure of
the national 《中小学生校外培训服务合同(示范文本)》 (parties; training service; fees and
their custody; refunds; the parties' rights and duties; breach; dispute resolution;
other terms; signatures), produced as a .docx, and the parent's acceptance recorded with
its time and the digest of the particulars accepted."""

import hashlib
import io
import json
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from qinglang.accounts.permissions import is_system
from qinglang.core.audit import audit_record
from qinglang.core.errors import DomainError, PermissionDeniedError
from qinglang.core.i18n import chinese_display
from qinglang.core.money import format_yuan
from qinglang.core.policy import policy_resolve
from qinglang.registry.models import Licence, LicenceKind

from ..models import ContractAcceptance, Order, OrderStatus
from .common import lock_order
from .paying_in import paying_in

MODEL_TEXT = "《中小学生校外培训服务合同(示范文本)》(教育部、国家市场监督管理总局 2021年修订)"
CLOSED = {OrderStatus.CANCELLED, OrderStatus.REFUNDED}


@dataclass(frozen=True)
class Article:
    title: str
    lines: list[str]


def particulars(order: Order) -> dict[str, str]:
    """Everything of the order the contract states, as text (the digest is over this)."""
    inst = order.institution
    course = order.course
    permit = (
        Licence.objects.filter(institution_id=inst.pk, kind=LicenceKind.SCHOOL_PERMIT, revoked=False)
        .values_list("number", flat=True)
        .first()
    )
    pay = paying_in(order)
    parent = order.parent
    return {
        "order_id": str(order.pk),
        "parent": (parent.display_name or parent.username) if parent else "",
        "learner": order.learner_name,
        "institution": inst.name,
        "uscc": inst.uscc or "",
        "permit": permit or "",
        "legal_representative": inst.legal_representative,
        "address": inst.address,
        "contact_phone": inst.contact_phone,
        "course": course.name,
        "course_kind": chinese_display(course, "kind"),
        "stage": chinese_display(course, "stage"),
        "lesson_minutes": str(course.lesson_minutes),
        "class_size": str(course.class_size or ""),
        "lessons": str(order.lessons),
        "unit_price": format_yuan(order.unit_price_fen),
        "amount": format_yuan(order.amount_fen),
        "months": str(order.months),
        "starts_on": order.starts_on.isoformat(),
        "ends_on": order.ends_on.isoformat() if order.ends_on else "",
        "bank": pay.bank_name if pay else "",
        "account_name": pay.account_name if pay else "",
        "account_number": pay.account_number if pay else "",
        "reference": pay.reference if pay else "",
        "confirm_days": str(policy_resolve("lesson.parent_confirm_days", order.division_code).value),
        "refund_days": str(policy_resolve("refund.institution_response_days", order.division_code).value),
    }


def digest(p: dict[str, str]) -> str:
    return hashlib.sha256(json.dumps(p, ensure_ascii=False, sort_keys=True).encode()).hexdigest()


def articles(p: dict[str, str]) -> list[Article]:
    """The model contract's articles, filled in."""
    return [
        Article(
            "第一条 培训服务内容",
            [
                f"课程名称：{p['course']}(培训类型：{p['course_kind']}；学段：{p['stage']})",
                f"课时数：{p['lessons']} 课时，每课时 {p['lesson_minutes']} 分钟"
                + (f"；班额不超过 {p['class_size']} 人" if p["class_size"] else ""),
                f"开课日期：{p['starts_on']}；收费期截止：{p['ends_on']}",
                f"上课地点：{p['address'] or '以乙方公示的培训场所为准'}",
            ],
        ),
        Article(
            "第二条 培训收费",
            [
                f"课时单价：{p['unit_price']}；共 {p['lessons']} 课时，合计 {p['amount']}(人民币)。",
                f"收费时段：{p['months']} 个月。乙方不得一次性收取或以充值、次卡等形式收取超过 3 个月或 60 课时的费用，"
                "不得收取培训费以外的其他费用。",
            ],
        ),
        Article(
            "第三条 预收费资金监管",
            [
                f"甲方将培训费缴入乙方在托管银行开立的预收费监管账户：{p['bank']}，户名 {p['account_name']}，"
                f"账号 {p['account_number']}，缴费附言(缴费参考号) {p['reference']}。",
                "资金按“一课一消”拨付：每次消课后，该课时费用在甲方确认后拨付乙方；甲方在 "
                f"{p['confirm_days']} 个工作日内未确认亦未提出异议的，视为确认；甲方提出异议的，"
                "待监管部门处理后拨付或退回。",
            ],
        ),
        Article(
            "第四条 退费",
            [
                "甲方可申请退还未消课的培训费。乙方应在 "
                f"{p['refund_days']} 个工作日内答复，逾期未答复视为同意。",
                "退费从监管账户退回甲方的原支付账户；已消课部分按课时单价结算，乙方不得收取违约金以外的其他费用。",
                "乙方停业、关停或无法继续提供服务的，监管部门按比例从监管账户向学员清退剩余预收费。",
            ],
        ),
        Article(
            "第五条 甲方的权利和义务",
            [
                "甲方有权了解乙方的办学资质、收费标准、师资情况，有权对消课记录进行确认或提出异议。",
                "甲方应按约定缴费，督促学员遵守培训纪律。",
            ],
        ),
        Article(
            "第六条 乙方的权利和义务",
            [
                "乙方应按公示的课程、师资、时间和地点提供培训，不得超前超标培训，不得聘用不具备资格的人员。",
                "乙方应如实记录每次消课，并按规定向监管平台报送。",
            ],
        ),
        Article(
            "第七条 违约责任",
            ["任何一方违反本合同约定的，应承担相应违约责任；乙方擅自停课、卷款的，依法承担法律责任。"],
        ),
        Article(
            "第八条 争议处理",
            [
                "本合同履行中发生争议的，双方协商解决；协商不成的，可向乙方所在地教育行政部门或市场监督管理部门投诉，"
                "也可依法申请仲裁或向人民法院提起诉讼。",
            ],
        ),
        Article(
            "第九条 其他",
            [
                f"本合同依据{MODEL_TEXT}订立，订单号 {p['order_id']}。",
                "本合同自甲方在平台确认同意之时起生效，双方各执一份电子文本，具有同等效力。",
            ],
        ),
    ]


def contract_docx(order: Order) -> bytes:
    """The order's contract as a .docx."""
    from docx import Document
    from docx.oxml.ns import qn
    from docx.shared import Pt

    p = particulars(order)
    acceptance = ContractAcceptance.objects.filter(order_id=order.pk).first()
    doc = Document()
    normal = doc.styles["Normal"]
    normal.font.name = "SimSun"
    normal.font.size = Pt(11)
    normal.element.rPr.rFonts.set(qn("w:eastAsia"), "SimSun")
    doc.add_heading("中小学生校外培训服务合同", level=0)
    doc.add_paragraph(f"依据{MODEL_TEXT}　合同编号：QL-{order.pk}")
    doc.add_heading("合同双方", level=1)
    table = doc.add_table(rows=0, cols=2)
    table.style = "Table Grid"
    for label, value in [
        ("甲方(学员监护人)", p["parent"]),
        ("学员姓名", p["learner"]),
        ("乙方(培训机构)", p["institution"]),
        ("统一社会信用代码", p["uscc"]),
        ("办学许可证编号", p["permit"]),
        ("法定代表人", p["legal_representative"]),
        ("地址", p["address"]),
        ("联系电话", p["contact_phone"]),
    ]:
        cells = table.add_row().cells
        cells[0].text, cells[1].text = label, value or "—"
    for a in articles(p):
        doc.add_heading(a.title, level=1)
        for line in a.lines:
            doc.add_paragraph(line)
    doc.add_heading("签署", level=1)
    if acceptance is not None:
        at = timezone.localtime(acceptance.accepted_at)
        doc.add_paragraph(f"甲方：{p['parent']}　已于 {at:%Y-%m-%d %H:%M:%S} 在平台确认同意本合同")
        doc.add_paragraph(f"合同要素摘要(SHA-256)：{acceptance.contract_sha256}")
    else:
        doc.add_paragraph("甲方(签字)：______________　日期：____年__月__日")
    doc.add_paragraph(f"乙方(盖章)：{p['institution']}　日期：{order.created_at:%Y-%m-%d}")
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


def contract_accept(*, actor, order_id: int) -> tuple[ContractAcceptance, bool]:
    """The order's parent accepts its contract: the time and the digest of the
    particulars are kept. Accepting again returns the first acceptance (created=False)."""
    with transaction.atomic():
        order = lock_order(actor=actor, order_id=order_id, parent=True)
        if is_system(actor) or order.parent_id != actor.pk:
            raise PermissionDeniedError(_("合同由订单的家长本人签署"))
        prior = ContractAcceptance.objects.filter(order_id=order.pk).first()
        if prior is not None:
            return prior, False
        if order.status in CLOSED:
            raise DomainError(
                "order_closed", _("订单已取消或已退费，不能再签署合同"), {"status": order.status}, status=409
            )
        sha = digest(particulars(order))
        acc = ContractAcceptance.objects.create(
            order=order,
            institution_id=order.institution_id,
            accepted_by_id=actor.pk,
            accepted_at=timezone.now(),
            contract_sha256=sha,
            bank_id=order.bank_id,
            division_code=order.division_code,
        )
        audit_record(
            actor=actor,
            action="funds.contract_accept",
            obj=order,
            changes={"contract_sha256": sha, "accepted_at": acc.accepted_at.isoformat()},
        )
    return acc, True
