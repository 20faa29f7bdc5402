"""Holds: texts that read as subject training where they should not (a non-subject
object's texts, a training material's file, a business scope), their review, and the
lead a confirmed hold raises through the clues services."""

import hashlib

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from qinglang.accounts.permissions import lock_in_scope, require_role, user_id
from qinglang.accounts.scope import restrict
from qinglang.clues.services import Submission, clue_lead_create, clue_reclassify
from qinglang.core.audit import audit_record
from qinglang.core.errors import IllegalTransition, NotFound
from qinglang.core.i18n import chinese_display, chinese_labels

from .. import classifier, extract
from ..models import HOLD_TRANSITIONS, HoldStatus, Label, Source, TextHold
from .common import HOLD_CONFIDENCE, MAX_TEXT_CHARS, REVIEW_ROLES


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
    require_role(actor, REVIEW_ROLES, message=_("只有监管人员可以复核"))
    to = HoldStatus.CLEARED if genuine else HoldStatus.CONFIRMED
    if to not in HOLD_TRANSITIONS[hold.status]:
        labels = chinese_labels(HoldStatus)
        raise IllegalTransition(
            "text_hold", labels[hold.status], labels[to], sorted(HOLD_TRANSITIONS[hold.status])
        )
    note = (note or "").strip()
    if not note:
        raise ValidationError({"note": _("请填写复核意见")})
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
        f"文本研判复核确认为隐形变异学科类培训({chinese_display(hold, 'source')}《{hold.object_name}》)："
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
        raise NotFound(_("培训材料"))
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
        raise NotFound(_("机构"))
    require_role(actor, REVIEW_ROLES, message=_("只有监管人员可以研判经营范围"))
    text = (text or "").strip()
    if not text:
        raise ValidationError({"text": _("请填写经营范围")})
    if len(text) > MAX_TEXT_CHARS:
        raise ValidationError({"text": format_lazy(_("经营范围超过{limit}字"), limit=MAX_TEXT_CHARS)})
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
