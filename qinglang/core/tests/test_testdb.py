"""The test databases' template (qinglang/testdb.py): its key changes with every input
that decides its contents, and a test database made from it is fully migrated."""

import shutil
from pathlib import Path

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from qinglang import testdb
from qinglang.core.audit import audit_verify
from qinglang.core.models import AuditEvent, Division, PolicyParameter
from qinglang.core.policy_defaults import DEFAULTS
from qinglang.core.services import DIVISIONS_CSV, _read_divisions_csv, policy_set
from qinglang.testing import ROOT as ROOT_ACTOR

ROOT = Path(__file__).resolve().parents[3]
SETTINGS = (["qinglang.core"], "accounts.User", "shared_cache", "key digest")


def _key(files, **kw):
    args = {"vendor": "sqlite", "django_version": "5.2.19", "settings_values": SETTINGS, **kw}
    return testdb.template_key(files, **args)


def test_every_migration_file_is_hashed():
    names = {name for name, _ in testdb.migration_files()}
    paths = {path.resolve() for _, path in testdb.migration_files()}
    project = {p.resolve() for p in ROOT.glob("qinglang/*/migrations/[0-9]*.py")}
    assert len(project) > 60
    assert project <= paths
    # Django's own and the dependencies' migrations count too
    assert {"auth.0001_initial", "contenttypes.0001_initial", "axes.0001_initial"} <= names


def test_the_reference_data_and_its_loaders_are_hashed():
    files = {name for name, _ in testdb.reference_data_files()}
    assert {
        "core/data/divisions.csv",
        "core/policy_defaults.py",
        "core/services.py",
        "core/audit.py",
    } <= files
    assert not any("tests" in name.split("/") or "__pycache__" in name for name in files)


def test_key_changes_with_any_migration_file(tmp_path):
    sources = testdb.migration_files()[:5]
    files = []
    for name, path in sources:
        copy = tmp_path / f"{name}.py"
        shutil.copyfile(path, copy)
        files.append((name, copy))
    before = _key(files)
    assert _key(files) == before  # the same files, the same key
    for _, copy in files:
        original = copy.read_bytes()
        copy.write_bytes(original + b"\n")
        assert _key(files) != before, copy.name
        copy.write_bytes(original)
        assert _key(files) == before
    # a migration added, removed or renamed
    assert _key([*files, ("core.9999_new", files[0][1])]) != before
    assert _key(files[:-1]) != before
    assert _key([("core.9999_renamed", files[0][1]), *files[1:]]) != before


def test_key_changes_with_the_database_django_and_settings(tmp_path):
    path = tmp_path / "0001_initial.py"
    path.write_text("x = 1\n")
    files = [("core.0001_initial", path)]
    before = _key(files)
    assert _key(files, vendor="postgresql") != before
    assert _key(files, django_version="5.2.20") != before
    assert _key(files, settings_values=(*SETTINGS[:3], "another audit key")) != before


def test_current_key_follows_the_files_on_disk(tmp_path, monkeypatch):
    key = testdb.current_key(connection)
    assert key == testdb.current_key(connection)
    csv = tmp_path / "divisions.csv"
    csv.write_bytes(DIVISIONS_CSV.read_bytes() + b"\n")
    files = testdb.reference_data_files()
    changed = [(name, csv if name == "core/data/divisions.csv" else path) for name, path in files]
    monkeypatch.setattr(testdb, "reference_data_files", lambda: changed)
    assert testdb.current_key(connection) != key


def test_the_test_database_is_fully_migrated_with_its_reference_data(db):
    executor = MigrationExecutor(connection)
    assert executor.migration_plan(executor.loader.graph.leaf_nodes()) == []
    assert Division.objects.count() == len(_read_divisions_csv(DIVISIONS_CSV))
    assert PolicyParameter.objects.filter(division_code="").count() == len(DEFAULTS)
    assert audit_verify().ok
    # the sequences came along: new rows do not collide with the seeded ones
    seeded = PolicyParameter.objects.order_by("-pk").first()
    last_event = AuditEvent.objects.order_by("-pk").first()
    p = policy_set(actor=ROOT_ACTOR, key=seeded.key, division_code="510107", value=seeded.value, basis="测试")
    assert p.pk > seeded.pk
    assert AuditEvent.objects.order_by("-pk").first().pk > last_event.pk
    assert audit_verify().ok


def test_the_template_outlives_the_set_up(db, request):
    if request.config.getvalue("reuse_db"):
        pytest.skip("--reuse-db keeps the test database itself, without a template")
    key = testdb.current_key(connection)
    if connection.vendor == "sqlite":
        assert testdb.sqlite_template_path(key).is_file()
    else:
        with connection.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [testdb.TEMPLATE_PREFIX + key])
            assert cur.fetchone()
