"""An institution's status history is named like every transition table
(``<Model>Transition``): ``StatusChange`` becomes ``InstitutionTransition``, reached as
``institution.transitions``. A rename: the rows stay."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("registry", "0009_practice_ban_refused_hires")]

    operations = [
        migrations.RenameModel("StatusChange", "InstitutionTransition"),
        migrations.AlterField(
            model_name="institutiontransition",
            name="institution",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="transitions",
                to="registry.institution",
            ),
        ),
    ]
