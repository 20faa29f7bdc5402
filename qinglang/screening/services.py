"""Every write of the screening app, and the classify calls the API serves.

Writes to the apps below go through their services only: leads and cases through
``clues.services`` (so intake, dedupe, routing and time limits are the clues app's), the
registry only through its hooks (``hooks.py``)."""

import hashlib
import io
from dataclasses import dataclass
from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from qinglang.accounts.permissions import (
    INSPECTORS,
    REGULATOR_WRITERS,
    REGULATORS,
    lock_in_scope,
    require_role,
    user_id,
)
from qinglang.accounts.scope import division_in_scope, restrict
from qinglang.clues.services import Submission, clue_lead_create, clue_reclassify, clue_report_submit
from qinglang.core import files
from qinglang.core.audit import audit_record
from qinglang.core.errors import DomainError, IllegalTransition, NotFound, PermissionDeniedError
from qinglang.core.exports import CSV_CONTENT_TYPE, csv_text, xlsx_row
from qinglang.core.models import Division

from . import classifier, extract
from .models import (
    HOLD_TRANSITIONS,
    TAKEDOWN_TRANSITIONS,
    HoldStatus,
    Label,
    Outcome,
    PatrolPost,
    PlaceType,
    Platform,
    Source,
    Sweep,
    SweepPlace,
    SweepStatus,
    SweepVisit,
    TakedownRequest,
    TakedownStatus,
    TextHold,
)

MAX_TEXTS = 1000
MAX_TEXT_CHARS = 10_000
HOLD_CONFIDENCE = 0.6  # a non-subject text is held when it reads as subject training at least this surely
PATROL_HIT_CONFIDENCE = 0.5
REVIEW_ROLES = REGULATOR_WRITERS  # review holds, start sweeps, close findings
PATROL_ROLES = INSPECTORS  # record posts and takedowns
VISIT_ROLES = REGULATORS  # visit places (grid workers included), call the classifier


# --- classify (the API) ----------------------------------------------------------------------
def texts_check(texts: list) -> list[str]:
    """The one-call limits: 1–1,000 texts, each non-empty and at most 10,000 characters."""
    if not isinstance(texts, list) or not texts:
        raise DomainError("no_texts", "请至少提供一条文本", {"min": 1}, status=422)
    if len(texts) > MAX_TEXTS:
        raise DomainError(
            "too_many_texts",
            f"每次最多研判{MAX_TEXTS}条文本，本次{len(texts)}条；更多请用文件上传",
            {"max": MAX_TEXTS, "got": len(texts)},
            status=422,
        )
    for i, t in enumerate(texts):
        if not isinstance(t, str) or not t.strip():
            raise DomainError("empty_text", f"第{i + 1}条文本为空", {"index": i}, status=422)
        if len(t) > MAX_TEXT_CHARS:
            raise DomainError(
                "text_too_long",
                f"第{i + 1}条文本{len(t)}字，超过{MAX_TEXT_CHARS}字上限",
                {"index": i, "length": len(t), "max": MAX_TEXT_CHARS},
                status=422,
            )
    return texts


def texts_classify(*, texts: list) -> list[dict]:
    return [r.as_dict() for r in classifier.classify_many(texts_check(texts))]


@dataclass
class ResultFile:
    name: str
    content_type: str
    data: bytes
    rows: int


RESULT_HEADERS = ["id", "text", "研判结果", "label", "置信度", "变异形式", "名义", "证据"]


def texts_classify_file(*, data: bytes, name: str) -> ResultFile:
    """A .csv or .xlsx of ``id,text`` classified row by row; the answer is the same kind
    of file with the results beside each row. Any bad row refuses the whole file."""
    kind, rows = extract.table_rows(data, name)
    bad = [i + 2 for i, (_, t) in enumerate(rows) if not t.strip()]
    if bad:
        raise DomainError(
            "empty_text",
            f"第{'、'.join(map(str, bad[:20]))}行 text 为空" + ("等" if len(bad) > 20 else ""),
            {"rows": bad[:100]},
            status=422,
        )
    long = [i + 2 for i, (_, t) in enumerate(rows) if len(t) > MAX_TEXT_CHARS]
    if long:
        raise DomainError(
            "text_too_long",
            f"第{'、'.join(map(str, long[:20]))}行 text 超过{MAX_TEXT_CHARS}字",
            {"rows": long[:100], "max": MAX_TEXT_CHARS},
            status=422,
        )
    out = [RESULT_HEADERS]
    for i in range(0, len(rows), MAX_TEXTS):
        chunk = rows[i : i + MAX_TEXTS]
        for (rid, text), r in zip(chunk, classifier.classify_many([t for _, t in chunk]), strict=True):
            out.append(
                [
                    rid,
                    text,
                    classifier.LABEL_NAMES[r.label],
                    r.label,
                    round(r.confidence, 4),
                    r.as_dict()["pattern_name"],
                    r.as_dict()["cover_name"],
                    "；".join(e["text"] for e in r.evidence),
                ]
            )
    stem = (name.rsplit(".", 1)[0] or "texts")[:80]
    if kind == "xlsx":
        return ResultFile(f"{stem}-研判结果.xlsx", extract.XLSX_TYPE, _xlsx(out), len(rows))
    return ResultFile(f"{stem}-研判结果.csv", CSV_CONTENT_TYPE, csv_text(out[0], out[1:]).encode(), len(rows))


def _xlsx(rows: list[list]) -> bytes:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("研判结果")
    for row in rows:
        ws.append(xlsx_row(ws, row))
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


# --- holds: texts that read as subject training where they should not -----------------------
def text_screen(
    *, actor, source: str, object_id: int, object_name: str, institution, texts: dict[str, str]
) -> TextHold | None:
    """Screen the texts written for a non-subject object. Returns the hold (new or still
    open, or confirmed) when the text reads as subject training, None when it does not or
    when a regulator already cleared this very text for this object. Runs inside the
    caller's transaction."""
    text = "\n".join(t.strip() for t in texts.values() if t and t.strip())
    if not text:
        return None
    digest = hashlib.sha256(text.encode()).hexdigest()
    prior = TextHold.objects.filter(source=source, object_id=object_id, text_sha256=digest).first()
    if prior is not None:
        return None if prior.status == HoldStatus.CLEARED else prior
    r = classifier.classify(text[:MAX_TEXT_CHARS])
    if r.label == Label.NON_SUBJECT or r.confidence < HOLD_CONFIDENCE:
        return None
    hold = TextHold.objects.create(
        source=source,
        object_id=object_id,
        object_name=object_name[:200],
        institution_id=getattr(institution, "pk", None),
        institution_name=getattr(institution, "name", "")[:200],
        division_code=getattr(institution, "division_code", ""),
        text=text,
        text_sha256=digest,
        label=r.label,
        confidence=r.confidence,
        pattern=r.pattern,
        cover=r.cover,
        evidence=r.evidence,
    )
    audit_record(
        actor=actor,
        action="screening.hold",
        obj=hold,
        changes={"source": source, "object_id": object_id, "label": r.label, "pattern": r.pattern},
    )
    return hold


@transaction.atomic
def hold_review(*, actor, hold_id: int, genuine: bool, note: str) -> TextHold:
    """复核: genuine (the same text of this object is not held again) or confirmed. A
    confirmed hold is disguised subject training found in the institution's own texts: it
    raises a lead through the clues services (channel online_patrol, 网上巡查: found by a
    regulator reading what was published or filed, as a patrol does), which joins the open
    case of the same institution about the same problem instead of opening another."""
    hold = lock_in_scope(TextHold, hold_id, actor=actor, what="待复核文本")
    require_role(actor, REVIEW_ROLES, message="只有监管人员可以复核")
    to = HoldStatus.CLEARED if genuine else HoldStatus.CONFIRMED
    if to not in HOLD_TRANSITIONS[hold.status]:
        labels = dict(HoldStatus.choices)
        raise IllegalTransition(
            "text_hold", labels[hold.status], labels[to], sorted(HOLD_TRANSITIONS[hold.status])
        )
    note = (note or "").strip()
    if not note:
        raise ValidationError({"note": "请填写复核意见"})
    hold.status, hold.review_note = to, note[:2000]
    hold.reviewed_by_id, hold.reviewed_at = user_id(actor), timezone.now()
    hold.full_clean()
    hold.save()
    changes = {"status": [HoldStatus.HELD, to]}
    if to == HoldStatus.CONFIRMED:
        _hold_lead(actor, hold)
        changes |= {"clue_id": hold.clue_id, "joined_case": hold.joined_case}
    audit_record(actor=actor, action=f"screening.hold.{to}", obj=hold, changes=changes)
    return hold


def _hold_lead(actor, hold: TextHold) -> None:
    """The lead of a confirmed hold, through ``clues.services.clue_lead_create`` (intake,
    the institution matched by its credit code, dedupe into an open case, routing, time
    limits and the clues' own audit are the clues app's)."""
    from qinglang.registry.models import Institution

    inst = Institution.objects.filter(pk=hold.institution_id).values("name", "uscc", "address").first() or {}
    content = (
        f"文本研判复核确认为隐形变异学科类培训({hold.get_source_display()}《{hold.object_name}》)："
        f"{hold.text}"
    )[:2000]
    report = clue_lead_create(
        actor=actor,
        submission=Submission(
            channel="online_patrol",
            content=content,
            division_code=hold.division_code,
            institution_name=inst.get("name") or hold.institution_name,
            uscc=inst.get("uscc") or "",
            address=inst.get("address") or "",
            source_ref=f"HOLD-{hold.pk}",  # one report per hold (unique per channel in clues)
        ),
    )
    clue = report.clue
    hold.clue_id, hold.clue_reference = clue.pk, clue.reference
    hold.joined_case = clue.report_count > 1
    hold.save(update_fields=["clue_id", "clue_reference", "joined_case"])
    if not hold.joined_case and clue.category != "disguised_training":
        # the reviewer's confirmation is the category of the case it opened (a joined case
        # keeps the category its handlers gave it)
        clue_reclassify(actor=actor, clue_id=clue.pk, category="disguised_training")


@transaction.atomic
def material_file_screen(*, actor, material_id: int, data: bytes, name: str) -> TextHold | None:
    """The text of an uploaded .docx/.pdf of a training material, screened like its title."""
    from qinglang.registry.models import InstitutionCategory, TrainingMaterial

    m = restrict(TrainingMaterial.objects.select_related("institution"), actor).filter(pk=material_id).first()
    if m is None:
        raise NotFound("培训材料")
    text = extract.document_text(data, name)
    if m.institution.category == InstitutionCategory.SUBJECT:
        return None
    return text_screen(
        actor=actor,
        source=Source.MATERIAL,
        object_id=m.pk,
        object_name=m.title,
        institution=m.institution,
        texts={"file": text[:MAX_TEXT_CHARS]},
    )


@transaction.atomic
def business_scope_screen(*, actor, institution_id: int, text: str) -> TextHold | None:
    """The business scope (经营范围) on a non-subject institution's licence."""
    from qinglang.registry.models import Institution, InstitutionCategory, Licence, LicenceKind

    inst = (
        restrict(Institution.objects.all(), actor, regulator_department=False)
        .filter(pk=institution_id)
        .first()
    )
    if inst is None:
        raise NotFound("机构")
    require_role(actor, REVIEW_ROLES, message="只有监管人员可以研判经营范围")
    text = (text or "").strip()
    if not text:
        raise ValidationError({"text": "请填写经营范围"})
    if len(text) > MAX_TEXT_CHARS:
        raise ValidationError({"text": f"经营范围超过{MAX_TEXT_CHARS}字"})
    if inst.category == InstitutionCategory.SUBJECT:
        return None
    lic = Licence.objects.filter(institution=inst, kind=LicenceKind.BUSINESS_LICENSE).first()
    return text_screen(
        actor=actor,
        source=Source.BUSINESS_SCOPE,
        object_id=lic.pk if lic else inst.pk,
        object_name=f"{inst.name} 营业执照经营范围",
        institution=inst,
        texts={"scope": text},
    )


# --- online patrol (网上巡查) ------------------------------------------------------------------
def _division(code: str, field: str = "division_code") -> str:
    code = (code or "").strip()
    if not code or not Division.objects.filter(code=code).exists():
        raise ValidationError({field: f"所属区域无效：{code or '未填写'}"})
    return code


def _clean_post(data: dict) -> dict:
    errors = {}
    platform = (data.get("platform") or "").strip()
    by_label = {label: value for value, label in Platform.choices}
    platform = by_label.get(platform, platform)
    if platform not in Platform.values:
        errors["platform"] = f"未知平台：{platform or '未填写'}"
    text = (data.get("text") or "").strip()
    if not text:
        errors["text"] = "请填写广告或帖子内容"
    elif len(text) > MAX_TEXT_CHARS:
        errors["text"] = f"内容超过{MAX_TEXT_CHARS}字"
    seen = data.get("seen_on")
    if isinstance(seen, str):
        try:
            seen = date.fromisoformat(seen.strip())
        except ValueError:
            errors["seen_on"] = f"发现日期格式不正确：{seen}(应为 2026-01-31)"
    if not isinstance(seen, date) and "seen_on" not in errors:
        errors["seen_on"] = "请填写发现日期"
    elif isinstance(seen, date) and seen > timezone.localdate():
        errors["seen_on"] = "发现日期不能晚于今天"
    url = (data.get("url") or "").strip()
    if url and not url.lower().startswith(("http://", "https://")):
        errors["url"] = "网址须以 http:// 或 https:// 开头"
    try:
        division = _division(data.get("division_code"))
    except ValidationError as e:
        errors.update({k: v[0] for k, v in e.message_dict.items()})
        division = ""
    if errors:
        raise ValidationError(errors)
    return {
        "platform": platform,
        "text": text,
        "seen_on": seen,
        "url": url[:500],
        "division_code": division,
        "operator_name": (data.get("operator_name") or "").strip()[:200],
        "institution_id": data.get("institution_id") or None,
    }


def _patrol_store(actor, d: dict, r, screenshot: tuple | None) -> PatrolPost:
    hit = r.label != Label.NON_SUBJECT and r.confidence >= PATROL_HIT_CONFIDENCE
    post = PatrolPost(
        **d,
        label=r.label,
        confidence=r.confidence,
        pattern=r.pattern,
        cover=r.cover,
        evidence=r.evidence,
        hit=hit,
        recorded_by_id=user_id(actor),
    )
    if screenshot:
        post.screenshot, post.screenshot_sha256 = screenshot
    post.full_clean()
    post.save()
    if hit:
        inst_name = d["operator_name"]
        if d["institution_id"] and not inst_name:
            from qinglang.registry.models import Institution

            inst_name = (
                Institution.objects.filter(pk=d["institution_id"]).values_list("name", flat=True).first()
                or ""
            )
        report = clue_lead_create(
            actor=actor,
            submission=Submission(
                channel="online_patrol",
                content=d["text"][:2000] if len(d["text"]) >= 5 else d["text"] + "(网上巡查)",
                division_code=d["division_code"],
                institution_name=inst_name,
                url=d["url"],
                source_ref=f"PATROL-{post.pk}",  # one report per post (unique per channel in clues)
            ),
        )
        clue = report.clue
        post.clue_id, post.clue_reference = clue.pk, clue.reference
        post.joined_case = clue.report_count > 1
        post.save(update_fields=["clue_id", "clue_reference", "joined_case"])
    audit_record(
        actor=actor,
        action="screening.patrol.record",
        obj=post,
        changes={"platform": post.platform, "label": post.label, "hit": hit, "clue_id": post.clue_id},
    )
    return post


@transaction.atomic
def patrol_record(*, actor, data: dict, screenshot=None) -> PatrolPost:
    """Record one ad or post; a hit opens a lead or joins the operator's open case."""
    require_role(actor, PATROL_ROLES, message="只有监管人员可以录入网上巡查")
    d = _clean_post(data)
    if not division_in_scope(actor, d["division_code"]):
        raise PermissionDeniedError("只能录入本辖区的巡查记录")
    shot = files.store_photo(screenshot, folder="screening/patrol")[:2] if screenshot is not None else None
    r = classifier.classify(d["text"])
    return _patrol_store(actor, d, r, shot)


PATROL_COLUMNS = {
    "平台": "platform",
    "网址": "url",
    "内容": "text",
    "发现日期": "seen_on",
    "发布主体": "operator_name",
    "区划代码": "division_code",
}


@transaction.atomic
def patrol_import(*, actor, data: bytes, name: str) -> list[PatrolPost]:
    """A .csv/.xlsx of posts (columns 平台, 网址, 内容, 发现日期, 发布主体, 区划代码): every
    row is checked first; one bad row refuses the file and nothing is recorded."""
    require_role(actor, PATROL_ROLES, message="只有监管人员可以导入网上巡查")
    _, rows = extract.table(
        data, name, required=("平台", "内容", "发现日期", "区划代码"), optional=("网址", "发布主体")
    )
    cleaned, problems = [], []
    for n, row in rows:
        try:
            d = _clean_post({PATROL_COLUMNS[k]: v for k, v in row.items()})
            if not division_in_scope(actor, d["division_code"]):
                raise ValidationError({"division_code": "不在本辖区"})
            cleaned.append(d)
        except ValidationError as e:
            problems.append({"row": n, "errors": e.message_dict})
    _refuse_rows(problems)
    results = classifier.classify_many([d["text"] for d in cleaned])
    return [_patrol_store(actor, d, r, None) for d, r in zip(cleaned, results, strict=True)]


def _refuse_rows(problems: list[dict]) -> None:
    """A file with any bad row is refused whole, naming the first and counting the rest."""
    if problems:
        first = problems[0]
        msg = "；".join(f"{k}：{'，'.join(v)}" for k, v in first["errors"].items())
        raise DomainError(
            "bad_rows",
            f"第{first['row']}行：{msg}(共{len(problems)}行有误，未导入)",
            problems[:100],
            status=422,
        )


def _lock_post(actor, post_id: int) -> PatrolPost:
    return lock_in_scope(PatrolPost, post_id, actor=actor, what="巡查记录")


@transaction.atomic
def takedown_request(
    *, actor, post_id: int, sent_on: date | None = None, reference: str = ""
) -> TakedownRequest:
    post = _lock_post(actor, post_id)
    require_role(actor, PATROL_ROLES, message="只有监管人员可以发起下架请求")
    if post.takedowns.filter(status=TakedownStatus.SENT).exists():
        raise DomainError("takedown_pending", "该内容已有待答复的下架请求", {"post_id": post.pk}, status=409)
    t = TakedownRequest(
        post=post,
        sent_on=sent_on or timezone.localdate(),
        reference=(reference or "").strip()[:64],
        sent_by_id=user_id(actor),
    )
    if t.sent_on > timezone.localdate():
        raise ValidationError({"sent_on": "发函日期不能晚于今天"})
    t.full_clean()
    t.save()
    audit_record(
        actor=actor,
        action="screening.takedown.request",
        obj=t,
        division_code=post.division_code,
        changes={"post_id": post.pk},
    )
    return t


@transaction.atomic
def takedown_answer(
    *, actor, takedown_id: int, status: str, answered_on: date | None = None, answer: str = ""
) -> TakedownRequest:
    t = lock_in_scope(TakedownRequest, takedown_id, actor=actor, what="下架请求", related=("post",))
    require_role(actor, PATROL_ROLES, message="只有监管人员可以登记平台答复")
    if status not in TakedownStatus.values or status not in TAKEDOWN_TRANSITIONS[t.status]:
        labels = dict(TakedownStatus.choices)
        raise IllegalTransition(
            "takedown", labels[t.status], labels.get(status, status), sorted(TAKEDOWN_TRANSITIONS[t.status])
        )
    answered_on = answered_on or timezone.localdate()
    if answered_on < t.sent_on:
        raise ValidationError({"answered_on": "答复日期不能早于发函日期"})
    old = t.status
    t.status, t.answered_on, t.answer = status, answered_on, (answer or "").strip()[:2000]
    t.full_clean()
    t.save()
    audit_record(
        actor=actor,
        action="screening.takedown.answer",
        obj=t,
        division_code=t.post.division_code,
        changes={"status": [old, status]},
    )
    return t


# --- key-place sweeps (专项摸排 → 清零) ---------------------------------------------------------
@transaction.atomic
def sweep_create(
    *, actor, name: str, division_code: str, place_types: list[str], starts_on: date, ends_on: date
) -> Sweep:
    require_role(actor, REVIEW_ROLES, message="只有监管人员可以发起专项摸排")
    errors = {}
    name = (name or "").strip()
    if not name:
        errors["name"] = "请填写名称"
    try:
        division_code = _division(division_code)
    except ValidationError as e:
        errors.update({k: v[0] for k, v in e.message_dict.items()})
    bad = [t for t in place_types or [] if t not in PlaceType.values]
    if not place_types:
        errors["place_types"] = "请至少选择一类场所"
    elif bad:
        errors["place_types"] = f"未知场所类型：{'、'.join(bad)}"
    if not starts_on or not ends_on:
        errors["ends_on"] = "请填写起止日期"
    elif ends_on < starts_on:
        errors["ends_on"] = "截止日期不能早于开始日期"
    if errors:
        raise ValidationError(errors)
    if not division_in_scope(actor, division_code):
        raise PermissionDeniedError("只能在本辖区发起专项摸排")
    s = Sweep(
        name=name[:200],
        division_code=division_code,
        place_types=list(dict.fromkeys(place_types)),
        starts_on=starts_on,
        ends_on=ends_on,
        created_by_id=user_id(actor),
    )
    s.full_clean()
    s.save()
    audit_record(
        actor=actor,
        action="screening.sweep.create",
        obj=s,
        changes={"name": s.name, "place_types": s.place_types},
    )
    return s


def _lock_sweep(actor, sweep_id: int) -> Sweep:
    from .selectors import sweep_get

    sweep_get(actor=actor, sweep_id=sweep_id)  # NotFound outside the actor's area
    s = Sweep.objects.select_for_update().get(pk=sweep_id)
    if s.status != SweepStatus.OPEN:
        raise DomainError("sweep_closed", "专项摸排已结束，不能再修改", {"sweep_id": s.pk}, status=409)
    return s


def _clean_place(sweep: Sweep, data: dict) -> dict:
    errors = {}
    name = (data.get("name") or "").strip()
    address = (data.get("address") or "").strip()
    ptype = (data.get("place_type") or "").strip()
    ptype = {label: v for v, label in PlaceType.choices}.get(ptype, ptype)
    code = (data.get("division_code") or "").strip()
    if not name:
        errors["name"] = "请填写场所名称"
    if not address:
        errors["address"] = "请填写地址"
    if ptype not in sweep.place_types:
        labels = dict(PlaceType.choices)
        errors["place_type"] = (
            f"场所类型须为本次摸排的类型之一：{'、'.join(labels[t] for t in sweep.place_types)}"
        )
    if (
        len(code) < 9
        or not code.startswith(sweep.division_code)
        or not Division.objects.filter(code=code).exists()
    ):
        errors["division_code"] = f"须为本次摸排范围内的乡镇(街道)或社区代码：{code or '未填写'}"
    if errors:
        raise ValidationError(errors)
    return {"name": name[:200], "address": address[:255], "place_type": ptype, "division_code": code}


@transaction.atomic
def sweep_place_add(*, actor, sweep_id: int, data: dict, on_spot: bool = False) -> SweepPlace:
    """A place added to the list (by a leader before, or by a visitor on the spot)."""
    s = _lock_sweep(actor, sweep_id)
    require_role(actor, VISIT_ROLES, message="只有监管人员和网格员可以登记场所")
    d = _clean_place(s, data)
    if not division_in_scope(actor, d["division_code"]):
        raise PermissionDeniedError("只能登记本辖区(网格)内的场所")
    if SweepPlace.objects.filter(sweep=s, name=d["name"], address=d["address"]).exists():
        raise ValidationError({"name": "该场所已在清单中"})
    p = SweepPlace.objects.create(sweep=s, added_on_spot=on_spot, **d)
    audit_record(actor=actor, action="screening.place.add", obj=p, changes={**d, "on_spot": on_spot})
    return p


PLACE_COLUMNS = {"场所名称": "name", "地址": "address", "场所类型": "place_type", "区划代码": "division_code"}


@transaction.atomic
def sweep_places_import(*, actor, sweep_id: int, data: bytes, name: str) -> int:
    """A list of places (.csv/.xlsx: 场所名称, 地址, 场所类型, 区划代码), all or nothing."""
    s = _lock_sweep(actor, sweep_id)
    require_role(actor, REVIEW_ROLES, message="只有监管人员可以导入场所清单")
    _, rows = extract.table(data, name, required=tuple(PLACE_COLUMNS))
    seen = set(SweepPlace.objects.filter(sweep=s).values_list("name", "address"))
    places, problems = [], []
    for n, row in rows:
        try:
            d = _clean_place(s, {PLACE_COLUMNS[k]: v for k, v in row.items()})
            if (d["name"], d["address"]) in seen:
                raise ValidationError({"name": "重复的场所(名称和地址相同)"})
            seen.add((d["name"], d["address"]))
            places.append(SweepPlace(sweep=s, **d))
        except ValidationError as e:
            problems.append({"row": n, "errors": e.message_dict})
    _refuse_rows(problems)
    SweepPlace.objects.bulk_create(places, batch_size=2000)
    audit_record(
        actor=actor, action="screening.place.import", obj=s, changes={"rows": len(places), "file": name[:100]}
    )
    return len(places)


def _coordinate(v, lo: float, hi: float, field: str):
    from decimal import Decimal, InvalidOperation

    if v in (None, ""):
        return None
    try:
        d = Decimal(str(v)).quantize(Decimal("0.000001"))
    except InvalidOperation:
        raise ValidationError({field: "定位数据无效"}) from None
    if not (lo <= d <= hi):
        raise ValidationError({field: "定位数据超出范围"})
    return d


@transaction.atomic
def sweep_visit_record(
    *, actor, place_id: int, outcome: str, note: str = "", photos=(), latitude=None, longitude=None
) -> SweepVisit:
    """A visit on the phone page. A violation opens a lead (clue channel grid) for the
    place, so the clues app routes it and starts its time limits."""
    if not restrict(SweepPlace.objects.filter(pk=place_id), actor).exists():
        raise NotFound("摸排场所")
    require_role(actor, VISIT_ROLES, message="只有监管人员和网格员可以登记走访")
    place = SweepPlace.objects.select_related("sweep").get(pk=place_id)
    _lock_sweep(actor, place.sweep_id)
    if outcome not in Outcome.values:
        raise ValidationError({"outcome": "请选择走访结果"})
    note = (note or "").strip()
    if outcome != Outcome.CLEAR and len(note) < 5:
        raise ValidationError({"note": "存在疑点或违规时请写明情况(至少5个字)"})
    photos = list(photos or [])
    if len(photos) > files.MAX_PHOTOS:
        raise ValidationError({"photos": f"最多上传{files.MAX_PHOTOS}张照片"})
    lat = _coordinate(latitude, -90, 90, "latitude")
    lng = _coordinate(longitude, -180, 180, "longitude")
    stored = [files.store_photo(p, folder="screening/visits")[0] for p in photos]
    v = SweepVisit(
        place=place,
        outcome=outcome,
        note=note[:2000],
        photos=stored,
        latitude=lat,
        longitude=lng,
        visited_by_id=user_id(actor),
        visited_at=timezone.now(),
    )
    if outcome == Outcome.VIOLATION:
        report = clue_report_submit(
            actor=actor,
            submission=Submission(
                channel="grid",
                content=f"专项摸排“{place.sweep.name}”走访发现违规：{note}"[:2000],
                division_code=place.division_code,
                institution_name=place.name,
                address=place.address,
                anonymous=True,
            ),
        )
        v.clue_id, v.clue_reference = report.clue.pk, report.clue.reference
    v.full_clean()
    v.save()
    audit_record(
        actor=actor,
        action="screening.visit.record",
        obj=v,
        division_code=place.division_code,
        changes={"place_id": place.pk, "outcome": outcome, "clue_id": v.clue_id},
    )
    return v


@transaction.atomic
def sweep_finding_close(*, actor, visit_id: int, note: str) -> SweepVisit:
    """Close a finding (suspicious cleared up, or violation dealt with), with how."""
    v = lock_in_scope(SweepVisit, visit_id, actor=actor, what="走访记录", related=("place",))
    require_role(actor, REVIEW_ROLES, message="只有监管人员可以关闭问题")
    if not v.is_finding:
        raise DomainError("not_a_finding", "该走访未发现问题，无需关闭", {"visit_id": v.pk}, status=409)
    if v.closed_at is not None:
        raise DomainError("already_closed", "该问题已关闭", {"visit_id": v.pk}, status=409)
    note = (note or "").strip()
    if not note:
        raise ValidationError({"note": "请写明处理结果"})
    v.closed_at, v.close_note = timezone.now(), note[:2000]
    v.full_clean()
    v.save()
    audit_record(
        actor=actor,
        action="screening.finding.close",
        obj=v,
        division_code=v.place.division_code,
        changes={"closed": True},
    )
    return v
