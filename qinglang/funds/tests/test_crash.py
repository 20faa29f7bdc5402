"""A batch import killed with SIGKILL at random points, then replayed, ends with exactly
the totals of one clean run (one transaction: all or nothing)."""

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

from qinglang.funds.models import Lesson, Order

REPO = Path(__file__).resolve().parents[3]
SCRIPT = r"""
import json, os, sys
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qinglang.config.settings")
from django.conf import settings
settings.DATABASES["default"]["NAME"] = sys.argv[4]
import django; django.setup()
from qinglang.funds import services
from qinglang.accounts.models import User
rows = [json.loads(l) for l in open(sys.argv[1])]
user = User.objects.get(pk=int(sys.argv[3]))
out = services.lesson_batch_import(actor=user, institution_id=int(sys.argv[2]), rows=rows)
print(json.dumps(out.counts))
"""


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the SQLite test database is in memory; run on PostgreSQL"
)
def test_sigkill_then_replay(tmp_path, settings):
    from qinglang.funds.testing import funds_world, paid_order
    from qinglang.funds.verify import ledger_verify

    w = funds_world()
    orders = [paid_order(w, lessons=60) for _ in range(20)]
    rows = [{"event_id": f"k{i}", "order_id": orders[i % 20].pk} for i in range(1000)]
    f = tmp_path / "rows.jsonl"
    f.write_text("\n".join(json.dumps(r) for r in rows))
    env = {**os.environ}
    dbname = str(connection.settings_dict["NAME"])
    script = tmp_path / "run.py"
    script.write_text(SCRIPT)
    rng = random.Random(7)
    for _ in range(3):
        p = subprocess.Popen(
            [sys.executable, str(script), str(f), str(w.institution.pk), str(w.org_user.pk), dbname],
            cwd=REPO,
            env=env,
        )
        time.sleep(rng.uniform(0.5, 2.5))
        p.send_signal(signal.SIGKILL)
        p.wait()
        n = Lesson.objects.filter(institution=w.institution).count()
        assert n in (0, 1000), n  # never half-applied
    out = subprocess.run(
        [sys.executable, str(script), str(f), str(w.institution.pk), str(w.org_user.pk), dbname],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert Lesson.objects.filter(institution=w.institution).count() == 1000
    total = sum(o.pending_fen for o in Order.objects.filter(institution=w.institution))
    assert total == 1000 * w.course.unit_price_fen
    r = ledger_verify()
    assert r.ok, r.problems
