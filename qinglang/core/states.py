"""State machines: the one way to move an object from one status to another.

A model's machine is declared once, next to its table of allowed moves::

    CASE_STATES = StateMachine(
        "penalty_case", CaseStatus, CASE_TRANSITIONS, history=PenaltyCaseTransition, action="case"
    )

and every service moves through it, inside its transaction, after its permission check::

    CASE_STATES.move(case, CaseStatus.DECIDED, actor=actor, reason=note)

``move`` checks the table (an illegal move raises ``IllegalTransition``: 409, a Chinese
message naming both statuses by label, codes in ``detail``), saves the object, inserts the
transition row (``history``, a ``core.models.TransitionRow`` whose foreign key PROTECTs the
object) and records the audit event ``<action>.<to>``. Templates ask ``allowed(obj)``
(or, in a template, ``obj|next_statuses`` from the portal's tags) instead of re-encoding
the table. Objects created in their first status, and bulk paths,
insert their rows with ``record_many`` (one statement)."""

from collections.abc import Iterable
from functools import cached_property

from django.core.exceptions import ImproperlyConfigured
from django.db import models
from django.utils import timezone

from .audit import audit_record
from .errors import IllegalTransition
from .i18n import chinese_labels

_BY_MODEL: dict[type[models.Model], "StateMachine"] = {}


def machine_of(obj) -> "StateMachine":
    """The machine declared for ``obj``'s model (``model=`` when declared)."""
    return _BY_MODEL[type(obj)]


class StateMachine:
    def __init__(
        self,
        name: str,
        choices: type[models.TextChoices],
        table: dict[str, set[str]],
        *,
        model: type[models.Model] | None = None,
        history: type[models.Model] | None = None,
        field: str = "status",
        action: str | None = None,
    ):
        unknown = {s for s in table if s not in choices.values} | {
            t for ts in table.values() for t in ts if t not in choices.values
        }
        if unknown:
            raise ImproperlyConfigured(f"{name}: statuses not in {choices.__name__}: {sorted(unknown)}")
        self.name = name
        self.choices = choices
        self.table = table
        self.history = history
        self.field = field
        self.action = action or name
        if model is not None:
            _BY_MODEL[model] = self

    # --- reading the table ------------------------------------------------------------
    def label(self, status: str) -> str:
        return dict(self.choices.choices).get(status, status)

    def targets(self, current: str) -> list[str]:
        """Where ``current`` may go, in the choices' order."""
        allowed = self.table.get(current, set())
        return [v for v in self.choices.values if v in allowed]

    def allowed(self, obj) -> list[tuple[str, str]]:
        """(status, label) pairs ``obj`` may move to: what a page offers."""
        return [(v, self.label(v)) for v in self.targets(getattr(obj, self.field))]

    def can(self, current: str, target: str) -> bool:
        return target in self.table.get(current, set())

    def check(self, current: str, target: str) -> None:
        """Raise ``IllegalTransition`` unless ``current → target`` is in the table."""
        if not self.can(current, target):
            raise self.refusal(current, target)

    def refusal(self, current: str, target: str) -> IllegalTransition:
        """The error for a move refused by a rule beyond the table (same format)."""
        return IllegalTransition(
            self.name, current, target, self.targets(current), labels=chinese_labels(self.choices)
        )

    # --- moving -----------------------------------------------------------------------
    @cached_property
    def _subject_fk(self) -> str:
        """The history table's foreign key to the moving object (which must PROTECT it)."""
        fks = [
            f
            for f in self.history._meta.get_fields()
            if isinstance(f, models.ForeignKey) and f.many_to_one and f.concrete
        ]
        if len(fks) != 1:
            raise ImproperlyConfigured(f"{self.history.__name__}: one foreign key to the object that moves")
        fk = fks[0]
        if fk.remote_field.on_delete is not models.PROTECT:
            raise ImproperlyConfigured(
                f"{self.history.__name__}.{fk.name}: transition rows PROTECT their object"
            )
        return fk.attname

    def move(
        self,
        obj,
        to: str,
        *,
        actor,
        reason: str = "",
        fields: Iterable[str] = (),
        changes: dict | None = None,
        division_code: str | None = None,
        at=None,
    ):
        """Move ``obj`` to ``to``: check, save ``status`` (and ``fields``, and
        ``updated_at`` when the model has one), insert the transition row, audit
        (``division_code`` for objects without one of their own). Call it inside the
        service's transaction, on a row the service has locked."""
        old = getattr(obj, self.field)
        self.check(old, to)
        setattr(obj, self.field, to)
        update = [self.field, *fields]
        if "updated_at" not in update and any(f.name == "updated_at" for f in obj._meta.concrete_fields):
            update.append("updated_at")
        obj.save(update_fields=update)
        if self.history is not None:
            self.history.objects.create(
                **{self._subject_fk: obj.pk},
                from_status=old,
                to_status=to,
                reason=reason,
                actor_id=_actor_id(actor),
                at=at or timezone.now(),
            )
        audit_record(
            actor=actor,
            action=f"{self.action}.{to}",
            obj=obj,
            division_code=division_code,
            changes={self.field: [old, to], **({"reason": reason} if reason else {}), **(changes or {})},
        )
        return obj

    def record_many(self, rows: Iterable[tuple[int, str, str]], *, actor, reason: str = "", at=None) -> int:
        """Insert, in one statement, the transition rows of objects a bulk path moved, as
        (object id, from, to); ``from == to`` records an object created in that status
        (its first row). The caller audits with its own set-based event. Returns the
        number of rows."""
        if self.history is None:
            return 0
        at = at or timezone.now()
        actor_id = _actor_id(actor)
        check, table = self.can, self._history_table
        out = []
        for pk, old, to in rows:
            if old != to and not check(old, to):
                raise self.refusal(old, to)
            out.append((pk, str(old), str(to), reason, actor_id, at))  # a choice's value, not the enum
        # core.bulk: COPY on PostgreSQL, one executemany elsewhere
        return table.insert(out) if out else 0

    def first_rows_sql(
        self, ids_sql: str, status: str, *, actor, reason: str = "", at=None
    ) -> tuple[str, list]:
        """An ``INSERT … SELECT`` of the first transition rows (from = to = ``status``) of the
        objects whose ids ``ids_sql`` selects (a ``SELECT id FROM …``, e.g. of a CTE that
        inserted them), with its parameters: for a hot path that writes an object and its
        first row in one statement (PostgreSQL's data-modifying CTEs)."""
        from django.db import connection

        h = self.history._meta
        cols = [
            h.get_field(c).column
            for c in (self._subject_fk, "from_status", "to_status", "reason", "actor_id", "at")
        ]
        at = connection.ops.adapt_datetimefield_value(at or timezone.now())
        return (
            f"INSERT INTO {h.db_table} ({', '.join(cols)}) SELECT s.id, %s, %s, %s, %s, %s FROM ({ids_sql}) AS s",  # noqa: S608
            [str(status), str(status), reason, _actor_id(actor), at],
        )

    @cached_property
    def _history_table(self):
        from .bulk import Table

        return Table(self.history, (self._subject_fk, "from_status", "to_status", "reason", "actor_id", "at"))


def _actor_id(actor) -> int | None:
    # a user has a primary key; a system actor (accounts.permissions.SystemActor) has None
    return getattr(actor, "pk", None)
