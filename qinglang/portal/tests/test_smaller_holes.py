"""Smaller holes (item 10 of the hardening round): an open redirect through ``next``, a
parent topping up another parent's order, a bank notification with a bad signature sent
with a session, an unbounded ``basis`` or ``reason``."""

import json
import time

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from qinglang.accounts.models import Role
from qinglang.core.errors import DomainError
from qinglang.funds import services
from qinglang.funds.testing import funds_world, paid_order, term_input
from qinglang.testing import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def w(db):
    return funds_world()


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)"]
)
def test_next_cannot_send_a_parent_elsewhere(w, target):
    order = paid_order(w, lessons=4)
    lesson, _ = services.lesson_record(
        actor=w.org_user, institution_id=w.institution.pk, order_id=order.pk, event_id="n1"
    )
    lesson_id = lesson.pk
    c = Client()
    c.force_login(w.parent)
    for name in ("parent_lesson_confirm", "parent_lesson_dispute"):
        r = c.post(reverse(f"portal:{name}", args=[lesson_id]), {"next": target, "reason": "未上课"})
        assert r.status_code == 302 and r["Location"] == reverse("portal:parent_orders"), (
            name,
            r["Location"],
        )
    r = c.post(reverse("portal:parent_lesson_confirm", args=[lesson_id]), {"next": "/parent/funds/?x=1"})
    assert r["Location"] == "/parent/funds/?x=1"  # a path on this site is kept


def test_a_parent_cannot_top_up_another_parents_order(w):
    theirs = paid_order(w, lessons=2)
    other = make_user(Role.PARENT)
    with pytest.raises(DomainError) as exc:
        services.order_create(actor=other, data=term_input(w.course, lessons=2, top_up_of_id=theirs.pk))
    assert exc.value.code == "unknown_order" and exc.value.status == 422
    # the owner may (the top-up rule itself then applies)
    try:
        services.order_create(actor=w.parent, data=term_input(w.course, lessons=2, top_up_of_id=theirs.pk))
    except DomainError as e:
        assert e.code != "unknown_order"


def test_bad_bank_signature_with_a_session_is_401_not_csrf(w):
    c = Client(enforce_csrf_checks=True)
    c.force_login(make_user(Role.BANK_OPERATOR, bank_id=w.bank.pk))
    r = c.post(
        f"/api/funds/banks/{w.bank.pk}/notifications",
        json.dumps({"txn_id": "X1", "order_id": 1, "amount_fen": 1}),
        content_type="application/json",
        HTTP_X_QINGLANG_SIGNATURE="0" * 64,
        HTTP_X_QINGLANG_TIMESTAMP=str(int(time.time())),
    )
    assert r.status_code == 401 and r.json()["code"] == "unauthenticated"


def test_basis_and_reason_are_bounded(w):
    from qinglang.core.services import policy_set
    from qinglang.registry.services import blacklist_add

    with pytest.raises(ValidationError) as exc:
        policy_set(
            actor=w.admin,
            key="fees.max_months_per_charge",
            division_code="510107",
            value=3,
            basis="依" * 100_000,
        )
    assert "basis" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        blacklist_add(actor=w.admin, institution_id=w.institution.pk, reason="理" * 100_000)
    assert "reason" in exc.value.message_dict
