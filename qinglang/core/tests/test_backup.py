"""Issue #13 item 12: the backup and restore drill. A backup restored into a scratch
database holds every row of every table, and the audit chain and the funds ledger
verify on the restored copy."""

import uuid

import pytest
from django.core.management import call_command
from django.db import connection

from qinglang.core.backup import BackupError, backup, restore


def _data():
    """Paid orders through the real services: ledger postings, custody, audit events."""
    from qinglang.funds.testing import funds_world, paid_order

    w = funds_world()
    for _ in range(3):
        paid_order(w)
    return w


def _pg_target():
    s = connection.settings_dict
    name = f"{s['NAME']}_restore_{uuid.uuid4().hex[:8]}"
    auth = s.get("USER") or "postgres"
    if s.get("PASSWORD"):
        auth += f":{s['PASSWORD']}"
    return name, f"postgres://{auth}@{s.get('HOST') or '127.0.0.1'}:{s.get('PORT') or 5432}/{name}"


def _drop(name):
    import psycopg

    s = connection.settings_dict
    with psycopg.connect(
        host=s.get("HOST") or "127.0.0.1",
        port=s.get("PORT") or 5432,
        user=s.get("USER") or "postgres",
        password=s.get("PASSWORD") or None,
        dbname="postgres",
        autocommit=True,
    ) as pg:
        pg.execute(f'DROP DATABASE IF EXISTS "{name}"')


def _restore_target(tmp_path):
    if connection.vendor == "postgresql":
        return _pg_target()
    return None, str(tmp_path / "restored.sqlite3")


def test_backup_restore_finds_every_row_and_verifies(transactional_db, tmp_path):
    _data()
    m = backup(tmp_path / "bk")
    assert m["engine"] == connection.vendor
    assert m["tables"]["funds_order"] == 3 and m["tables"]["core_auditevent"] > 0
    assert (tmp_path / "bk" / "audit-checkpoints" / m["checkpoint"]).is_file()
    name, target = _restore_target(tmp_path)
    try:
        r = restore(tmp_path / "bk", target)
        assert r.mismatched == {}, r.mismatched
        assert r.tables == len(m["tables"]) and r.rows == sum(m["tables"].values())
        assert r.ok, (r.audit, r.ledger)
        assert "审计链完整" in r.audit and "ledger ok" in r.ledger
        with pytest.raises(BackupError):  # never over an existing copy
            restore(tmp_path / "bk", target)
    finally:
        if name:
            _drop(name)


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_postgres_dump_is_one_snapshot(transactional_db, tmp_path):
    """The counts and the checkpoint are read in the snapshot pg_dump copies."""
    _data()
    m = backup(tmp_path / "bk")
    assert m["engine"] == "postgresql" and (tmp_path / "bk" / "database.dump").stat().st_size > 0


def test_restored_copy_with_a_tampered_table_fails_the_drill(transactional_db, tmp_path):
    """The drill's checks bite: a restored copy missing audit rows is refused."""
    if connection.vendor != "sqlite":
        pytest.skip("tampering with the copy is shown on SQLite")
    import sqlite3

    _data()
    backup(tmp_path / "bk")
    con = sqlite3.connect(tmp_path / "bk" / "database.sqlite3")
    seq = con.execute("SELECT MAX(seq) FROM core_auditevent").fetchone()[0]
    con.execute("DELETE FROM core_auditevent WHERE seq = ?", [seq])
    con.execute(
        "UPDATE core_audithead SET seq = ?, hash = (SELECT hash FROM core_auditevent WHERE seq = ?)",
        [seq - 1, seq - 1],
    )
    con.commit()
    con.close()
    r = restore(tmp_path / "bk", str(tmp_path / "restored.sqlite3"))
    assert not r.ok and r.mismatched["core_auditevent"] and "检查点" in r.audit


def test_commands(transactional_db, tmp_path, capsys):
    if connection.vendor != "sqlite":
        pytest.skip("the commands are the same on both; run once")
    _data()
    call_command("backup", str(tmp_path / "bk"))
    assert "备份完成" in capsys.readouterr().out
    call_command("restore", str(tmp_path / "bk"), "--to", str(tmp_path / "r.sqlite3"))
    assert "恢复校验通过" in capsys.readouterr().out
