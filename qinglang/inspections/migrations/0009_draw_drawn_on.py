"""A draw's day (``Draw.drawn_on``): the year of ``random_inspection.annual_share`` it counts
in. Draws made before it get the local date of their timestamp."""

from django.db import migrations, models
from django.utils import timezone


def date_existing(apps, schema_editor):
    Draw = apps.get_model("inspections", "Draw")
    for draw in Draw.objects.filter(drawn_on__isnull=True).only("id", "drawn_at").iterator():
        Draw.objects.filter(pk=draw.pk).update(drawn_on=timezone.localdate(draw.drawn_at))


class Migration(migrations.Migration):
    dependencies = [("inspections", "0008_merge_letter_number_rectification_names")]

    operations = [
        migrations.AddField(
            model_name="draw",
            name="drawn_on",
            field=models.DateField(null=True, verbose_name="抽取日期"),
        ),
        migrations.RunPython(date_existing, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="draw",
            name="drawn_on",
            field=models.DateField(verbose_name="抽取日期"),
        ),
    ]
