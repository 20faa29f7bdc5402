from django.db import migrations


class Migration(migrations.Migration):
    """Letters' stored numbers and the rectification register's names, both from 0006."""

    dependencies = [
        ("inspections", "0007_letter_number"),
        ("inspections", "0007_rectification_names"),
    ]

    operations = []
