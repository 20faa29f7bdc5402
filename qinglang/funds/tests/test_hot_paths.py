"""The single-lesson path and the batch path's shortcuts keep the ledger's rules: same
payload hashes as before, same outcome as a batch of one, a race on one event id ends
as one lesson and one duplicate."""

import gc
import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from qinglang.accounts.permissions import system
from qinglang.core.audit import audit_verify
from qinglang.core.errors import DomainError
from qinglang.core.models import AuditEvent
from qinglang.funds import services
from qinglang.funds.ledger import PostingSpec
from qinglang.funds.models import Entry, Lesson, Order, OrderStatus, Posting
from qinglang.funds.testing import funds_world, paid_order
from qinglang.funds.verify import ledger_verify

REPO = Path(__file__).resolve().parents[3]


def _json_hash(s: PostingSpec) -> str:
    """The payload hash as first written (and stored for every posting since)."""
    raw = json.dumps(
        [s.code, sorted(s.legs), s.institution_id, s.order_id, s.reverses_id], separators=(",", ":")
    )
    return hashlib.sha256(raw.encode()).hexdigest()


def test_payload_hash_unchanged_for_stored_postings():
    for s in [
        PostingSpec("k", "release", ((5, 100), (2, -100)), 3, "510107", 7, 1),
        PostingSpec("k", "release_reversal", ((2, 100), (5, -100)), 3, "510107", 7, None, 9),
        PostingSpec("k", "payment", ((1, 300), (4, -200), (6, -100)), 12, "", None),
        PostingSpec("k", 'odd"code', ((5, -1), (2, 1)), 3, "x", "7"),
    ]:
        assert s.payload_hash() == _json_hash(s)


@pytest.mark.django_db
def test_single_lesson_writes_what_a_batch_of_one_writes():
    w = funds_world(unit_price_fen=300)
    a, b = paid_order(w, lessons=2), paid_order(w, lessons=2)
    before = AuditEvent.objects.count()
    one, res = services.lesson_record(
        actor=w.org_user, institution_id=w.institution.pk, order_id=a.pk, event_id="s1"
    )
    services.lesson_batch_import(
        actor=w.org_user, institution_id=w.institution.pk, rows=[{"event_id": "b1", "order_id": b.pk}]
    )
    assert res == "accepted" and one.pk and one.released_fen == 300 and one.posting_id
    fields = ("order_id", "status", "confirm_by", "released_fen", "bank_id", "division_code")
    single = Lesson.objects.values(*fields).get(event_id="s1")
    batch = Lesson.objects.values(*fields).get(event_id="b1")
    assert {**single, "order_id": 0} == {**batch, "order_id": 0}
    p = Posting.objects.get(pk=one.posting_id)
    assert p.idempotency_key == f"lesson:{w.institution.pk}:s1" and p.amount_fen == 300
    assert sorted(Entry.objects.filter(posting=p).values_list("amount_fen", flat=True)) == [-300, 300]
    assert AuditEvent.objects.count() == before + 2
    # the returned lesson is the stored one
    assert Lesson.objects.get(pk=one.pk).event_id == "s1"
    r = ledger_verify()
    assert r.ok, r.problems
    assert audit_verify().ok


@pytest.mark.django_db
def test_single_lesson_refusals_and_duplicates_write_nothing():
    w = funds_world(unit_price_fen=300)
    o = paid_order(w, lessons=1)
    services.lesson_record(actor=w.org_user, institution_id=w.institution.pk, order_id=o.pk, event_id="a")
    counts = (Lesson.objects.count(), Posting.objects.count(), AuditEvent.objects.count())
    lesson, res = services.lesson_record(
        actor=w.org_user, institution_id=w.institution.pk, order_id=o.pk, event_id="a"
    )
    assert res == "duplicate" and lesson.event_id == "a"
    # a duplicate wins over an unknown order, as in a batch
    _, res = services.lesson_record(
        actor=w.org_user, institution_id=w.institution.pk, order_id=999999, event_id="a"
    )
    assert res == "duplicate"
    for order_id, code in ((o.pk, "no_lessons_left"), (999999, "unknown_order")):
        with pytest.raises(DomainError) as e:
            services.lesson_record(
                actor=w.org_user, institution_id=w.institution.pk, order_id=order_id, event_id="b"
            )
        assert e.value.code == code
    assert (Lesson.objects.count(), Posting.objects.count(), AuditEvent.objects.count()) == counts
    o.refresh_from_db()
    assert o.status == OrderStatus.COMPLETED and o.lessons_consumed == 1


@pytest.mark.django_db
def test_policy_subquery_resolves_as_policy_resolve():
    from datetime import date, timedelta

    from django.utils import timezone

    from qinglang.core.policy import policy_resolve
    from qinglang.core.services import policy_set
    from qinglang.funds.services.consumption_single import policy_subquery, policy_value_from_db

    key = "lesson.parent_confirm_days"
    today = timezone.localdate()

    def both(division: str, on: date):
        sql, params = policy_subquery(key, division, on)
        with connection.cursor() as c:
            c.execute(f"SELECT {sql}", params)
            got = policy_value_from_db(key, c.fetchone()[0])
        return got, policy_resolve(key, division, on=on).value

    places = ["510107001", "510107", "5101", "51", "440305", ""]
    days = [today, today + timedelta(days=40)]
    checks = [both(d, on) for d in places for on in days]  # national defaults only
    for division, value, start in [
        ("51", 9, today),
        ("5101", 7, today - timedelta(days=3)),
        ("5101", 5, today + timedelta(days=30)),  # newer, not yet in force
        ("510107001", 3, today + timedelta(days=10)),
    ]:
        policy_set(
            actor=system("test"),
            key=key,
            division_code=division,
            value=value,
            basis="测试",
            effective_from=start,
        )
        checks += [both(d, on) for d in places for on in days]
    assert all(got == want for got, want in checks), checks
    assert {want for _, want in checks} >= {15, 9, 7, 5, 3}


@pytest.mark.django_db
def test_batch_restores_the_garbage_collector():
    w = funds_world(unit_price_fen=300)
    o = paid_order(w, lessons=3)
    assert gc.isenabled()
    services.lesson_batch_import(
        actor=w.org_user, institution_id=w.institution.pk, rows=[{"event_id": "g", "order_id": o.pk}]
    )
    assert gc.isenabled()
    with pytest.raises(DomainError):
        services.lesson_batch_import(
            actor=w.org_user,
            institution_id=w.institution.pk,
            rows=({"event_id": f"x{i}", "order_id": o.pk} for i in range(services.consumption.MAX_BATCH + 1)),
        )
    assert gc.isenabled()


RACER = r"""
import sys
from django.conf import settings
settings.DATABASES["default"]["NAME"] = sys.argv[1]
import django; django.setup()
from qinglang.accounts.models import User
from qinglang.funds import services
org = User.objects.get(pk=int(sys.argv[2]))
inst, k = int(sys.argv[3]), int(sys.argv[5])
orders = [int(x) for x in sys.argv[4].split(",")]
out = []
for i in range(40):
    # every racer records the same event ids, each against its own order
    _, res = services.lesson_record(actor=org, institution_id=inst, order_id=orders[k], event_id=f"r{i}")
    out.append(res)
print(",".join(out))
"""


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks and index waits are PostgreSQL's")
def test_racing_single_lessons_with_one_event_id(tmp_path):
    w = funds_world(unit_price_fen=300)
    orders = [paid_order(w, lessons=60) for _ in range(4)]
    script = tmp_path / "racer.py"
    script.write_text(RACER)
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                str(script),
                str(connection.settings_dict["NAME"]),
                str(w.org_user.pk),
                str(w.institution.pk),
                ",".join(str(o.pk) for o in orders),
                str(k),
            ],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for k in range(4)
    ]
    results = []
    for p in procs:
        out, err = p.communicate(timeout=600)
        assert p.returncode == 0, err[-3000:]
        results.extend(out.strip().split(","))
    # each of the 40 event ids was accepted exactly once, the other three were duplicates
    assert results.count("accepted") == 40 and results.count("duplicate") == 120
    assert Lesson.objects.filter(institution=w.institution).count() == 40
    consumed = sum(
        Order.objects.filter(pk__in=[o.pk for o in orders]).values_list("lessons_consumed", flat=True)
    )
    assert consumed == 40
    r = ledger_verify()
    assert r.ok, r.problems
    assert audit_verify().ok


@pytest.mark.django_db
def test_batch_postings_streamed_with_their_payload_hashes():
    """The batch hashes its postings while they stream into the database: the stored
    hashes are those of the payloads, so a retry of one is the original and a changed
    payload is a conflict; a key repeated within one call is still compared."""
    from dataclasses import replace

    from django.db import transaction

    from qinglang.funds import ledger

    w = funds_world(unit_price_fen=300)
    o = paid_order(w, lessons=3)
    services.lesson_batch_import(
        actor=w.org_user,
        institution_id=w.institution.pk,
        rows=[{"event_id": f"h{i}", "order_id": o.pk} for i in range(2)],
    )
    postings = list(Posting.objects.filter(order_id=o.pk, code="release_pending").order_by("id"))
    assert len(postings) == 2
    for p in postings:
        legs = tuple(
            Entry.objects.filter(posting=p).order_by("-amount_fen").values_list("account_id", "amount_fen")
        )
        spec = PostingSpec(
            p.idempotency_key, p.code, legs, p.institution_id, p.division_code, p.order_id, p.bank_id
        )
        assert p.payload_hash == _json_hash(spec)
        changed = replace(spec, legs=((legs[0][0], 1), (legs[1][0], -1)))
        with transaction.atomic():
            assert ledger.post([spec])[0].pk == p.pk  # a retry: the original, nothing new
            with pytest.raises(DomainError) as e:
                ledger.post([changed])
            assert e.value.code == "idempotency_conflict"
        fresh = replace(changed, key=f"{spec.key}:again")
        with transaction.atomic():
            first, second = ledger.post_ids([fresh, fresh], keys_new=True)
            assert first == second
            with pytest.raises(DomainError) as e:
                ledger.post_ids([replace(fresh, key="x"), replace(fresh, key="x", legs=legs)], keys_new=True)
            assert e.value.code == "idempotency_conflict"
    assert Posting.objects.filter(order_id=o.pk, code="release_pending").count() == 4
