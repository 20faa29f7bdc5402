"""A file above the ORM threshold takes the bulk path (raw insert / COPY): the same rows,
transitions and routings as the per-row path, and reporters encrypted."""

import random
from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from qinglang.clues import services
from qinglang.clues.demo import hotline_rows
from qinglang.clues.models import Clue, ClueReport, ClueRouting, ClueTransition

from .conftest import xlsx_bytes

pytestmark = pytest.mark.django_db


def test_bulk_import_of_120_rows(county, officer, institution):
    rows = list(
        hotline_rows(
            n=120,
            institutions=[(institution.name, institution.address, institution.division_code)],
            places=["510107001"],
            rng=random.Random(1),
            start=datetime.now() - timedelta(days=3),
        )
    )
    # text that the COPY format must escape comes back unchanged
    odd = "退费难\t第二段\\反斜杠\n第三行 \\N"
    at = (datetime.now() - timedelta(days=1)).replace(microsecond=0)
    rows.append(
        (
            "GD-ESC-1",
            f"{at:%Y-%m-%d %H:%M:%S}",
            "张三",
            "13912345678",
            odd,
            "某\\机构\t",
            "地址\n1号",
            "510107001",
        )
    )
    b = services.clue_import_hotline(
        actor=officer, division_code="510107", filename="x.xlsx", data=xlsx_bytes(rows)
    )
    assert b.rows == 121 and b.created + b.merged == 121 and not b.errors
    assert ClueReport.objects.count() == 121
    assert Clue.objects.count() == b.created
    assert sum(Clue.objects.values_list("report_count", flat=True)) == 121
    esc = ClueReport.objects.select_related("clue").get(source_ref="GD-ESC-1")
    assert esc.content == odd and esc.institution_name == "某\\机构" and esc.address == "地址\n1号"
    assert esc.reporter() == {"name": "张三", "phone": "13912345678"}
    assert esc.clue.operator_name == "某\\机构" and esc.clue.category == "refund_difficulty"
    assert timezone.localtime(esc.received_at).replace(tzinfo=None) == at
    assert esc.clue.summary == odd and esc.clue.report_count == 1
    routed = Clue.objects.exclude(routed_kinds="").count()
    assert ClueTransition.objects.count() == routed
    assert ClueRouting.objects.filter(lead=True).count() == routed
    named = ClueReport.objects.exclude(reporter_enc="").first()
    assert named.reporter()["phone"].startswith("13")
    assert (
        not ClueReport.objects.filter(reporter_enc__contains="13")
        .exclude(reporter_enc__startswith="gAAAA")
        .exists()
    )
    c = Clue.objects.filter(institution=institution).first()
    assert c.received_at and c.resolve_due and c.acknowledge_due and c.reference.startswith("XS")
    again = services.clue_import_hotline(
        actor=officer, division_code="510107", filename="x.xlsx", data=xlsx_bytes(rows)
    )
    assert again.skipped == 121 and ClueReport.objects.count() == 121
