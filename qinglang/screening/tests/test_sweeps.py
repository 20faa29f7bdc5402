"""Must show: a sweep reaches 清零 only when every listed place is visited and every
finding closed. Visits on the phone page: photos, geolocation; a violation opens a lead."""

from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from qinglang.clues.models import Channel, Clue
from qinglang.core.errors import DomainError, NotFound, PermissionDeniedError
from qinglang.screening import selectors, services
from qinglang.screening.models import SweepPlace, SweepVisit
from qinglang.testing import DEMO_COUNTY, OTHER_COUNTY, TOWNSHIP, make_user

from .conftest import JPEG, table_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def sweep(officer):
    return services.sweep_create(
        actor=officer,
        name="暑期隐形变异培训专项摸排",
        division_code=DEMO_COUNTY,
        place_types=["residential", "hotel", "care_centre"],
        starts_on=date.today(),
        ends_on=date.today() + timedelta(days=14),
    )


def board(officer, sweep):
    return {r.code: r for r in selectors.sweep_board(actor=officer, sweep_id=sweep.pk)}


def test_zero_only_when_every_place_visited_and_every_finding_closed(officer, sweep):
    grid = make_user("grid_worker", prefixes=[TOWNSHIP])
    header = ["场所名称", "地址", "场所类型", "区划代码"]
    rows = [["锦苑小区", "浆洗街1号", "居民小区", TOWNSHIP], ["如家酒店", "浆洗街2号", "hotel", TOWNSHIP]]
    assert (
        services.sweep_places_import(
            actor=officer, sweep_id=sweep.pk, data=table_bytes(header, rows), name="p.csv"
        )
        == 2
    )
    row = board(officer, sweep)[TOWNSHIP]
    assert (row.listed, row.visited, row.open_findings, row.zero) == (2, 0, 0, False)
    assert row.name != TOWNSHIP  # the township's name, not its code

    a, b = SweepPlace.objects.order_by("id")
    services.sweep_visit_record(
        actor=grid, place_id=a.pk, outcome="clear", latitude="30.64", longitude="104.04"
    )
    assert not board(officer, sweep)[TOWNSHIP].zero  # one place not visited
    v = services.sweep_visit_record(
        actor=grid,
        place_id=b.pk,
        outcome="violation",
        note="1203房间内有十余名初中生上数学课",
        photos=[SimpleUploadedFile("a.jpg", JPEG)],
    )
    assert v.clue_id and v.photos
    clue = Clue.objects.get(pk=v.clue_id)
    assert clue.first_channel == Channel.GRID and clue.operator_name == "如家酒店"
    row = board(officer, sweep)[TOWNSHIP]
    assert (row.visited, row.open_findings, row.zero) == (2, 1, False)

    # a place added on the spot must be visited too
    c = services.sweep_place_add(
        actor=grid,
        sweep_id=sweep.pk,
        data={
            "name": "阳光托管点",
            "address": "浆洗街3号",
            "place_type": "care_centre",
            "division_code": TOWNSHIP,
        },
        on_spot=True,
    )
    services.sweep_finding_close(actor=officer, visit_id=v.pk, note="已取缔，退费完毕")
    assert not board(officer, sweep)[TOWNSHIP].zero
    services.sweep_visit_record(actor=grid, place_id=c.pk, outcome="suspicious", note="门口有书包，未见上课")
    assert board(officer, sweep)[TOWNSHIP].open_findings == 1
    s = SweepVisit.objects.get(place=c)
    services.sweep_finding_close(actor=officer, visit_id=s.pk, note="复访核实为看护，无授课")
    row = board(officer, sweep)[TOWNSHIP]
    assert (row.listed, row.visited, row.open_findings, row.zero) == (3, 3, 0, True)


def test_visit_and_place_bad_input_changes_nothing(officer, sweep):
    grid = make_user("grid_worker", prefixes=[TOWNSHIP])
    p = services.sweep_place_add(
        actor=officer,
        sweep_id=sweep.pk,
        data={
            "name": "锦苑小区",
            "address": "浆洗街1号",
            "place_type": "residential",
            "division_code": TOWNSHIP,
        },
    )
    with pytest.raises(ValidationError):
        services.sweep_visit_record(actor=grid, place_id=p.pk, outcome="violation", note="")
    with pytest.raises(ValidationError):
        services.sweep_visit_record(actor=grid, place_id=p.pk, outcome="clear", latitude="123")
    with pytest.raises(ValidationError):
        services.sweep_visit_record(
            actor=grid,
            place_id=p.pk,
            outcome="clear",
            photos=[SimpleUploadedFile("x.jpg", b"MZ not an image")],
        )
    with pytest.raises(NotFound):
        services.sweep_visit_record(
            actor=make_user("grid_worker", prefixes=[OTHER_COUNTY]), place_id=p.pk, outcome="clear"
        )
    with pytest.raises(ValidationError):
        services.sweep_place_add(
            actor=officer,
            sweep_id=sweep.pk,
            data={"name": "某宾馆", "address": "x", "place_type": "study_room", "division_code": TOWNSHIP},
        )
    header = ["场所名称", "地址", "场所类型", "区划代码"]
    with pytest.raises(DomainError) as e:
        services.sweep_places_import(
            actor=officer,
            sweep_id=sweep.pk,
            data=table_bytes(
                header, [["甲", "路1号", "居民小区", TOWNSHIP], ["乙", "路2号", "居民小区", "999999999"]]
            ),
            name="p.csv",
        )
    assert "第3行" in e.value.message
    with pytest.raises(ValidationError) as e:
        services.sweep_places_import(
            actor=officer,
            sweep_id=sweep.pk,
            data=table_bytes(["场所名称", "地址"], [["甲", "路"]]),
            name="p.csv",
        )
    assert "缺少列" in str(e.value)
    assert SweepVisit.objects.count() == 0 and SweepPlace.objects.count() == 1 and Clue.objects.count() == 0


def test_only_regulators_start_sweeps_in_their_area(officer):
    with pytest.raises(PermissionDeniedError):
        services.sweep_create(
            actor=make_user("grid_worker", prefixes=[TOWNSHIP]),
            name="x",
            division_code=DEMO_COUNTY,
            place_types=["hotel"],
            starts_on=date.today(),
            ends_on=date.today(),
        )
    with pytest.raises(PermissionDeniedError):
        services.sweep_create(
            actor=officer,
            name="x",
            division_code=OTHER_COUNTY,
            place_types=["hotel"],
            starts_on=date.today(),
            ends_on=date.today(),
        )
    with pytest.raises(ValidationError):
        services.sweep_create(
            actor=officer,
            name="x",
            division_code=DEMO_COUNTY,
            place_types=["bar"],
            starts_on=date.today(),
            ends_on=date.today() - timedelta(days=1),
        )
