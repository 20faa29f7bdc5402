"""Test databases copied from a migrated template (the root ``conftest.py``'s
``django_db_setup``; docs/development/test-suite.md "The test database").

Migrating a test database runs every migration of every app and then the post-migrate
reference data (core's divisions and policy defaults): tens of seconds of CPU, which each
parallel worker paid on every run. Now the first worker of the first run with a given set
of migrations migrates its test database as before and keeps a copy of it, the template;
every other worker, and every later run, starts from a copy of the template and then runs
Django's own test database set-up, whose ``migrate`` finds nothing left to apply (it still
sends ``post_migrate``, as every ``migrate`` does).

- SQLite: the template is a file under ``DATA_DIR/test-templates``; a worker copies it
  into its in-memory test database with SQLite's backup API.
- PostgreSQL: the template is a database on the server, ``qinglang_tmpl_<key>``; a worker's
  test database is created from it (``CREATE DATABASE … TEMPLATE``, Django's
  ``TEST["TEMPLATE"]``), which copies everything, sequences included.

The template's name carries ``template_key``: a hash of every migration file, the core
app (whose post-migrate handler writes the reference data and its audit events), the
settings those read and the Django version. A changed migration gives a new key, so an
old template is never used. Building and copying happen under a lock (a file lock on
SQLite, an advisory lock on the PostgreSQL server): with two workers, one builds and the
other waits, then copies. The template outlives the run; the workers' test databases are
dropped at the end as before.
"""

import contextlib
import fcntl
import hashlib
import os
import shutil
import sqlite3
import sys
from pathlib import Path

import django

TEMPLATE_PREFIX = "qinglang_tmpl_"
CORE_DIR = Path(__file__).resolve().parent / "core"


def migration_files() -> list[tuple[str, Path]]:
    """Every migration file of every installed app (the project's, Django's and the
    dependencies'), as (``app.name``, path), in a stable order."""
    from django.db.migrations.loader import MigrationLoader

    loader = MigrationLoader(None, ignore_no_migrations=True)
    return sorted(
        (f"{app}.{name}", Path(sys.modules[migration.__module__].__file__))
        for (app, name), migration in loader.disk_migrations.items()
    )


def reference_data_files() -> list[tuple[str, Path]]:
    """The core app's files (its reference data, the services that load it after each
    migrate and the audit chain they write to), tests and bytecode aside."""
    return sorted(
        (f"core/{path.relative_to(CORE_DIR).as_posix()}", path)
        for path in CORE_DIR.rglob("*")
        if path.is_file() and "tests" not in path.parts and "__pycache__" not in path.parts
    )


def template_key(files, *, vendor: str, django_version: str, settings_values) -> str:
    """The hash that names a template: a change to any file's name or content, the
    database, Django's version or one of the settings gives another key."""
    h = hashlib.sha256()
    for part in (vendor, django_version, *map(repr, settings_values)):
        h.update(part.encode() + b"\0")
    for name, path in files:
        content = Path(path).read_bytes()
        h.update(f"{name}\0{len(content)}\0".encode() + content)
    return h.hexdigest()[:20]


def current_key(connection) -> str:
    from django.conf import settings

    return template_key(
        migration_files() + reference_data_files(),
        vendor=connection.vendor,
        django_version=django.get_version(),
        settings_values=(
            list(settings.INSTALLED_APPS),
            settings.AUTH_USER_MODEL,
            settings.SHARED_CACHE_TABLE,
            hashlib.sha256(settings.AUDIT_KEY).hexdigest(),
        ),
    )


def supported(connection) -> bool:
    """SQLite with an in-memory test database, and PostgreSQL without a test template
    of its own; anything else is set up as Django does."""
    test = connection.settings_dict["TEST"]
    if test.get("MIGRATE") is False or test.get("MIRROR"):
        return False
    if connection.vendor == "sqlite":
        return connection.creation.is_in_memory_db(connection.creation._get_test_db_name())
    return connection.vendor == "postgresql" and not test.get("TEMPLATE")


@contextlib.contextmanager
def _file_lock(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def lock_id(name: str) -> int:
    """The PostgreSQL advisory lock held while the template ``name`` is made or copied."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


@contextlib.contextmanager
def _advisory_lock(connection, name: str):
    with connection.creation._nodb_cursor() as cur:
        cur.execute("SELECT pg_advisory_lock(%s)", [lock_id(name)])
        try:
            yield
        finally:
            cur.execute("SELECT pg_advisory_unlock(%s)", [lock_id(name)])


def sqlite_template_path(key: str) -> Path:
    from django.conf import settings

    return Path(settings.DATA_DIR) / "test-templates" / f"{TEMPLATE_PREFIX}{key}.sqlite3"


def postgresql_template_name(key: str) -> str:
    return f"{TEMPLATE_PREFIX}{key}"


def copy_sqlite_template(connection, target: Path) -> bool:
    """Start the scratch database file ``target`` as a copy of the current template, if
    there is one yet (then a ``migrate`` on it finds nothing left to apply)."""
    path = sqlite_template_path(current_key(connection))
    try:
        shutil.copyfile(path, target)  # the template is replaced whole, never rewritten
    except FileNotFoundError:
        return False
    return True


@contextlib.contextmanager
def _sqlite(connection, key: str):
    path = sqlite_template_path(key)
    with _file_lock(path.with_suffix(".lock")):
        if path.exists():
            # The in-memory test database is shared within the process
            # (``mode=memory&cache=shared``): filled here through a connection of its
            # own, it is what Django's connection opens; this one keeps it alive until then.
            keeper = sqlite3.connect(connection.creation._get_test_db_name(), uri=True)
            try:
                with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as source:
                    source.backup(keeper)
                yield
            finally:
                keeper.close()
            return
        yield
        partial = path.with_name(f"{path.name}.{os.getpid()}.partial")
        target = sqlite3.connect(partial)
        try:
            connection.ensure_connection()
            connection.connection.backup(target)
        finally:
            target.close()
        os.replace(partial, path)  # whole or not at all
        for old in path.parent.glob(f"{TEMPLATE_PREFIX}*.sqlite3"):
            if old != path:
                old.unlink(missing_ok=True)  # made for migrations that are no more


@contextlib.contextmanager
def _postgresql(connection, key: str):
    creation = connection.creation
    template = postgresql_template_name(key)
    test = connection.settings_dict["TEST"]
    with _advisory_lock(connection, template):
        with creation._nodb_cursor() as cur:
            exists = creation._database_exists(cur, template)
        if exists:
            test["TEMPLATE"] = template
            try:
                yield
            finally:
                test.pop("TEMPLATE", None)
            return
        yield
        # CREATE DATABASE … TEMPLATE needs the source without other sessions
        connection.close()
        with creation._nodb_cursor() as cur:
            source = creation._quote_name(connection.settings_dict["NAME"])
            cur.execute(f"CREATE DATABASE {creation._quote_name(template)} TEMPLATE {source}")


@contextlib.contextmanager
def from_template(aliases):
    """Around Django's ``setup_databases``: each supported test database starts as a
    copy of the template for the current migrations, or becomes the template when there
    is none yet."""
    from django.db import connections

    with contextlib.ExitStack() as stack:
        for alias in sorted(aliases):
            connection = connections[alias]
            if not supported(connection):
                continue
            key = current_key(connection)
            stack.enter_context(
                _sqlite(connection, key) if connection.vendor == "sqlite" else _postgresql(connection, key)
            )
        yield
