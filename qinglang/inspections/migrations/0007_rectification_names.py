"""The rectification register is named for what it is: ``LedgerItem`` becomes
``RectificationItem`` and its history ``RectificationItemTransition`` (``<Model>Transition``,
as every transition table). Renames only: the rows, the table's fillfactor and its indexes
stay."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("inspections", "0006_hours_follow_up_items"),
        ("registry", "0009_practice_ban_refused_hires"),
    ]

    operations = [
        migrations.RenameModel("LedgerItem", "RectificationItem"),
        migrations.RenameModel("LedgerTransition", "RectificationItemTransition"),
        migrations.RenameField("evidence", "ledger_item", "rectification_item"),
        migrations.AlterField(
            model_name="rectificationitem",
            name="result",
            field=models.OneToOneField(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="rectification_item",
                to="inspections.result",
            ),
        ),
        migrations.AlterField(
            model_name="rectificationitem",
            name="institution",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="rectification_items",
                to="registry.institution",
            ),
        ),
        migrations.RenameIndex(
            model_name="rectificationitem",
            new_name="rect_div_status_deadline",
            old_name="ledger_div_status_deadline",
        ),
        migrations.RenameIndex(
            model_name="rectificationitem",
            new_name="rect_status_deadline",
            old_name="ledger_status_deadline",
        ),
    ]
