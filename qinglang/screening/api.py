"""The screening API. ``texts_router`` is mounted at /api/risk/texts (the classify calls
the issue names); ``router`` at /api/screening (holds, online patrol, sweeps)."""

from datetime import date, datetime
from urllib.parse import quote

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _
from ninja import File, Form, Router, Schema, Status
from ninja.files import UploadedFile

from qinglang.accounts.permissions import require_role

from . import selectors, services

texts_router = Router(tags=["screening"])
router = Router(tags=["screening"])


def _may_classify(request) -> None:
    require_role(request.user, services.VISIT_ROLES, message=_("只有监管人员和网格员可以调用文本研判"))


class ClassifyIn(Schema):
    texts: list = []


class Span(Schema):
    start: int
    end: int
    text: str
    kind: str
    kind_label: str
    negated: bool


class ClassifyOut(Schema):
    label: str
    label_name: str
    confidence: float
    probabilities: dict[str, float]
    pattern: str
    pattern_name: str
    cover: str
    cover_name: str
    evidence: list[Span]


class ClassifyResults(Schema):
    count: int
    results: list[ClassifyOut]


@texts_router.post(
    "/classify",
    response=ClassifyResults,
    summary="Classify 1–1,000 texts: subject / non_subject / disguised_subject, Art. 18 pattern, evidence spans",
)
def classify(request: HttpRequest, payload: ClassifyIn):
    """Each text ≤ 10,000 characters. Errors: `no_texts`, `too_many_texts`, `empty_text`,
    `text_too_long` (422, `{code, message, detail}`)."""
    _may_classify(request)
    results = services.texts_classify(texts=payload.texts)
    return {"count": len(results), "results": results}


@texts_router.post(
    "/classify-file",
    summary="Classify a .csv or .xlsx of texts (columns id,text); the answer is the same kind of file with results",
    response={200: None},
)
def classify_file(request: HttpRequest, file: File[UploadedFile]):
    """Up to 50,000 rows, 20 MB. Errors: `invalid` (missing column, empty or unreadable
    file), `empty_text`, `text_too_long` (422)."""
    _may_classify(request)
    out = services.texts_classify_file(data=file.read(), name=file.name or "texts.csv")
    resp = HttpResponse(out.data, content_type=out.content_type)
    resp["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(out.name)}"
    resp["X-Rows"] = str(out.rows)
    return resp


# --- holds ---------------------------------------------------------------------------------------
class HoldOut(Schema):
    id: int
    source: str
    object_id: int
    object_name: str
    institution_id: int | None
    institution_name: str
    division_code: str
    text: str
    label: str
    confidence: float
    pattern: str
    cover: str
    evidence: list[Span]
    status: str
    review_note: str
    created_at: datetime


class HoldReviewIn(Schema):
    genuine: bool
    note: str


@router.get("/holds", response=list[HoldOut], summary="Texts held for review (待复核)")
def hold_list(request, status: str = "held"):
    return list(selectors.hold_list(actor=request.user, status=status or None)[:500])


@router.post(
    "/holds/{int:hold_id}/review", response=HoldOut, summary="Review a held text: genuine or confirmed"
)
def hold_review(request, hold_id: int, payload: HoldReviewIn):
    return services.hold_review(
        actor=request.user, hold_id=hold_id, genuine=payload.genuine, note=payload.note
    )


class ScopeIn(Schema):
    text: str


class ScreenOut(Schema):
    held: bool
    hold: HoldOut | None


@router.post(
    "/institutions/{int:institution_id}/business-scope",
    response=ScreenOut,
    summary="Screen a licence's business scope (经营范围); a hold is returned when it reads as subject training",
)
def business_scope(request, institution_id: int, payload: ScopeIn):
    hold = services.business_scope_screen(
        actor=request.user, institution_id=institution_id, text=payload.text
    )
    return {"held": hold is not None, "hold": hold}


@router.post(
    "/materials/{int:material_id}/file",
    response=ScreenOut,
    summary="Screen the text of a training material's .docx or .pdf",
)
def material_file(request, material_id: int, file: File[UploadedFile]):
    hold = services.material_file_screen(
        actor=request.user, material_id=material_id, data=file.read(), name=file.name or ""
    )
    return {"held": hold is not None, "hold": hold}


# --- online patrol -------------------------------------------------------------------------------
class PostIn(Schema):
    platform: str
    text: str
    seen_on: date
    division_code: str
    url: str = ""
    operator_name: str = ""
    institution_id: int | None = None


class PostOut(Schema):
    id: int
    division_code: str
    platform: str
    url: str
    text: str
    seen_on: date
    operator_name: str
    institution_id: int | None
    label: str
    confidence: float
    pattern: str
    cover: str
    evidence: list[Span]
    hit: bool
    clue_id: int | None
    clue_reference: str
    joined_case: bool


@router.get("/patrol", response=list[PostOut], summary="Online patrol register (网上巡查)")
def patrol_list(request, platform: str = "", hit: bool | None = None):
    return list(selectors.patrol_list(actor=request.user, platform=platform, hit=hit)[:500])


@router.post(
    "/patrol", response={201: PostOut}, summary="Record an ad or post; a hit opens a lead or joins a case"
)
def patrol_record(request, payload: PostIn):
    return Status(201, services.patrol_record(actor=request.user, data=payload.dict()))


@router.post(
    "/patrol/import", response={201: list[PostOut]}, summary="Import posts (.csv/.xlsx), all or nothing"
)
def patrol_import(request, file: File[UploadedFile]):
    return Status(201, services.patrol_import(actor=request.user, data=file.read(), name=file.name or ""))


class CountOut(Schema):
    platform: str
    platform_name: str
    month: str
    posts: int
    hits: int
    takedowns: int
    removed: int


@router.get(
    "/patrol/counts", response=list[CountOut], summary="Posts, hits and takedowns per platform and month"
)
def patrol_counts(request):
    return selectors.patrol_counts(actor=request.user)


class TakedownIn(Schema):
    sent_on: date | None = None
    reference: str = ""


class TakedownAnswerIn(Schema):
    status: str
    answered_on: date | None = None
    answer: str = ""


class TakedownOut(Schema):
    id: int
    post_id: int
    sent_on: date
    reference: str
    status: str
    answered_on: date | None
    answer: str


@router.post("/patrol/{int:post_id}/takedowns", response={201: TakedownOut}, summary="Request a takedown")
def takedown_request(request, post_id: int, payload: TakedownIn):
    return Status(201, services.takedown_request(actor=request.user, post_id=post_id, **payload.dict()))


@router.post(
    "/takedowns/{int:takedown_id}/answer", response=TakedownOut, summary="Record the platform's answer"
)
def takedown_answer(request, takedown_id: int, payload: TakedownAnswerIn):
    return services.takedown_answer(actor=request.user, takedown_id=takedown_id, **payload.dict())


# --- sweeps ---------------------------------------------------------------------------------------
class SweepIn(Schema):
    name: str
    division_code: str
    place_types: list[str]
    starts_on: date
    ends_on: date


class SweepOut(SweepIn):
    id: int
    status: str


class PlaceIn(Schema):
    name: str
    address: str
    place_type: str
    division_code: str


class PlaceOut(PlaceIn):
    id: int
    sweep_id: int
    added_on_spot: bool


class VisitOut(Schema):
    id: int
    place_id: int
    outcome: str
    note: str
    photos: list[str]
    latitude: float | None
    longitude: float | None
    visited_at: datetime
    clue_id: int | None
    clue_reference: str
    closed_at: datetime | None


class SweepBoardRow(Schema):
    code: str
    name: str
    listed: int
    visited: int
    open_findings: int
    zero: bool


@router.get("/sweeps", response=list[SweepOut], summary="Key-place sweeps (专项摸排)")
def sweep_list(request):
    return list(selectors.sweep_list(actor=request.user)[:200])


@router.post("/sweeps", response={201: SweepOut}, summary="Start a sweep over place types in an area")
def sweep_create(request, payload: SweepIn):
    return Status(201, services.sweep_create(actor=request.user, **payload.dict()))


@router.post("/sweeps/{int:sweep_id}/places", response={201: PlaceOut}, summary="Add a place to the list")
def place_add(request, sweep_id: int, payload: PlaceIn, on_spot: bool = False):
    return Status(
        201,
        services.sweep_place_add(actor=request.user, sweep_id=sweep_id, data=payload.dict(), on_spot=on_spot),
    )


class PlacesImportOut(Schema):
    imported: int


@router.post(
    "/sweeps/{int:sweep_id}/places/import",
    response={201: PlacesImportOut},
    summary="Import places, all or nothing",
)
def places_import(request, sweep_id: int, file: File[UploadedFile]):
    n = services.sweep_places_import(
        actor=request.user, sweep_id=sweep_id, data=file.read(), name=file.name or ""
    )
    return Status(201, {"imported": n})


class SweepBoardOut(Schema):
    sweep_id: int
    name: str
    zero: bool  # every township of the sweep has reached zero
    townships: list[SweepBoardRow]


@router.get("/sweeps/{int:sweep_id}/board", response=SweepBoardOut, summary="清零 board per township")
def sweep_board(request, sweep_id: int):
    sweep = selectors.sweep_get(actor=request.user, sweep_id=sweep_id)
    rows = selectors.sweep_board(actor=request.user, sweep_id=sweep_id)
    return {
        "sweep_id": sweep.pk,
        "name": sweep.name,
        "zero": bool(rows) and all(r.zero for r in rows),
        "townships": [
            {
                "code": r.code,
                "name": r.name,
                "listed": r.listed,
                "visited": r.visited,
                "open_findings": r.open_findings,
                "zero": r.zero,
            }
            for r in rows
        ],
    }


@router.post(
    "/places/{int:place_id}/visits", response={201: VisitOut}, summary="Record a visit (photos, geolocation)"
)
def visit_record(
    request,
    place_id: int,
    outcome: Form[str],
    note: Form[str] = "",
    latitude: Form[str] = "",
    longitude: Form[str] = "",
    photos: File[list[UploadedFile]] = None,
):
    visit = services.sweep_visit_record(
        actor=request.user,
        place_id=place_id,
        outcome=outcome,
        note=note,
        photos=photos or [],
        latitude=latitude,
        longitude=longitude,
    )
    return Status(201, visit)


class FindingCloseIn(Schema):
    note: str


@router.post("/visits/{int:visit_id}/close", response=VisitOut, summary="Close a finding")
def finding_close(request, visit_id: int, payload: FindingCloseIn):
    return services.sweep_finding_close(actor=request.user, visit_id=visit_id, note=payload.note)
