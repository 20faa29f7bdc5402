import io

import pytest
from django.core.cache import cache

from qinglang.accounts.permissions import system
from qinglang.testing import DEMO_COUNTY, TOWNSHIP

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 200


@pytest.fixture(autouse=True)
def _fresh_cache_and_media(settings, tmp_path):
    cache.clear()
    settings.MEDIA_ROOT = str(tmp_path / "media")
    yield
    cache.clear()


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
def arts(county, admin):
    from qinglang.testing import make_institution

    return make_institution(admin, name="星光艺术培训中心", kind="arts")


def table_bytes(header: list, rows: list[list], kind: str = "csv") -> bytes:
    if kind == "xlsx":
        from openpyxl import Workbook

        wb = Workbook()
        ws = wb.active
        ws.append(header)
        for r in rows:
            ws.append(r)
        buf = io.BytesIO()
        wb.save(buf)
        return buf.getvalue()
    import csv

    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue().encode("utf-8")
