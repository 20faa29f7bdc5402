"""Key-place sweeps (专项摸排 → 清零): the sweep, its list of places, visits (a violation
raising a lead through the clues services) and findings closed."""

from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from qinglang.accounts.permissions import lock_in_scope, require_role, user_id
from qinglang.accounts.scope import division_in_scope, restrict
from qinglang.clues.services import Submission, clue_report_submit
from qinglang.core import files
from qinglang.core.audit import audit_record
from qinglang.core.errors import DomainError, NotFound, PermissionDeniedError
from qinglang.core.i18n import chinese_labels
from qinglang.core.models import Division

from .. import extract
from ..models import Outcome, PlaceType, Sweep, SweepPlace, SweepStatus, SweepVisit
from .common import REVIEW_ROLES, VISIT_ROLES, _division, _refuse_rows


@transaction.atomic
def sweep_create(
    *, actor, name: str, division_code: str, place_types: list[str], starts_on: date, ends_on: date
) -> Sweep:
    require_role(actor, REVIEW_ROLES, message=_("只有监管人员可以发起专项摸排"))
    errors = {}
    name = (name or "").strip()
    if not name:
        errors["name"] = _("请填写名称")
    try:
        division_code = _division(division_code)
    except ValidationError as e:
        errors.update({k: v[0] for k, v in e.message_dict.items()})
    bad = [t for t in place_types or [] if t not in PlaceType.values]
    if not place_types:
        errors["place_types"] = _("请至少选择一类场所")
    elif bad:
        errors["place_types"] = format_lazy(_("未知场所类型：{kinds}"), kinds="、".join(bad))
    if not starts_on or not ends_on:
        errors["ends_on"] = _("请填写起止日期")
    elif ends_on < starts_on:
        errors["ends_on"] = _("截止日期不能早于开始日期")
    if errors:
        raise ValidationError(errors)
    if not division_in_scope(actor, division_code):
        raise PermissionDeniedError(_("只能在本辖区发起专项摸排"))
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
    from ..selectors import sweep_get

    sweep_get(actor=actor, sweep_id=sweep_id)  # NotFound outside the actor's area
    s = Sweep.objects.select_for_update().get(pk=sweep_id)
    if s.status != SweepStatus.OPEN:
        raise DomainError("sweep_closed", _("专项摸排已结束，不能再修改"), {"sweep_id": s.pk}, status=409)
    return s


def _clean_place(sweep: Sweep, data: dict) -> dict:
    errors = {}
    name = (data.get("name") or "").strip()
    address = (data.get("address") or "").strip()
    ptype = (data.get("place_type") or "").strip()
    ptype = {label: v for v, label in chinese_labels(PlaceType).items()}.get(ptype, ptype)
    code = (data.get("division_code") or "").strip()
    if not name:
        errors["name"] = _("请填写场所名称")
    if not address:
        errors["address"] = _("请填写地址")
    if ptype not in sweep.place_types:
        labels = chinese_labels(PlaceType)
        errors["place_type"] = format_lazy(
            _("场所类型须为本次摸排的类型之一：{kinds}"),
            kinds="、".join(str(labels[t]) for t in sweep.place_types),
        )
    if (
        len(code) < 9
        or not code.startswith(sweep.division_code)
        or not Division.objects.filter(code=code).exists()
    ):
        errors["division_code"] = format_lazy(
            _("须为本次摸排范围内的乡镇(街道)或社区代码：{code}"), code=code or _("未填写")
        )
    if errors:
        raise ValidationError(errors)
    return {"name": name[:200], "address": address[:255], "place_type": ptype, "division_code": code}


@transaction.atomic
def sweep_place_add(*, actor, sweep_id: int, data: dict, on_spot: bool = False) -> SweepPlace:
    """A place added to the list (by a leader before, or by a visitor on the spot)."""
    s = _lock_sweep(actor, sweep_id)
    require_role(actor, VISIT_ROLES, message=_("只有监管人员和网格员可以登记场所"))
    d = _clean_place(s, data)
    if not division_in_scope(actor, d["division_code"]):
        raise PermissionDeniedError(_("只能登记本辖区(网格)内的场所"))
    if SweepPlace.objects.filter(sweep=s, name=d["name"], address=d["address"]).exists():
        raise ValidationError({"name": _("该场所已在清单中")})
    p = SweepPlace.objects.create(sweep=s, added_on_spot=on_spot, **d)
    audit_record(actor=actor, action="screening.place.add", obj=p, changes={**d, "on_spot": on_spot})
    return p


PLACE_COLUMNS = {"场所名称": "name", "地址": "address", "场所类型": "place_type", "区划代码": "division_code"}


@transaction.atomic
def sweep_places_import(*, actor, sweep_id: int, data: bytes, name: str) -> int:
    """A list of places (.csv/.xlsx: 场所名称, 地址, 场所类型, 区划代码), all or nothing."""
    s = _lock_sweep(actor, sweep_id)
    require_role(actor, REVIEW_ROLES, message=_("只有监管人员可以导入场所清单"))
    _kind, rows = extract.table(data, name, required=tuple(PLACE_COLUMNS))
    seen = set(SweepPlace.objects.filter(sweep=s).values_list("name", "address"))
    places, problems = [], []
    for n, row in rows:
        try:
            d = _clean_place(s, {PLACE_COLUMNS[k]: v for k, v in row.items()})
            if (d["name"], d["address"]) in seen:
                raise ValidationError({"name": _("重复的场所(名称和地址相同)")})
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
        raise ValidationError({field: _("定位数据无效")}) from None
    if not (lo <= d <= hi):
        raise ValidationError({field: _("定位数据超出范围")})
    return d


@transaction.atomic
def sweep_visit_record(
    *, actor, place_id: int, outcome: str, note: str = "", photos=(), latitude=None, longitude=None
) -> SweepVisit:
    """A visit on the phone page. A violation opens a lead (clue channel grid) for the
    place, so the clues app routes it and starts its time limits."""
    if not restrict(SweepPlace.objects.filter(pk=place_id), actor).exists():
        raise NotFound(_("摸排场所"))
    require_role(actor, VISIT_ROLES, message=_("只有监管人员和网格员可以登记走访"))
    place = SweepPlace.objects.select_related("sweep").get(pk=place_id)
    _lock_sweep(actor, place.sweep_id)
    if outcome not in Outcome.values:
        raise ValidationError({"outcome": _("请选择走访结果")})
    note = (note or "").strip()
    if outcome != Outcome.CLEAR and len(note) < 5:
        raise ValidationError({"note": _("存在疑点或违规时请写明情况(至少5个字)")})
    photos = list(photos or [])
    if len(photos) > files.MAX_PHOTOS:
        raise ValidationError({"photos": format_lazy(_("最多上传{n}张照片"), n=files.MAX_PHOTOS)})
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
    require_role(actor, REVIEW_ROLES, message=_("只有监管人员可以关闭问题"))
    if not v.is_finding:
        raise DomainError("not_a_finding", _("该走访未发现问题，无需关闭"), {"visit_id": v.pk}, status=409)
    if v.closed_at is not None:
        raise DomainError("already_closed", _("该问题已关闭"), {"visit_id": v.pk}, status=409)
    note = (note or "").strip()
    if not note:
        raise ValidationError({"note": _("请写明处理结果")})
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
