"""Hypothesis stateful test: random orders, payments, lessons, disputes, refunds,
reversals and retried requests against a plain in-memory model."""

import itertools

import pytest
from django.db import transaction
from django.db.models import Sum
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from qinglang.core.errors import DomainError
from qinglang.funds import services
from qinglang.funds.models import Entry, LedgerAccount, Lesson, Order
from qinglang.funds.testing import funds_world, term_input
from qinglang.funds.verify import ledger_verify

PRICE = 700
_run = itertools.count()


class LedgerMachine(RuleBasedStateMachine):
    @initialize()
    def setup(self):
        self.atomic = transaction.atomic()
        self.atomic.__enter__()
        self.w = funds_world(unit_price_fen=PRICE)
        self.run = next(_run)
        self.model: dict[int, dict] = {}  # order id → paid/released/refunded/consumed/lessons/status
        self.events: dict[str, int] = {}  # event id → order
        self.lessons: dict[str, dict] = {}
        self.n = itertools.count()

    def teardown(self):
        if hasattr(self, "atomic"):
            transaction.set_rollback(True)
            self.atomic.__exit__(None, None, None)

    def _orders(self, *statuses):
        return sorted(k for k, m in self.model.items() if m["status"] in statuses)

    @rule(lessons=st.integers(1, 8))
    def create_and_pay(self, lessons):
        o = services.order_create(
            actor=self.w.parent,
            data=term_input(self.w.course, learner_name="甲", lessons=lessons),
        )
        txn = f"R{self.run}-{next(self.n)}"
        for _ in range(2):  # the bank retries its notification: a no-op
            services.payment_record(
                actor=self.w.admin, bank_id=self.w.bank.pk, txn_id=txn, order_id=o.pk, amount_fen=o.amount_fen
            )
        self.model[o.pk] = {
            "paid": o.amount_fen,
            "released": 0,
            "refunded": 0,
            "consumed": 0,
            "lessons": lessons,
            "status": "paid",
        }

    @precondition(lambda self: self.model)
    @rule(data=st.data(), retry=st.booleans())
    def consume(self, data, retry):
        oid = data.draw(st.sampled_from(sorted(self.model)))
        m = self.model[oid]
        if retry and self.events:
            ev = data.draw(st.sampled_from(sorted(self.events)))
            _, res = services.lesson_record(
                actor=self.w.org_user,
                institution_id=self.w.institution.pk,
                order_id=self.events[ev],
                event_id=ev,
            )
            assert res == "duplicate"
            return
        ev = f"ev{next(self.n)}"
        ok = m["status"] in ("paid", "refund_requested") and m["consumed"] < m["lessons"]
        try:
            services.lesson_record(
                actor=self.w.org_user, institution_id=self.w.institution.pk, order_id=oid, event_id=ev
            )
        except DomainError:
            assert not ok
            return
        assert ok
        m["consumed"] += 1
        m["released"] += PRICE
        if m["consumed"] == m["lessons"] and m["status"] == "paid":
            m["status"] = "completed"
        self.events[ev] = oid
        self.lessons[ev] = {"order": oid, "status": "recorded"}

    @precondition(lambda self: self.lessons)
    @rule(data=st.data(), upheld=st.booleans())
    def dispute(self, data, upheld):
        ev = data.draw(st.sampled_from(sorted(self.lessons)))
        lm = self.lessons[ev]
        lesson = Lesson.objects.get(event_id=ev, institution=self.w.institution)
        m = self.model[lm["order"]]
        try:
            services.lesson_dispute(actor=self.w.parent, lesson_id=lesson.pk, reason="没上")
        except DomainError:
            assert lm["status"] != "recorded"
            return
        assert lm["status"] == "recorded"
        lm["status"] = "disputed"
        try:
            services.lesson_dispute_resolve(actor=self.w.admin, lesson_id=lesson.pk, upheld=upheld)
        except DomainError:
            assert upheld and m["status"] == "refunded"
            return
        lm["status"] = "done"
        if upheld:
            m["consumed"] -= 1
            m["released"] -= PRICE
            if m["status"] == "completed":
                m["status"] = "paid"

    @precondition(lambda self: self.model)
    @rule(data=st.data(), agree=st.booleans())
    def refund(self, data, agree):
        oid = data.draw(st.sampled_from(sorted(self.model)))
        m = self.model[oid]
        try:
            r = services.refund_request(actor=self.w.parent, order_id=oid, reason="不学了")
        except DomainError:
            assert m["status"] != "paid"
            return
        assert m["status"] == "paid"
        if agree:
            services.refund_answer(actor=self.w.org_user, refund_id=r.pk, agree=True)
            m["refunded"] = m["paid"] - m["consumed"] * PRICE
            m["status"] = "refunded"
        else:
            services.refund_answer(actor=self.w.org_user, refund_id=r.pk, agree=False, answer="已上课")
            m["status"] = "paid" if m["consumed"] < m["lessons"] else "completed"

    @invariant()
    def matches_model(self):
        if not hasattr(self, "w"):
            return
        for o in Order.objects.filter(pk__in=list(self.model)):
            m = self.model[o.pk]
            assert (o.paid_fen, o.released_fen, o.refunded_fen, o.lessons_consumed, o.status) == (
                m["paid"],
                m["released"],
                m["refunded"],
                m["consumed"],
                m["status"],
            )
            held = -LedgerAccount.objects.get(order_id=o.pk).balance_fen
            assert o.paid_fen == o.released_fen + o.refunded_fen + held
        assert (Entry.objects.aggregate(s=Sum("amount_fen"))["s"] or 0) == 0
        custody = LedgerAccount.objects.get(institution=self.w.institution, kind="custody").balance_fen
        assert custody >= 0
        assert custody == sum(m["paid"] for m in self.model.values())  # nothing paid out in this test
        r = ledger_verify()
        assert r.ok, r.problems


LedgerMachine.TestCase.settings = settings(
    max_examples=15, stateful_step_count=20, deadline=None, suppress_health_check=list(HealthCheck)
)


@pytest.mark.django_db(transaction=False)
class TestLedgerStateful(LedgerMachine.TestCase):
    pass
