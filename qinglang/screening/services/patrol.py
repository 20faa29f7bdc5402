"""Online patrol (网上巡查): ads and posts recorded one by one or from a file, a hit
raising a lead through the clues services, and takedown requests to the platforms."""

from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from qinglang.accounts.permissions import lock_in_scope, require_role, user_id
from qinglang.accounts.scope import division_in_scope
from qinglang.clues.services import Submission, clue_lead_create
from qinglang.core import files
from qinglang.core.audit import audit_record
from qinglang.core.errors import DomainError, IllegalTransition, PermissionDeniedError
from qinglang.core.i18n import chinese_labels

from .. import classifier, extract
from ..models import TAKEDOWN_TRANSITIONS, Label, PatrolPost, Platform, TakedownRequest, TakedownStatus
from .common import MAX_TEXT_CHARS, PATROL_HIT_CONFIDENCE, PATROL_ROLES, _division, _refuse_rows


def _clean_post(data: dict) -> dict:
    errors = {}
    platform = (data.get("platform") or "").strip()
    by_label = {label: value for value, label in chinese_labels(Platform).items()}
    platform = by_label.get(platform, platform)
    if platform not in Platform.values:
        errors["platform"] = format_lazy(_("未知平台：{platform}"), platform=platform or _("未填写"))
    text = (data.get("text") or "").strip()
    if not text:
        errors["text"] = _("请填写广告或帖子内容")
    elif len(text) > MAX_TEXT_CHARS:
        errors["text"] = format_lazy(_("内容超过{limit}字"), limit=MAX_TEXT_CHARS)
    seen = data.get("seen_on")
    if isinstance(seen, str):
        try:
            seen = date.fromisoformat(seen.strip())
        except ValueError:
            errors["seen_on"] = format_lazy(_("发现日期格式不正确：{seen}(应为 2026-01-31)"), seen=seen)
    if not isinstance(seen, date) and "seen_on" not in errors:
        errors["seen_on"] = _("请填写发现日期")
    elif isinstance(seen, date) and seen > timezone.localdate():
        errors["seen_on"] = _("发现日期不能晚于今天")
    url = (data.get("url") or "").strip()
    if url and not url.lower().startswith(("http://", "https://")):
        errors["url"] = _("网址须以 http:// 或 https:// 开头")
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
    require_role(actor, PATROL_ROLES, message=_("只有监管人员可以录入网上巡查"))
    d = _clean_post(data)
    if not division_in_scope(actor, d["division_code"]):
        raise PermissionDeniedError(_("只能录入本辖区的巡查记录"))
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
    require_role(actor, PATROL_ROLES, message=_("只有监管人员可以导入网上巡查"))
    _kind, rows = extract.table(
        data, name, required=("平台", "内容", "发现日期", "区划代码"), optional=("网址", "发布主体")
    )
    cleaned, problems = [], []
    for n, row in rows:
        try:
            d = _clean_post({PATROL_COLUMNS[k]: v for k, v in row.items()})
            if not division_in_scope(actor, d["division_code"]):
                raise ValidationError({"division_code": _("不在本辖区")})
            cleaned.append(d)
        except ValidationError as e:
            problems.append({"row": n, "errors": e.message_dict})
    _refuse_rows(problems)
    results = classifier.classify_many([d["text"] for d in cleaned])
    return [_patrol_store(actor, d, r, None) for d, r in zip(cleaned, results, strict=True)]


def _lock_post(actor, post_id: int) -> PatrolPost:
    return lock_in_scope(PatrolPost, post_id, actor=actor, what="巡查记录")


@transaction.atomic
def takedown_request(
    *, actor, post_id: int, sent_on: date | None = None, reference: str = ""
) -> TakedownRequest:
    post = _lock_post(actor, post_id)
    require_role(actor, PATROL_ROLES, message=_("只有监管人员可以发起下架请求"))
    if post.takedowns.filter(status=TakedownStatus.SENT).exists():
        raise DomainError(
            "takedown_pending", _("该内容已有待答复的下架请求"), {"post_id": post.pk}, status=409
        )
    t = TakedownRequest(
        post=post,
        sent_on=sent_on or timezone.localdate(),
        reference=(reference or "").strip()[:64],
        sent_by_id=user_id(actor),
    )
    if t.sent_on > timezone.localdate():
        raise ValidationError({"sent_on": _("发函日期不能晚于今天")})
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
    require_role(actor, PATROL_ROLES, message=_("只有监管人员可以登记平台答复"))
    if status not in TakedownStatus.values or status not in TAKEDOWN_TRANSITIONS[t.status]:
        labels = chinese_labels(TakedownStatus)
        raise IllegalTransition(
            "takedown", labels[t.status], labels.get(status, status), sorted(TAKEDOWN_TRANSITIONS[t.status])
        )
    answered_on = answered_on or timezone.localdate()
    if answered_on < t.sent_on:
        raise ValidationError({"answered_on": _("答复日期不能早于发函日期")})
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
