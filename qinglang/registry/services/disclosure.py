"""The disclosure board (公示栏): for each item the division requires, what the registry
knows (licences, teachers, courses) beside what the institution publishes; the gaps of one
institution or of many at once."""

from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from qinglang.core.audit import audit_record
from qinglang.core.i18n import chinese_display, chinese_labels
from qinglang.core.policy import PolicyBatch, policy_resolve
from qinglang.core.validators import mask_name

from ..models import (
    Course,
    DisclosureItem,
    DisclosureNote,
    Institution,
    Licence,
    LicenceKind,
    Staff,
    StaffRole,
)
from .common import lock_institution
from .staff_admission import _active_staff

__all__ = ["disclosure_board", "disclosure_gaps", "disclosure_gaps_many", "disclosure_publish"]


def _facts(inst: Institution, day: date) -> dict[str, list[str]]:
    """What the registry itself knows for each item of the board."""
    out: dict[str, list[str]] = {k: [] for k in DisclosureItem.values}
    for lic in inst.licences.all():
        if not lic.is_valid_on(day):
            continue
        line = f"{chinese_display(lic, 'kind')} {lic.number}" + (f"({lic.issuer})" if lic.issuer else "")
        if lic.valid_until:
            line += f"，有效期至{lic.valid_until.isoformat()}"
        if lic.kind == LicenceKind.SCHOOL_PERMIT:
            out["permit"].append(line)
        elif lic.kind in (LicenceKind.BUSINESS_LICENSE, LicenceKind.NONPROFIT_REGISTRATION):
            out["registration"].append(line)
        elif lic.kind == LicenceKind.FIRE_ACCEPTANCE:
            out["safety"].append(line)
    for s in _active_staff(inst.pk, day).filter(role=StaffRole.TEACHER).order_by("id")[:50]:
        q = f"教师资格证 {s.teacher_qualification_no}" if s.teacher_qualification_no else "无教师资格证"
        out["teachers"].append(f"{mask_name(s.name)}　{s.subjects or '—'}　{q}")
    for c in inst.courses.filter(approval_status="approved").order_by("id")[:50]:
        out["fees"].append(f"{c.name}：{c.unit_price_fen / 100:.2f}元/课时，共{c.lessons}课时")
        out["content"].append(f"{c.name}({chinese_display(c, 'kind')}，{chinese_display(c, 'stage')})")
    return out


def disclosure_board(inst: Institution, day: date | None = None) -> list[dict]:
    """The board: each required item (``disclosure.required_items`` for the division)
    with what is shown and whether it is present."""
    day = day or timezone.localdate()
    rule = policy_resolve("disclosure.required_items", inst.division_code)
    facts = _facts(inst, day)
    notes = dict(inst.disclosures.values_list("item", "text"))
    labels = chinese_labels(DisclosureItem)
    out = []
    for item in rule.value or []:
        lines = [*facts.get(item, []), *([notes[item]] if notes.get(item) else [])]
        # licences can only come from the registry: a published note never stands in for them
        present = bool(facts.get(item)) if item in ("permit", "registration") else bool(lines)
        out.append({"item": item, "label": labels.get(item, item), "lines": lines, "present": present})
    return out


def disclosure_gaps(inst: Institution, day: date | None = None) -> list[str]:
    return [b["item"] for b in disclosure_board(inst, day) if not b["present"]]


def disclosure_gaps_many(institutions: QuerySet, day: date | None = None) -> dict[int, list[str]]:
    """``disclosure_gaps`` for every institution of ``institutions`` at once, set-based: a
    fixed handful of queries however many there are (the institutions, valid licences,
    active teachers, approved courses, published notes, and the policy figures) — the
    same presence test as ``disclosure_board``. Only institutions with a gap are keyed."""
    day = day or timezone.localdate()
    ids = institutions.values("id")
    rows = list(institutions.values_list("id", "division_code"))
    licences = (
        Licence.objects.filter(institution_id__in=ids, revoked=False)
        .filter(Q(valid_until__isnull=True) | Q(valid_until__gte=day))
        .filter(Q(valid_from__isnull=True) | Q(valid_from__lte=day))
        .values_list("institution_id", "kind")
    )
    facts: dict[str, set[int]] = {k: set() for k in DisclosureItem.values}
    item_of = {
        LicenceKind.SCHOOL_PERMIT: "permit",
        LicenceKind.BUSINESS_LICENSE: "registration",
        LicenceKind.NONPROFIT_REGISTRATION: "registration",
        LicenceKind.FIRE_ACCEPTANCE: "safety",
    }
    for inst_id, kind in licences:
        if kind in item_of:
            facts[item_of[kind]].add(inst_id)
    facts["teachers"] = set(
        Staff.objects.filter(institution_id__in=ids, role=StaffRole.TEACHER)
        .filter(Q(left_on__isnull=True) | Q(left_on__gt=day))
        .values_list("institution_id", flat=True)
        .distinct()
    )
    courses = set(
        Course.objects.filter(institution_id__in=ids, approval_status="approved")
        .values_list("institution_id", flat=True)
        .distinct()
    )
    facts["fees"] = facts["content"] = courses
    noted = set(
        DisclosureNote.objects.filter(institution_id__in=ids)
        .exclude(text="")
        .values_list("institution_id", "item")
    )
    required = PolicyBatch(["disclosure.required_items"], on=day)
    out: dict[int, list[str]] = {}
    for inst_id, division_code in rows:
        gaps = []
        for item in required.value("disclosure.required_items", division_code) or []:
            present = inst_id in facts.get(item, ())
            if item not in ("permit", "registration"):  # a note never stands in for a licence
                present = present or (inst_id, item) in noted
            if not present:
                gaps.append(item)
        if gaps:
            out[inst_id] = gaps
    return out


@transaction.atomic
def disclosure_publish(*, actor, institution_id: int, items: dict[str, str]) -> list[DisclosureNote]:
    """The institution publishes (or clears, with an empty text) items of its board."""
    inst = lock_institution(actor=actor, institution_id=institution_id, institution_may_write=True)
    bad = [k for k in items if k not in DisclosureItem.values]
    if bad:
        raise ValidationError({"items": format_lazy(_("未知的公示事项：{bad}"), bad="、".join(bad))})
    too_long = [k for k, v in items.items() if len(v or "") > 2000]
    if too_long:
        raise ValidationError({"items": _("每项公示内容不超过2000字")})
    changes = {}
    for item, text in items.items():
        text = (text or "").strip()
        old = DisclosureNote.objects.filter(institution=inst, item=item).first()
        if not text:
            if old:
                changes[item] = [old.text, None]
                old.delete()
            continue
        if old and old.text == text:
            continue
        DisclosureNote.objects.update_or_create(institution=inst, item=item, defaults={"text": text})
        changes[item] = [old.text if old else None, text]
    if changes:
        audit_record(actor=actor, action="disclosure.publish", obj=inst, changes=changes)
    return list(inst.disclosures.all())
