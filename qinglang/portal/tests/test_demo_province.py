"""The demo seed's province path: generated townships, chunked writes, one audit event
per chunk (in a module of its own: the district demo of ``test_demo.py`` is seeded once
for that whole module)."""

import pytest

from qinglang.core.audit import audit_verify
from qinglang.core.models import AuditEvent
from qinglang.portal import demo
from qinglang.registry.models import Institution, InstitutionStatus, LicenceStatus

pytestmark = pytest.mark.django_db


def test_large_scale_streams_in_chunks(db):
    """The province path (generated townships, chunked writes, one audit event per chunk)
    on a small count."""
    stats = demo.seed(scale="province", total=1200, chunk=500)
    assert stats.institutions == 1200 == Institution.objects.count()
    assert AuditEvent.objects.filter(action="institution.seed_batch").count() == 3
    assert Institution.objects.values("division_code").distinct().count() > 50
    assert (
        not Institution.objects.filter(whitelisted=True)
        .exclude(licence_status=LicenceStatus.FULLY_LICENSED, status=InstitutionStatus.ACTIVE)
        .exists()
    )
    assert Institution.objects.filter(competent_department__isnull=True).count() == 0
    assert audit_verify().ok
