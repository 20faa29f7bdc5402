import pytest


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
