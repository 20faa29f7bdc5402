"""Open311 GeoReport v2 (https://wiki.open311.org/GeoReport_v2) under
/api/clues/open311/v2, so existing civic reporting apps can send reports.

* GET services.{json,xml}, services/{service_code}.{json,xml} — public; one service per
  problem category, each with attributes (涉及机构, 信用代码, 所属区划).
* POST requests.{json,xml} — ``api_key`` (form field or query parameter, an API token) or
  a logged-in regulator's session; multipart with an optional ``media`` photo.
* GET requests.{json,xml}, requests/{id}.{json,xml}, tokens/{token}.{json,xml} — with an
  api_key or session: an integration sees the requests it submitted, a regulator those in
  scope. Complaints about training institutions are not public the way potholes are.

Errors are the spec's list of ``{code, description}`` (``<errors><error>…`` in XML).
Extension: ``division_code`` (GB/T 2260 code of the place) because we do not geocode
lat/long; ``jurisdiction_id`` may carry the same code."""

from datetime import datetime, time, timedelta
from xml.etree import ElementTree as ET

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import HttpResponse, JsonResponse
from django.utils import timezone
from ninja import File, Form, Router
from ninja.files import UploadedFile
from ninja.utils import check_csrf

from qinglang.accounts.models import REGULATOR_ROLES
from qinglang.accounts.scope import actor_for, division_in_scope, restrict
from qinglang.accounts.services import api_token_authenticate
from qinglang.core.errors import DomainError
from qinglang.core.i18n import chinese_display, chinese_label
from qinglang.core.models import Division

from .models import Channel, Clue, ClueCategory, ClueReport, ClueStatus

router = Router(tags=["open311"])
JURISDICTION = "qinglang"
KEYWORDS = {
    ClueCategory.DISGUISED_TRAINING: "家政,众筹,一对一,研学",
    ClueCategory.UNLICENSED: "无证,无照,黑机构",
    ClueCategory.REFUND_DIFFICULTY: "退费,退款",
    ClueCategory.RUNAWAY: "跑路,关门,卷款",
    ClueCategory.PRICE: "收费,价格",
    ClueCategory.FIRE_SAFETY: "消防,安全出口,灭火器",
    ClueCategory.FOOD_SAFETY: "食品,午餐,食堂",
    ClueCategory.ADVERTISING: "广告,宣传",
    ClueCategory.STAFF_CONDUCT: "教师,体罚,资格",
    ClueCategory.BEYOND_SYLLABUS: "超纲,超前",
    ClueCategory.ILLEGAL_COMPETITION: "竞赛,排名",
    ClueCategory.OTHER: "其他",
}
ATTRIBUTES = [
    ("institution_name", "涉及机构名称", False),
    ("uscc", "统一社会信用代码", False),
    ("division_code", "所属区划代码(GB/T 2260 / 统计用区划代码)", True),
]


# --- rendering -------------------------------------------------------------------------


def _xml(root: str, item: str | None, data) -> bytes:
    def fill(el, value):
        if isinstance(value, dict):
            for k, v in value.items():
                if isinstance(v, list):
                    sub = ET.SubElement(el, k)
                    for x in v:
                        fill(ET.SubElement(sub, k[:-1] if k.endswith("s") else k), x)
                else:
                    fill(ET.SubElement(el, k), v)
        elif value is None:
            pass
        elif isinstance(value, bool):
            el.text = "true" if value else "false"
        else:
            el.text = str(value)

    top = ET.Element(root)
    if item is None:
        fill(top, data)
    else:
        for x in data:
            fill(ET.SubElement(top, item), x)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(top, encoding="utf-8")


def render(fmt: str, root: str, item: str | None, data, status: int = 200) -> HttpResponse:
    if fmt == "xml":
        return HttpResponse(_xml(root, item, data), content_type="text/xml; charset=utf-8", status=status)
    return JsonResponse(data, safe=False, status=status, json_dumps_params={"ensure_ascii": False})


def error(fmt: str, status: int, description: str) -> HttpResponse:
    return render(fmt, "errors", "error", [{"code": status, "description": description}], status)


def _iso(dt) -> str | None:
    return timezone.localtime(dt).isoformat(timespec="seconds") if dt else None


# --- services --------------------------------------------------------------------------


def _service(code: str) -> dict:
    return {
        "service_code": code,
        "service_name": chinese_label(ClueCategory, code),
        "description": f"举报校外培训问题：{chinese_label(ClueCategory, code)}",
        "metadata": True,
        "type": "realtime",
        "keywords": KEYWORDS[code],
        "group": "校外培训",
    }


def _definition(code: str) -> dict:
    return {
        "service_code": code,
        "attributes": [
            {
                "variable": True,
                "code": c,
                "datatype": "string",
                "required": req,
                "datatype_description": label,
                "order": i,
                "description": label,
            }
            for i, (c, label, req) in enumerate(ATTRIBUTES, start=1)
        ],
    }


def _services(request, fmt: str, jurisdiction_id: str = ""):
    if jurisdiction_id and not _jurisdiction_ok(jurisdiction_id):
        return error(fmt, 404, "jurisdiction_id provided was not found")
    return render(fmt, "services", "service", [_service(c) for c in ClueCategory.values])


@router.get("/services.json", auth=None, summary="Open311: service list (JSON)")
def services_json(request, jurisdiction_id: str = ""):
    return _services(request, "json", jurisdiction_id)


@router.get("/services.xml", auth=None, summary="Open311: service list (XML)")
def services_xml(request, jurisdiction_id: str = ""):
    return _services(request, "xml", jurisdiction_id)


def _definition_view(code: str, fmt: str):
    def view(request, jurisdiction_id: str = ""):
        if jurisdiction_id and not _jurisdiction_ok(jurisdiction_id):
            return error(fmt, 404, "jurisdiction_id provided was not found")
        return render(fmt, "service_definition", None, _definition(code))

    view.__name__ = f"service_definition_{code}_{fmt}"
    return view


# The spec's /services/{service_code}.{format}: the codes are a fixed list, so each gets its
# own route (no free path parameter to fill).
for _code in ClueCategory.values:
    for _fmt in ("json", "xml"):
        router.get(
            f"/services/{_code}.{_fmt}",
            auth=None,
            summary=f"Open311: service definition {_code} ({_fmt.upper()})",
            operation_id=f"open311_service_definition_{_code}_{_fmt}",
        )(_definition_view(_code, _fmt))


# --- auth ------------------------------------------------------------------------------


class Refused(Exception):
    def __init__(self, status: int, description: str):
        self.status, self.description = status, description


def _user(request):
    """The caller: an API token (``api_key``, or the Bearer / X-API-Token header) or a
    session. 401 when nothing is presented, 403 for an invalid key (as the spec says)."""
    key = request.POST.get("api_key") or request.GET.get("api_key")
    if not key:
        auth = request.headers.get("Authorization", "")
        key = auth[7:].strip() if auth.startswith("Bearer ") else request.headers.get("X-API-Token", "")
    if key:
        user = api_token_authenticate(key)
        if user is None:
            raise Refused(403, "Invalid api_key")
        return user
    if request.user.is_authenticated:
        if request.method == "POST" and check_csrf(request) is not None:
            raise Refused(403, "CSRF verification failed")
        return request.user
    raise Refused(401, "api_key was not provided")


def _jurisdiction_ok(j: str) -> bool:
    return j == JURISDICTION or Division.objects.filter(code=j).exists()


# --- requests --------------------------------------------------------------------------


def _request_out(c: Clue, r: ClueReport | None = None) -> dict:
    """A case as Open311 shows it. ``r`` is the caller's own report when the caller is a
    reporter (an integrator's key): they read what they sent, never the case summary
    another reporter wrote."""
    return {
        "service_request_id": str(c.pk),
        "status": "closed" if c.status in (ClueStatus.CONCLUDED, ClueStatus.CLOSED) else "open",
        "status_notes": c.public_stage
        + (f"：{c.feedback}" if c.status == ClueStatus.CLOSED and c.feedback else ""),
        "service_name": chinese_display(c, "category"),
        "service_code": c.category,
        "description": r.content if r else c.summary,
        "agency_responsible": "、".join(c.routed_kind_list),
        "service_notice": "",
        "requested_datetime": _iso(c.received_at),
        "updated_datetime": _iso(c.closed_at or c.concluded_at or c.accepted_at or c.received_at),
        "expected_datetime": _iso(
            timezone.make_aware(datetime.combine(c.resolve_due, time(18, 0)), timezone.get_current_timezone())
        )
        if c.resolve_due
        else None,
        "address": c.operator_address,
        "address_id": "",
        "zipcode": "",
        "lat": None,
        "long": None,
        "media_url": "",
    }


def _out_for(user, c: Clue) -> dict:
    a = actor_for(user)
    if a.is_platform_admin or a.regulator:
        return _request_out(c)
    own = c.reports.filter(submitted_by_id=user.pk, channel=Channel.OPEN311).order_by("id").first()
    return _request_out(c, own)


def _visible(user):
    """Clues an Open311 caller may read: its own submissions, and a regulator's scope."""
    own = Q(reports__submitted_by_id=user.pk, reports__channel=Channel.OPEN311)
    a = actor_for(user)
    if a.is_platform_admin or a.regulator:
        scoped = restrict(Clue.objects.all(), user).values("pk")
        return Clue.objects.filter(own | Q(pk__in=scoped)).distinct()
    return Clue.objects.filter(own).distinct()


ENVELOPE_CODES = {
    400: "invalid",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    429: "rate_limited",
}


def _post(request, fmt, **f):
    try:
        user = _user(request)
    except Refused as r:
        return error(fmt, r.status, r.description)
    session = request.auth_via_session

    def err(status: int, description: str) -> HttpResponse:
        # Open311 clients (api_key) get the spec's error list; a session caller (the
        # platform's own apps) gets the platform's error envelope {code, message, detail}
        if not session:
            return error(fmt, status, description)
        body = {"code": ENVELOPE_CODES.get(status, "invalid"), "message": description, "detail": None}
        return JsonResponse(body, status=status, json_dumps_params={"ensure_ascii": False})

    attrs = {k[10:-1]: v for k, v in request.POST.items() if k.startswith("attribute[") and k.endswith("]")}
    j = (f.get("jurisdiction_id") or "").strip()
    division = (
        f.get("division_code") or attrs.get("division_code") or (j if j != JURISDICTION else "")
    ).strip()
    a = actor_for(user)
    # a session caller must be a regulator, reporting within their area
    if (a.regulator or session) and not a.is_platform_admin:  # noqa: SIM102
        if not (set(a.roles) & REGULATOR_ROLES) or not division or not division_in_scope(user, division):
            return err(403, "division_code is outside the caller's area")
    code = (f.get("service_code") or "").strip()
    if not code:
        return err(400, "service_code was not provided")
    if code not in ClueCategory.values:
        return err(400, f"service_code not found: {code}")
    if j and not _jurisdiction_ok(j):
        return err(404, "jurisdiction_id provided was not found")
    if not division:
        return err(400, "jurisdiction_id was not provided (division_code required)")
    if not Division.objects.filter(code=division).exists():
        return err(400, f"division_code not found: {division}")
    for k in ("lat", "long"):
        if f.get(k):
            try:
                float(f[k])
            except ValueError:
                return err(400, f"{k} is not a number")
    photos = []
    media = f.get("media")
    from .services import Submission, clue_report_submit, read_photos

    try:
        if media is not None:
            photos = read_photos([media])
        name = " ".join(x for x in (f.get("last_name"), f.get("first_name")) if x).strip()
        phone = (f.get("phone") or "").strip()
        import secrets

        token = secrets.token_hex(12)
        rep = clue_report_submit(
            actor=user,
            submission=Submission(
                channel=Channel.OPEN311,
                content=f.get("description") or "",
                division_code=division,
                institution_name=f.get("institution_name") or attrs.get("institution_name", ""),
                uscc=f.get("uscc") or attrs.get("uscc", ""),
                address=f.get("address_string") or "",
                reporter_name=name,
                reporter_phone=phone,
                anonymous=not (name or phone),
                url=f.get("media_url") or "",
                open311_token=token,
                photos=photos,
            ),
            source=f"user:{user.pk}",
        )
    except ValidationError as e:
        msgs = [
            f"{k}: {'; '.join(v)}" for k, v in getattr(e, "message_dict", {"__all__": e.messages}).items()
        ]
        return err(400, " / ".join(msgs))
    except DomainError as e:
        return err(e.status if e.status != 422 else 400, e.message)
    out = [
        {
            "service_request_id": rep.source_ref,  # the case's id, kept on the report (intake)
            "service_notice": f"已收到，查询码 {rep.tracking_code}",
            "account_id": None,
            "token": token,
        }
    ]
    return render(fmt, "service_requests", "request", out)


_POST_DOC = (
    "Open311 POST Service Request. Authenticate with the `api_key` form field (or query parameter), "
    "an API token header, or a regulator's session. Extension: `division_code` (required unless "
    "`jurisdiction_id` is a division code), `institution_name`, `uscc`; optional photo `media`."
)


def _post_view(fmt):
    def view(
        request,
        service_code: Form[str] = "",
        jurisdiction_id: Form[str] = "",
        division_code: Form[str] = "",
        lat: Form[str] = "",
        long: Form[str] = "",
        address_string: Form[str] = "",
        address_id: Form[str] = "",
        email: Form[str] = "",
        device_id: Form[str] = "",
        account_id: Form[str] = "",
        first_name: Form[str] = "",
        last_name: Form[str] = "",
        phone: Form[str] = "",
        description: Form[str] = "",
        media_url: Form[str] = "",
        institution_name: Form[str] = "",
        uscc: Form[str] = "",
        media: File[UploadedFile] = None,
    ):
        request.auth_via_session = not (
            request.POST.get("api_key")
            or request.GET.get("api_key")
            or request.headers.get("Authorization")
            or request.headers.get("X-API-Token")
        )
        f = dict(locals())
        f.pop("request")
        f.pop("fmt", None)
        return _post(request, fmt, **f)

    view.__name__ = f"open311_post_request_{fmt}"
    return view


router.post(
    "/requests.json", auth=None, summary="Open311: POST a service request (JSON)", description=_POST_DOC
)(_post_view("json"))
router.post(
    "/requests.xml", auth=None, summary="Open311: POST a service request (XML)", description=_POST_DOC
)(_post_view("xml"))


def _get_requests(
    request, fmt, service_request_id="", service_code="", status="", start_date="", end_date=""
):
    try:
        user = _user(request)
    except Refused as r:
        return error(fmt, r.status, r.description)
    qs = _visible(user)
    if service_request_id:
        ids = [int(x) for x in service_request_id.split(",") if x.strip().isdigit()]
        qs = qs.filter(pk__in=ids)
    if service_code:
        qs = qs.filter(category__in=service_code.split(","))
    if status:
        want = set(status.split(","))
        closed = [ClueStatus.CONCLUDED, ClueStatus.CLOSED]
        if want == {"open"}:
            qs = qs.exclude(status__in=closed)
        elif want == {"closed"}:
            qs = qs.filter(status__in=closed)
    from django.utils.dateparse import parse_datetime

    for v, op in ((start_date, "gte"), (end_date, "lte")):
        if v:
            dt = parse_datetime(v)
            if dt is None:
                return error(fmt, 400, f"invalid date: {v}")
            qs = qs.filter(**{f"received_at__{op}": dt})
    if not start_date and not end_date and not service_request_id:
        qs = qs.filter(received_at__gte=timezone.now() - timedelta(days=90))
    return render(
        fmt, "service_requests", "request", [_out_for(user, c) for c in qs.order_by("-received_at")[:1000]]
    )


@router.get("/requests.json", auth=None, summary="Open311: GET service requests (JSON)")
def requests_json(
    request,
    service_request_id: str = "",
    service_code: str = "",
    status: str = "",
    start_date: str = "",
    end_date: str = "",
    jurisdiction_id: str = "",
):
    return _get_requests(request, "json", service_request_id, service_code, status, start_date, end_date)


@router.get("/requests.xml", auth=None, summary="Open311: GET service requests (XML)")
def requests_xml(
    request,
    service_request_id: str = "",
    service_code: str = "",
    status: str = "",
    start_date: str = "",
    end_date: str = "",
    jurisdiction_id: str = "",
):
    return _get_requests(request, "xml", service_request_id, service_code, status, start_date, end_date)


def _one(request, fmt, service_request_id: int):
    try:
        user = _user(request)
    except Refused as r:
        return error(fmt, r.status, r.description)
    c = _visible(user).filter(pk=service_request_id).first()
    if c is None:
        return error(fmt, 404, "service_request_id provided was not found")
    return render(fmt, "service_requests", "request", [_out_for(user, c)])


@router.get(
    "/requests/{int:service_request_id}.json", auth=None, summary="Open311: GET a service request (JSON)"
)
def request_json(request, service_request_id: int, jurisdiction_id: str = ""):
    return _one(request, "json", service_request_id)


@router.get(
    "/requests/{int:service_request_id}.xml", auth=None, summary="Open311: GET a service request (XML)"
)
def request_xml(request, service_request_id: int, jurisdiction_id: str = ""):
    return _one(request, "xml", service_request_id)


def _token(request, fmt, token: str):
    try:
        user = _user(request)
    except Refused as r:
        return error(fmt, r.status, r.description)
    rep = ClueReport.objects.filter(open311_token=token, clue__in=_visible(user)).first() if token else None
    if rep is None:
        return error(fmt, 404, "token provided was not found")
    return render(
        fmt, "service_requests", "request", [{"service_request_id": str(rep.clue_id), "token": token}]
    )


@router.get("/tokens/{token}.json", auth=None, summary="Open311: GET service request id from a token (JSON)")
def token_json(request, token: str, jurisdiction_id: str = ""):
    return _token(request, "json", token)


@router.get("/tokens/{token}.xml", auth=None, summary="Open311: GET service request id from a token (XML)")
def token_xml(request, token: str, jurisdiction_id: str = ""):
    return _token(request, "xml", token)
