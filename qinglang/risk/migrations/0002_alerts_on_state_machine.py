"""Alerts move through ``core.states`` (``ALERT_STATES``): their transition table becomes a
``TransitionRow`` (``note`` is now ``reason``; ``at`` a default, not auto_now_add) and the
existing rows are kept. An alert's first row was written as "" → open; the state machine
records an object created in its status as open → open, so those rows are rewritten."""

import django.utils.timezone
from django.db import migrations, models


def first_rows(apps, schema_editor):
    AlertTransition = apps.get_model("risk", "AlertTransition")
    AlertTransition.objects.filter(from_status="").update(from_status=models.F("to_status"))


def first_rows_back(apps, schema_editor):
    AlertTransition = apps.get_model("risk", "AlertTransition")
    first = AlertTransition.objects.filter(from_status=models.F("to_status"), to_status="open")
    first.update(from_status="")


class Migration(migrations.Migration):

    dependencies = [
        ('risk', '0001_initial'),
    ]

    operations = [
        migrations.AlterModelOptions(
            name='alerttransition',
            options={'ordering': ['at', 'id']},
        ),
        migrations.RenameField(
            model_name='alerttransition',
            old_name='note',
            new_name='reason',
        ),
        migrations.AlterField(
            model_name='alerttransition',
            name='at',
            field=models.DateTimeField(default=django.utils.timezone.now),
        ),
        migrations.RunPython(first_rows, first_rows_back),
    ]
