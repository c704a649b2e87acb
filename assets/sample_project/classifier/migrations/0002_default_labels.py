# Hand-written data migration: seeds the label vocabulary the classifier
# predicts. `makemigrations` can never regenerate this file.

from django.db import migrations

DEFAULT_LABELS = [
    ('positive', '#2e7d32'),
    ('negative', '#c62828'),
    ('neutral', '#757575'),
]


def add_default_labels(apps, schema_editor):
    Label = apps.get_model('classifier', 'Label')
    for name, color in DEFAULT_LABELS:
        if not Label.objects.filter(name=name).exists():
            Label.objects.create(name=name, color=color)


def remove_default_labels(apps, schema_editor):
    Label = apps.get_model('classifier', 'Label')
    Label.objects.filter(name__in=[name for name, _ in DEFAULT_LABELS]).delete()


class Migration(migrations.Migration):

    dependencies = [
        ('classifier', '0001_initial'),
    ]

    operations = [
        migrations.RunPython(add_default_labels, remove_default_labels),
    ]
