"""Manual signals: a bank, the labour inspection, the police, a township or a department
reports what it saw, with evidence."""

from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from qinglang.accounts.models import Role
from qinglang.accounts.scope import actor_for, division_in_scope
from qinglang.core import files
from qinglang.core.audit import audit_record
from qinglang.core.errors import NotFound
from qinglang.registry.models import Institution

from ..models import RiskReport, SignalSource
from ..signals import MANUAL_KINDS
from .common import _text, _uid


def _source_of(actor, inst: Institution) -> str:
    """Who reports: a bank operator for an institution banking with it, the labour
    inspection (人社), the police, a township (街道 or grid worker), else the department."""
    a = actor_for(actor)
    if a.is_platform_admin:
        return SignalSource.REGULATOR
    depts = {dept for _ps, dept in a.regulator}
    if a.regulator and division_in_scope(actor, inst.division_code):
        if "public_security" in depts:
            return SignalSource.POLICE
        if "human_resources" in depts:
            return SignalSource.LABOUR
        if "township_government" in depts or Role.GRID_WORKER in a.roles:
            return SignalSource.TOWNSHIP
        return SignalSource.REGULATOR
    if a.bank_ids and Role.BANK_OPERATOR in a.roles:
        from qinglang.funds.models import CustodyAccount

        if CustodyAccount.objects.filter(institution_id=inst.pk, bank_id__in=a.bank_ids).exists():
            return SignalSource.BANK
    raise NotFound(_("机构"))


def report_create(
    *,
    actor,
    institution_id: int,
    kind: str,
    reporter_unit: str,
    observed_on: date,
    evidence: str,
    photo=None,
) -> RiskReport:
    """A signal entered by hand, with evidence (a description, and a photo or scan)."""
    if kind not in MANUAL_KINDS:
        raise ValidationError({"kind": format_lazy(_("不能人工报送的信号类型：{kind}"), kind=kind)})
    evidence = _text(evidence, "evidence", "证据说明(看到了什么、谁反映、何时何地)")
    if len(evidence) < 10:
        raise ValidationError({"evidence": _("证据说明过短：请写明看到了什么、谁反映、何时何地(至少10字)")})
    reporter_unit = _text(reporter_unit, "reporter_unit", "报送单位", max_len=100)
    today = timezone.localdate()
    if not isinstance(observed_on, date):
        raise ValidationError({"observed_on": _("请填写发现日期")})
    if observed_on > today:
        raise ValidationError({"observed_on": _("发现日期不能晚于今天")})
    stored = ("", "")
    if photo is not None:
        data = photo.read() if hasattr(photo, "read") else photo
        stored = files.store_photo((data, getattr(photo, "name", "")), folder="risk")[:2]
    with transaction.atomic():
        inst = Institution.objects.select_for_update().filter(pk=institution_id).first()
        if inst is None:
            raise NotFound(_("机构"))
        source = _source_of(actor, inst)
        r = RiskReport.objects.create(
            institution=inst,
            kind=kind,
            source=source,
            reporter_unit=reporter_unit,
            observed_on=observed_on,
            evidence=evidence,
            evidence_file=stored[0],
            evidence_sha256=stored[1],
            division_code=inst.division_code,
            reported_by_id=_uid(actor),
        )
        audit_record(
            actor=actor,
            action="risk.report",
            obj=r,
            division_code=inst.division_code,
            changes={
                "institution_id": inst.pk,
                "kind": kind,
                "source": source,
                "observed_on": observed_on.isoformat(),
            },
        )
    return r
