"""What follows a level change, set-based inside the scorer's transaction: alerts opened
or raised for the competent department, guardianships ended."""

from datetime import date

from django.urls import reverse
from django.utils import timezone

from qinglang.accounts.notifications import Message, notify_many
from qinglang.core import bulk
from qinglang.core.audit import Entry, audit_record_many
from qinglang.core.calendar import add_working_days
from qinglang.core.i18n import chinese_labels

from ..models import ALERT_STATES, GUARDED_LEVELS, LEVEL_RANK, Alert, AlertStatus, Guardian, Level
from ..policy import RiskPolicy
from .common import People

LEVEL_INDEX = {Level.YELLOW: 0, Level.ORANGE: 1, Level.RED: 2}


def _due_rule(level: str, pol: RiskPolicy, division_code: str) -> dict:
    """The time limit of a level's alert and the rule (and division) that set it."""
    cited = pol.cite("risk.alert_days", division_code)
    days, set_in = cited["value"], pol.get("risk.alert_days", division_code)[1]
    return {**cited, "working_days": int(days[LEVEL_INDEX[level]]), "set_in": set_in}


ALERT_INSERT = bulk.Table(
    Alert,
    (
        "id",
        "institution_id",
        "level",
        "status",
        "opened_on",
        "due_on",
        "escalated",
        "result",
        "explanation",
        "division_code",
        "department_kind",
        "created_at",
    ),
)
ALERT_RAISE = bulk.Table(Alert, ("level", "due_on", "explanation"))
GUARDIAN_END = bulk.Table(Guardian, ("active", "ended_on", "ended_reason"))


def _as_date(v) -> date:
    return date.fromisoformat(v) if isinstance(v, str) else v


def level_changes_follow(changes: list, *, day: date, actor) -> None:
    """Called by the scorer inside its transaction, set-based (on a first day every level
    is new: hundreds of thousands of changes): a rise to yellow or above opens (or raises)
    the institution's alert for its competent department; a fall below orange ends the
    guardianship; a rise to orange or red asks the task force for a guardian. Alerts,
    their first transition rows, the audit events and the notifications are each written
    in one bulk statement per batch."""
    labels = chinese_labels(Level)
    rising = [c for c in changes if c[2] != Level.BLUE and LEVEL_RANK[c[2]] > LEVEL_RANK[c[1]]]
    entries, notices = _alerts_follow(rising, day=day, actor=actor, labels=labels)
    entries += _guardians_end(changes, day=day, labels=labels)
    audit_record_many(actor=actor, entries=entries)
    notify_many(notices, actor=actor)


class _AlertDue:
    """The due date and rule of a level's alert in a division: the policy read once per
    (level, division), one calendar walk per distinct number of working days."""

    def __init__(self, day: date):
        self.day = day
        self.pol = RiskPolicy(day)
        self.rules: dict[tuple[str, str], tuple[date, dict]] = {}
        self.dates: dict[int, date] = {}

    def __call__(self, level: str, div: str) -> tuple[date, dict]:
        key = (level, div)
        if key not in self.rules:
            rule = _due_rule(level, self.pol, div)
            n = rule["working_days"]
            if n not in self.dates:
                self.dates[n] = add_working_days(self.day, n)
            self.rules[key] = (self.dates[n], rule)
        return self.rules[key]


def _open_alerts(institution_ids: list[int]) -> dict[int, tuple[int, str, date]]:
    """Institution → (id, level, due date) of its alert not yet closed."""
    return {
        inst: (pk, level, _as_date(due))
        for pk, inst, level, due in bulk.select_in(
            "SELECT id, institution_id, level, due_on FROM risk_alert WHERE status <> %s AND institution_id {in}",
            institution_ids,
            params=[AlertStatus.CLOSED],
        )
    }


def _alerts_follow(rising: list, *, day: date, actor, labels: dict) -> tuple[list[Entry], list[Message]]:
    """Each rise opens the institution's alert, or raises the open one (its due date the
    earlier of the two); both written here. Returns their audit entries and notices."""
    ids = [c[0] for c in rising]
    open_alerts = _open_alerts(ids)
    names = dict(bulk.select_in("SELECT id, name FROM registry_institution WHERE id {in}", ids))
    due_of = _AlertDue(day)
    new_rows, raised, entries, notices = [], [], [], []
    fresh = [c for c in rising if c[0] not in open_alerts]
    new_ids = iter(bulk.allocate_ids(Alert, len(fresh)))
    now = timezone.now()
    people = People() if rising else None
    link = reverse("portal:risk_alert", args=[0]).replace("/0/", "/{}/")  # reversed once, not per alert
    for inst, old, new, score, explanation, div, dept in rising:
        due, rule = due_of(new, div)
        current = open_alerts.get(inst)
        if current is None:
            pk = next(new_ids)
            new_rows.append(
                ALERT_INSERT.row(
                    id=pk,
                    institution_id=inst,
                    level=new,
                    status=AlertStatus.OPEN,
                    opened_on=day,
                    due_on=due,
                    escalated=False,
                    result="",
                    explanation={**explanation, "due": rule},
                    division_code=div,
                    department_kind=dept,
                    created_at=now,
                )
            )
            action = "risk.alert_open"
        elif LEVEL_RANK[new] > LEVEL_RANK[current[1]]:
            pk = current[0]
            due = min(current[2], due)
            raised.append((pk, new, due, {**explanation, "due": rule}))
            action = "risk.alert_raise"
        else:
            continue
        entries.append(
            Entry(
                action,
                "risk.alert",
                str(pk),
                div,
                {"level": [old, new], "score": score, "due_on": due.isoformat()},
            )
        )
        recipients = people.department(div, dept) or people.task_force(div)
        if new in GUARDED_LEVELS:
            recipients |= people.task_force(div)
        notices.append(
            Message(
                recipients,
                kind="risk.alert",
                title=f"{labels[new]}：{names.get(inst, inst)}(风险分{score})",
                body=f"请于{due}前处置；{'需由专班指定包保责任人。' if new in GUARDED_LEVELS else ''}",
                link=link.format(pk),
                division_code=div,
                about=("risk.alert", str(pk)),
            )
        )
    ALERT_INSERT.insert(new_rows)
    ALERT_STATES.record_many(
        ((r[0], AlertStatus.OPEN, AlertStatus.OPEN) for r in new_rows),
        actor=actor,
        reason="风险等级升至预警",
        at=now,
    )
    ALERT_RAISE.update(raised)
    return entries, notices


def _guardians_end(changes: list, *, day: date, labels: dict) -> list[Entry]:
    """Guardians of institutions that fell below orange end; returns their audit entries."""
    falling = {c[0]: c for c in changes if c[2] not in GUARDED_LEVELS}
    ended = bulk.select_in(
        "SELECT id, institution_id, division_code FROM risk_guardian WHERE active = %s AND institution_id {in}",
        list(falling),
        params=[True],
    )
    GUARDIAN_END.update(
        [(pk, False, day, f"风险等级降至{labels[falling[inst][2]]}") for pk, inst, _div in ended]
    )
    return [
        Entry(
            "risk.guardian_end",
            "risk.guardian",
            str(pk),
            div,
            {"level": [falling[inst][1], falling[inst][2]]},
        )
        for pk, inst, div in ended
    ]
