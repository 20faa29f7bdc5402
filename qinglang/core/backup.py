"""Backup and restore of the deployment's database (``qinglang backup`` / ``restore``).

A backup is a directory: the database (SQLite through its online backup API, a
consistent copy while the application runs; PostgreSQL through ``pg_dump -Fc`` in an
exported snapshot), ``manifest.json`` with the row count of every table in that same
state, and a signed audit checkpoint of the head in it (``audit-checkpoints/``). A
restore writes the copy into a target (a new SQLite file, or a PostgreSQL database it
creates), compares every table's row count with the manifest, then runs ``audit verify``
(against the backup's own checkpoint) and ``ledger verify`` on the restored copy.
Uploaded files (``QINGLANG_MEDIA_ROOT``) and the checkpoint directory are backed up with
the file system, not here."""

import json
import os
import sqlite3
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote, urlparse

from django.db import connection
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from .audit import write_checkpoint
from .models import AuditHead

SQLITE_FILE = "database.sqlite3"
PG_FILE = "database.dump"
HEAD_SQL = f"SELECT seq, hash, keyed_from FROM {AuditHead._meta.db_table} WHERE id = 1"  # noqa: S608


class BackupError(RuntimeError):
    pass


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _counts(cur, tables: list[str]) -> dict[str, int]:
    out = {}
    for t in sorted(tables):
        cur.execute(f"SELECT COUNT(*) FROM {_quote(t)}")  # noqa: S608 - names from introspection
        out[t] = cur.fetchone()[0]
    return out


def _head(cur) -> tuple[int, str, int]:
    cur.execute(HEAD_SQL)
    row = cur.fetchone()
    return tuple(row) if row else (0, "0" * 64, 1)


def _pg_env(s: dict) -> tuple[list[str], dict]:
    args = [
        "-h",
        s.get("HOST") or "127.0.0.1",
        "-p",
        str(s.get("PORT") or 5432),
        "-U",
        s.get("USER") or "postgres",
    ]
    env = dict(os.environ)
    if s.get("PASSWORD"):
        env["PGPASSWORD"] = s["PASSWORD"]
    return args, env


def _tables_sqlite(con: sqlite3.Connection) -> list[str]:
    rows = con.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
    return [r[0] for r in rows]


def backup(out_dir: Path | str) -> dict:
    """Write a backup of the default database into ``out_dir`` (must not exist or be
    empty); the manifest."""
    out = Path(out_dir)
    if out.exists() and any(out.iterdir()):
        raise BackupError(format_lazy(_("备份目录不为空：{out}"), out=out))
    out.mkdir(parents=True, exist_ok=True)
    connection.ensure_connection()
    if connection.vendor == "sqlite":
        dst = sqlite3.connect(out / SQLITE_FILE)
        try:
            connection.connection.backup(dst)  # online: a consistent copy while others write
            counts = _counts(dst.cursor(), _tables_sqlite(dst))
            head = _head(dst.cursor())
        finally:
            dst.close()
        engine, file = "sqlite", SQLITE_FILE
    elif connection.vendor == "postgresql":
        import psycopg

        s = connection.settings_dict
        args, env = _pg_env(s)
        with psycopg.connect(
            host=s.get("HOST") or "127.0.0.1",
            port=s.get("PORT") or 5432,
            user=s.get("USER") or "postgres",
            password=s.get("PASSWORD") or None,
            dbname=s["NAME"],
        ) as pg:
            pg.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            cur = pg.cursor()
            cur.execute("SELECT pg_export_snapshot()")
            snapshot = cur.fetchone()[0]
            cur.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
            counts = _counts(cur, [r[0] for r in cur.fetchall()])
            head = _head(cur)
            r = subprocess.run(
                [
                    "pg_dump",
                    *args,
                    "-Fc",
                    "--no-owner",
                    f"--snapshot={snapshot}",
                    "-f",
                    str(out / PG_FILE),
                    s["NAME"],
                ],
                env=env,
                capture_output=True,
                text=True,
            )
            pg.rollback()
        if r.returncode != 0:
            raise BackupError(format_lazy(_("pg_dump 失败：{stderr}"), stderr=r.stderr.strip()))
        engine, file = "postgresql", PG_FILE
    else:
        raise BackupError(format_lazy(_("不支持的数据库：{vendor}"), vendor=connection.vendor))
    cp = write_checkpoint(out / "audit-checkpoints", head=head)
    manifest = {
        "engine": engine,
        "file": file,
        "taken_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "audit_head": {"seq": head[0], "hash": head[1], "keyed_from": head[2]},
        "checkpoint": cp.path.name,
        "tables": counts,
    }
    (out / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
    return manifest


@dataclass
class RestoreResult:
    target: str
    tables: int
    rows: int
    mismatched: dict = field(default_factory=dict)
    audit: str = ""
    ledger: str = ""
    ok: bool = False


def _verify_env(target_env: dict) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("QINGLANG_DATABASE_URL", "QINGLANG_SQLITE_PATH")}
    env.update(target_env)
    env["DJANGO_SETTINGS_MODULE"] = "qinglang.config.settings"
    return env


def _run_verify(args: list[str], env: dict) -> tuple[bool, str]:
    r = subprocess.run(
        [sys.executable, "-m", "qinglang.cli", *args], env=env, capture_output=True, text=True, timeout=3600
    )
    return r.returncode == 0, (r.stdout + r.stderr).strip()


def restore(backup_dir: Path | str, target: str, *, verify: bool = True) -> RestoreResult:
    """Restore the backup into ``target`` — a path for a new SQLite file, or a
    ``postgres://…/NAME`` URL of a database that does not exist yet (created here) — then
    check every table's row count against the manifest and run ``audit verify`` (against
    the backup's checkpoint) and ``ledger verify`` on the restored copy."""
    src = Path(backup_dir)
    try:
        manifest = json.loads((src / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BackupError(format_lazy(_("不是有效的备份目录：{src}({exc})"), src=src, exc=exc)) from exc
    if manifest["engine"] == "sqlite":
        path = Path(target)
        if path.exists():
            raise BackupError(format_lazy(_("目标文件已存在：{path}(恢复只写入新文件)"), path=path))
        path.parent.mkdir(parents=True, exist_ok=True)
        with sqlite3.connect(src / manifest["file"]) as s, sqlite3.connect(path) as d:
            s.backup(d)
        con = sqlite3.connect(path)
        try:
            counts = _counts(con.cursor(), list(manifest["tables"]))
        finally:
            con.close()
        target_env = {"QINGLANG_SQLITE_PATH": str(path)}
    else:
        import psycopg

        if not target.startswith(("postgres://", "postgresql://")):
            raise BackupError(_("PostgreSQL 备份须恢复到 postgres://…/库名"))
        u = urlparse(target)
        name = u.path.lstrip("/")
        conn = {
            "host": u.hostname or "127.0.0.1",
            "port": u.port or 5432,
            "user": unquote(u.username or "postgres"),
            "password": unquote(u.password) if u.password else None,
        }
        with psycopg.connect(**conn, dbname="postgres", autocommit=True) as pg:
            if pg.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
                raise BackupError(format_lazy(_("目标数据库已存在：{name}(恢复只写入新库)"), name=name))
            pg.execute(f"CREATE DATABASE {_quote(name)}")
        args, env = _pg_env(
            {"HOST": conn["host"], "PORT": conn["port"], "USER": conn["user"], "PASSWORD": conn["password"]}
        )
        r = subprocess.run(
            ["pg_restore", *args, "--no-owner", "--exit-on-error", "-d", name, str(src / manifest["file"])],
            env=env,
            capture_output=True,
            text=True,
        )
        if r.returncode != 0:
            raise BackupError(format_lazy(_("pg_restore 失败：{stderr}"), stderr=r.stderr.strip()))
        with psycopg.connect(**conn, dbname=name) as pg:
            counts = _counts(pg.cursor(), list(manifest["tables"]))
        target_env = {"QINGLANG_DATABASE_URL": target}
    mismatched = {t: [n, counts.get(t)] for t, n in manifest["tables"].items() if counts.get(t) != n}
    res = RestoreResult(str(target), len(counts), sum(counts.values()), mismatched)
    if verify:
        env = _verify_env(target_env)
        a_ok, res.audit = _run_verify(
            ["audit", "verify", "--checkpoints", str(src / "audit-checkpoints"), "--no-checkpoint"], env
        )
        l_ok, res.ledger = _run_verify(["ledger", "verify"], env)
        res.ok = a_ok and l_ok and not mismatched
    else:
        res.ok = not mismatched
    return res
