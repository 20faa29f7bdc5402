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
