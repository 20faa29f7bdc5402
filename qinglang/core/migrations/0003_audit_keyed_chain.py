from django.db import migrations, models


def mark_boundary(apps, schema_editor):
    """Events written before this version keep their unkeyed SHA-256 links; every event
    after the current head is keyed (HMAC). ``audit verify`` checks each part by its own
    scheme, so an upgraded chain verifies."""
    AuditHead = apps.get_model("core", "AuditHead")
    for head in AuditHead.objects.all():
        head.keyed_from = head.seq + 1
        head.save(update_fields=["keyed_from"])


class Migration(migrations.Migration):
    dependencies = [("core", "0002_county_administration")]

    operations = [
        migrations.AddField(
            model_name="audithead", name="keyed_from", field=models.BigIntegerField(default=1)
        ),
        migrations.RunPython(mark_boundary, migrations.RunPython.noop),
    ]
