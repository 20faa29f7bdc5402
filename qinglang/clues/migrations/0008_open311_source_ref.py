from django.db import migrations, models


def backfill(apps, schema_editor):
    """Open311 reports filed before this carried no source reference: give each the
    service_request_id its client was sent — the case named by the report's intake audit
    event (a merge or split may have moved the report since), else its case."""
    Report = apps.get_model("clues", "ClueReport")
    AuditEvent = apps.get_model("core", "AuditEvent")
    todo = list(Report.objects.filter(channel="open311", source_ref="").values_list("pk", "clue_id"))
    if not todo:
        return
    sent = {}
    for object_id, changes in AuditEvent.objects.filter(
        object_type="clues.clue", action__in=["clue.create", "clue.report"]
    ).values_list("object_id", "changes"):
        if isinstance(changes, dict) and changes.get("channel") == "open311":
            sent[changes.get("report_id")] = object_id
    for pk, clue_id in todo:
        Report.objects.filter(pk=pk).update(source_ref=str(sent.get(pk, clue_id)))


class Migration(migrations.Migration):
    dependencies = [
        ("clues", "0007_case_changes_and_retriage"),
        ("core", "0006_background_jobs"),
    ]

    operations = [
        # Open311 reports merged into one case share its id, so the unique source is the
        # hotline's (and the other channels') alone
        migrations.RemoveConstraint(
            model_name="cluereport",
            name="clue_report_unique_source",
        ),
        migrations.AddConstraint(
            model_name="cluereport",
            constraint=models.UniqueConstraint(
                condition=models.Q(models.Q(("source_ref", ""), _negated=True), models.Q(("channel", "open311"), _negated=True)),
                fields=("channel", "source_ref"),
                name="clue_report_unique_source",
            ),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
