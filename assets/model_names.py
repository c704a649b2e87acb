"""dj2pg: Django's table and column names for every model, under one database backend.

Run by the PROJECT's own Python interpreter, with cwd = the directory holding manage.py:

    python model_names.py ENGINE SETTINGS_MODULE

ENGINE is a backend module name under django.db.backends (sqlite3, postgresql). The
project's settings module is loaded first, unchanged, as manage.py loads it; only
DATABASES is replaced (no connection is ever opened), then Django sets up. Django decides
a model's table name when the model class is created, from the default backend: on
PostgreSQL it shortens names over 63 characters with a hash (truncate_name), on SQLite it
does not; an automatic many-to-many table is named after its model's (shortened) table.

stdout: one JSON list of {"model", "table", "columns": [[attname, column], ...]}, every
model including automatic many-to-many tables; anything the project prints while loading
goes to stderr. Exit status: 0 ok; 1 the project failed to load (traceback on stderr).
"""
import json
import os
import sys


def main():
    engine, module = sys.argv[1], sys.argv[2]
    os.environ["DJANGO_SETTINGS_MODULE"] = module
    sys.path.insert(0, os.getcwd())
    real_stdout = sys.stdout
    sys.stdout = sys.stderr
    from django.conf import settings

    settings.INSTALLED_APPS  # the project's own settings, imported as manage.py would
    settings.DATABASES = {
        "default": {"ENGINE": "django.db.backends." + engine, "NAME": "dj2pg-names"}
    }
    import django

    django.setup()
    from django.apps import apps

    out = []
    for model in apps.get_models(include_auto_created=True):
        opts = model._meta
        if opts.proxy:
            continue
        out.append(
            {
                "model": opts.label,
                "table": opts.db_table,
                "columns": [[f.attname, f.column] for f in opts.local_concrete_fields],
            }
        )
    sys.stdout = real_stdout
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
