"""Document numbers per issuing unit, series and year: consecutive, without gaps, and a
rolled-back issue gives its numbers back."""

import pytest
from django.db import transaction

from qinglang.core.documents import allocate_numbers
from qinglang.core.models import DocumentCounter

pytestmark = pytest.mark.django_db(transaction=True)


def test_numbers_run_per_unit_series_and_year_without_gaps():
    with transaction.atomic():
        assert allocate_numbers(unit="武侯区", series="校外整改", year=2026, count=3) == [1, 2, 3]
        assert allocate_numbers(unit="武侯区", series="校外整改", year=2026) == [4]
        assert allocate_numbers(unit="锦江区", series="校外整改", year=2026) == [1]
        assert allocate_numbers(unit="武侯区", series="校外整改督", year=2026) == [1]
        assert allocate_numbers(unit="武侯区", series="校外整改", year=2027) == [1]
    with pytest.raises(RuntimeError), transaction.atomic():
        allocate_numbers(unit="武侯区", series="校外整改", year=2026, count=2)
        raise RuntimeError("issue refused")
    with transaction.atomic():
        assert allocate_numbers(unit="武侯区", series="校外整改", year=2026) == [5]
    assert DocumentCounter.objects.get(unit="武侯区", series="校外整改", year=2026).last == 5


def test_numbers_outside_a_transaction_are_refused():
    with pytest.raises(RuntimeError):
        allocate_numbers(unit="武侯区", series="校外整改", year=2026)
