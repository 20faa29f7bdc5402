"""The console's list exports: for each list, its columns (Chinese headers, names for
every code, money in yuan, local times), written by ``core.exports``. Views pass the same
scoped selector they list with; exports of more than ``SYNC_LIMIT`` rows run as background
jobs (``core.jobs``)."""

from qinglang.core.exports import Column, department, division, field

SYNC_LIMIT = 2000
MAX_ROWS = 200_000


def _name(path: str):
    """An attribute path (``institution.name``), '' where a link is missing."""

    def get(obj):
        for part in path.split("."):
            obj = getattr(obj, part, None)
            if obj is None:
                return ""
        return obj

    return get


CLUE_COLUMNS = [
    Column("编号", field("reference")),
    Column("所属区划", division(), width=30),
    Column("问题类别", field("category")),
    Column("状态", field("status")),
    Column("来源", field("first_channel")),
    Column("涉及机构", lambda c: c.institution.name if c.institution_id else c.operator_name, width=30),
    Column("举报次数", field("report_count"), "number"),
    Column("收到时间", field("received_at"), "time", width=18),
    Column("办结时限", field("resolve_due"), "date"),
    Column("来源编号", lambda c: " ".join(getattr(c, "source_ref_list", [])), width=24),
]

RECTIFICATION_COLUMNS = [
    Column("整改通知书文号", _name("notice.number"), width=28),
    Column("机构", _name("institution.name"), width=30),
    Column("所属区划", division(), width=30),
    Column("责任部门", department()),
    Column("问题", field("title"), width=30),
    Column("依据", field("basis"), width=30),
    Column("整改要求", field("requirement"), width=30),
    Column("整改期限", field("deadline_on"), "date"),
    Column("状态", field("status")),
    Column("逾期升级", field("escalation")),
    Column("机构联系人", field("contact_name")),
    Column("联系电话", field("contact_phone")),
    Column("更新时间", field("updated_at"), "time", width=18),
]

CASE_COLUMNS = [
    Column("案号", field("number"), width=28),
    Column("机构", _name("institution.name"), width=30),
    Column("所属区划", division(), width=30),
    Column("承办部门", department()),
    Column("案件类型", field("case_type"), width=20),
    Column("案件来源", field("origin")),
    Column("状态", field("status")),
    Column("立案日期", field("filed_on"), "date"),
    Column("违法所得(元)", field("illegal_gains_fen"), "yuan"),
    Column("已退还学员费用(元)", field("refunded_fen"), "yuan"),
]

ORDER_COLUMNS = [
    Column("订单号", field("pk"), "number"),
    Column("机构", _name("institution.name"), width=30),
    Column("所属区划", division(), width=30),
    Column("课程", _name("course.name"), width=24),
    Column("学员", field("learner_name")),
    Column("课时数", field("lessons"), "number"),
    Column("课时单价(元)", field("unit_price_fen"), "yuan"),
    Column("订单金额(元)", field("amount_fen"), "yuan"),
    Column("已缴(元)", field("paid_fen"), "yuan"),
    Column("已拨付(元)", field("released_fen"), "yuan"),
    Column("已退费(元)", field("refunded_fen"), "yuan"),
    Column("状态", field("status")),
    Column("开课日期", field("starts_on"), "date"),
    Column("下单时间", field("created_at"), "time", width=18),
]

ACCOUNT_COLUMNS = [
    Column("机构", _name("institution.name"), width=30),
    Column("所属区划", division(), width=30),
    Column("托管银行", _name("bank.name"), width=24),
    Column("监管方式", field("mode")),
    Column("户名", field("account_name"), width=24),
    Column("开户日期", field("opened_on"), "date"),
    Column("应缴保证金(元)", field("required_deposit_fen"), "yuan"),
    Column("已缴保证金(元)", field("deposit_held_fen"), "yuan"),
    Column("暂停拨付", field("releases_frozen")),
    Column("暂停原因", field("frozen_reason"), width=24),
]

DECLARATION_COLUMNS = [
    Column("机构", _name("institution.name"), width=30),
    Column("所属区划", division(), width=30),
    Column("申报周(周一)", field("week_start"), "date"),
    Column("申报预收费(元)", field("declared_fen"), "yuan"),
    Column("提交时间", field("submitted_at"), "time", width=18),
]

# name → (file name, sheet title, columns): the exports a background job may write
EXPORTS = {
    "clues": ("线索.xlsx", "线索", CLUE_COLUMNS),
    "rectifications": ("整改台账.xlsx", "整改台账", RECTIFICATION_COLUMNS),
    "cases": ("处罚案件.xlsx", "处罚案件", CASE_COLUMNS),
    "orders": ("订单.xlsx", "订单", ORDER_COLUMNS),
    "accounts": ("资金托管账户.xlsx", "托管账户", ACCOUNT_COLUMNS),
    "declarations": ("预收费申报.xlsx", "预收费申报", DECLARATION_COLUMNS),
}


def rows_for(name: str, actor, params) -> object:
    """The rows of export ``name`` for ``actor`` with the list's filters (``params``, the
    page's query string): the same scoped selectors and filters the list shows."""
    from datetime import date

    from django.utils import timezone

    from qinglang.clues import selectors as clues
    from qinglang.enforcement import selectors as enforcement
    from qinglang.enforcement.models import CaseStatus
    from qinglang.funds import selectors as funds
    from qinglang.funds.services.indicators import week_monday
    from qinglang.inspections import selectors as inspections
    from qinglang.inspections.models import RectificationStatus

    g = params
    if name == "clues":
        rows = list(
            clues.clue_list(
                actor=actor,
                status=g.get("status", ""),
                category=g.get("category", ""),
                q=g.get("q", "").strip(),
                overdue=g.get("overdue") == "1",
                triage=g.get("triage") == "1",
            ).select_related("institution")[:MAX_ROWS]
        )
        for i in range(0, len(rows), 2000):  # never any reporter field: only source references
            refs = clues.source_refs(c.pk for c in rows[i : i + 2000])
            for c in rows[i : i + 2000]:
                c.source_ref_list = refs.get(c.pk, [])
        return rows
    if name == "rectifications":
        status = g.get("status", "")
        return inspections.rectification_list(
            actor=actor,
            status=status if status in RectificationStatus.values else "",
            overdue_only=g.get("overdue") == "1",
        )
    if name == "cases":
        status = g.get("status", "")
        return enforcement.case_list(actor=actor, status=status if status in CaseStatus.values else "")
    if name == "orders":
        return funds.order_list(actor=actor).order_by("id")
    if name == "accounts":
        return funds.custody_institutions(actor=actor)
    if name == "declarations":
        try:
            day = date.fromisoformat(g.get("week", ""))
        except ValueError:
            day = timezone.localdate()
        return funds.declaration_list(actor=actor, week_start=week_monday(day))
    raise KeyError(name)
