import io

import pytest
from django.core.cache import cache, caches

from qinglang.accounts.permissions import system
from qinglang.testing import DEMO_COUNTY, TOWNSHIP


@pytest.fixture(autouse=True)
def _fresh_cache_and_media(request, settings, tmp_path):
    """The caches, the rate limiter's shared one included (another test's reports from
    the same address would count against this test's), and the media start empty. The
    shared cache lives in the database, so only a test that may use the database clears it."""
    uses_db = request.node.get_closest_marker("django_db") or {"db", "transactional_db"} & set(
        request.fixturenames
    )
    cache.clear()
    if uses_db:
        caches["shared"].clear()
    settings.MEDIA_ROOT = str(tmp_path / "media")
    yield
    cache.clear()
    if uses_db:
        caches["shared"].clear()


@pytest.fixture
def county(db):
    from qinglang.core.services import department_ensure_for_division

    department_ensure_for_division(actor=system("test"), division_code=DEMO_COUNTY)
    department_ensure_for_division(actor=system("test"), division_code=TOWNSHIP)
    return DEMO_COUNTY


@pytest.fixture
def admin(db):
    from qinglang.testing import admin_user

    return admin_user()


@pytest.fixture
def officer(county):
    from qinglang.testing import make_user

    return make_user("regulator_officer")


@pytest.fixture
def institution(county, admin):
    from qinglang.testing import make_institution

    return make_institution(admin, name="星辰艺术培训中心", address="浆洗街88号", kind="arts")


def xlsx_bytes(rows, header=None) -> bytes:
    from openpyxl import Workbook

    from qinglang.clues.services import HOTLINE_COLUMNS

    wb = Workbook()
    ws = wb.active
    ws.append(header or HOTLINE_COLUMNS)
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 200


def education_and_fire_whistle(officer):
    """A township whistle naming the education and fire departments."""
    from qinglang.clues import services

    return services.whistle_raise(
        actor=officer,
        division_code=TOWNSHIP,
        title="无证培训点",
        problem="多部门联合处置",
        department_kinds=["education", "fire"],
    )
