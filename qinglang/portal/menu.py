"""The menu: one registry of every page a person can reach from the header.

Each entry names its URL (``portal:<name>``), its Chinese label, the group it sits in and
who may use it — a predicate over the signed-in user built from the same helpers the
services use (``accounts.permissions``' role sets and ``has_role``), so the menu never offers what the page or its service will
refuse. ``base.html`` renders ``menu_for(request)`` (the ``menu`` context processor);
``portal/tests/test_menu.py`` opens every entry as every demo role.

Adding a page: append an ``Entry`` to ``ENTRIES`` (in its group's place) with the narrowest
predicate that is still true for everyone the page and its main action serve. Entries
needing URL arguments (an institution's own pages) give ``args``: a function of the actor
returning the arguments, or ``None`` to hide the entry.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.urls import get_script_prefix, reverse
from django.utils.translation import gettext_lazy as _

from qinglang.accounts.models import Role
from qinglang.accounts.permissions import (
    BANK_OPERATORS,
    CONSOLE,
    INSPECTORS,
    INSTITUTION_USERS,
    REGULATOR_WRITERS,
    REGULATORS,
    TOKEN_HOLDERS,
    has_role,
)
from qinglang.accounts.scope import actor_for
from qinglang.risk.selectors import may_see_board

Predicate = Callable[[object], bool]

LEADERS = frozenset({Role.REGULATOR_LEADER})


def _signed_in(user) -> bool:
    return bool(getattr(user, "is_authenticated", False))


def holds(roles) -> Predicate:
    """A signed-in user holding one of ``roles`` (the platform admin passes: ``has_role``).
    Pages behind ``role_required(CONSOLE)`` and services' ``require_role`` agree with this."""
    roles = frozenset(roles)

    def check(user) -> bool:
        return _signed_in(user) and has_role(user, roles)

    return check


def holds_exactly(roles) -> Predicate:
    """Holds one of ``roles`` itself (no platform-admin pass): the institution's and the
    bank's own pages (``role_required(INSTITUTION_USERS)``) are for their own users."""
    roles = frozenset(roles)

    def check(user) -> bool:
        return _signed_in(user) and bool(actor_for(user).roles & roles)

    return check


def parent(user) -> bool:
    return _signed_in(user) and actor_for(user).is_parent


def public(user) -> bool:
    """The public's own services (report, track): for visitors and parents, not for staff."""
    if not _signed_in(user):
        return True
    a = actor_for(user)
    return a.is_parent and not (a.is_platform_admin or a.regulator or a.institution_ids or a.bank_ids)


def anyone(user) -> bool:
    return True


def both(*preds: Predicate) -> Predicate:
    return lambda user: all(p(user) for p in preds)


def county_wide(user) -> bool:
    """A regulator scoped to a whole county or more: the county's ranking and daily report
    are county-wide reads of the user's own county (the platform admin, with no county of
    its own, opens them with ?division=)."""
    if not _signed_in(user):
        return False
    return any(len(p) <= 6 for ps, _d in actor_for(user).regulator for p in ps)


def reporting_unit(user) -> bool:
    """A regulator of a township, or of a county-level department: the units that submit
    the daily report (analytics.daily.units), decided from the memberships alone."""
    if not (_signed_in(user) and has_role(user, REGULATORS)):
        return False
    a = actor_for(user)
    return any(len(p) >= 9 or (len(p) == 6 and dept) for ps, dept in a.regulator for p in ps)


def administrator(user) -> bool:
    from qinglang.accounts.administration import may_administer_accounts

    return _signed_in(user) and may_administer_accounts(user)


def console_home(user) -> bool:
    a = actor_for(user) if _signed_in(user) else None
    return a is not None and (a.is_platform_admin or bool(a.regulator))


def own_institution(user):
    """The first institution of an institution user (its pages take its id)."""
    ids = sorted(actor_for(user).institution_ids)
    return (ids[0],) if ids else None


@dataclass(frozen=True)
class Group:
    key: str
    label: str


@dataclass(frozen=True)
class Entry:
    url: str  # URL name without the namespace: "clue_list"
    label: str
    group: str  # a Group.key
    allowed: Predicate
    args: Callable[[object], tuple | None] | None = None


GROUPS = [
    Group("home", _("工作台")),
    Group("institutions", _("机构")),
    Group("org", _("本机构")),
    Group("parent", _("家长服务")),
    Group("funds", _("资金")),
    Group("bank", _("托管银行")),
    Group("inspections", _("检查整改")),
    Group("clues", _("线索")),
    Group("enforcement", _("处罚")),
    Group("screening", _("隐形变异")),
    Group("risk", _("风险预警")),
    Group("analytics", _("指标")),
    Group("admin", _("系统管理")),
    Group("public", _("公示查询")),
    Group("me", _("我的")),
]

CONSOLE_READ = holds(CONSOLE)
MAY_WRITE = holds(REGULATOR_WRITERS)
INSPECTOR_ROLES = holds(INSPECTORS)
ORG = holds_exactly(INSTITUTION_USERS)

ENTRIES: list[Entry] = [
    # home (each end's to-do list)
    Entry("home", _("待办"), "home", console_home),
    Entry("org_home", _("待办"), "home", both(ORG, lambda u: not console_home(u))),
    Entry("parent_home", _("待办"), "home", both(parent, lambda u: not console_home(u))),
    Entry("bank_list", _("待办"), "home", both(holds_exactly(BANK_OPERATORS), lambda u: not console_home(u))),
    # institutions (registry)
    Entry("institution_list", _("机构管理"), "institutions", CONSOLE_READ),
    Entry("list_white", _("白名单"), "institutions", CONSOLE_READ),
    Entry("list_black", _("黑名单"), "institutions", CONSOLE_READ),
    Entry("applications", _("审批"), "institutions", MAY_WRITE),
    Entry("practice_bans", _("限制从业名单"), "institutions", MAY_WRITE),
    Entry("disclosure_gaps", _("公示缺项"), "institutions", MAY_WRITE),
    Entry("institution_import", _("批量导入"), "institutions", MAY_WRITE),
    Entry("policy", _("政策参数"), "institutions", holds(LEADERS)),
    # the institution's own end
    Entry("org_dashboard", _("机构概况"), "org", ORG, own_institution),
    Entry("org_funds", _("订单与消课"), "org", ORG, own_institution),
    Entry("org_refunds", _("退费申请"), "org", ORG, own_institution),
    Entry("org_rectification", _("整改通知"), "org", ORG),
    Entry("org_applications", _("审批申请"), "org", ORG, own_institution),
    Entry("org_disclosure", _("公示栏"), "org", ORG, own_institution),
    # parents
    Entry("parent_orders", _("我的订单"), "parent", parent),
    Entry("parent_order_create", _("报名缴费"), "parent", parent),
    Entry("parent_clues", _("我的投诉"), "parent", parent),
    # funds (console)
    Entry("funds_overview", _("资金监管"), "funds", MAY_WRITE),
    Entry("funds_declarations", _("预收费申报与纳管率"), "funds", MAY_WRITE),
    Entry("funds_disputes", _("消课异议裁决"), "funds", MAY_WRITE),
    Entry("bank_list", _("托管银行指令与对账"), "funds", MAY_WRITE),
    Entry("funds_differences", _("对账差异"), "funds", MAY_WRITE),
    # the custody bank
    Entry("bank_list", _("划转指令与对账"), "bank", holds_exactly(BANK_OPERATORS)),
    # inspections
    Entry("campaign_board", _("专项检查"), "inspections", MAY_WRITE),
    Entry("inspection_tasks", _("我的检查任务"), "inspections", INSPECTOR_ROLES),
    Entry("rectifications", _("整改台账"), "inspections", INSPECTOR_ROLES),
    Entry("checklist_list", _("检查清单"), "inspections", MAY_WRITE),
    Entry("conflicts", _("回避申报"), "inspections", INSPECTOR_ROLES),
    # clues
    Entry("clue_list", _("线索办理"), "clues", CONSOLE_READ),
    Entry("clue_lead_new", _("录入线索"), "clues", INSPECTOR_ROLES),
    Entry("clue_import", _("热线工单导入"), "clues", MAY_WRITE),
    Entry("clue_retriage", _("重新研判"), "clues", holds(LEADERS)),
    Entry("clue_trends", _("线索趋势"), "clues", MAY_WRITE),
    Entry("whistle_board", _("吹哨报到"), "clues", CONSOLE_READ),
    Entry("grid_report", _("网格上报"), "clues", holds(REGULATORS)),
    # enforcement
    Entry("case_list", _("处罚案件"), "enforcement", MAY_WRITE),
    # screening
    Entry("screening_holds", _("待复核文本"), "screening", MAY_WRITE),
    Entry("screening_check", _("文本研判"), "screening", holds(REGULATORS)),
    Entry("screening_patrol", _("网上巡查"), "screening", INSPECTOR_ROLES),
    Entry("screening_sweeps", _("专项摸排"), "screening", holds(REGULATORS)),
    # risk
    Entry("risk_alerts", _("预警处置"), "risk", MAY_WRITE),
    Entry("risk_board", _("维稳专班看板"), "risk", lambda u: _signed_in(u) and may_see_board(u)),
    Entry("risk_guardianships", _("我的包保"), "risk", holds(REGULATORS)),
    # analytics
    Entry("analytics_dashboard", _("指标看板"), "analytics", MAY_WRITE),
    Entry("analytics_ranking", _("每周排名"), "analytics", both(MAY_WRITE, county_wide)),
    Entry("analytics_notices", _("每周通报"), "analytics", holds(REGULATORS)),
    Entry("analytics_reminders", _("督办提醒"), "analytics", holds(REGULATORS)),
    Entry("analytics_daily", _("信息日报"), "analytics", both(MAY_WRITE, county_wide)),
    Entry("analytics_daily_submit", _("报送日报"), "analytics", reporting_unit),
    Entry("analytics_work_ledger", _("工作台账"), "analytics", MAY_WRITE),
    Entry("analytics_problems", _("督查问题"), "analytics", MAY_WRITE),
    # administration
    Entry("admin_home", _("概况"), "admin", administrator),
    Entry("admin_divisions", _("乡镇与社区"), "admin", administrator),
    Entry("admin_departments", _("部门"), "admin", administrator),
    Entry("admin_users", _("账号与角色"), "admin", administrator),
    Entry("admin_user_import", _("批量创建账号"), "admin", administrator),
    # public
    Entry("public_home", _("白名单查询"), "public", anyone),
    Entry("public_blacklist", _("黑名单公示"), "public", anyone),
    Entry("public_draws", _("抽查公示"), "public", anyone),
    Entry("public_typical_cases", _("典型案例"), "public", anyone),
    Entry("clue_report", _("投诉举报"), "public", public),
    Entry("clue_track", _("进度查询"), "public", public),
    Entry("receipt_verify_form", _("凭证核验"), "public", anyone),
    # the person's own
    Entry("inbox", _("通知"), "me", _signed_in),
    Entry("my_tokens", _("我的API令牌"), "me", holds(TOKEN_HOLDERS)),
]


@dataclass
class Link:
    label: str
    href: str
    url: str
    active: bool = False


@dataclass
class MenuGroup:
    key: str
    label: str
    links: list[Link]

    @property
    def active(self) -> bool:
        return any(link.active for link in self.links)


# entries_for's answers by what decides them: every predicate and argument function reads
# only the actor's scope (its signature, the user's id aside) and the URL prefix. Bounded:
# cleared when full.
_ENTRIES_SEEN: dict[tuple, list[tuple[Entry, str]]] = {}
_ENTRIES_SEEN_MAX = 2048


def entries_for(user) -> list[tuple[Entry, str]]:
    """The entries ``user`` may use, with their resolved paths, in registry order (one
    link per path and group); computed once for each kind of scope, not on every page."""
    key = (get_script_prefix(), actor_for(user).signature()[1:] if _signed_in(user) else None)
    known = _ENTRIES_SEEN.get(key)
    if known is None:
        known = _entries_for(user)
        if len(_ENTRIES_SEEN) >= _ENTRIES_SEEN_MAX:
            _ENTRIES_SEEN.clear()
        _ENTRIES_SEEN[key] = known
    return list(known)


def _entries_for(user) -> list[tuple[Entry, str]]:
    out: list[tuple[Entry, str]] = []
    seen: set[tuple[str, str]] = set()
    for e in ENTRIES:
        if not e.allowed(user):
            continue
        args = ()
        if e.args is not None:
            got = e.args(user)
            if got is None:
                continue
            args = got
        href = reverse(f"portal:{e.url}", args=args)
        if (e.group, href) in seen:
            continue
        seen.add((e.group, href))
        out.append((e, href))
    return out


def menu_for(request) -> list[MenuGroup]:
    """The menu tree of the signed-in (or anonymous) user of ``request``; the link of the
    current page (its URL name) is marked active."""
    user = getattr(request, "user", None)
    match = getattr(request, "resolver_match", None)
    current = match.url_name if match else None
    groups = {g.key: MenuGroup(g.key, g.label, []) for g in GROUPS}
    for e, href in entries_for(user):
        groups[e.group].links.append(Link(e.label, href, e.url, active=(e.url == current)))
    return [g for g in groups.values() if g.links]


def breadcrumbs(request, menu: list[MenuGroup] | None = None) -> list[Link]:
    """Group › page for a page in the menu; empty for a page outside it."""
    for g in menu if menu is not None else menu_for(request):
        for link in g.links:
            if link.active:
                return [Link(g.label, g.links[0].href, g.links[0].url), link]
    return []
