"""Small display helpers for portal templates."""

from django import template

from qinglang.core.division_names import full_name
from qinglang.core.money import format_yuan
from qinglang.core.states import machine_of

register = template.Library()

STATUS_BADGES = {
    "active": "success",
    "suspended": "warning",
    "stop_enrollment": "warning",
    "closed": "secondary",
    "banned": "dark",
    "runaway": "danger",
    "fully_licensed": "success",
    "permit_only": "warning",
    "license_only": "warning",
    "unlicensed": "danger",
    "pending": "warning",
    "submitted": "warning",
    "approved": "success",
    "rejected": "danger",
}


@register.filter
def yuan(fen):
    """Integer fen as yuan: 12345 -> ¥123.45. A missing figure (an account that is not
    open: the template variable resolves to "") shows as "—", never an error."""
    if fen is None or isinstance(fen, bool) or not isinstance(fen, int):
        return "—"
    return format_yuan(fen)


@register.filter
def rate(value):
    """A ratio as a percentage with one decimal: 0.935 -> 93.5%; none -> —."""
    if value is None or value == "":
        return "—"
    return f"{value * 100:.1f}%"


@register.filter
def pp_change(value):
    """A change in percentage points, signed: +1.5 / -2.0 / 0.0; none -> —."""
    if value is None or value == "":
        return "—"
    return f"{value:+.1f}"


@register.filter
def badge(value):
    """Bootstrap colour for a status value."""
    return STATUS_BADGES.get(str(value), "secondary")


@register.filter
def next_statuses(obj) -> list[str]:
    """The statuses ``obj`` may move to, from its model's state machine (core.states):
    ``{% if "approved" in m|next_statuses %}``."""
    return [v for v, _ in machine_of(obj).allowed(obj)]


@register.filter
def get_item(mapping, key):
    return mapping.get(key, "") if mapping else ""


@register.filter
def division_name(code):
    """'510107009' -> '四川省成都市武侯区晋阳街道' (``core.division_names``: kept per process,
    a rename shows on the next request)."""
    return full_name(code or "")


def _policy_labels() -> dict[str, str]:
    """Chinese names for the codes policy values hold (departments, routing roles, clue
    categories; and, as refusals read them, disclosure items, custody modes, refund
    destinations, release rules: ``core.policy.VALUE_LABELS``)."""
    from qinglang.clues.models import ClueCategory
    from qinglang.core.models import DepartmentKind
    from qinglang.core.policy import VALUE_LABELS

    return {
        **dict(DepartmentKind.choices),
        "sector": "行业主管部门",
        "township": "属地乡镇(街道)",
        **dict(ClueCategory.choices),
        **VALUE_LABELS,
    }


def _md(v: str) -> str:
    m, d = v.split("-")
    return f"{int(m)}月{int(d)}日"


@register.filter
def policy_value(value, key: str = ""):
    """A policy figure as a person reads it: money in yuan, durations with their unit,
    shares as percentages, dates as 月日, lists and maps as Chinese phrases."""
    key = key or ""
    if value is None:
        return "未设定(由地方规定)"
    if value is True:
        return "是"
    if value is False:
        return "否"
    labels = _policy_labels()
    if isinstance(value, dict):
        return "；".join(f"{labels.get(k, k)}：{policy_value(v, key)}" for k, v in value.items())
    if isinstance(value, list):
        if key.startswith("calendar.") and len(value) == 2:
            return f"{_md(value[0])}至{_md(value[1])}"
        if key == "fees.semester_starts":
            return "、".join(_md(v) for v in value)
        if key == "custody.staged_release":
            return "；".join(f"完成{a}/{b}课时拨付{c}%" for a, b, c in value)
        if key == "random_inspection.annual_share" and len(value) == 2:
            return f"{value[0] * 100:g}%～{value[1] * 100:g}%"
        if key == "risk.level_thresholds":
            return "；".join("、".join(str(x) for x in v) if isinstance(v, list) else str(v) for v in value)
        return "、".join(str(labels.get(str(v), str(v))) for v in value)
    if isinstance(value, str):
        return labels.get(value, value)
    if key.endswith("_fen") and isinstance(value, int):
        return format_yuan(value)
    units = (
        ("_days", "天"),
        ("_hours", "小时"),
        ("_months", "个月"),
        ("_sqm", "平方米"),
        ("_per_charge", "节"),
        ("_at_most", "节"),
    )
    if key.endswith("_ratio") or key.endswith("confidence"):
        return f"{value * 100:g}%"
    for suffix, unit in units:
        if key.endswith(suffix):
            return f"{value:g} {unit}" if isinstance(value, float) else f"{value} {unit}"
    return str(value)


@register.filter
def rule_cited(cite) -> str:
    """The rule a record cites (``{rule, value, set_by, basis}``) in words with its key;
    nothing for a record that cites none (``core.policy.cited_stated``)."""
    from qinglang.core.policy import cited_stated

    return cited_stated(cite) if isinstance(cite, dict) and cite.get("rule") else ""


@register.filter
def department_names(kinds) -> str:
    """['education', 'market_regulation'] (or '|education|…|') -> '教育局、市场监督管理局'."""
    from qinglang.core.models import DepartmentKind

    if isinstance(kinds, str):
        kinds = [k for k in kinds.split("|") if k]
    labels = {**dict(DepartmentKind.choices), "sector": "行业主管部门", "township": "属地乡镇(街道)"}
    return "、".join(str(labels.get(k, k)) for k in kinds or [])


MATCH_METHODS = {"uscc": "按统一社会信用代码匹配", "name": "按名称匹配", "fuzzy": "按名称相近匹配"}


@register.simple_tag
def match_label(method, score=None) -> str:
    """How a clue found its institution, in words: '按名称相近匹配，相似度 92%'."""
    label = MATCH_METHODS.get(method or "", "")
    if not label:
        return ""
    if method != "uscc" and isinstance(score, (int, float)):
        pct = score if score > 1 else score * 100
        return f"{label}，相似度 {pct:.0f}%"
    return label


SYSTEM_ACTORS = {"demo": "演示数据", "seed_demo": "演示数据"}


@register.filter
def actor_name(label) -> str:
    """An audit actor as a person reads it: 'system:refund-deadline' -> '系统(refund-deadline 任务)';
    a username stays (histories pass the user's name where they have it)."""
    label = str(label or "")
    if label == "system" or label.startswith("system:"):
        name = label.partition(":")[2]
        return f"系统({SYSTEM_ACTORS.get(name, '自动任务')})" if name else "系统"
    return label


OBJECT_TYPES = {
    "registry.institution": "机构",
    "inspections.ledgeritem": "整改事项",  # events before the register was renamed
    "inspections.rectificationitem": "整改事项",
    "ledger": "整改事项",
    "clues.clue": "线索",
    "funds.order": "订单",
    "enforcement.penaltycase": "处罚案件",
}


@register.filter
def object_name(obj_type) -> str:
    """An audit object type in words ('registry.institution' -> '机构')."""
    t = str(obj_type or "")
    if t in OBJECT_TYPES:
        return OBJECT_TYPES[t]
    try:
        from django.apps import apps

        return str(apps.get_model(t)._meta.verbose_name)
    except (LookupError, ValueError):
        return t


ORIGIN_KINDS = {"ledger": "整改事项", "clue": "线索", "alert": "风险预警", "task": "检查任务"}


@register.filter
def origin_name(ref) -> str:
    """A case's source reference in words: 'ledger:12,13' -> '整改事项 #12、#13'."""
    kind, sep, ids = str(ref or "").partition(":")
    if not sep or kind not in ORIGIN_KINDS:
        return str(ref or "")
    return f"{ORIGIN_KINDS[kind]} " + "、".join(f"#{i}" for i in ids.split(",") if i)
