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


def test_many_events_in_one_write_chain_in_order(db):
    from qinglang.core.audit import Entry, audit_record_many

    _write(2)
    with transaction.atomic():
        events = audit_record_many(
            actor="system:test",
            entries=[Entry("test.many", "test", str(i), "510107", {"i": i}) for i in range(205)],
        )
    stored = list(AuditEvent.objects.filter(action="test.many").order_by("seq"))
    assert [e.pk for e in events] == [e.pk for e in stored] and all(e.pk for e in events)
    assert [e.object_id for e in stored] == [str(i) for i in range(205)]
    assert [e.seq for e in stored] == list(range(stored[0].seq, stored[0].seq + 205))
    assert stored[0].prev_hash == AuditEvent.objects.get(seq=stored[0].seq - 1).hash
    assert audit_verify().ok
    with connection.cursor() as c:  # an edit in the middle of one write's events is found
        c.execute("UPDATE core_auditevent SET object_id = 'x' WHERE seq = %s", [stored[100].seq])
    r = audit_verify()
    assert not r.ok and r.broken_seq == stored[100].seq


APPENDER = r"""
import sys
from django.conf import settings
settings.DATABASES["default"]["NAME"] = sys.argv[1]
import django; django.setup()
from django.db import transaction
from qinglang.core.audit import Entry, audit_record_many
for i in range(30):
    with transaction.atomic():
        audit_record_many(
            actor="system:test",
            entries=[Entry("test.race", "test", f"{sys.argv[2]}-{i}-{k}") for k in range(1 + i % 3)],
        )
"""


def test_concurrent_appenders_keep_one_linear_chain(transactional_db, tmp_path):
    """Writers in separate processes append at once; the head lock keeps seq contiguous
    and every prev_hash pointing at the event before."""
    import subprocess
    import sys
    from pathlib import Path

    import pytest

    if connection.vendor != "postgresql":
        pytest.skip("row locks are PostgreSQL's; SQLite serialises writers")
    _write(1)
    script = tmp_path / "appender.py"
    script.write_text(APPENDER)
    repo = Path(__file__).resolve().parents[3]
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), str(connection.settings_dict["NAME"]), str(k)],
            cwd=repo,
            stderr=subprocess.PIPE,
            text=True,
        )
        for k in range(4)
    ]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err[-3000:]
    assert AuditEvent.objects.filter(action="test.race").count() == 4 * (10 * 1 + 10 * 2 + 10 * 3)
    r = audit_verify()
    assert r.ok, r.reason
    assert r.checked == AuditEvent.objects.count()
