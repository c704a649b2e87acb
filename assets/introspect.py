"""dj2pg introspection helper: describe a Django project as one JSON object.

Run by the PROJECT's own Python interpreter, with cwd = the directory holding
manage.py:

    python introspect.py --project DIR [--settings MODULE]

Settings module, in order: --settings, the DJANGO_SETTINGS_MODULE environment
variable, then the ``os.environ.setdefault('DJANGO_SETTINGS_MODULE', '...')``
line of DIR/manage.py (as manage.py itself would do).

stdout: exactly one JSON object (schema 1, see assets/README.md); anything the
project prints while loading is sent to stderr instead.
Exit status: 0 ok; 1 the project failed to load (traceback on stderr);
2 usage error / no settings module found; 3 Django is not importable.

Standard library + Django only; Python 3.8+.
"""
import argparse
import ast
import json
import os
import re
import sys
import traceback

SCHEMA = 1
SETTINGS_RE = re.compile(
    r"""os\.environ\.setdefault\(\s*['"]DJANGO_SETTINGS_MODULE['"]\s*,\s*['"]([^'"]+)['"]\s*\)"""
    r"""|os\.environ\[\s*['"]DJANGO_SETTINGS_MODULE['"]\s*\]\s*=\s*['"]([^'"]+)['"]"""
)
VENDOR_BY_ENGINE = {
    'sqlite3': 'sqlite', 'postgresql': 'postgresql', 'postgresql_psycopg2': 'postgresql',
    'postgis': 'postgresql', 'spatialite': 'sqlite', 'mysql': 'mysql', 'oracle': 'oracle',
    'dummy': 'dummy',
}
SECRET_OPTION_RE = re.compile(r'pass(word|wd)?$|secret|token', re.I)


def fail(code, message):
    sys.stderr.write('dj2pg introspect: error: %s\n' % message)
    sys.exit(code)


def settings_from_manage_py(project):
    path = os.path.join(project, 'manage.py')
    try:
        with open(path, encoding='utf-8', errors='replace') as f:
            text = f.read()
    except OSError as e:
        return None, 'cannot read %s: %s' % (path, e)
    m = SETTINGS_RE.search(text)
    if not m:
        return None, 'no DJANGO_SETTINGS_MODULE assignment found in %s' % path
    return m.group(1) or m.group(2), None


def is_local(path, project):
    """True if path is inside project and not inside an installed-packages/venv dir."""
    path = os.path.realpath(path)
    project = os.path.realpath(project)
    try:
        if os.path.commonpath([path, project]) != project:
            return False
    except ValueError:  # different drives on Windows
        return False
    rel = os.path.relpath(path, project)
    parts = [] if rel == os.curdir else rel.split(os.sep)
    if any(p in ('site-packages', 'dist-packages', 'node_modules') for p in parts):
        return False
    # any directory between the project and the app that is a virtualenv root
    d = project
    for p in parts:
        if os.path.exists(os.path.join(d, 'pyvenv.cfg')) and d != project:
            return False
        d = os.path.join(d, p)
    if os.path.exists(os.path.join(d, 'pyvenv.cfg')):
        return False
    for prefix in {sys.prefix, sys.base_prefix, getattr(sys, 'real_prefix', sys.prefix)}:
        prefix = os.path.realpath(prefix)
        if prefix != project and (path + os.sep).startswith(prefix + os.sep):
            return False
    return True


def uses_data_operations(filename):
    """True if a migration file uses RunPython or RunSQL (AST, text fallback)."""
    try:
        with open(filename, 'rb') as f:
            source = f.read()
    except OSError:
        return False
    try:
        tree = ast.parse(source, filename)
    except (SyntaxError, ValueError):
        return re.search(rb'\bRun(Python|SQL)\b', source) is not None
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in ('RunPython', 'RunSQL'):
            return True
        if isinstance(node, ast.Name) and node.id in ('RunPython', 'RunSQL'):
            return True
        if isinstance(node, ast.alias) and node.name in ('RunPython', 'RunSQL'):
            return True
    return False


def migrations_dir(app_config):
    import importlib
    from django.db.migrations.loader import MigrationLoader

    module_name, _explicit = MigrationLoader.migrations_module(app_config.label)
    if module_name is None:
        return None
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return None
    paths = list(getattr(module, '__path__', []) or [])
    if paths:
        return os.path.abspath(paths[0])
    return None


def source_file(cls):
    """The file that defines a class, or None (built in, made at run time)."""
    import inspect
    try:
        f = inspect.getsourcefile(cls)
    except (TypeError, OSError):
        return None
    return os.path.abspath(f) if f else None


def declaring_class(model, field):
    """The class whose body declares `field`: the model itself, or the abstract base it
    inherits the field from. Django copies an inherited field into each child keeping its
    creation_counter; a field the model overrides has a counter of its own."""
    for cls in reversed(model.__mro__):
        meta = getattr(cls, '_meta', None)
        if meta is None or not hasattr(meta, 'local_fields'):
            continue
        if any(f.name == field.name and f.creation_counter == field.creation_counter
               for f in meta.local_fields):
            return cls
    return model


def describe_field(field, model=None):
    declared_in = None
    if model is not None:
        cls = declaring_class(model, field)
        if cls is not model:
            declared_in = {'name': cls.__name__, 'source': source_file(cls)}
    related = None
    if field.is_relation and field.related_model is not None and not isinstance(field.related_model, str):
        related = field.related_model._meta.db_table
    return {
        'name': field.name,
        'column': field.column,
        'internal_type': field.get_internal_type(),
        'max_length': field.max_length if isinstance(field.max_length, int) else None,
        'null': bool(field.null),
        'primary_key': bool(field.primary_key),
        'related_table': related,
        'declared_in': declared_in,
    }


def describe_model(model):
    opts = model._meta
    return {
        'name': model.__name__,
        'table': opts.db_table,
        'managed': bool(opts.managed),
        'proxy': bool(opts.proxy),
        'auto_created': bool(opts.auto_created),
        'source': source_file(model),
        'fields': [describe_field(f, model) for f in opts.local_concrete_fields],
    }


def describe_app(app_config, project):
    mdir = migrations_dir(app_config)
    files, data = [], []
    if mdir and os.path.isdir(mdir):
        files = sorted(n for n in os.listdir(mdir)
                       if n.endswith('.py') and n != '__init__.py' and os.path.isfile(os.path.join(mdir, n)))
        data = [n for n in files if uses_data_operations(os.path.join(mdir, n))]
    path = os.path.abspath(app_config.path) if app_config.path else None
    return {
        'label': app_config.label,
        'name': app_config.name,
        'path': path,
        'local': bool(path) and is_local(path, project),
        'migrations_dir': mdir,
        'migration_files': files,
        'data_migrations': data,
        'models': [describe_model(m) for m in app_config.get_models(include_auto_created=True)],
    }


def describe_database(settings):
    from django.db import connections

    db = (getattr(settings, 'DATABASES', None) or {}).get('default') or {}
    engine = db.get('ENGINE') or 'django.db.backends.dummy'  # what Django itself falls back to
    name = db.get('NAME')
    name = os.fspath(name) if name not in (None, '') else None
    if name is not None:
        name = str(name)
    vendor = None
    try:
        vendor = connections['default'].vendor
    except Exception:  # backend or driver not importable: guess from ENGINE
        if engine:
            vendor = VENDOR_BY_ENGINE.get(engine.rsplit('.', 1)[-1])
    if name is not None and vendor == 'sqlite' and name != ':memory:' and not name.startswith('file:'):
        name = os.path.abspath(name)
    options = {}
    for k, v in (db.get('OPTIONS') or {}).items():
        options[str(k)] = '***' if SECRET_OPTION_RE.search(str(k)) else str(v)
    return {'engine': engine, 'name': name, 'vendor': vendor, 'options': options}


def postgres_driver():
    for mod in ('psycopg', 'psycopg2'):
        try:
            __import__(mod)
            return mod
        except Exception:
            continue
    return None


def main(argv=None):
    ap = argparse.ArgumentParser(description='Describe a Django project as JSON (dj2pg).')
    ap.add_argument('--project', default=os.getcwd(), help='directory containing manage.py (default: cwd)')
    ap.add_argument('--settings', help='settings module (default: env, then manage.py)')
    args = ap.parse_args(argv)

    project = os.path.abspath(args.project)
    if not os.path.isdir(project):
        fail(2, 'project directory not found: %s' % project)

    settings_module = args.settings or os.environ.get('DJANGO_SETTINGS_MODULE')
    if not settings_module:
        settings_module, err = settings_from_manage_py(project)
        if not settings_module:
            fail(2, err + ' (pass --settings MODULE)')
    os.environ['DJANGO_SETTINGS_MODULE'] = settings_module

    # Make the project importable as manage.py would, without our own directory.
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != here or here == project]
    if project not in sys.path:
        sys.path.insert(0, project)
    os.chdir(project)

    real_stdout = sys.stdout
    sys.stdout = sys.stderr  # whatever the project prints must not corrupt the JSON
    try:
        try:
            import django
        except ImportError as e:
            fail(3, "Django is not importable by %s (%s). Run dj2pg with the project's "
                    "virtualenv Python, or install Django into it." % (sys.executable, e))
        try:
            django.setup()
            from django.apps import apps
            from django.conf import settings

            result = {
                'schema': SCHEMA,
                'python': sys.executable,
                'python_version': '%d.%d.%d' % sys.version_info[:3],
                'django_version': django.get_version(),
                'settings_module': settings_module,
                'database': describe_database(settings),
                'use_tz': bool(settings.USE_TZ),
                'time_zone': settings.TIME_ZONE,
                'postgres_driver': postgres_driver(),
                'apps': [describe_app(a, project) for a in apps.get_app_configs()],
            }
            text = json.dumps(result)
        except SystemExit:
            raise
        except BaseException as e:
            traceback.print_exc()
            hint = ''
            if 'psycopg' in str(e):
                hint = (" (the settings use PostgreSQL but no PostgreSQL driver is importable by %s:"
                        " install 'psycopg[binary]' into the project's environment)" % sys.executable)
            fail(1, 'loading the project with settings %r failed: %s: %s%s'
                 % (settings_module, type(e).__name__, e, hint))
    finally:
        sys.stdout = real_stdout
    real_stdout.write(text + '\n')
    real_stdout.flush()
    return 0


if __name__ == '__main__':
    sys.exit(main())
