"""Many processes consuming lessons and refunding the same orders at once release and
refund exactly what the serial model says; fails if the row locks are removed."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from qinglang.funds.models import Lesson, Order
from qinglang.funds.verify import ledger_verify

REPO = Path(__file__).resolve().parents[3]
WORKER = r"""
import json, sys
from django.conf import settings
settings.DATABASES["default"]["NAME"] = sys.argv[1]
import django; django.setup()
from qinglang.core.errors import DomainError
from qinglang.funds import services
from qinglang.accounts.models import User
spec = json.loads(sys.argv[2])
org = User.objects.get(pk=spec["org"]); parent = User.objects.get(pk=spec["parent"])
done = 0
for i in range(spec["n"]):
    oid = spec["orders"][i % len(spec["orders"])]
    try:
        if spec["refund"] and i % 25 == 24:
            r = services.refund_request(actor=parent, order_id=oid, reason="并发退费")
            services.refund_answer(actor=org, refund_id=r.pk, agree=True)
        elif i % 10 == 0:  # a small batch
            rows = [{"event_id": f"w{spec['w']}-{i}-{k}", "order_id": o} for k, o in enumerate(spec["orders"])]
            services.lesson_batch_import(actor=org, institution_id=spec["inst"], rows=rows)
        else:
            services.lesson_record(actor=org, institution_id=spec["inst"], order_id=oid, event_id=f"w{spec['w']}-{i}")
        done += 1
    except DomainError:
        pass
print(done)
"""


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="row locks are PostgreSQL's; SQLite serialises writers"
)
def test_concurrent_consumption_and_refunds(tmp_path):
    from qinglang.funds.testing import funds_world, paid_order

    w = funds_world(unit_price_fen=300)
    orders = [paid_order(w, lessons=60) for _ in range(4)]
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    procs = []
    for k in range(6):
        spec = {
            "org": w.org_user.pk,
            "parent": w.parent.pk,
            "inst": w.institution.pk,
            "orders": [o.pk for o in orders],
            "n": 60,
            "w": k,
            "refund": k == 0,
        }
        procs.append(
            subprocess.Popen(
                [sys.executable, str(script), str(connection.settings_dict["NAME"]), json.dumps(spec)],
                cwd=REPO,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    for p in procs:
        _out, err = p.communicate(timeout=600)
        assert p.returncode == 0, err[-3000:]
    # the serial model of what was accepted: every lesson row released one price; a
    # refund returned the rest of what was paid
    for o in Order.objects.filter(pk__in=[o.pk for o in orders]):
        consumed = Lesson.objects.filter(order=o).count()
        assert o.lessons_consumed == consumed <= o.lessons
        assert o.pending_fen == consumed * o.unit_price_fen and o.released_fen == 0
        if o.status == "refunded":
            assert o.refunded_fen == o.paid_fen - consumed * o.unit_price_fen
        else:
            assert o.refunded_fen == 0
    r = ledger_verify()
    assert r.ok, r.problems
