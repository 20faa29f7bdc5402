"""Money has bounds: a correction resolves the difference it names and no more; every
amount has an upper bound (core.money.MAX_FEN); overflow is a 422, never a 500."""

import json

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone

from qinglang.core.models import AuditEvent
from qinglang.core.money import MAX_FEN
from qinglang.funds import services
from qinglang.funds.models import Posting, ReconciliationDifference
from qinglang.funds.testing import funds_world, paid_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def w(db):
    return funds_world()


def _difference(w, short_by: int = 100):
    order = paid_order(w, lessons=2, txn="TXB-1")
    text = f"txn_id,direction,amount_fen\nTXB-1,in,{order.amount_fen - short_by}\n"
    services.statement_import(actor=w.admin, bank_id=w.bank.pk, day=timezone.localdate(), text=text)
    return ReconciliationDifference.objects.get(kind="amount_mismatch")


@pytest.mark.parametrize("correction", [-(10**15), -101, 101, 2**62, -(2**70)])
def test_correction_beyond_or_against_the_difference_is_refused(w, correction):
    d = _difference(w)  # the bank holds 100 fen less than the ledger
    postings, seq = Posting.objects.count(), AuditEvent.objects.order_by("-seq").first().seq
    with pytest.raises(ValidationError) as exc:
        services.difference_resolve(
            actor=w.admin, difference_id=d.pk, resolution="更正", correction_fen=correction
        )
    assert "correction_fen" in exc.value.message_dict
    d.refresh_from_db()
    assert not d.resolved and Posting.objects.count() == postings
    assert not AuditEvent.objects.filter(seq__gt=seq).exists()
    services.difference_resolve(actor=w.admin, difference_id=d.pk, resolution="银行少记", correction_fen=-100)
    d.refresh_from_db()
    assert d.resolved and d.correcting_posting_id


@pytest.mark.parametrize("amount", [2**62, MAX_FEN + 1, 10**30])
def test_risk_deposit_has_an_upper_bound(w, amount):
    with pytest.raises(ValidationError) as exc:
        services.deposit_record(actor=w.admin, institution_id=w.institution.pk, amount_fen=amount, key="d1")
    assert "上限" in exc.value.message_dict["amount_fen"][0]


def test_overflow_through_the_api_is_422(w):
    c = Client()
    c.force_login(w.admin)
    d = _difference(w)
    r = c.post(
        f"/api/funds/differences/{d.pk}/resolve",
        json.dumps({"resolution": "更正", "correction_fen": 10**30}),
        content_type="application/json",
    )
    assert r.status_code == 422, r.content[:300]
