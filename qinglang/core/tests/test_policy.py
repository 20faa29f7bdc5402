from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError

from qinglang.core.errors import DomainError
from qinglang.core.models import AuditEvent, PolicyParameter
from qinglang.core.policy import policy_resolve
from qinglang.core.policy_defaults import DEFAULTS
from qinglang.core.services import policy_set


def test_every_default_is_seeded_with_basis(db):
    keys = set(PolicyParameter.objects.filter(division_code="").values_list("key", flat=True))
    assert keys == {d.key for d in DEFAULTS}
    assert not PolicyParameter.objects.filter(basis="").exists()


def test_resolution_walks_from_most_specific_to_national(db):
    r = policy_resolve("fees.max_amount_per_charge_fen", "510107001")
    assert (r.value, r.division_code) == (500000, "")
    policy_set(
        actor="system:test",
        key="fees.max_amount_per_charge_fen",
        division_code="51",
        value=400000,
        basis="四川省规定",
    )
    policy_set(
        actor="system:test",
        key="fees.max_amount_per_charge_fen",
        division_code="5101",
        value=300000,
        basis="成都市规定",
    )
    r = policy_resolve("fees.max_amount_per_charge_fen", "510107001")
    assert (r.value, r.division_code, r.basis) == (300000, "5101", "成都市规定")
    assert policy_resolve("fees.max_amount_per_charge_fen", "510302").value == 400000  # 自贡 inherits Sichuan
    assert policy_resolve("fees.max_amount_per_charge_fen", "110101").value == 500000  # Beijing: national


def test_future_override_not_yet_in_force(db):
    policy_set(
        actor="system:test",
        key="lesson.parent_confirm_days",
        division_code="5101",
        value=7,
        basis="某地通知",
        effective_from=date.today() + timedelta(days=10),
    )
    assert policy_resolve("lesson.parent_confirm_days", "510107").value == 15
    assert (
        policy_resolve("lesson.parent_confirm_days", "510107", on=date.today() + timedelta(days=10)).value
        == 7
    )


def test_override_is_audited(db):
    policy_set(
        actor="system:test",
        key="clue.resolve_days",
        division_code="510107",
        value=10,
        basis="区规定",
    )
    ev = AuditEvent.objects.filter(action="policy.set").last()
    assert ev.changes["value"] == [None, 10]


@pytest.mark.parametrize(
    "key,value",
    [("clue.resolve_days", "ten"), ("clue.resolve_days", -1), ("fees.cross_semester_allowed", 1)],
)
def test_bad_values_refused(db, key, value):
    with pytest.raises(ValidationError):
        policy_set(actor="system:test", key=key, division_code="51", value=value, basis="x")
    assert not PolicyParameter.objects.filter(division_code="51").exists()


def test_unknown_division_and_key_refused(db):
    with pytest.raises(DomainError) as e:
        policy_set(actor="system:test", key="clue.resolve_days", division_code="999999", value=3, basis="x")
    assert e.value.code == "unknown_division"
    with pytest.raises(DomainError) as e:
        policy_set(actor="system:test", key="no.such.key", division_code="51", value=3, basis="x")
    assert e.value.code == "unknown_policy_key"


def test_violation_names_rule_value_division_and_basis(db):
    policy_set(
        actor="system:test",
        key="fees.max_lessons_per_charge",
        division_code="5101",
        value=40,
        basis="成都市规定",
    )
    err = policy_resolve("fees.max_lessons_per_charge", "510107").violation("课时数超过上限")
    assert err.detail["rule"] == "fees.max_lessons_per_charge"
    assert (
        err.detail["value"] == 40 and err.detail["set_by"] == "5101" and err.detail["basis"] == "成都市规定"
    )
    assert "成都市" in err.message and "成都市规定" in err.message  # the division by name


def test_a_division_s_whole_policy_resolves_in_one_query_as_key_by_key(db, django_assert_num_queries):
    """The policy page's resolution of every key at once agrees with resolving each key on
    its own (city over province over national, a future figure not yet in force)."""
    from qinglang.core.policy import policy_resolve_many
    from qinglang.core.selectors import policy_effective

    for key, div, value, start in (
        ("fees.max_amount_per_charge_fen", "51", 400000, None),
        ("fees.max_amount_per_charge_fen", "5101", 300000, None),
        ("lesson.parent_confirm_days", "5101", 7, date.today() + timedelta(days=10)),
        ("clue.resolve_days", "510107", 10, None),
    ):
        extra = {"effective_from": start} if start else {}
        policy_set(actor="system:test", key=key, division_code=div, value=value, basis="测试", **extra)
    keys = [d.key for d in DEFAULTS]
    for code in ("510107001", "510302", "110101", ""):
        with django_assert_num_queries(1):
            many = policy_resolve_many(keys, code)
        assert many == {k: policy_resolve(k, code) for k in keys}, code
    assert many["fees.max_amount_per_charge_fen"].value == 500000  # national, for ""
    effective = {d.key: r for d, r in policy_effective(division_code="510107")}
    assert effective["fees.max_amount_per_charge_fen"].division_code == "5101"
    assert effective["lesson.parent_confirm_days"].value == 15  # the city's 7 starts later
    assert effective["clue.resolve_days"].value == 10
