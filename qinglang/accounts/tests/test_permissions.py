"""accounts.permissions: the system actor, the role checks and lock_in_scope — and that the
apps' own copies of them are gone."""

import re
from pathlib import Path

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from qinglang.accounts.models import Role
from qinglang.accounts.permissions import (
    INSPECTORS,
    REGULATOR_WRITERS,
    SystemActor,
    has_role,
    is_institution_user,
    is_system,
    lock_in_scope,
    require_role,
    system,
    user_id,
)
from qinglang.accounts.scope import actor_for
from qinglang.core.errors import NotFound, PermissionDeniedError
from qinglang.registry.models import Institution
from qinglang.testing import DEMO_COUNTY, OTHER_COUNTY, make_institution, make_user

PACKAGE = Path(__file__).resolve().parents[2]


def test_system_actor_is_its_own_type_and_a_label():
    job = system("refund-deadline")
    assert isinstance(job, SystemActor) and is_system(job)
    assert job == "system:refund-deadline" and job.name == "refund-deadline"
    assert system("system:x") == "system:x"  # no double prefix
    assert user_id(job) is None
    # a plain string is nobody: it is refused, not treated as the platform
    assert not is_system("system:forged")
    with pytest.raises(TypeError, match="plain string"):
        actor_for("system:forged")


@pytest.mark.django_db
def test_has_role_reads_roles_and_division():
    officer = make_user(Role.REGULATOR_OFFICER, prefixes=[DEMO_COUNTY])
    inspector = make_user(Role.INSPECTOR, prefixes=[DEMO_COUNTY])
    parent = make_user(Role.PARENT)
    admin = make_user(Role.PLATFORM_ADMIN)
    assert has_role(officer, REGULATOR_WRITERS, division_code=DEMO_COUNTY + "001")
    assert not has_role(officer, REGULATOR_WRITERS, division_code=OTHER_COUNTY)
    assert not has_role(inspector, REGULATOR_WRITERS, division_code=DEMO_COUNTY)
    assert has_role(inspector, INSPECTORS, division_code=DEMO_COUNTY)
    assert not has_role(parent, INSPECTORS)
    assert has_role(admin, REGULATOR_WRITERS, division_code=OTHER_COUNTY)
    assert has_role(system("job"), REGULATOR_WRITERS, division_code=OTHER_COUNTY)
    with pytest.raises(PermissionDeniedError, match="无权销号"):
        require_role(inspector, REGULATOR_WRITERS, division_code=DEMO_COUNTY, message="无权销号")
    require_role(officer, REGULATOR_WRITERS, division_code=DEMO_COUNTY)  # passes


@pytest.mark.django_db
def test_is_institution_user_is_that_institutions_users_only(admin):
    mine = make_institution(admin)
    other = make_institution(admin)
    staff = make_user(Role.INSTITUTION_STAFF, institution_id=mine.pk)
    assert is_institution_user(staff, mine.pk)
    assert not is_institution_user(staff, other.pk)
    assert not is_institution_user(staff, mine.pk, {Role.INSTITUTION_ADMIN})
    assert not is_institution_user(system("job"), mine.pk)


@pytest.mark.django_db(transaction=True)
def test_lock_in_scope_locks_and_checks_scope_in_one_statement(admin):
    here = make_institution(admin, division_code=DEMO_COUNTY + "001")
    there = make_institution(admin, division_code=OTHER_COUNTY)
    officer = make_user(Role.REGULATOR_OFFICER, prefixes=[DEMO_COUNTY])
    with pytest.raises(RuntimeError, match="transaction"):
        lock_in_scope(Institution, here.pk, actor=officer, what="机构")
    actor_for(officer)  # memberships are read once per request, before any lock
    with transaction.atomic(), CaptureQueriesContext(connection) as q:
        got = lock_in_scope(Institution, here.pk, actor=officer, what="机构", regulator_department=False)
    assert got == here
    assert len(q.captured_queries) == 1  # the scope check and the lock are one statement
    sql = q.captured_queries[0]["sql"]
    assert "division_code" in sql and "LIKE" in sql.upper()
    if connection.vendor == "postgresql":
        assert "FOR UPDATE OF" in sql
    with transaction.atomic(), pytest.raises(NotFound, match="机构不存在或无权查看"):
        lock_in_scope(Institution, there.pk, actor=officer, what="机构", regulator_department=False)
    with transaction.atomic():  # a system actor acts everywhere
        assert lock_in_scope(Institution, there.pk, actor=system("job"), what="机构") == there


def _python_sources():
    for path in PACKAGE.rglob("*.py"):
        if "migrations" in path.parts or "tests" in path.parts:
            continue
        yield path, path.read_text(encoding="utf-8")


def test_one_home_for_permissions():
    """The copies the apps used to keep are gone: no other ``is_system``, no ad-hoc
    string actors tested with ``isinstance(actor, str)``, no private role sets, no app
    importing another app's permission helpers."""
    home = PACKAGE / "accounts" / "permissions.py"
    offenders = []
    for path, text in _python_sources():
        if path == home:
            continue
        rel = path.relative_to(PACKAGE.parent)
        for pattern in (
            r"def is_system\b",
            # (core sits below accounts: its audit trail takes any label as the actor)
            *([] if rel.parts[1] == "core" else [r"isinstance\(actor, str\)"]),
            r"def (require_writer|require_inspector|require_roles|lock_scoped|lock_clue)\b",
            r"^(WRITER_REGULATOR_ROLES|WRITER_ROLES|WRITERS|HANDLER_ROLES|LEAD_ROLES|CONSOLE_ROLES)\s*=",
            r"inspections\.services\.common",
        ):
            if re.search(pattern, text, re.M):
                offenders.append(f"{rel}: {pattern}")
    assert offenders == []
