"""Demo sweep for the demo county: one key-place sweep (专项摸排) of the first township
under way, with a few places on its list, so the township's officer and grid worker have
a patrol to follow."""

import random
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from qinglang.accounts.models import Membership, Role
from qinglang.accounts.permissions import REGULATOR_WRITERS
from qinglang.core.models import Division, DivisionLevel

from . import services
from .models import Sweep

PLACES = [
    ("阳光小区3栋2单元", "residential", "某某路12号阳光小区3栋"),
    ("星辰商务楼", "office_building", "某某大道88号星辰商务楼"),
    ("书山自习室", "study_room", "某某街5号二楼"),
]


@transaction.atomic
def seed_district(*, county: str, rng: random.Random, log) -> dict[str, int]:
    township = (
        Division.objects.filter(code__startswith=county, level=DivisionLevel.TOWNSHIP, retired=False)
        .order_by("code")
        .first()
    )
    if township is None or Sweep.objects.filter(division_code=township.code).exists():
        return {"sweeps": 0}
    # a sweep is started by a person (its creator is kept): the township's officer, else a
    # county writer or the platform administrator
    members = Membership.objects.filter(active=True).select_related("user").order_by("id")
    m = (
        next(
            (
                m
                for m in members.filter(role__in=REGULATOR_WRITERS)
                if any(township.code.startswith(p) for p in m.division_prefixes)
            ),
            None,
        )
        or members.filter(role=Role.PLATFORM_ADMIN).first()
    )
    if m is None:
        return {"sweeps": 0}
    actor = m.user
    today = timezone.localdate()
    sweep = services.sweep_create(
        actor=actor,
        name=f"{township.name}校外培训重点场所专项摸排",
        division_code=township.code,
        place_types=sorted({t for _n, t, _a in PLACES}),
        starts_on=today - timedelta(days=7),
        ends_on=today + timedelta(days=21),
    )
    community = (
        Division.objects.filter(code__startswith=township.code, level=DivisionLevel.COMMUNITY)
        .order_by("code")
        .values_list("code", flat=True)
        .first()
    ) or township.code
    for name, ptype, address in PLACES:
        services.sweep_place_add(
            actor=actor,
            sweep_id=sweep.pk,
            data={"name": name, "address": address, "place_type": ptype, "division_code": community},
        )

    return {"sweeps": 1, "places": len(PLACES)}
