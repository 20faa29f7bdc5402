from django.db import connection, transaction

from qinglang.core.audit import audit_record, audit_verify
from qinglang.core.models import AuditEvent


def _write(n):
    for i in range(n):
        with transaction.atomic():
            audit_record(
                actor="system:test",
                action="test.write",
                object_type="test",
                object_id=i,
                changes={"i": [None, i], "名": "值"},
            )


def test_chain_verifies_after_writes(db):
    _write(5)
    r = audit_verify()
    assert r.ok and r.checked >= 5


def test_verify_finds_row_edited_directly_in_database(db):
    _write(5)
    target = AuditEvent.objects.filter(action="test.write").order_by("seq")[2]
    with connection.cursor() as c:
        c.execute(
            "UPDATE core_auditevent SET changes = %s WHERE seq = %s",
            ['{"i": [null, 999]}', target.seq],
        )
    r = audit_verify()
    assert not r.ok
    assert r.broken_seq == target.seq
    assert "被直接修改" in r.reason


def test_verify_finds_deleted_row(db):
    _write(5)
    target = AuditEvent.objects.filter(action="test.write").order_by("seq")[1]
    with connection.cursor() as c:
        c.execute("DELETE FROM core_auditevent WHERE seq = %s", [target.seq])
    r = audit_verify()
    assert not r.ok and r.broken_seq == target.seq


def test_verify_finds_deleted_newest_row(db):
    _write(3)
    last = AuditEvent.objects.order_by("-seq").first()
    with connection.cursor() as c:
        c.execute("DELETE FROM core_auditevent WHERE seq = %s", [last.seq])
    r = audit_verify()
    assert not r.ok and r.broken_seq == last.seq


def test_audit_outside_transaction_is_refused(transactional_db):
    import pytest

    with pytest.raises(RuntimeError):
        audit_record(actor=None, action="x", object_type="t", object_id=1)


def test_audit_verify_command_exit_code(db, capsys):
    import pytest
    from django.core.management import call_command

    _write(2)
    call_command("audit_verify")
    assert "OK" in capsys.readouterr().out
    with connection.cursor() as c:
        c.execute("UPDATE core_auditevent SET actor_label = 'mallory' WHERE seq = 1")
    with pytest.raises(SystemExit) as exc:
        call_command("audit_verify")
    assert exc.value.code == 1
    assert "#1" in capsys.readouterr().err
