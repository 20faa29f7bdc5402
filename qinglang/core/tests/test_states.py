"""core.states: the one state-machine helper (checks, transition rows, audit, message
format) and the transition-row base (insert-only, PROTECT)."""

import pytest
from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from django.db import models
from django.db.models import ProtectedError

from qinglang.accounts.models import Membership
from qinglang.accounts.permissions import system
from qinglang.core.errors import IllegalTransition
from qinglang.core.models import AuditEvent, TransitionRow
from qinglang.core.states import StateMachine, machine_of
from qinglang.registry.models import INSTITUTION_STATES, Institution, InstitutionTransition


class Light(models.TextChoices):
    RED = "red", "红灯"
    GREEN = "green", "绿灯"
    OFF = "off", "熄灭"


LIGHTS = StateMachine("light", Light, {Light.RED: {Light.GREEN, Light.OFF}, Light.GREEN: {Light.RED}})


def test_table_reading_and_one_message_format():
    assert LIGHTS.targets(Light.RED) == ["green", "off"]  # in the choices' order
    assert LIGHTS.can(Light.GREEN, Light.RED) and not LIGHTS.can(Light.GREEN, Light.OFF)
    with pytest.raises(IllegalTransition) as e:
        LIGHTS.check(Light.GREEN, Light.OFF)
    err = e.value
    assert err.status == 409 and err.code == "illegal_transition"
    # Chinese labels in the message, never raw codes; codes in the detail
    assert err.message == "不允许的状态变更：绿灯 → 熄灭(可变更为：红灯)"
    assert "green" not in err.message and "off" not in err.message
    assert err.detail == {"model": "light", "from": "green", "to": "off", "allowed": ["red"]}
    with pytest.raises(IllegalTransition, match=r"^不允许的状态变更：熄灭 → 红灯$"):
        LIGHTS.check(Light.OFF, Light.RED)


def test_a_table_naming_unknown_statuses_is_refused():
    with pytest.raises(ImproperlyConfigured, match="blue"):
        StateMachine("light", Light, {Light.RED: {"blue"}})


def test_history_must_protect_its_object():
    # Membership's foreign key to its user CASCADEs: not acceptable as a transition table
    bad = StateMachine("light", Light, {Light.RED: {Light.GREEN}}, history=Membership)
    with pytest.raises(ImproperlyConfigured, match="PROTECT"):
        bad._subject_fk


def test_every_transition_table_is_a_protecting_transition_row():
    rows = [m for m in apps.get_models() if issubclass(m, TransitionRow)]
    assert {m.__name__ for m in rows} >= {
        "InstitutionTransition",
        "RectificationItemTransition",
        "ClueTransition",
        "PenaltyCaseTransition",
        "ApplicationTransition",
    }
    for m in rows:
        fks = [f for f in m._meta.get_fields() if isinstance(f, models.ForeignKey)]
        assert [f.remote_field.on_delete for f in fks] == [models.PROTECT], m


def test_every_transition_table_is_named_after_its_model():
    """One naming for every transition table: ``<Model>Transition``, reached from the
    object as ``obj.transitions``."""
    rows = [m for m in apps.get_models() if issubclass(m, TransitionRow)]
    for m in rows:
        (fk,) = [f for f in m._meta.get_fields() if isinstance(f, models.ForeignKey)]
        subject = fk.related_model
        assert m.__name__ == f"{subject.__name__}Transition", m
        assert fk.remote_field.related_name == "transitions", m


@pytest.mark.django_db
def test_move_saves_inserts_the_row_and_audits(admin):
    from qinglang.testing import make_institution

    inst = make_institution(admin)
    assert machine_of(inst) is INSTITUTION_STATES
    assert ("suspended", "停业整顿") in INSTITUTION_STATES.allowed(inst)
    before = AuditEvent.objects.count()
    INSTITUTION_STATES.move(inst, "suspended", actor=admin, reason="消防不合格")
    inst.refresh_from_db()
    assert inst.status == "suspended"
    row = InstitutionTransition.objects.get(institution=inst)
    assert (row.from_status, row.to_status, row.reason, row.actor_id) == (
        "active",
        "suspended",
        "消防不合格",
        admin.pk,
    )
    ev = AuditEvent.objects.order_by("-seq").first()
    assert AuditEvent.objects.count() == before + 1
    assert ev.action == "institution.suspended" and ev.changes["status"] == ["active", "suspended"]
    assert ev.changes["reason"] == "消防不合格"
    # an illegal move changes nothing
    with pytest.raises(IllegalTransition):
        INSTITUTION_STATES.move(inst, "stop_enrollment", actor=admin)  # suspended → stop_enrollment
    inst.refresh_from_db()
    assert inst.status == "suspended" and InstitutionTransition.objects.filter(institution=inst).count() == 1
    # rows are insert-only, and they keep their object from being deleted
    with pytest.raises(TypeError, match="insert-only"):
        row.save()
    with pytest.raises(TypeError, match="insert-only"):
        row.delete()
    with pytest.raises(ProtectedError):
        Institution.objects.filter(pk=inst.pk).delete()


@pytest.mark.django_db
def test_record_many_writes_first_rows_in_one_statement(admin, django_assert_max_num_queries):
    from qinglang.testing import make_institution

    a, b = make_institution(admin), make_institution(admin)
    # one executemany on SQLite; a COPY on PostgreSQL (core.bulk), below Django's cursor
    with django_assert_max_num_queries(1):
        n = INSTITUTION_STATES.record_many(
            [(a.pk, "active", "active"), (b.pk, "active", "suspended")], actor=system("job"), reason="导入"
        )
    assert n == 2
    rows = list(
        InstitutionTransition.objects.filter(institution__in=[a, b]).values_list(
            "to_status", "actor_id", "reason"
        )
    )
    assert sorted(rows) == [("active", None, "导入"), ("suspended", None, "导入")]
    with pytest.raises(IllegalTransition):
        INSTITUTION_STATES.record_many([(a.pk, "closed", "active")], actor=system("job"))
