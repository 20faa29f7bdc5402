"""registry.public_cache is invalidated explicitly by the services that change an
institution (``services.common.institution_save``), not by model signals."""

import pytest
from django.db.models.signals import post_delete, post_save

from qinglang.registry import public_cache, services
from qinglang.registry.models import Institution
from qinglang.testing import FULL_DISCLOSURE, make_institution


def test_no_signal_invalidates_behind_the_services_back():
    assert not post_save.has_listeners(Institution)
    assert not post_delete.has_listeners(Institution)


@pytest.mark.django_db(transaction=True)
def test_every_institution_write_bumps_the_version(admin):
    inst = make_institution(admin)
    services.disclosure_publish(actor=admin, institution_id=inst.pk, items=FULL_DISCLOSURE)
    steps = [
        lambda: services.whitelist_add(actor=admin, institution_id=inst.pk, reason="证照齐全"),
        lambda: services.institution_suspend(actor=admin, institution_id=inst.pk, reason="停业整顿"),
        lambda: services.blacklist_add(actor=admin, institution_id=inst.pk, reason="违规"),
        lambda: services.institution_update(actor=admin, institution_id=inst.pk, data={"address": "新址1号"}),
    ]
    for step in steps:
        before = public_cache._version()
        step()
        # bumped in the transaction and again on its commit
        assert public_cache._version() == before + 2
