"""Lessons consumed (消课) against orders, each a release of the lesson's price that
waits for the parent's confirmation, and the batch uploads that record them."""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from qinglang.accounts.scope import ScopePaths
from qinglang.core.models import TransitionRow
from qinglang.core.states import StateMachine
from qinglang.registry.models import Institution

from .orders import Order


class LessonStatus(models.TextChoices):
    RECORDED = "recorded", _("待家长确认")
    CONFIRMED = "confirmed", _("已确认(已拨付)")
    DEEMED_CONFIRMED = "deemed_confirmed", _("逾期视为确认(已拨付)")
    DISPUTED = "disputed", _("家长异议(待监管决定)")
    DISPUTE_UPHELD = "dispute_upheld", _("异议成立(已退回)")
    DISPUTE_REJECTED = "dispute_rejected", _("异议不成立(已拨付)")


# where a lesson's release stands: pending until one of these, posted or voided once
LESSON_PENDING = {LessonStatus.RECORDED, LessonStatus.DISPUTED}
LESSON_POSTED = {LessonStatus.CONFIRMED, LessonStatus.DEEMED_CONFIRMED, LessonStatus.DISPUTE_REJECTED}
LESSON_VOIDED = {LessonStatus.DISPUTE_UPHELD}


LESSON_TRANSITIONS: dict[str, set[str]] = {
    LessonStatus.RECORDED: {LessonStatus.CONFIRMED, LessonStatus.DEEMED_CONFIRMED, LessonStatus.DISPUTED},
    LessonStatus.DISPUTED: {LessonStatus.DISPUTE_UPHELD, LessonStatus.DISPUTE_REJECTED},
    LessonStatus.CONFIRMED: set(),
    LessonStatus.DEEMED_CONFIRMED: set(),
    LessonStatus.DISPUTE_UPHELD: set(),
    LessonStatus.DISPUTE_REJECTED: set(),
}


class Lesson(models.Model):  # noqa: DJ008 - shown through their fields, not str()
    """A lesson consumed (消课) against an order; ``event_id`` is the institution
    system's id, unique per institution, so a repeated event is a no-op. ``released_fen``
    is the lesson's pending release (``posting_id``, prepaid → pending); the posting that
    posts it to settlement or voids it back is ``settled_posting_id`` (at most one: its
    idempotency key is ``settle:{lesson id}``, and it ``reverses`` the pending posting)."""

    scope = ScopePaths(
        division="division_code", institution="institution_id", bank="bank_id", owner="order__parent_id"
    )

    # the institution is the order's (checked through ``order``); the unique
    # (institution, event_id) and ``lesson_order_idx`` serve as their indexes
    institution = models.ForeignKey(
        Institution, on_delete=models.PROTECT, related_name="lessons", db_constraint=False, db_index=False
    )
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="lesson_events", db_index=False)
    event_id = models.CharField(max_length=64)
    given_at = models.DateTimeField(_("上课时间"))
    status = models.CharField(max_length=20, choices=LessonStatus.choices, default=LessonStatus.RECORDED)
    confirm_by = models.DateField(_("确认截止"))
    released_fen = models.BigIntegerField(default=0)
    posting_id = models.BigIntegerField(null=True, blank=True)
    settled_posting_id = models.BigIntegerField(null=True, blank=True)
    batch_id = models.BigIntegerField(null=True, blank=True)
    bank_id = models.BigIntegerField(null=True, blank=True)
    division_code = models.CharField(max_length=12)
    created_at = models.DateTimeField()

    class Meta:
        verbose_name = _("消课记录")
        verbose_name_plural = _("消课记录")
        constraints = [
            models.UniqueConstraint(fields=["institution", "event_id"], name="lesson_event_unique")
        ]
        indexes = [
            # partial: a lesson leaves both when it is answered, so posting or voiding it
            # writes no entry in either (the deemed-confirm job's look-up and the lists
            # of disputes are all that read lessons by status)
            models.Index(fields=["confirm_by", "id"], condition=Q(status="recorded"), name="lesson_due_idx"),
            models.Index(fields=["id"], condition=Q(status="disputed"), name="lesson_disputed_idx"),
            models.Index(fields=["order", "id"], name="lesson_order_idx"),
        ]

    @property
    def release_state(self) -> str:
        """Where the lesson's fee stands: pending (in custody, awaiting the parent),
        posted (to the institution), voided (back to the order), none (moved nothing)."""
        if not self.released_fen:
            return "none"
        if self.status in LESSON_PENDING:
            return "pending"
        return "voided" if self.status in LESSON_VOIDED else "posted"


class LessonTransition(TransitionRow):
    """Insert-only history of a lesson's status: a first row when recorded (待家长确认),
    then its confirmation, deemed confirmation, dispute and decision. The batch and
    deemed-confirm paths write theirs set-based (``record_many``: COPY on PostgreSQL)."""

    # no database FK check: rows are written by the lesson's own state change, set-based
    # in the batch and deemed-confirm paths (``ledger verify`` proves every row's lesson)
    lesson = models.ForeignKey(
        Lesson, on_delete=models.PROTECT, related_name="transitions", db_constraint=False
    )
    from_status = models.CharField(max_length=20, choices=LessonStatus.choices)
    to_status = models.CharField(max_length=20, choices=LessonStatus.choices)

    class Meta(TransitionRow.Meta):
        ordering = ["id"]


LESSON_STATES = StateMachine(
    "funds.lesson",
    LessonStatus,
    LESSON_TRANSITIONS,
    model=Lesson,
    history=LessonTransition,
    action="funds.lesson",
)


class LessonBatch(models.Model):  # noqa: DJ008 - shown through their fields, not str()
    """One batch upload of lesson events and its per-event report."""

    scope = ScopePaths(division="division_code", institution="institution_id")

    institution = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="lesson_batches")
    division_code = models.CharField(max_length=12)
    filename = models.CharField(max_length=200, blank=True)
    accepted = models.PositiveIntegerField(default=0)
    duplicate = models.PositiveIntegerField(default=0)
    refused = models.PositiveIntegerField(default=0)
    report = models.JSONField(default=list)  # refused and duplicate rows with reasons (first 1,000)
    created_by_id = models.BigIntegerField(null=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("消课批次")
        verbose_name_plural = _("消课批次")
