"""A penalty case's status history is named like every transition table
(``<Model>Transition``): ``CaseTransition`` becomes ``PenaltyCaseTransition``. A rename:
the rows stay."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("enforcement", "0002_transition_rows_protect")]

    operations = [migrations.RenameModel("CaseTransition", "PenaltyCaseTransition")]
