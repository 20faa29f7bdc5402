"""Hypothesis stateful test over the whole lifecycle: orders paid, lessons consumed into
pending releases, confirmed, disputed and decided (upheld: voided, rejected: posted),
deemed confirmed by the job, refunds, daily payouts and a failed institution's pro-rata
refund, with retried requests, against a plain in-memory model. Invariants: paid = held
+ pending + released + refunded per order, balances = sums of entries, a pending release
settled at most once, and payouts never more than what was posted."""

import itertools
from datetime import timedelta

import pytest
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from qinglang.core.errors import DomainError
from qinglang.funds import services
from qinglang.funds.models import Entry, InstructionLine, LedgerAccount, Lesson, Order
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
        self.model: dict[int, dict] = {}  # order id → paid/pending/released/refunded/consumed/lessons/status
        self.events: dict[str, int] = {}  # event id → order
        self.lessons: dict[str, dict] = {}  # event id → order, status (recorded/disputed/posted/voided)
        self.n = itertools.count()
        self.paid_out = {"release": 0, "refund": 0}
        self.closed = False

    def teardown(self):
        if hasattr(self, "atomic"):
            transaction.set_rollback(True)
            self.atomic.__exit__(None, None, None)

    def _orders(self, *statuses):
        return sorted(k for k, m in self.model.items() if m["status"] in statuses)

    @precondition(lambda self: not self.closed)
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
            "pending": 0,
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
        m["pending"] += PRICE
        if m["consumed"] == m["lessons"] and m["status"] == "paid":
            m["status"] = "completed"
        self.events[ev] = oid
        self.lessons[ev] = {"order": oid, "status": "recorded"}

    def _lesson(self, data):
        ev = data.draw(st.sampled_from(sorted(self.lessons)))
        return self.lessons[ev], Lesson.objects.get(event_id=ev, institution=self.w.institution)

    def _post(self, lm):
        m = self.model[lm["order"]]
        m["pending"] -= PRICE
        m["released"] += PRICE
        lm["status"] = "posted"

    @precondition(lambda self: self.lessons)
    @rule(data=st.data())
    def confirm(self, data):
        lm, lesson = self._lesson(data)
        try:
            services.lesson_confirm(actor=self.w.parent, lesson_id=lesson.pk)
        except DomainError:
            assert lm["status"] in ("disputed", "voided") or lm.get("rejected")
            return
        if lm["status"] == "recorded":
            self._post(lm)
        else:  # confirming again: the lesson as it stands, nothing moves
            assert lm["status"] == "posted" and not lm.get("rejected")

    @precondition(lambda self: self.lessons)
    @rule(data=st.data())
    def dispute(self, data):
        lm, lesson = self._lesson(data)
        try:
            services.lesson_dispute(actor=self.w.parent, lesson_id=lesson.pk, reason="没上")
        except DomainError:
            assert lm["status"] != "recorded"
            return
        assert lm["status"] == "recorded"
        lm["status"] = "disputed"

    @precondition(lambda self: self.lessons)
    @rule(data=st.data(), upheld=st.booleans())
    def decide(self, data, upheld):
        lm, lesson = self._lesson(data)
        m = self.model[lm["order"]]
        try:
            services.dispute_decide(actor=self.w.admin, lesson_id=lesson.pk, upheld=upheld, reason="核实")
        except DomainError:
            assert lm["status"] != "disputed"
            return
        assert lm["status"] == "disputed"
        if upheld:
            m["pending"] -= PRICE
            m["consumed"] -= 1
            lm["status"] = "voided"
            if m["status"] == "completed":
                m["status"] = "paid"
            elif m["status"] == "refunded":  # back to the parent through the refund path
                m["refunded"] += PRICE
        else:
            self._post(lm)
            lm["rejected"] = True

    @rule()
    def deem(self):
        far = timezone.localdate() + timedelta(days=400)
        n = services.lessons_deem_confirmed(today=far, chunk=3)
        due = [lm for lm in self.lessons.values() if lm["status"] == "recorded"]
        assert n == len(due)
        for lm in due:
            self._post(lm)
        assert services.lessons_deem_confirmed(today=far) == 0  # never twice

    @rule()
    def payout(self):
        day = timezone.localdate() + timedelta(days=next(self.n))
        services.instructions_generate(day=day)
        released = sum(m["released"] for m in self.model.values())
        refunded = sum(m["refunded"] for m in self.model.values())
        self.paid_out = {"release": released, "refund": refunded}

    @precondition(lambda self: self.model and not self.closed)
    @rule()
    def institution_fails(self):
        from qinglang.registry.services import institution_transition

        institution_transition(
            actor=self.w.admin, institution_id=self.w.institution.pk, to_status="runaway", reason="跑路"
        )
        services.refund_pro_rata(actor=self.w.admin, institution_id=self.w.institution.pk, reason="清退")
        self.closed = True
        for m in self.model.values():
            if m["status"] in ("paid", "refund_requested"):
                m["refunded"] = m["paid"] - m["consumed"] * PRICE
                m["status"] = "refunded"

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
            assert (
                o.paid_fen,
                o.pending_fen,
                o.released_fen,
                o.refunded_fen,
                o.lessons_consumed,
                o.status,
            ) == (
                m["paid"],
                m["pending"],
                m["released"],
                m["refunded"],
                m["consumed"],
                m["status"],
            )
            held = -LedgerAccount.objects.get(order_id=o.pk).balance_fen
            assert o.paid_fen == held + o.pending_fen + o.released_fen + o.refunded_fen
        assert (Entry.objects.aggregate(s=Sum("amount_fen"))["s"] or 0) == 0
        custody = LedgerAccount.objects.get(institution=self.w.institution, kind="custody").balance_fen
        assert custody >= 0
        paid_in = sum(m["paid"] for m in self.model.values())
        assert custody == paid_in - self.paid_out["release"] - self.paid_out["refund"]
        lines = InstructionLine.objects.filter(institution=self.w.institution)
        # a lesson not yet confirmed is never paid out: releases paid ≤ releases posted
        released_out = lines.filter(kind="release").aggregate(s=Sum("amount_fen"))["s"] or 0
        assert released_out == self.paid_out["release"] <= sum(m["released"] for m in self.model.values())
        r = ledger_verify()
        assert r.ok, r.problems


LedgerMachine.TestCase.settings = settings(
    max_examples=15, stateful_step_count=20, deadline=None, suppress_health_check=list(HealthCheck)
)


@pytest.mark.django_db(transaction=False)
class TestLedgerStateful(LedgerMachine.TestCase):
    pass
