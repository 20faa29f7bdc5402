"""A bounded fuzz of the OpenAPI document (schemathesis): a fixed seed and case budget,
two roles (the platform admin and a county regulator officer, by API token), valid and
invalid inputs. The bar: zero 5xx and zero responses that break their declared schema.

The budget (``CASES``) keeps the run near a minute; the seed makes it the same run every
time, so a failure is reproducible. Set ``QINGLANG_FUZZ_CASES`` for a longer run."""

import os
from collections import Counter

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import response_schema_conformance

from qinglang.config.api import api

pytestmark = pytest.mark.django_db(transaction=False)

CASES = int(os.environ.get("QINGLANG_FUZZ_CASES", "4000"))
SEED = 20261203

schema = schemathesis.openapi.from_dict(api.get_openapi_schema())
schema.app = get_wsgi_application()
OPERATIONS = [r.ok() for r in schema.get_all_operations()]
STRATEGIES = [
    op.as_strategy(generation_mode=mode)
    for op in OPERATIONS
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
]


@pytest.fixture
def tokens(db):
    from qinglang.accounts.services import api_token_create
    from qinglang.core.services import department_ensure_for_division
    from qinglang.testing import DEMO_COUNTY, TOWNSHIP, admin_user, make_institution, make_user

    admin = admin_user()
    for code in (DEMO_COUNTY, TOWNSHIP):
        department_ensure_for_division(actor=admin, division_code=code)
    make_institution(admin)  # something to find
    officer = make_user("regulator_officer", prefixes=[DEMO_COUNTY])
    return [api_token_create(actor=admin, user=u, name="fuzz")[1] for u in (admin, officer)]


def test_fuzzing_the_api_finds_no_server_error_and_no_schema_violation(tokens):
    failures: list[str] = []
    statuses: Counter = Counter()

    @seed(SEED)
    @settings(
        max_examples=CASES,
        derandomize=False,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=st.one_of(STRATEGIES), who=st.sampled_from([0, 1]))
    def run(case, who):
        headers = {"Authorization": f"Bearer {tokens[who]}"}
        try:
            # each case in a savepoint that is rolled back: the cases do not pile up data,
            # and on PostgreSQL a refused statement (an id out of range: 422) does not
            # leave the test's transaction aborted for the cases after it
            with transaction.atomic():
                response = case.call(headers=headers)
                transaction.set_rollback(True)
        except Exception as exc:  # the app raised instead of answering
            failures.append(f"{case.method} {case.formatted_path}: raised {type(exc).__name__}: {exc}")
            return
        statuses[response.status_code // 100] += 1
        for check in (not_a_server_error, response_schema_conformance):
            try:
                case.validate_response(response, checks=[check])
            except BaseException as exc:  # a FailureGroup (ExceptionGroup) per failed check
                first = str(exc).strip().splitlines()[:6]
                failures.append(
                    f"{case.method} {case.formatted_path} [{check.__name__}] → {response.status_code}: {first}"
                )

    # the WSGI app is called directly, not through Django's test client: keep the test's
    # connection open across requests as the test client does
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        run()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    total = sum(statuses.values())
    print(f"fuzz: {total} cases over {len(OPERATIONS)} operations, statuses by class {dict(statuses)}")
    assert total >= CASES * 0.9
    assert not failures, f"{len(failures)} failures:\n" + "\n".join(sorted(set(failures))[:60])
