"""Every URL, every role: nothing outside a user's scope is ever shown or changed.

The test builds two worlds — institution A in the demo county (510107) and institution B
in another county (510104), each with a site, a staff member, a course, a material and
licences — and a user for every role scoped to world A. It then *discovers* every URL
pattern (pages and the ninja API) at collection time and, for each one:

* GET with B's ids in the path: every role but the platform admin gets 302-to-login,
  401, 403, 404 or 405, exactly as for an id that does not exist (so the existence of B
  does not leak), and nothing of B (name, USCC, resident ID, ...) is in the body;
* GET of lists, searches and exports, bare and searching for B (q=B's name, its USCC,
  division=510104, format=csv ...): nothing of B in the body for any non-admin role,
  anonymous included (B is on no public list, so the public pages must not show it);
* every write (API POST/PATCH/PUT/DELETE, page POST) aimed at B: refused, no audit event,
  B unchanged;
* positive controls, so the test fails if everything simply 404s: with A's ids some role
  sees A, and the platform admin sees B exactly as it sees A.

A new route whose path parameter the test does not know fails loudly: add a filler to
``PARAM_RULES`` below, so each new route's scoping is tested on purpose.
"""

import contextlib
import functools
import io
import json
import re
import zipfile
from dataclasses import dataclass, field
from datetime import date

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.shortcuts import resolve_url
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RegexPattern, RoutePattern

from qinglang.accounts.models import Role
from qinglang.core.models import AuditEvent, Division, PolicyParameter
from qinglang.testing import DEMO_COUNTY, OTHER_COUNTY, TOWNSHIP, built_once, make_institution, make_user

# --- app plug-ins ------------------------------------------------------------------------
#
# An app above the registry adds its own objects to both worlds and says which path
# parameters name them, in ``qinglang/<app>/tests/authz.py``:
#
#   PARAM_RULES = [({"order_id"}, None, "order"), ({"pk"}, {"orders"}, "order")]
#   def build_side(*, admin, side, users, which) -> dict[str, object]   # kind -> object
#   def markers(side) -> list[str]            # strings that must never leak from world B
#   def audit_ids(side) -> dict[str, object]  # audit object_type -> B's object (optional)
#   FORM_DATA = {"console/screening/holds/": {"decision": "confirmed"}}   # (optional)
#       fields a page's form needs beyond the common ones below, for the routes that
#       start with the key, so that the post gets past the form and reaches the service
#
# ``which`` is "A" or "B"; ``users`` are the personas (scoped to world A), so A's objects
# can belong to them (the parent's own order, the bank operator's bank, …).


def _plugins() -> list:
    import importlib

    out = []
    for app in settings.INSTALLED_APPS:
        if not app.startswith("qinglang."):
            continue
        try:
            out.append(importlib.import_module(f"{app}.tests.authz"))
        except ModuleNotFoundError as exc:
            if exc.name not in (f"{app}.tests.authz", f"{app}.tests"):
                raise
    return out


PLUGINS = _plugins()


# --- the two worlds --------------------------------------------------------------------

A_TAG = "ALPHA7XQ3M"  # long enough that no random token (CSRF, cursor) contains it by chance
B_TAG = "ZETA9K7QXW"
B_TOWNSHIP = "510104020"  # a township of the other county, created for the test
POLICY_KEY = "guided_price.subject_per_lesson_fen"
MISSING_ID = 987654321


def _resident_id(area: str, birth: str, seq: str) -> str:
    from stdnum.cn import ric

    body = area + birth + seq
    return body + ric.calc_check_digit(body + "0")  # it expects a placeholder check digit


RID_A = _resident_id(DEMO_COUNTY, "19900101", "123")
RID_B = _resident_id(OTHER_COUNTY, "19910202", "456")

PERSONAS = [
    "anonymous",
    "platform_admin",
    "regulator_leader",
    "regulator_officer",
    "inspector",
    "grid_worker",
    "institution_admin",
    "institution_staff",
    "bank_operator",
    "parent",
    # department-scoped personas of A's county: they read what every department reads,
    # and write only what their department decides (a 4xx from them must change nothing)
    "officer_housing",
    "inspector_housing",
]
NON_ADMIN = [p for p in PERSONAS if p != "platform_admin"]
# API writes whose only writer is the platform admin, with the reason; for these the
# positive control is the admin's own request with A's objects
PLATFORM_ADMIN_ONLY = {
    "api/registry/institutions/<int:institution_id>/move": "moving an institution to another county crosses counties",
}


@dataclass
class Side:
    """One world's objects, by the kind of path parameter that names them."""

    name: str
    tag: str
    institution: object
    site: object
    staff: object
    course: object
    material: object
    licence: object
    user: object
    division: str
    township: str
    extra: dict = field(default_factory=dict)  # objects added by app plug-ins, by kind

    def obj(self, kind: str):
        return self.extra[kind] if kind in self.extra else getattr(self, kind)


@dataclass
class World:
    a: Side
    b: Side
    users: dict
    clients: dict
    b_markers: list[str]

    def side(self, which: str):
        return {"A": self.a, "B": self.b}.get(which)


def _build_side(admin, *, tag, name, division, township, rid, phone) -> Side:
    from qinglang.registry import services

    inst = make_institution(
        admin,
        division_code=division,
        name=f"{name}机构{tag}",
        registered_name=f"{name}登记名{tag}",
        legal_representative=f"{name}法人{tag}",
        contact_phone=phone,
        address=f"{name}路{tag}号",
        whitelisted=(name == "甲域"),
    )
    lic = services.licence_set(
        actor=admin,
        institution_id=inst.pk,
        kind="fire_acceptance",
        number=f"{name}消{tag}",
        issuer="消防救援大队",
        valid_from=date(2025, 1, 1),
    )
    site = services.site_create(
        actor=admin,
        institution_id=inst.pk,
        data={"name": f"{name}教学点{tag}", "address": f"{name}街{tag}号", "division_code": township},
    )
    staff = services.staff_create(
        actor=admin,
        institution_id=inst.pk,
        data={"name": f"{name}教师{tag}", "resident_id": rid, "role": "teacher"},
    )
    course = services.course_create(
        actor=admin,
        institution_id=inst.pk,
        data={
            "name": f"{name}课程{tag}",
            "kind": "arts",
            "stage": "primary",
            "lessons": 20,
            "unit_price_fen": 8000,
        },
    )
    material = services.material_submit(
        actor=admin, institution_id=inst.pk, data={"title": f"{name}教材{tag}", "subject": "美术"}
    )
    user = services.institution_user_create(
        actor=admin,
        institution_id=inst.pk,
        username=f"org-{tag.lower()}",
        password="Qinglang-test-2026",
        display_name=f"{name}管理员{tag}",
        check_password=False,
    )
    inst.refresh_from_db()
    return Side(name, tag, inst, site, staff, course, material, lic, user, division, township)


def _build_world() -> World:
    from qinglang.core.validators import mask_resident_id

    Division.objects.get_or_create(
        code=B_TOWNSHIP,
        defaults={"name": "测试街道", "level": 4, "parent_id": OTHER_COUNTY, "full_name": "锦江区测试街道"},
    )
    admin = make_user(Role.PLATFORM_ADMIN)
    a = _build_side(
        admin,
        tag=A_TAG,
        name="甲域",
        division=TOWNSHIP,
        township=TOWNSHIP,
        rid=RID_A,
        phone="13800007777",
    )
    b = _build_side(
        admin,
        tag=B_TAG,
        name="乙域",
        division=OTHER_COUNTY,
        township=B_TOWNSHIP,
        rid=RID_B,
        phone="13900009999",
    )
    assert not (b.institution.whitelisted or b.institution.blacklisted)
    users = {
        "anonymous": None,
        "platform_admin": admin,
        "regulator_leader": make_user(Role.REGULATOR_LEADER, prefixes=[DEMO_COUNTY]),
        "regulator_officer": make_user(Role.REGULATOR_OFFICER, prefixes=[DEMO_COUNTY]),
        "inspector": make_user(Role.INSPECTOR, prefixes=[DEMO_COUNTY]),
        "grid_worker": make_user(Role.GRID_WORKER, prefixes=[TOWNSHIP]),
        "institution_admin": make_user(Role.INSTITUTION_ADMIN, institution_id=a.institution.pk),
        "institution_staff": make_user(Role.INSTITUTION_STAFF, institution_id=a.institution.pk),
        "bank_operator": make_user(Role.BANK_OPERATOR, bank_id=1),
        "parent": make_user(Role.PARENT),
        "officer_housing": make_user(
            Role.REGULATOR_OFFICER, prefixes=[DEMO_COUNTY], department_kind="housing"
        ),
        "inspector_housing": make_user(Role.INSPECTOR, prefixes=[DEMO_COUNTY], department_kind="housing"),
    }
    for plugin in PLUGINS:
        a.extra.update(plugin.build_side(admin=admin, side=a, users=users, which="A"))
        b.extra.update(plugin.build_side(admin=admin, side=b, users=users, which="B"))
    clients = {}
    for persona, user in users.items():
        c = Client()
        if user is not None:
            c.force_login(user)
        clients[persona] = c
    markers = [
        B_TAG,
        b.institution.uscc,
        RID_B,
        mask_resident_id(RID_B),
        "13900009999",
        b.user.username,
    ]
    for plugin in PLUGINS:
        markers += plugin.markers(b)
    return World(a=a, b=b, users=users, clients=clients, b_markers=markers)


@pytest.fixture(autouse=True)
def _no_receipt_check_limit(settings):
    """The sweep asks every public route many times from one address; it tests access, not
    the per-address limit of receipt checks (funds/tests/test_receipt_verify_limit.py)."""
    settings.RECEIPT_VERIFY_PER_MINUTE = 1_000_000


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """Built once per module inside a transaction that is rolled back at the end; each
    test runs in its own savepoint within it (pytest-django's ``db``)."""
    yield from built_once(django_db_blocker, _build_world)


# --- route discovery -------------------------------------------------------------------

SKIP_PREFIXES = ("admin/", "static/", "media/", "i18n/", "__debug__/")
PARAM_RE = re.compile(r"<(?:(?P<conv>[^>:]+):)?(?P<name>[^>]+)>")


@dataclass(frozen=True)
class Route:
    route: str  # Django route syntax, e.g. "console/institutions/<int:pk>/"
    is_api: bool
    methods: tuple[str, ...]  # lower case
    openapi_path: str | None
    problem: str = ""  # set when the pattern cannot be turned into a URL

    @property
    def params(self) -> list[tuple[str, str]]:
        """(name, static segment before it) for each path parameter."""
        out = []
        for m in PARAM_RE.finditer(self.route):
            before = [s for s in PARAM_RE.sub("", self.route[: m.start()]).split("/") if s]
            out.append((m.group("name"), before[-1] if before else ""))
        return out

    def __str__(self) -> str:
        return "/" + self.route


@functools.cache
def openapi_schema() -> dict:
    """The API's OpenAPI description, built once (it takes a third of a second to build and
    is the same for the whole run)."""
    from qinglang.config.api import api

    return api.get_openapi_schema()


def _openapi_paths() -> dict:
    return openapi_schema()["paths"]


def discover_routes() -> list[Route]:
    """Every URL pattern of the project (pages and API), walked recursively."""
    paths = _openapi_paths()
    seen: dict[str, Route] = {}

    def walk(patterns, prefix: str, problem: str):
        for p in patterns:
            piece, prob = _pattern_text(p.pattern)
            text = prefix + piece
            if text.startswith(SKIP_PREFIXES):
                continue
            if isinstance(p, URLResolver):
                walk(p.url_patterns, text, problem or prob)
                continue
            assert isinstance(p, URLPattern)
            if text in seen:
                continue
            is_api = text.startswith("api/")
            openapi = "/" + PARAM_RE.sub(lambda m: "{" + m.group("name") + "}", text)
            if is_api and openapi in paths:
                methods = tuple(
                    sorted(m for m in paths[openapi] if m in {"get", "post", "put", "patch", "delete"})
                )
            else:
                methods = ("get",) if is_api else ("get", "post")
                openapi = None
            seen[text] = Route(text, is_api, methods, openapi, problem or prob)

    walk(get_resolver().url_patterns, "", "")
    return sorted(seen.values(), key=lambda r: r.route)


def _pattern_text(pattern) -> tuple[str, str]:
    if isinstance(pattern, RoutePattern):
        return str(pattern), ""
    if isinstance(pattern, RegexPattern):
        if pattern.regex.groups:
            return str(
                pattern
            ), f"regex pattern with groups {pattern.regex.pattern!r}: give it a RoutePattern"
        return str(pattern).lstrip("^").rstrip("$").replace("\\Z", ""), ""
    return str(pattern), f"unknown pattern type {type(pattern).__name__}"


ROUTES = discover_routes()

# Bugs found by this test in code it does not own: (test name, route) → reason. Each is a
# strict xfail, so the entry must be removed once the bug is fixed.
KNOWN_BUGS: dict = {}


def _params(test: str, routes: list[Route]) -> list:
    return [
        pytest.param(r, marks=pytest.mark.xfail(strict=True, reason=KNOWN_BUGS[(test, r.route)]))
        if (test, r.route) in KNOWN_BUGS
        else r
        for r in routes
    ]


GET_ROUTES = [r for r in ROUTES if "get" in r.methods]
API_WRITES = [(m, r) for r in ROUTES if r.is_api for m in r.methods if m != "get"]
PAGE_POSTS = [r for r in ROUTES if not r.is_api and not r.route.startswith("accounts/")]


# --- path parameter fillers ------------------------------------------------------------
#
# A rule maps a path parameter (and, for ambiguous names like ``pk``, the static path
# segment before it) to the kind of object it names. Scoped kinds are filled with A's or
# B's object; reference kinds (divisions, policy keys, choice values) are the same data
# for everyone and are filled with B's division or a fixed value.

OBJECT_KINDS = {"institution", "site", "staff", "course", "material", "licence", "user"}
OBJECT_KINDS |= {kind for plugin in PLUGINS for _, _, kind in plugin.PARAM_RULES}
PARAM_RULES: list[tuple[set[str], set[str] | None, str]] = [
    ({"institution_id", "institution_pk", "inst_id", "org_id"}, None, "institution"),
    ({"course_id"}, None, "course"),
    ({"material_id"}, None, "material"),
    ({"site_id"}, None, "site"),
    ({"staff_id"}, None, "staff"),
    ({"licence_id", "license_id"}, None, "licence"),
    ({"user_id"}, None, "user"),
    ({"pk", "id", "object_id"}, {"institutions", "institution", "org", "orgs"}, "institution"),
    ({"pk", "id", "object_id"}, {"courses", "course"}, "course"),
    ({"pk", "id", "object_id"}, {"materials", "material"}, "material"),
    ({"pk", "id", "object_id"}, {"sites", "site"}, "site"),
    ({"pk", "id", "object_id"}, {"staff"}, "staff"),
    ({"teacher_id"}, None, "staff"),  # a course slot's teacher
    ({"pk", "id", "object_id"}, {"licences", "licence"}, "licence"),
    ({"pk", "id", "object_id"}, {"users", "user"}, "user"),
    ({"code", "division_code", "division"}, None, "division"),
    ({"key"}, {"policy"}, "policy_key"),
    ({"kind"}, {"list", "lists"}, "list_kind"),
    ({"kind"}, {"licences", "licence"}, "licence_kind"),
    ({"op"}, None, "list_op"),
]
PARAM_RULES += [rule for plugin in PLUGINS for rule in plugin.PARAM_RULES]
FIXED = {"policy_key": POLICY_KEY, "list_kind": "white", "licence_kind": "fire_acceptance", "list_op": "add"}


def param_kind(name: str, before: str) -> str | None:
    for names, befores, kind in PARAM_RULES:
        if name in names and (befores is None or before in befores):
            return kind
    return None


def unknown_params(route: Route) -> list[str]:
    return [f"<{n}> (after '{b}/')" for n, b in route.params if param_kind(n, b) is None]


def require_fillers(route: Route) -> None:
    if route.problem:
        pytest.fail(f"{route}: {route.problem}")
    unknown = unknown_params(route)
    if unknown:
        pytest.fail(
            f"{route}: no filler for path parameter {', '.join(unknown)}. Add a rule to PARAM_RULES in "
            "qinglang/portal/tests/test_authorization.py saying which object it names, so that this "
            "route is tested with other-county ids for every role."
        )


def is_scoped(route: Route) -> bool:
    return any(param_kind(n, b) in OBJECT_KINDS for n, b in route.params)


MISSING_UUID = "00000000-0000-4000-8000-000000000000"


def fill(world: World, route: Route, which: str) -> str:
    """The URL of ``route`` with A's, B's or non-existent ("missing") objects."""
    side = world.side(which)

    def value(m) -> str:
        kind = param_kind(m.group("name"), _before(route.route, m.start()))
        if kind in FIXED:
            return FIXED[kind]
        if kind == "division":
            return (side or world.b).division[:6] if which != "missing" else "999999"
        if which == "missing":
            # a well-formed id of no object (a uuid where the route takes one)
            return MISSING_UUID if m.group("conv") == "uuid" else str(MISSING_ID)
        return str(side.obj(kind).pk)

    return "/" + PARAM_RE.sub(value, route.route)


def _before(text: str, pos: int) -> str:
    segs = [s for s in PARAM_RE.sub("", text[:pos]).split("/") if s]
    return segs[-1] if segs else ""


# --- looking at responses --------------------------------------------------------------


def _pdf_strings(raw: bytes) -> list[str]:
    """Literal strings marked UTF-16 (BOM \\376\\377) in a PDF, decoded."""
    out = []
    for m in re.finditer(rb"\(\\376\\377((?:[^\\)]|\\.)*)\)", raw):
        body = re.sub(
            rb"\\([0-7]{1,3}|.)", lambda e: bytes([int(e[1], 8)]) if e[1][:1].isdigit() else e[1], m[1]
        )
        out.append(body.decode("utf-16-be", errors="replace"))
    return out


def body_text(resp) -> str:
    raw = b"".join(resp.streaming_content) if resp.streaming else resp.content
    if raw[:2] == b"PK":  # xlsx and other zip containers
        try:
            with zipfile.ZipFile(io.BytesIO(raw)) as z:
                raw = b"\n".join(z.read(n) for n in z.namelist())
        except zipfile.BadZipFile:
            pass
    text = raw.decode("utf-8", errors="replace") + "\n" + raw.decode("gb18030", errors="replace")
    if raw[:5] == b"%PDF-":  # the document's info strings (title, subject) in UTF-16
        text += "\n" + "\n".join(_pdf_strings(raw))
    if "json" in resp.get("Content-Type", ""):
        with contextlib.suppress(ValueError):
            text += json.dumps(json.loads(raw), ensure_ascii=False)
    return text + "\n" + resp.get("Location", "")


def leaks(world: World, resp) -> list[str]:
    text = body_text(resp)
    return [m for m in world.b_markers if m and m in text]


def is_login_redirect(resp) -> bool:
    login = resolve_url(settings.LOGIN_URL)
    return resp.status_code in (301, 302, 303) and resp["Location"].split("?")[0] == login


def redirect_path(resp) -> str | None:
    return resp["Location"].split("?")[0] if resp.status_code in (301, 302, 303) else None


def b_state(world: World) -> dict:
    """Everything stored about world B (and its county), to compare before and after."""
    return side_state(world.b, county=OTHER_COUNTY)


def side_state(side: Side, county: str | None = None) -> dict:
    """Everything stored about one world's institution (and the objects app plug-ins
    added to it), to compare before and after: every column of every row, by label."""
    with connection.cursor() as cursor:
        out = {}
        for label, (sql, params) in _state_queries(side, county or side.division[:6]).items():
            cursor.execute(sql, params)
            out[label] = cursor.fetchall()
    return out


_STATE_QUERIES: dict = {}


def _state_queries(side: Side, county: str) -> dict:
    """The state's queries, compiled once for a side (the sweep reads a side's state
    before and after every persona's write: compiling them each time was most of its
    time)."""
    key = (id(side), county)
    cached = _STATE_QUERIES.get(key)
    if cached is not None and cached[0] is side:
        return cached[1]
    from qinglang.registry.models import Institution

    inst = Institution.objects.get(pk=side.institution.pk)
    by_model: dict = {}
    for kind, obj in side.extra.items():
        model = type(obj)
        if hasattr(model, "_meta") and model._meta.pk is not None:
            by_model.setdefault(model, []).append(obj.pk)
    querysets = {
        f"extra:{model._meta.label}": model._default_manager.filter(pk__in=pks)  # one query per model
        for model, pks in by_model.items()
    }
    querysets["institution"] = Institution.objects.filter(pk=inst.pk)
    for rel in ("licences", "sites", "staff", "courses", "materials", "list_entries", "transitions"):
        querysets[rel] = getattr(inst, rel).all()
    querysets["county_institutions"] = Institution.objects.filter(division_code__startswith=county)
    querysets["county_policy"] = PolicyParameter.objects.filter(division_code__startswith=county)
    querysets["user"] = type(side.user).objects.filter(pk=side.user.pk)
    queries = {label: qs.order_by("pk").values().query.sql_with_params() for label, qs in querysets.items()}
    _STATE_QUERIES[key] = (side, queries)
    return queries


def last_seq() -> int:
    return AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first() or 0


def events_about_b(world: World, after: int) -> list[str]:
    b = world.b
    ids = {
        "registry.institution": b.institution.pk,
        "registry.site": b.site.pk,
        "registry.staff": b.staff.pk,
        "registry.course": b.course.pk,
        "registry.trainingmaterial": b.material.pk,
        "registry.licence": b.licence.pk,
        "accounts.user": b.user.pk,
    }
    for plugin in PLUGINS:
        if hasattr(plugin, "audit_ids"):
            ids.update({k: v.pk for k, v in plugin.audit_ids(b).items()})
    out = []
    for e in AuditEvent.objects.filter(seq__gt=after):
        if e.division_code.startswith(OTHER_COUNTY) or str(ids.get(e.object_type)) == e.object_id:
            out.append(str(e))
    return out


@pytest.fixture
def rollback():
    """Run a block whose writes are undone (for positive controls that must not change
    the shared world)."""

    class _Rollback:
        def __enter__(self):
            self._atomic = transaction.atomic()
            self._atomic.__enter__()

        def __exit__(self, *exc):
            transaction.set_rollback(True)
            self._atomic.__exit__(*exc)
            return False

    return _Rollback


# --- discovery sanity --------------------------------------------------------------------


def test_discovery_finds_pages_and_api_routes():
    routes = {r.route for r in ROUTES}
    assert "api/registry/institutions/<int:institution_id>" in routes
    assert any(not r.is_api for r in ROUTES)
    assert API_WRITES, "no API write routes discovered"


def test_every_path_parameter_has_a_filler():
    problems = [f"{r}: {r.problem}" for r in ROUTES if r.problem]
    problems += [f"{r}: {', '.join(unknown_params(r))}" for r in ROUTES if unknown_params(r)]
    assert not problems, (
        "Routes with path parameters this test cannot fill; add rules to PARAM_RULES in "
        "qinglang/portal/tests/test_authorization.py:\n  " + "\n  ".join(problems)
    )


def test_no_path_parameter_is_claimed_by_two_rules():
    """Two plug-ins naming the same parameter for different objects (two kinds of notice
    both ``notice_id``) would fill one route with the other object's ids: it passes only
    while the two tables happen to hand out the same ids."""
    problems = []
    for r in ROUTES:
        for name, before in r.params:
            kinds = {
                k
                for names, befores, k in PARAM_RULES
                if name in names and (befores is None or before in befores)
            }
            if len(kinds) > 1:
                problems.append(f"{r}: <{name}> (after '{before}/') is claimed by {sorted(kinds)}")
    assert not problems, "Ambiguous PARAM_RULES:\n  " + "\n  ".join(problems)


def test_every_id_in_an_api_write_body_names_an_object():
    """An integer ``…_id`` in a request body the sweep cannot fill would be sent as 1: on
    a database whose sequences have moved on it names nothing, and the positive control
    fails only there."""
    schema = openapi_schema()
    components = schema.get("components", {}).get("schemas", {})
    problems = []
    for method, route in API_WRITES:
        op = schema["paths"].get(route.openapi_path, {}).get(method, {})
        content = op.get("requestBody", {}).get("content", {})
        for media in content.values():
            props = _resolve(media.get("schema", {}), components).get("properties", {})
            for name, prop in props.items():
                prop = _resolve(prop, components)
                types = {prop.get("type")} | {
                    _resolve(a, components).get("type") for a in prop.get("anyOf", [])
                }
                if name.endswith("_id") and "integer" in types and param_kind(name, "") not in OBJECT_KINDS:
                    problems.append(f"{method.upper()} {route}: body field {name}")
    assert not problems, (
        "Body ids with no rule saying which object they name; add them to PARAM_RULES:\n  "
        + "\n  ".join(sorted(set(problems)))
    )


# --- reads -------------------------------------------------------------------------------

DENIED = {401, 403, 404, 405}
PUBLIC_PREFIXES = ("public/", "api/public/", "verify/")
# The API's own description: no data, and slow to generate, so fetched without searches.
NO_DATA_ROUTES = {"api/", "api/docs", "api/openapi.json"}
# Lists of public reference data: every county's division names (GB/T 2260 and the
# townships a county adds) answer anyone, so B's township names found there are no leak
PUBLIC_REFERENCE_ROUTES = {"api/core/divisions": "administrative divisions are public"}


def _list_queries(world: World) -> list[dict]:
    """Searches that match B but do not contain any B marker themselves, so that pages
    echoing the search box (or ``next=`` in a login redirect) do not count as a leak."""
    b = world.b.institution
    search = {
        "q": "乙域机构",
        "division": OTHER_COUNTY,
        "division_code": OTHER_COUNTY,
        "institution": b.pk,
        "institution_id": b.pk,
    }
    return [
        {},
        search,
        {"q": b.uscc.lower()},  # USCC search is case-insensitive; the marker is upper case
        {"q": B_TAG[4:]},
        {**search, "format": "csv"},
        {**search, "export": "csv"},
        {**search, "export": "xlsx"},
    ]


def test_the_state_sees_every_kind_of_change(world, db, rollback):
    """The write tests' detector: a change to B's institution, to one of its sites, to an
    object an app plug-in added, to its user, or a new institution in B's county each
    changes ``b_state``."""
    from qinglang.registry.models import Institution, Site

    before = b_state(world)
    extra = next(iter(world.b.extra.values()))
    changes = [
        lambda: Institution.objects.filter(pk=world.b.institution.pk).update(name="改了"),
        lambda: Site.objects.filter(pk=world.b.site.pk).update(address="改了"),
        lambda: type(extra)._default_manager.filter(pk=extra.pk).delete(),
        lambda: type(world.b.user).objects.filter(pk=world.b.user.pk).update(display_name="改了"),
        lambda: make_institution(world.users["platform_admin"], division_code=world.b.township),
    ]
    for change in changes:
        with rollback():
            change()
            assert b_state(world) != before
        assert b_state(world) == before


@pytest.mark.parametrize("route", _params("get", GET_ROUTES), ids=str)
def test_get_never_shows_other_county(world, db, route):
    require_fillers(route)
    failures: list[str] = []
    if is_scoped(route):
        url_a, url_b, url_missing = (fill(world, route, w) for w in ("A", "B", "missing"))
        seen_a, statuses_a = [], []
        for persona in PERSONAS:
            c = world.clients[persona]
            ra, rb, rm = c.get(url_a), c.get(url_b), c.get(url_missing)
            statuses_a.append(ra.status_code)
            for url, r in ((url_a, ra), (url_b, rb), (url_missing, rm)):
                if r.status_code >= 500:
                    failures.append(f"{persona}: GET {url} → {r.status_code}")
            if ra.status_code == 200 and A_TAG in body_text(ra):
                seen_a.append(persona)
            if persona == "platform_admin":
                if (
                    # public pages (the receipt check at verify/ among them) show the admin
                    # what they show anyone
                    not route.route.startswith(PUBLIC_PREFIXES) and rb.status_code != ra.status_code
                ):
                    failures.append(
                        f"platform_admin: GET {url_b} → {rb.status_code} but {url_a} → {ra.status_code}; "
                        "the filler for B may name the wrong object"
                    )
                continue
            leaked = leaks(world, rb)
            if leaked:
                failures.append(f"{persona}: GET {url_b} → {rb.status_code} shows {leaked}")
            ok = (
                rb.status_code in DENIED
                or is_login_redirect(rb)
                or (redirect_path(rb) is not None and redirect_path(rb) == redirect_path(rm))
            )
            if not ok:
                failures.append(
                    f"{persona}: GET {url_b} → {rb.status_code}, expected 302-to-login/401/403/404"
                )
            if rb.status_code != rm.status_code:
                failures.append(
                    f"{persona}: GET {url_b} → {rb.status_code} but a non-existent id gives "
                    f"{rm.status_code}: the existence of another county's object leaks"
                )
        if not seen_a and any(s in (200, 404) for s in statuses_a):
            failures.append(
                f"positive control: no role sees A ({A_TAG}) at {url_a} (statuses {statuses_a}); the "
                "test would pass even if the route showed nothing at all — check the fillers"
            )
    else:
        url = fill(world, route, "B")
        queries = [{}] if route.route in NO_DATA_ROUTES else _list_queries(world)
        for persona in PERSONAS:
            c = world.clients[persona]
            for query in queries:
                r = c.get(url, query)
                if r.status_code >= 500:
                    failures.append(f"{persona}: GET {url} {query} → {r.status_code}")
                if persona == "platform_admin" or route.route in PUBLIC_REFERENCE_ROUTES:
                    continue
                leaked = leaks(world, r)
                if leaked:
                    failures.append(f"{persona}: GET {url} {query} → {r.status_code} shows {leaked}")
    assert not failures, f"{route}:\n  " + "\n  ".join(failures)


def test_search_positive_controls(world, db):
    """The searches used above do find B (for the platform admin) and A (for A's
    regulator): the absence of B elsewhere is scope, not a search that matches nothing."""
    api_list = "/api/registry/institutions"
    r = world.clients["platform_admin"].get(
        api_list, {"q": world.b.institution.name, "division": OTHER_COUNTY}
    )
    assert r.status_code == 200 and B_TAG in body_text(r)
    r = world.clients["regulator_officer"].get(api_list, {"q": A_TAG})
    assert r.status_code == 200 and A_TAG in body_text(r)
    pages = [r for r in GET_ROUTES if r.route.startswith("console/") and not r.params]
    if pages:  # at least one console list page shows B to the admin when searched for
        found = [
            str(p)
            for p in pages
            if any(
                B_TAG in body_text(world.clients["platform_admin"].get(fill(world, p, "B"), q))
                for q in _list_queries(world)[1:3]
            )
        ]
        assert found, "no console page shows B to the platform admin when searching for it"


def test_admin_site_refuses_anonymous_and_role_users(world, db):
    r = world.clients["anonymous"].get("/admin/")
    assert r.status_code == 302 and r["Location"].startswith("/admin/login/")
    for persona in NON_ADMIN:
        if persona == "anonymous":
            continue
        r = world.clients[persona].get("/admin/registry/institution/")
        assert r.status_code == 302 and r["Location"].startswith("/admin/login/"), persona


# --- writes ------------------------------------------------------------------------------


def _sample(name: str, schema: dict, side: Side, components: dict):
    samples = {
        "name": "越权写入",
        "title": "越权写入",
        "reason": "越权测试理由",
        "basis": "越权测试依据",
        "category": "non_subject",
        "kind": "arts",
        "stage": "primary",
        "stages": ["primary"],
        "to_status": "suspended",
        "division_code": side.township,
        "county_code": side.division[:6],
        "number": "越权证号0001",
        "address": "越权地址",
        "lessons": 10,
        "lesson_minutes": 45,
        "unit_price_fen": 5000,
        "approve": True,
        "value": 5000,
        "role": "teacher",
        "mode": "offline",
        "nature": "for_profit",
        "nonprofit_conversion": "not_applicable",
        "contact_phone": "13700001234",
    }
    if name in samples:
        return samples[name]
    kind = param_kind(name, "")
    if kind in OBJECT_KINDS:
        # ids in the body name the side's own objects (sequences are not rolled back on
        # PostgreSQL, so a constant id would point at nothing)
        try:
            return side.obj(kind).pk
        except (AttributeError, KeyError):
            pass
    schema = _resolve(schema, components)
    for alt in schema.get("anyOf", []):
        if alt.get("type") != "null":
            schema = _resolve(alt, components)
            break
    if "enum" in schema:
        return schema["enum"][0]
    if "default" in schema and schema["default"] is not None:
        return schema["default"]
    t = schema.get("type")
    if schema.get("format") == "date":
        return date.today().isoformat()
    return {"integer": 1, "number": 1, "boolean": True, "array": [], "object": {}}.get(t, "越权写入")


def _resolve(schema: dict, components: dict) -> dict:
    while "$ref" in schema:
        schema = components[schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def api_body(route: Route, method: str, side: Side) -> tuple[str, object]:
    """A request body that passes the route's schema: ("json", dict), ("multipart", dict)
    or ("none", None)."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    spec = openapi_schema()
    components = spec.get("components", {}).get("schemas", {})
    op = spec["paths"][route.openapi_path][method]
    content = op.get("requestBody", {}).get("content", {})
    form_type = next(
        (t for t in ("multipart/form-data", "application/x-www-form-urlencoded") if t in content), None
    )
    if form_type:  # form fields (files arrive in request.FILES): sent as multipart
        schema = _resolve(content[form_type]["schema"], components)
        data = {}
        for name, prop in schema.get("properties", {}).items():
            prop = _resolve(prop, components)
            if prop.get("format") == "binary":
                data[name] = SimpleUploadedFile(f"{name}.xlsx", b"not really a spreadsheet")
            else:
                data[name] = _sample(name, prop, side, components)
        return "multipart", data
    if "application/json" not in content:
        return "none", None
    schema = _resolve(content["application/json"]["schema"], components)
    required = set(schema.get("required", []))
    body = {}
    for name, prop in schema.get("properties", {}).items():
        value = _sample(name, prop, side, components)
        if name in required or value != "越权写入" or name in ("name", "title"):
            body[name] = value
    return "json", body


def _send(client: Client, method: str, url: str, body: tuple[str, object]) -> object:
    kind, payload = body
    if kind == "multipart":
        for f in payload.values():
            if hasattr(f, "seek"):
                f.seek(0)
        return getattr(client, method)(url, payload)
    data = json.dumps(payload) if kind == "json" else ""
    return getattr(client, method)(url, data, content_type="application/json")


@pytest.mark.parametrize(("method", "route"), API_WRITES, ids=lambda v: str(v))
def test_api_write_to_other_county_is_refused(world, db, rollback, method, route):
    require_fillers(route)
    failures = []
    url_b, url_missing, url_a = (fill(world, route, w) for w in ("B", "missing", "A"))
    body_b, body_a = api_body(route, method, world.b), api_body(route, method, world.a)
    # B's state is read once before the first request and once after each (a change is
    # reported against the persona whose request made it)
    before_state = b_state(world)
    for persona in NON_ADMIN:
        before_seq = last_seq()
        r = _send(world.clients[persona], method, url_b, body_b)
        if r.status_code not in {401, 403, 404, 405, 422}:
            failures.append(f"{persona}: {method.upper()} {url_b} → {r.status_code} {r.content[:200]!r}")
        if persona == "anonymous" and r.status_code != 401:
            failures.append(f"anonymous: {method.upper()} {url_b} → {r.status_code}, expected 401")
        written = AuditEvent.objects.filter(seq__gt=before_seq).count()
        if written:
            failures.append(f"{persona}: {method.upper()} {url_b} wrote {written} audit event(s)")
        after_state = b_state(world)
        if after_state != before_state:
            failures.append(f"{persona}: {method.upper()} {url_b} changed world B")
            before_state = after_state
        if leaks(world, r):
            failures.append(f"{persona}: {method.upper()} {url_b} response shows {leaks(world, r)}")
        if is_scoped(route):
            rm = _send(world.clients[persona], method, url_missing, body_b)
            if rm.status_code != r.status_code:
                failures.append(
                    f"{persona}: {method.upper()} {url_b} → {r.status_code} but a non-existent id gives "
                    f"{rm.status_code}: the existence of another county's object leaks"
                )
    # controls: the body passes the schema (the admin's request reaches the handler), and
    # some in-scope role reaches the handler with A's objects
    with rollback():
        r = _send(world.clients["platform_admin"], method, url_b, body_b)
        answer = r.json() if "json" in r.get("Content-Type", "") and r.content else None
        code = answer.get("code") if isinstance(answer, dict) else None
        if r.status_code >= 500 or code == "invalid_request":
            failures.append(
                f"control: the platform admin's {method.upper()} {url_b} → {r.status_code} {r.content[:300]!r}; "
                "fix _sample() so the request body is valid and the scope check is really exercised"
            )
    reached = []
    before_a = side_state(world.a)  # each persona's request below is rolled back
    for persona in NON_ADMIN:
        with rollback():
            seq = last_seq()
            r = _send(world.clients[persona], method, url_a, body_a)
            if 400 <= r.status_code < 500:  # a refused write changes nothing, in scope or not
                written = AuditEvent.objects.filter(seq__gt=seq).count()
                if written:
                    failures.append(
                        f"{persona}: {method.upper()} {url_a} → {r.status_code} but wrote {written} audit event(s)"
                    )
                if side_state(world.a) != before_a:
                    failures.append(
                        f"{persona}: {method.upper()} {url_a} → {r.status_code} but changed world A"
                    )
        if r.status_code not in (401, 403, 404):
            reached.append(persona)
    if not reached and route.route in PLATFORM_ADMIN_ONLY:
        # the one writer is the platform admin: it must reach the handler with A's objects
        # (every other role was refused above, with nothing written)
        with rollback():
            r = _send(world.clients["platform_admin"], method, url_a, body_a)
            if r.status_code not in (401, 403, 404):
                reached.append("platform_admin")
    if not reached:
        failures.append(f"positive control: no role reaches {method.upper()} {url_a} with its own objects")
    assert not failures, f"{method.upper()} {route}:\n  " + "\n  ".join(failures)


def _form_data(side: Side, route: Route | None = None) -> dict:
    extra = {}
    for plugin in PLUGINS:
        for prefix, fields in getattr(plugin, "FORM_DATA", {}).items():
            if route is not None and route.route.startswith(prefix):
                extra.update(fields)
    return _common_form_data(side) | extra


def _common_form_data(side: Side) -> dict:
    return {
        "name": "越权写入",
        "title": "越权写入",
        "reason": "越权测试理由",
        "basis": "越权测试依据",
        "to_status": "suspended",
        "division_code": side.township,
        "category": "non_subject",
        "kind": "fire_acceptance",
        "stages": "primary",
        "number": "越权证号0001",
        "issuer": "越权",
        "valid_from": "2025-01-01",
        "approve": "1",
        "decision": "approve",
        "key": POLICY_KEY,
        "value": "5000",
        "address": "越权地址",
        "contact_phone": "13700001234",
        "uscc": "",
    }


@pytest.mark.parametrize("route", _params("post", PAGE_POSTS), ids=str)
def test_page_post_to_other_county_is_refused(world, db, rollback, route):
    require_fillers(route)
    failures = []
    url_b, url_missing, url_a = (fill(world, route, w) for w in ("B", "missing", "A"))
    before_state = b_state(world)  # read once, then after each persona's request
    for persona in NON_ADMIN:
        before_seq = last_seq()
        r = world.clients[persona].post(url_b, _form_data(world.b, route))
        if r.status_code >= 500:
            failures.append(f"{persona}: POST {url_b} → {r.status_code}")
        about_b = events_about_b(world, before_seq)
        if about_b:
            failures.append(f"{persona}: POST {url_b} wrote audit events about B: {about_b}")
        after_state = b_state(world)
        if after_state != before_state:
            failures.append(f"{persona}: POST {url_b} changed world B")
            before_state = after_state
        if leaks(world, r):
            failures.append(f"{persona}: POST {url_b} → {r.status_code} shows {leaks(world, r)}")
        if is_scoped(route):
            written = AuditEvent.objects.filter(seq__gt=before_seq).count()
            if written:
                failures.append(f"{persona}: POST {url_b} wrote {written} audit event(s)")
            rm = world.clients[persona].post(url_missing, _form_data(world.b, route))
            ok = (
                r.status_code in DENIED
                or is_login_redirect(r)
                or (redirect_path(r) is not None and redirect_path(r) == redirect_path(rm))
            )
            if not ok:
                failures.append(
                    f"{persona}: POST {url_b} → {r.status_code}, expected 302-to-login/403/404/405"
                )
            if rm.status_code != r.status_code:
                failures.append(
                    f"{persona}: POST {url_b} → {r.status_code} but a non-existent id gives {rm.status_code}"
                )
    if is_scoped(route):
        outcomes = {}
        for persona in NON_ADMIN:
            with rollback():
                r = world.clients[persona].post(url_a, _form_data(world.a, route))
            outcomes[persona] = "login" if is_login_redirect(r) else r.status_code
            if r.status_code >= 500:
                failures.append(f"{persona}: POST {url_a} → {r.status_code}")
        if all(o in ("login", 403, 404) for o in outcomes.values()):
            failures.append(
                f"positive control: no role reaches POST {url_a} with its own objects: {outcomes}"
            )
    assert not failures, f"POST {route}:\n  " + "\n  ".join(failures)
