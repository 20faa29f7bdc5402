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
