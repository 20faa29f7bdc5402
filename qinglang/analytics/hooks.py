"""Marks the days a change to a source row touches, so the next refresh recomputes them:
the time limit before and after the change (a back-dated or moved deadline) and the
deleted row's. (Snapshot indicators are recomputed for today on every refresh.)"""

from django.apps import apps
from django.db.models.signals import post_delete, post_init, post_save

FIELDS = {"clues.Clue": "resolve_due", "inspections.RectificationItem": "deadline_on"}


def mark_days(days) -> None:
    from .models import DirtyDay

    days = {d for d in days if d}
    if days:
        DirtyDay.objects.bulk_create([DirtyDay(day=d) for d in days], ignore_conflicts=True)


def _connect(label: str, field: str) -> None:
    model = apps.get_model(label)

    def remember(sender, instance, **kw):
        instance._analytics_day = instance.__dict__.get(field)

    def saved(sender, instance, **kw):
        mark_days([getattr(instance, "_analytics_day", None), getattr(instance, field)])
        instance._analytics_day = getattr(instance, field)

    def deleted(sender, instance, **kw):
        mark_days([getattr(instance, field)])

    uid = f"analytics_{label}"
    post_init.connect(remember, sender=model, weak=False, dispatch_uid=f"{uid}_init")
    post_save.connect(saved, sender=model, weak=False, dispatch_uid=f"{uid}_save")
    post_delete.connect(deleted, sender=model, weak=False, dispatch_uid=f"{uid}_delete")


for _label, _field in FIELDS.items():
    _connect(_label, _field)
