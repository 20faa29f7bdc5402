from django.db import migrations, models


def keep_issued_numbers(apps, schema_editor):
    """Letters issued before numbers were stored keep the number they were printed with."""
    Letter = apps.get_model("inspections", "Letter")
    for letter in Letter.objects.exclude(path="").filter(number="").iterator():
        prefix = "提" if letter.kind == "reminder" else "督"
        letter.number = f"校外整改{prefix}〔{letter.issued_on.year}〕{letter.pk:06d}号"
        letter.save(update_fields=["number"])


class Migration(migrations.Migration):
    dependencies = [
        ("inspections", "0006_hours_follow_up_items"),
    ]

    operations = [
        migrations.AddField(
            model_name="letter",
            name="number",
            field=models.CharField(blank=True, max_length=64, verbose_name="文号"),
        ),
        migrations.RunPython(keep_issued_numbers, migrations.RunPython.noop),
    ]
