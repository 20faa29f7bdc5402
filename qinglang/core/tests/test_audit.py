import pytest
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


@pytest.mark.parametrize("copy_rows", [10_000, 64])  # PostgreSQL: one COPY chunk, or several
def test_many_events_in_one_write_chain_in_order(db, monkeypatch, copy_rows):
    from qinglang.core import audit
    from qinglang.core.audit import Entry, audit_record_many

    monkeypatch.setattr(audit, "_ROWS_PER_COPY", copy_rows)
    _write(2)
    with transaction.atomic():
        events = audit_record_many(
            actor="system:test",
            entries=[Entry("test.many", "test", str(i), "510107", {"i": i}) for i in range(205)],
        )
    stored = list(AuditEvent.objects.filter(action="test.many").order_by("seq"))
    assert [e.pk for e in events] == [e.pk for e in stored] and all(e.pk for e in events)
    assert [e.object_id for e in stored] == [str(i) for i in range(205)]
    assert [e.changes for e in stored] == [{"i": i} for i in range(205)]
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


# --- keyed chain and signed checkpoints: a database writer cannot rewrite the trail ------


def _raw(sql, params=()):
    with connection.cursor() as c:
        c.execute(sql, params)


def test_delete_newest_rows_and_rewind_head_is_caught_by_checkpoint(db, settings):
    from qinglang.core.audit import write_checkpoint

    _write(5)
    cp = write_checkpoint()
    assert audit_verify().ok
    keep = cp.seq - 2
    kept = AuditEvent.objects.get(seq=keep)
    _raw("DELETE FROM core_auditevent WHERE seq > %s", [keep])
    _raw("UPDATE core_audithead SET seq = %s, hash = %s WHERE id = 1", [keep, kept.hash])
    r = audit_verify()
    assert not r.ok
    assert f"检查点 #{cp.seq}" in r.reason and "回拨" in r.reason


def test_wipe_table_and_reset_head_is_caught_by_checkpoint(db):
    from qinglang.core.audit import GENESIS, write_checkpoint

    _write(3)
    write_checkpoint()
    _raw("DELETE FROM core_auditevent")
    _raw("UPDATE core_audithead SET seq = 0, hash = %s WHERE id = 1", [GENESIS])
    r = audit_verify()
    assert not r.ok and "检查点" in r.reason


def _recompute_chain(digest):
    """What an attacker with the code and database access does: rewrite every link."""
    from qinglang.core.audit import GENESIS, _hash_fields

    prev = GENESIS
    for e in AuditEvent.objects.order_by("seq"):
        e.prev_hash = prev
        e.hash = prev = digest(_hash_fields(e))
        _raw(
            "UPDATE core_auditevent SET prev_hash = %s, hash = %s WHERE id = %s", [e.prev_hash, e.hash, e.pk]
        )
    seq = AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first()
    _raw("UPDATE core_audithead SET seq = %s, hash = %s WHERE id = 1", [seq, prev])


def test_chain_recomputed_after_a_change_is_caught_without_the_key(db):
    """The unkeyed scheme (or any key but the deployment's) cannot forge links."""
    import hashlib
    import hmac as hmac_

    from qinglang.core.audit import _canonical, _legacy_digest

    _write(4)
    target = AuditEvent.objects.filter(action="test.write").order_by("seq")[1]
    _raw("UPDATE core_auditevent SET actor_label = 'mallory' WHERE seq = %s", [target.seq])
    _recompute_chain(_legacy_digest)
    r = audit_verify()
    assert not r.ok and r.broken_seq == 1 and "被直接修改" in r.reason
    _recompute_chain(lambda f: hmac_.new(b"guessed-key", _canonical(f), hashlib.sha256).hexdigest())
    assert not audit_verify().ok


def test_recomputed_chain_with_the_key_is_still_caught_by_checkpoint(db):
    """Even a writer who had the key cannot rewrite what a checkpoint already signed."""
    from qinglang.core.audit import _digest, write_checkpoint

    _write(3)
    cp = write_checkpoint()
    _raw("UPDATE core_auditevent SET actor_label = 'mallory' WHERE seq = 1")
    _recompute_chain(_digest)
    r = audit_verify()
    assert not r.ok and r.broken_seq == cp.seq and "检查点" in r.reason


def test_checkpoint_signed_with_another_key_is_refused(db, settings):
    from qinglang.core.audit import write_checkpoint

    _write(2)
    settings.AUDIT_KEY = b"another-deployment"
    write_checkpoint()
    settings.AUDIT_KEY = b"qinglang-demo-audit-key-do-not-use-in-production"
    r = audit_verify()
    assert not r.ok and "签名无效" in r.reason


def test_moving_the_keyed_boundary_is_caught(db):
    """Raising keyed_from would let the unkeyed scheme cover new rows: the checkpoint
    holds the boundary."""
    from qinglang.core.audit import _legacy_digest, write_checkpoint

    _write(3)
    write_checkpoint()
    _recompute_chain(_legacy_digest)
    _raw("UPDATE core_audithead SET keyed_from = 1000000 WHERE id = 1")
    r = audit_verify()
    assert not r.ok and "密钥起点" in r.reason


def test_upgraded_chain_verifies_old_rows_by_the_old_scheme(db):
    """Rows written unkeyed before the upgrade (below keyed_from) verify by SHA-256; rows
    after it by HMAC; the chain links across the boundary."""
    from qinglang.core.audit import _legacy_digest, write_checkpoint

    _write(3)
    _recompute_chain(_legacy_digest)  # the chain as the old version wrote it
    seq = AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first()
    _raw("UPDATE core_audithead SET keyed_from = %s WHERE id = 1", [seq + 1])  # migration 0003
    assert not AuditEvent.objects.filter(seq=seq + 1).exists()
    _write(2)
    r = audit_verify()
    assert r.ok and r.checked == seq + 2
    write_checkpoint()
    _raw("UPDATE core_auditevent SET actor_label = 'mallory' WHERE seq = %s", [seq + 1])
    assert not audit_verify().ok


def test_verify_command_writes_a_checkpoint_and_refuses_a_rewound_head(db, capsys, settings):
    import pytest
    from django.core.management import call_command

    _write(3)
    call_command("audit_verify")
    out = capsys.readouterr().out
    assert "检查点" in out and list(settings.AUDIT_CHECKPOINT_DIR.glob("checkpoint-*.json"))
    last = AuditEvent.objects.order_by("-seq").first()
    prev = AuditEvent.objects.get(seq=last.seq - 1)
    _raw("DELETE FROM core_auditevent WHERE seq = %s", [last.seq])
    _raw("UPDATE core_audithead SET seq = %s, hash = %s WHERE id = 1", [prev.seq, prev.hash])
    with pytest.raises(SystemExit):
        call_command("audit_verify")
    assert "检查点" in capsys.readouterr().err


def test_hourly_job_writes_a_checkpoint(db, settings):
    from qinglang.core.audit import latest_checkpoint
    from qinglang.core.tasks import audit_checkpoint_hourly

    _write(2)
    out = audit_checkpoint_hourly.call_local()
    cp = latest_checkpoint()
    assert cp is not None and out["written"] == cp.seq >= 2


def test_production_refuses_to_start_without_an_audit_key(tmp_path):
    from qinglang.accounts.tests.test_settings import _read_settings

    r = _read_settings(tmp_path, "import qinglang.config.settings", QINGLANG_SECRET_KEY="x" * 50)
    assert r.returncode != 0 and "QINGLANG_AUDIT_KEY" in r.stderr
    key = tmp_path / "audit-key"
    key.write_text("k" * 40)
    r = _read_settings(
        tmp_path,
        "import qinglang.config.settings as s; print(s.AUDIT_KEY.decode())",
        QINGLANG_SECRET_KEY="x" * 50,
        QINGLANG_AUDIT_KEY_FILE=str(key),
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "k" * 40


def test_large_write_keeps_text_that_needs_escaping(db):
    """A large batch is streamed as COPY text on PostgreSQL: tabs, newlines, backslashes
    and Chinese in any field come back as written and the chain verifies."""
    from qinglang.core.audit import Entry, audit_record_many

    odd = "制表\t换行\n回车\r反斜杠\\N 结束"
    with transaction.atomic():
        audit_record_many(
            actor="system:test",
            entries=[
                Entry("test.odd", "test", f"{i}\t{odd}", "510107", {"text": odd, "n": i}) for i in range(120)
            ],
        )
    stored = list(AuditEvent.objects.filter(action="test.odd").order_by("seq"))
    assert [e.object_id for e in stored] == [f"{i}\t{odd}" for i in range(120)]
    assert [e.changes for e in stored] == [{"text": odd, "n": i} for i in range(120)]
    assert audit_verify().ok
