"""The menu (``portal/menu.py``): every demo role's menu opens, entry by entry, without a
refusal; roles see only what they may do; and every page a person reads shows names, not
the codes of divisions, departments or statuses."""

import re

import pytest
from django.test import Client

from qinglang.accounts.models import User
from qinglang.portal.demo import DEMO_USERS
from qinglang.portal.menu import ENTRIES, entries_for
from qinglang.testing import built_once, seed_district_demo

# one worker seeds the demo for all of this module's tests (with `--dist loadgroup`, as `make test`
# runs), instead of each worker that gets some of them seeding its own
pytestmark = [pytest.mark.django_db, pytest.mark.xdist_group("portal-menu-demo")]

USERNAMES = [u for u, _, _ in DEMO_USERS]


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    """The district demo, seeded once for the module (every app's flows)."""
    yield from built_once(django_db_blocker, lambda: seed_district_demo("--institutions", "60"))


def _client(username: str) -> Client:
    c = Client()
    c.force_login(User.objects.get(username=username))
    return c


def _menu(username: str) -> dict[str, str]:
    return {e.url: href for e, href in entries_for(User.objects.get(username=username))}


def test_every_menu_entry_opens_for_every_demo_role(demo):
    failures = []
    for username in USERNAMES:
        client = _client(username)
        for url, href in _menu(username).items():
            r = client.get(href, follow=True)
            if r.status_code != 200:
                failures.append(f"{username}: {url} {href} → {r.status_code}")
    assert not failures, "\n".join(failures)


def test_each_role_sees_its_own_end(demo):
    grid = _menu("grid")
    # a grid worker reads and reports; importing, policy and funds are not theirs
    assert not {"institution_import", "policy", "funds_overview", "clue_import", "campaign_board"} & set(grid)
    assert {"whistle_board", "grid_report", "clue_list", "screening_sweeps"} <= set(grid)
    leader = _menu("leader")
    assert {"clue_retriage", "policy", "admin_users", "funds_overview", "my_tokens"} <= set(leader)
    officer = _menu("officer")
    assert "clue_retriage" not in officer and "admin_users" not in officer and "policy" not in officer
    inspector = _menu("inspector")
    assert {"inspection_tasks", "rectifications"} <= set(inspector) and "funds_overview" not in inspector
    bank = _menu("bank")
    assert "bank_list" in bank and "institution_list" not in bank and "my_tokens" in bank
    org = _menu("inst-admin")
    assert {"org_dashboard", "org_funds", "org_rectification"} <= set(org) and "clue_list" not in org
    parent = _menu("parent")
    assert {"parent_orders", "parent_clues", "receipt_verify_form"} <= set(parent)
    assert "my_tokens" not in parent and "institution_list" not in parent
    anonymous = {e.url for e, _ in entries_for(None)}
    assert {"public_home", "clue_report", "clue_track", "receipt_verify_form"} <= anonymous
    assert "inbox" not in anonymous


def test_the_menu_renders_the_registry(demo):
    """base.html draws the actor's entries, and only those."""
    body = _client("grid").get("/home/").content.decode()
    shown = set(re.findall(r'data-menu-entry="([a-z_]+)"', body))
    assert shown == set(_menu("grid"))
    assert "批量导入" not in body and "政策参数" not in body and "资金监管" not in body


def test_a_township_whistles_from_its_menu(demo):
    """The grid worker's whistle board offers the form, and raising succeeds."""
    from qinglang.clues.models import Whistle
    from qinglang.portal.demo import DEMO_TOWNSHIP

    client = _client("grid")
    page = client.get("/console/whistles/").content.decode()
    assert 'name="title"' in page
    before = Whistle.objects.count()
    r = client.post(
        "/console/whistles/",
        {
            "division_code": DEMO_TOWNSHIP,
            "title": "无证培训点",
            "problem": "请消防到场",
            "department_kinds": ["fire"],
        },
    )
    assert r.status_code == 302, r.content.decode()[:2000]
    assert Whistle.objects.count() == before + 1


def test_the_township_officer_sees_its_township(demo):
    """The township's officer (街道办事处) reads its township's whistles, grid reports and
    sweeps from its menu and its to-do list, and raises a whistle there."""
    from qinglang.clues.models import Whistle
    from qinglang.portal.demo import DEMO_TOWNSHIP

    menu = _menu("township")
    assert {"whistle_board", "grid_report", "clue_list", "screening_sweeps", "home"} <= set(menu)
    assert not {"policy", "admin_users", "clue_retriage", "analytics_ranking"} & set(menu)
    client = _client("township")
    home = client.get("/home/").content.decode()
    for key in ("whistles_open", "township_reports", "sweeps"):
        assert f'data-todo-key="{key}"' in home, key
    page = client.get("/console/whistles/").content.decode()
    assert f'value="{DEMO_TOWNSHIP}"' in page
    before = Whistle.objects.filter(division_code=DEMO_TOWNSHIP).count()
    r = client.post(
        "/console/whistles/",
        {
            "division_code": DEMO_TOWNSHIP,
            "title": "校外托管点消防隐患",
            "problem": "请消防到场",
            "department_kinds": ["fire"],
        },
    )
    assert r.status_code == 302, r.content.decode()[:2000]
    assert Whistle.objects.filter(division_code=DEMO_TOWNSHIP).count() == before + 1


def test_every_entry_names_a_route():
    from django.urls import reverse

    for e in ENTRIES:
        if e.args is None:
            reverse(f"portal:{e.url}")


def test_landing_pages_are_to_do_lists(demo):
    """Each end opens on what waits for it: the leader's overdue work and campaign
    progress, the bank's instructions (not "no pages"), the institution's notices."""
    leader = _client("leader").get("/home/").content.decode()
    assert "data-todo" in leader and "data-progress" in leader
    r = _client("bank").get("/home/", follow=True)
    body = r.content.decode()
    assert r.status_code == 200 and "todo-title" in body and "没有可用" not in body
    org_client = _client("inst-admin")
    org = org_client.get("/org/", follow=True).content.decode()
    assert "todo-title" in org
    # the demo institution holds a notice to answer, and its admin can submit material
    assert 'data-todo-key="org_ledger"' in org
    assert 'data-todo-key="org_refunds"' in org  # and a parent's refund request to answer
    from qinglang.inspections.models import RectificationItem, RectificationStatus

    iid = User.objects.get(username="inst-admin").memberships.get().institution_id
    item = RectificationItem.objects.filter(institution_id=iid, status=RectificationStatus.ISSUED).first()
    assert item is not None
    page = org_client.get(f"/org/rectification/items/{item.pk}/")
    assert page.status_code == 200 and 'name="measures"' in page.content.decode()
    parent = _client("parent").get("/parent/").content.decode()
    assert 'data-todo-key="parent_to_confirm"' in parent  # the demo parent has orders in every state
    grid = _client("grid").get("/home/").content.decode()
    assert 'data-todo-key="whistles_open"' in grid or "data-todo-empty" in grid
    inspector = _client("inspector").get("/home/").content.decode()
    assert 'data-todo-key="tasks_planned"' in inspector  # the demo inspector is drawn into a team
    # the badge counts the items waiting: the sum of the listed counts, not how many kinds
    badge = int(re.search(r"data-todo-total[^>]*>(\d+)<", leader).group(1))
    counts = [int(n) for n in re.findall(r'<span class="todo-count[^"]*">(\d+)</span>', leader)]
    assert len(counts) > 1 and badge == sum(counts) > len(counts)


# --- names, not codes -------------------------------------------------------------------


class _Text:
    """The text a person reads on a page: no tags, scripts, styles or attribute values."""

    def __init__(self, html: str):
        from html.parser import HTMLParser

        parts: list[str] = []

        class P(HTMLParser):
            skip = 0

            def handle_starttag(self, tag, attrs):
                if tag in ("script", "style", "template"):
                    self.skip += 1

            def handle_endtag(self, tag):
                if tag in ("script", "style", "template") and self.skip:
                    self.skip -= 1

            def handle_data(self, data):
                if not self.skip:
                    parts.append(data)

        P().feed(html)
        self.text = " ".join(" ".join(parts).split())


def _raw_codes() -> tuple[set[str], re.Pattern]:
    """Division codes of the demo, department kinds and the apps' status codes."""
    from django.apps import apps
    from django.db import models as m

    from qinglang.core.models import DepartmentKind, Division

    divisions = set(Division.objects.filter(code__startswith="510107").values_list("code", flat=True))
    words = set(DepartmentKind.values)
    for model in apps.get_models():
        if not model.__module__.startswith("qinglang."):
            continue
        for f in model._meta.get_fields():
            if (
                isinstance(f, m.CharField)
                and f.choices
                and f.name in ("status", "to_status", "department_kind", "kind")
            ):
                words |= {str(v) for v, _ in f.flatchoices if "_" in str(v)}
    words |= {"fuzzy", "uscc"}
    pattern = re.compile(
        r"(?<![\w/.:-])(" + "|".join(sorted(map(re.escape, words), key=len, reverse=True)) + r")(?![\w/-])"
    )
    return divisions, pattern


# pages whose subject is the codes themselves (the county's divisions, edited by code)
CODE_PAGES = ("/console/admin/divisions/",)
LEAKS = re.compile(r"\b(ledger|system|user):\w+")


def _leaks(text: str, divisions: set[str], pattern: re.Pattern) -> list[str]:
    # a bare code; not part of an identifier (DEMO510107), of a document number, whose
    # 机关代字 is the office's to set (510107校外整改〔2026〕000001号), or of a masked
    # resident ID, whose first six digits are the birthplace (510107********1234)
    codes = re.findall(r"(?<![\dA-Za-z])(\d{6}|\d{9}|\d{12})(?![\dA-Za-z*])(?![^\s〔]{0,6}〔)", text)
    found = [c for c in codes if c in divisions]
    found += pattern.findall(text)
    found += [m.group(0) for m in LEAKS.finditer(text)]
    return sorted(set(found))


def test_pages_show_names_not_codes(demo):
    """Every page of every demo role's menu, and the detail pages they link to first, shows
    divisions, departments and statuses by name: no 510107001, market_regulation,
    pending_payment, (fuzzy …), ledger:12 or system:seed_demo in the visible text."""
    divisions, pattern = _raw_codes()
    failures = []
    seen: set[tuple[str, str]] = set()
    detail = re.compile(r'href="(/(?:console|org|parent|public)/[a-z-]+/(?:[a-z-]+/)?\d+/)"')
    for username in USERNAMES:
        client = _client(username)
        pages = list(_menu(username).values())
        for href in list(pages):
            r = client.get(href, follow=True)
            if r.status_code != 200:
                continue
            html = r.content.decode()
            pages += detail.findall(html)[:3]
        for href in dict.fromkeys(pages):
            if (username, href) in seen:
                continue
            seen.add((username, href))
            r = client.get(href, follow=True)
            if r.status_code != 200 or "text/html" not in r.get("Content-Type", ""):
                continue
            if href.startswith(CODE_PAGES):
                continue
            bad = _leaks(_Text(r.content.decode()).text, divisions, pattern)
            if bad:
                failures.append(f"{username} {href}: {', '.join(bad[:6])}")
    assert not failures, "\n".join(failures)


def test_the_code_check_tells_a_bare_code_from_a_masked_id_and_a_document_number():
    pattern = re.compile(r"(?<!\w)(market_regulation)(?!\w)")
    divisions = {"510107", "510107001"}
    assert _leaks("区划 510107001 market_regulation", divisions, pattern) == [
        "510107001",
        "market_regulation",
    ]
    text = "身份证号 510107********1234 决定文号 510107教罚〔2026〕00011号 DEMO510107"
    assert _leaks(text, divisions, pattern) == []


def test_host_unit_is_one_strict_line(monkeypatch, client, settings):
    """主办单位 comes from QINGLANG_HOST_UNIT: one line, refused with its name when not."""
    from qinglang.config.env import ConfigError, env_line

    monkeypatch.setenv("QINGLANG_HOST_UNIT", "  成都市武侯区教育局 ")
    assert env_line("QINGLANG_HOST_UNIT") == "成都市武侯区教育局"
    monkeypatch.setenv("QINGLANG_HOST_UNIT", "第一行\n第二行")
    with pytest.raises(ConfigError, match="QINGLANG_HOST_UNIT"):
        env_line("QINGLANG_HOST_UNIT")
    monkeypatch.setenv("QINGLANG_HOST_UNIT", "长" * 101)
    with pytest.raises(ConfigError, match="at most 100"):
        env_line("QINGLANG_HOST_UNIT")
    settings.HOST_UNIT = "成都市武侯区教育局"
    body = client.get("/").content.decode()
    assert "data-host-unit" in body and "成都市武侯区教育局" in body


def test_a_refusal_reads_in_plain_words_for_a_parent(db):
    """The parent reads the rule in words with its basis, money in yuan, no parameter key;
    an official also sees the key."""
    from qinglang.core.errors import DomainError
    from qinglang.core.policy import policy_resolve
    from qinglang.portal.views.common import error_text

    r = policy_resolve("fees.max_amount_per_charge_fen", "510107001")
    exc = r.violation("单次收费金额 ¥6,000.00 超过上限", amount_fen=600000)
    assert isinstance(exc, DomainError)
    parent = error_text(exc)
    assert "¥5,000.00" in parent and "依据" in parent and "全国" in parent
    assert "fees." not in parent and "600000" not in parent and "分" not in parent.replace("部分", "")
    official = error_text(exc, official=True)
    assert official.startswith(parent) and "fees.max_amount_per_charge_fen" in official


def test_pickers_offer_the_users_scope_with_own_township_first(demo):
    """Pick, don't type: the whistle form lists the townships in scope by name, the grid
    worker's own township pre-selected; the lead form too; another county is not offered."""
    from qinglang.portal.demo import DEMO_COUNTY, DEMO_TOWNSHIP
    from qinglang.portal.forms_clues import ImportForm, LeadForm, WhistleForm

    grid = User.objects.get(username="grid")
    form = WhistleForm(user=grid)
    codes = [c for c, _ in form.fields["division_code"].choices if c]
    assert codes == [DEMO_TOWNSHIP] and form.initial["division_code"] == DEMO_TOWNSHIP
    assert dict(form.fields["division_code"].choices)[DEMO_TOWNSHIP] == "浆洗街街道"
    officer = User.objects.get(username="officer")
    lead = [c for c, _ in LeadForm(user=officer).fields["division_code"].choices if c]
    assert len(lead) > 1 and all(c.startswith(DEMO_COUNTY) and len(c) == 9 for c in lead)
    assert [c for c, _ in ImportForm(user=officer).fields["division_code"].choices] == [DEMO_COUNTY]
    bound = WhistleForm(
        {"division_code": "110101001", "title": "x", "problem": "y", "department_kinds": ["fire"]}, user=grid
    )
    assert not bound.is_valid() and "division_code" in bound.errors


def test_upload_templates_download_with_instructions(demo):
    """Hotline orders, lesson batches and bank statements each have an .xlsx template with
    a sheet of instructions; a lesson batch filled in the template is read by its header."""
    from io import BytesIO

    from openpyxl import load_workbook

    from qinglang.core.xlsx import HELP_SHEET
    from qinglang.funds.parsing import lesson_rows

    for username, url, header in (
        ("leader", "/console/clues/import/template/", "工单编号"),
        ("inst-admin", "/org/funds/batch-template/", "event_id"),
        ("bank", "/funds/banks/statement-template/", "txn_id"),
    ):
        r = _client(username).get(url)
        assert r.status_code == 200 and r["Content-Type"].startswith("application/vnd.openxml"), (
            url,
            r.status_code,
        )
        wb = load_workbook(BytesIO(r.content))
        assert HELP_SHEET in wb.sheetnames and wb.worksheets[0].cell(1, 1).value.startswith(header)
        data = wb.worksheets[0]  # what is typed into a column stays text (codes, numbers)
        assert {d.number_format for d in data.column_dimensions.values()} == {"@"}, url
        if header == "event_id":
            rows = list(lesson_rows(BytesIO(r.content), filename="批量消课.xlsx"))
            assert rows == [
                {"event_id": "2026-03-01-张小明-1", "order_id": "1024", "given_at": "2026-03-01 18:30"}
            ]


def test_a_menu_follows_a_change_of_memberships_and_is_shared_by_equal_scopes(db):
    """The menu is computed once for each kind of scope: two officers of one county get
    the same entries; a role granted or withdrawn changes the next page's menu."""
    from qinglang.accounts.models import Role
    from qinglang.accounts.services import membership_grant, membership_revoke
    from qinglang.testing import ROOT, make_user

    first, second = make_user(Role.REGULATOR_OFFICER), make_user(Role.REGULATOR_OFFICER)
    officer = {e.url for e, _ in entries_for(first)}
    assert officer == {e.url for e, _ in entries_for(second)} and "clue_list" in officer
    m = membership_grant(actor=ROOT, user=second, role=Role.REGULATOR_LEADER, division_prefixes=["510107"])
    leader = {e.url for e, _ in entries_for(User.objects.get(pk=second.pk))}
    assert leader > officer and "admin_users" in leader - officer
    membership_revoke(actor=ROOT, membership=m)
    assert {e.url for e, _ in entries_for(User.objects.get(pk=second.pk))} == officer
