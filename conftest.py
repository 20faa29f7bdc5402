import contextlib

import pytest


@pytest.fixture(scope="session")
def django_db_setup(
    request,
    django_test_environment,
    django_db_blocker,
    django_db_use_migrations,
    django_db_keepdb,
    django_db_createdb,
    django_db_modify_db_settings,
):
    """pytest-django's own set-up and teardown of the test databases, with each test
    database copied from a template migrated once per set of migrations
    (``qinglang/testdb.py``). With ``--reuse-db`` or ``--nomigrations`` it is pytest-django's
    own, unchanged."""
    from django.test.utils import setup_databases, teardown_databases
    from pytest_django.fixtures import _disable_migrations, _get_databases_for_setup

    from qinglang.testdb import from_template

    keepdb = django_db_keepdb and not django_db_createdb
    if not django_db_use_migrations:
        _disable_migrations()
    aliases, serialized_aliases = _get_databases_for_setup(request.session.items)
    template = django_db_use_migrations and not keepdb
    with django_db_blocker.unblock(), from_template(aliases) if template else contextlib.nullcontext():
        db_cfg = setup_databases(
            verbosity=request.config.option.verbose,
            interactive=False,
            aliases=aliases,
            serialized_aliases=serialized_aliases,
            keepdb=keepdb,
        )
    yield
    if not django_db_keepdb:
        with django_db_blocker.unblock():
            try:
                teardown_databases(db_cfg, verbosity=request.config.option.verbose)
            except Exception as exc:
                request.node.warn(
                    pytest.PytestWarning(f"Error when trying to teardown test databases: {exc!r}")
                )


@pytest.fixture
def admin(db):
    from qinglang.testing import admin_user

    return admin_user()


@pytest.fixture
def officer(db):
    from qinglang.testing import make_user

    return make_user("regulator_officer")


@pytest.fixture
def leader(db):
    from qinglang.testing import make_user

    return make_user("regulator_leader")


@pytest.fixture(autouse=True)
def _audit_checkpoints(tmp_path_factory, settings):
    """Each test writes its audit checkpoints to its own directory: a checkpoint of one
    test's chain must not be held against another test's database."""
    settings.AUDIT_CHECKPOINT_DIR = tmp_path_factory.mktemp("audit-checkpoints")


@pytest.fixture(autouse=True)
def _default_language():
    """Each test starts in the platform's own language: a request made with the English
    cookie leaves English active in its thread, which would otherwise carry over into
    the next test run by the same worker."""
    from django.conf import settings as django_settings
    from django.utils import translation

    translation.activate(django_settings.LANGUAGE_CODE)
    yield
    translation.activate(django_settings.LANGUAGE_CODE)


# The modules whose tests take longest, run first. With parallel workers the run ends when
# the last test started ends: started early, the long tests overlap the many short ones,
# which then fill in at the end on whichever worker is free (docs/development/test-suite.md).
# Whole modules move, so a module's tests stay together and its module-scoped fixtures are
# still built once per worker.
LONG_FIRST = (
    "qinglang/funds/tests/test_deem_kill.py",
    "e2e/test_browser_roles.py",
    "qinglang/portal/tests/test_api_fuzz.py",
    "qinglang/core/tests/test_backup.py",
    "qinglang/portal/tests/test_reporter_confidentiality.py",
    "e2e/test_browser_ledger.py",
    "qinglang/funds/tests/test_ledger_stateful.py",
)


def pytest_collection_modifyitems(items):
    rank = {path: i for i, path in enumerate(LONG_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::", 1)[0], len(LONG_FIRST)))
