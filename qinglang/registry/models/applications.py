"""Approval applications (办学许可): kinds, statuses and their state machine, documents
and history."""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from qinglang.accounts.scope import ScopePaths
from qinglang.core.models import Department, TransitionRow
from qinglang.core.states import StateMachine

from .institutions import Institution, InstitutionCategory, Kind


class ApplicationKind(models.TextChoices):
    ESTABLISH = "establish", _("设立")
    CHANGE = "change", _("变更")
    CLOSE = "close", _("注销")
    CONVERT_NONPROFIT = "convert_nonprofit", _("营转非")
    FILING_TO_APPROVAL = "filing_to_approval", _("备改审")


class ApplicationStatus(models.TextChoices):
    DRAFT = "draft", _("草稿")
    SUBMITTED = "submitted", _("待审查")
    CORRECTING = "correcting", _("待补正")
    APPROVED = "approved", _("准予许可")
    REJECTED = "rejected", _("不予许可")
    WITHDRAWN = "withdrawn", _("已撤回")


# One service per transition (registry.services.applications).
APPLICATION_TRANSITIONS: dict[str, set[str]] = {
    ApplicationStatus.DRAFT: {ApplicationStatus.SUBMITTED, ApplicationStatus.WITHDRAWN},
    ApplicationStatus.SUBMITTED: {
        ApplicationStatus.CORRECTING,
        ApplicationStatus.APPROVED,
        ApplicationStatus.REJECTED,
        ApplicationStatus.WITHDRAWN,
    },
    ApplicationStatus.CORRECTING: {ApplicationStatus.SUBMITTED, ApplicationStatus.WITHDRAWN},
    ApplicationStatus.APPROVED: set(),
    ApplicationStatus.REJECTED: set(),
    ApplicationStatus.WITHDRAWN: set(),
}


class Application(models.Model):
    """An application for a licensing decision (办学许可): establish, change, close,
    营转非, 备改审. Reviewed by the competent department of the county, which decides
    within the working-day time limit; the approver supervises what it approved."""

    scope = ScopePaths(
        division="division_code",
        institution="institution_id",
        department="department__kind",
    )

    number = models.CharField(
        _("受理编号"), max_length=32, unique=True, null=True, blank=True
    )  # none while a draft
    kind = models.CharField(_("事项"), max_length=24, choices=ApplicationKind.choices)
    status = models.CharField(
        _("状态"), max_length=16, choices=ApplicationStatus.choices, default=ApplicationStatus.SUBMITTED
    )
    institution = models.ForeignKey(
        Institution, on_delete=models.PROTECT, related_name="applications", null=True, blank=True
    )
    division_code = models.CharField(_("所在区划"), max_length=12, db_index=True)
    department = models.ForeignKey(
        Department, verbose_name=_("审批部门"), on_delete=models.PROTECT, related_name="applications"
    )
    category = models.CharField(_("类别"), max_length=16, choices=InstitutionCategory.choices)
    training_kind = models.CharField(_("培训类型"), max_length=16, choices=Kind.choices)
    proposed = models.JSONField(_("申请事项"), default=dict)
    checklist = models.JSONField(_("审查要点"), default=dict, blank=True)
    correction_note = models.TextField(_("补正要求"), blank=True)
    decision_reason = models.TextField(_("决定理由"), blank=True)
    submitted_by_id = models.BigIntegerField(null=True)
    submitted_on = models.DateField(_("受理日期"), null=True, blank=True)
    due_on = models.DateField(_("决定期限"), null=True, blank=True)
    decided_on = models.DateField(_("决定日期"), null=True, blank=True)
    decided_by_id = models.BigIntegerField(null=True)
    permit_number = models.CharField(_("许可证号"), max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("审批申请")
        verbose_name_plural = _("审批申请")
        ordering = ["-submitted_on", "-id"]
        indexes = [models.Index(fields=["division_code", "status", "due_on"], name="app_div_status_due_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="establish") | Q(institution__isnull=False),
                name="application_has_institution",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["approved", "rejected"]) | Q(decided_on__isnull=False),
                name="application_decided_has_date",
            ),
            models.CheckConstraint(
                condition=Q(status="draft")
                | Q(number__isnull=False, submitted_on__isnull=False, due_on__isnull=False),
                name="application_submitted_has_number",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.get_kind_display()}"

    @property
    def name(self) -> str:
        return self.proposed.get("name") or (self.institution.name if self.institution_id else "")

    def overdue_on(self, day) -> bool:
        """Awaiting the department's decision past its time limit (逾期未决)."""
        return self.status == ApplicationStatus.SUBMITTED and self.due_on is not None and self.due_on < day


class ApplicationDocument(models.Model):
    """A document of an application, its type judged by content (stored by digest)."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="documents")
    doc_type = models.CharField(_("材料"), max_length=32)
    original_name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    path = models.CharField(max_length=300)
    uploaded_by_id = models.BigIntegerField(null=True)
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["application_id", "id"]

    def __str__(self) -> str:
        return self.original_name


class ApplicationTransition(TransitionRow):
    """Insert-only history of an application's status (core.states)."""

    application = models.ForeignKey(Application, on_delete=models.PROTECT, related_name="transitions")
    from_status = models.CharField(max_length=16, choices=ApplicationStatus.choices)
    to_status = models.CharField(max_length=16, choices=ApplicationStatus.choices)

    class Meta(TransitionRow.Meta):
        pass


APPLICATION_STATES = StateMachine(
    "application",
    ApplicationStatus,
    APPLICATION_TRANSITIONS,
    model=Application,
    history=ApplicationTransition,
    action="application",
)
