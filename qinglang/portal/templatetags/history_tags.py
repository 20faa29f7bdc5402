"""Who acted, in every history a page shows: ``{% for t in transitions|with_actors %}``
sets ``t.actor_name`` on each row (one query for the whole list) — the person's name, or
a Chinese label for the platform's own jobs — and ``{{ e|actor_name }}`` does the same for
one audit event (``actor_label`` such as ``system:overdue-sweep``)."""

from django import template

from qinglang.accounts.models import User

register = template.Library()

SYSTEM = "系统自动处理"
SYSTEM_LABELS = {
    "clues.escalation": "系统(线索督办)",
    "clues.trends": "系统(线索趋势)",
    "clues.whistles": "系统(吹哨时限)",
    "deadline-reminders": "系统(期限提醒)",
    "demo": "系统(演示数据)",
    "seed_demo": "系统(演示数据)",
    "escalation": "系统(督办)",
    "indicators-refresh": "系统(指标计算)",
    "instructions": "系统(划转指令)",
    "lesson-confirm": "系统(逾期视为确认)",
    "notices": "系统(整改通知书)",
    "overdue-sweep": "系统(逾期整改巡检)",
    "receipts": "系统(电子凭证)",
    "reconciliation": "系统(银行对账)",
    "refund-deadline": "系统(退费逾期视为同意)",
    "registry": "系统(登记)",
    "risk-escalation": "系统(风险升级)",
    "risk-guardian": "系统(包保)",
    "risk-score": "系统(风险评分)",
    "setup": "系统(初始化)",
    "whitelist_sweep": "系统(白名单巡检)",
    "work-overdue": "系统(工作逾期提醒)",
}


def system_label(label: str) -> str:
    """``system:name`` (or ``bank:code``) as people read it."""
    if label.startswith("system:"):
        return SYSTEM_LABELS.get(label.removeprefix("system:"), SYSTEM)
    if label.startswith("bank:"):
        return "托管银行(系统对接)"
    return label


def _names(ids) -> dict[int, str]:
    return {
        pk: display or username
        for pk, display, username in User.objects.filter(pk__in=set(ids)).values_list(
            "pk", "display_name", "username"
        )
    }


@register.filter
def with_actors(rows):
    """The rows, each with ``actor_name`` (``actor_id`` NULL = the platform's own job)."""
    rows = list(rows)
    names = _names(getattr(r, "actor_id", None) for r in rows if getattr(r, "actor_id", None))
    for r in rows:
        aid = getattr(r, "actor_id", None)
        if aid:
            r.actor_name = names.get(aid, f"已注销用户{aid}")
        else:
            r.actor_name = system_label(getattr(r, "actor_label", "") or "") or SYSTEM
    return rows


@register.filter
def actor_name(event) -> str:
    """An audit event's actor: the user's name, else its label in Chinese."""
    if getattr(event, "actor_id", None):
        return _names([event.actor_id]).get(event.actor_id) or system_label(event.actor_label or "")
    return system_label(getattr(event, "actor_label", "") or "") or SYSTEM
