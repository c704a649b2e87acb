"""dj2pg migration scan: what resetting each app's migrations would remove, and why some
of it needs a human look first.

Run by the PROJECT's own Python interpreter, next to dj2pg_introspect.py (its helpers
are reused), with cwd = the directory holding manage.py:

    python dj2pg_migration_scan.py --project DIR [--settings MODULE]

Django is set up only for its app registry and MIGRATION_MODULES; the migration files
themselves are read with Python's own parser (ast), never imported or executed, so a
broken migration cannot stop the scan and none of its code runs.

stdout: exactly one JSON object (schema 1):
  {"schema": 1, "apps": [AppScan...], "warnings": [str...]}
where AppScan / FileToGo / MigrationWarning / MigrationsSetup are the serde shapes of
src/data/backup.rs. Exit status as dj2pg_introspect.py (0 ok, 1 project failed to load,
2 usage, 3 Django not importable).

Standard library + Django only; Python 3.8+.
"""
import argparse
import ast
import importlib
import json
import os
import sys
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from dj2pg_introspect import fail, is_local, settings_from_manage_py  # noqa: E402

sys.path.remove(HERE)

SCHEMA = 1
MIGRATIONS_PKG = 'django.db.migrations'
# Operations makemigrations never writes: the data and hand-made work a reset would lose.
SPECIAL = {'RunPython': 'run_python', 'RunSQL': 'run_sql'}


def dotted(node):
    """'a.b.c' for a Name/Attribute chain, else None."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return '.'.join(reversed(parts))
    return None


def import_map(tree):
    """Local name -> the dotted name it stands for, from the file's imports."""
    names = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.asname:
                    names[a.asname] = a.name
                else:
                    top = a.name.split('.')[0]
                    names[top] = top
        elif isinstance(node, ast.ImportFrom):
            module = ('.' * (node.level or 0)) + (node.module or '')
            for a in node.names:
                names[a.asname or a.name] = module + '.' + a.name if module else a.name
    return names


def resolve(name, imports):
    if name is None:
        return None
    head, _, rest = name.partition('.')
    base = imports.get(head)
    if base is None:
        return name
    return base + ('.' + rest if rest else '')


def literal(node):
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return None


def list_items(node):
    """Elements of a literal list/tuple, or of `a + b` of such; None when not literal."""
    if isinstance(node, (ast.List, ast.Tuple)):
        return list(node.elts)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = list_items(node.left), list_items(node.right)
        if left is not None and right is not None:
            return left + right
    return None


def kwarg(call, name):
    for k in call.keywords:
        if k.arg == name:
            return k.value
    return None


def classify_operations(items, imports, warnings, notes):
    for op in items:
        if not isinstance(op, ast.Call):
            notes.append('an operation that is not a plain call: checked by hand')
            continue
        full = resolve(dotted(op.func), imports) or '?'
        short = full.rsplit('.', 1)[-1]
        inside = full == MIGRATIONS_PKG or full.startswith(MIGRATIONS_PKG + '.')
        if not inside:
            warnings.append({'kind': 'external_operation', 'name': full})
            continue
        if short in SPECIAL:
            el = kwarg(op, 'elidable')
            warnings.append({'kind': SPECIAL[short], 'elidable': bool(el is not None and literal(el))})
        elif short == 'SeparateDatabaseAndState':
            warnings.append({'kind': 'separate_database_and_state'})
            for key, pos in (('database_operations', 0), ('state_operations', 1)):
                node = kwarg(op, key)
                if node is None and len(op.args) > pos:
                    node = op.args[pos]
                inner = list_items(node) if node is not None else None
                if inner:
                    classify_operations(inner, imports, warnings, notes)


def read_migration(path, settings):
    """(warnings, dependencies [(app, name)], run_before [(app, name)], notes)."""
    try:
        with open(path, 'rb') as f:
            source = f.read()
        tree = ast.parse(source, path)
    except (SyntaxError, ValueError, OSError) as e:
        return [{'kind': 'unparsable', 'message': str(e)}], [], [], []
    imports = import_map(tree)
    warnings, deps, run_before, notes = [], [], [], []
    classes = [n for n in tree.body if isinstance(n, ast.ClassDef)]
    migration = next((c for c in classes if c.name == 'Migration'), None)
    if migration is None:
        return warnings, deps, run_before, ['no Migration class']
    for stmt in migration.body:
        if isinstance(stmt, ast.Assign):
            targets, value = [t.id for t in stmt.targets if isinstance(t, ast.Name)], stmt.value
        elif isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) and stmt.value:
            targets, value = [stmt.target.id], stmt.value
        else:
            continue
        for target in targets:
            if target == 'operations':
                items = list_items(value)
                if items is None:
                    notes.append('operations is not a literal list: checked by hand')
                else:
                    classify_operations(items, imports, warnings, notes)
            elif target == 'replaces':
                pairs = literal(value) or []
                names = ['%s.%s' % tuple(p) for p in pairs
                         if isinstance(p, (list, tuple)) and len(p) == 2]
                warnings.append({'kind': 'squashed', 'replaces': names})
            elif target in ('dependencies', 'run_before'):
                out = deps if target == 'dependencies' else run_before
                for item in list_items(value) or []:
                    pair = literal(item)
                    if isinstance(pair, (list, tuple)) and len(pair) == 2:
                        out.append((str(pair[0]), str(pair[1])))
                    elif isinstance(item, ast.Call) and (dotted(item.func) or '').endswith('swappable_dependency'):
                        # swappable_dependency(settings.AUTH_USER_MODEL): the model's app,
                        # '__first__' (never a name that a reset removes).
                        setting = dotted(item.args[0]) if item.args else None
                        value_ = getattr(settings, setting.rsplit('.', 1)[-1], None) if setting else None
                        if isinstance(value_, str) and '.' in value_:
                            out.append((value_.split('.', 1)[0], '__first__'))
    return warnings, deps, run_before, notes


def migrations_location(app_config):
    """(setup, module_name, folder or None, notes) as Django's MigrationLoader sees it."""
    from django.db.migrations.loader import MigrationLoader

    module_name, explicit = MigrationLoader.migrations_module(app_config.label)
    if module_name is None:
        return {'kind': 'disabled'}, None, None, [
            'MIGRATION_MODULES disables migrations for this app: nothing to reset']
    relocated = explicit and module_name != '%s.migrations' % app_config.name
    try:
        module = importlib.import_module(module_name)
    except ImportError as e:
        note = 'no migrations module %s (%s)' % (module_name, e)
        if relocated:
            note += ': MIGRATION_MODULES names a module that cannot be imported'
        return {'kind': 'missing'}, module_name, None, [note]
    paths = list(getattr(module, '__path__', []) or [])
    if not paths:
        return {'kind': 'missing'}, module_name, None, ['%s is a module, not a folder' % module_name]
    folder = os.path.abspath(paths[0])
    if not os.path.isfile(os.path.join(folder, '__init__.py')):
        return {'kind': 'no_init_py'}, module_name, folder, [
            '%s has no __init__.py: Django ignores the folder and treats the app as having '
            'no migrations; add an empty __init__.py' % folder]
    if relocated:
        return {'kind': 'relocated', 'module': module_name}, module_name, folder, [
            'MIGRATION_MODULES moves its migrations to %s' % module_name]
    return {'kind': 'standard'}, module_name, folder, []


def folder_files(folder):
    """Top-level .py files (sorted) and __pycache__ files (relative paths)."""
    py, compiled = [], []
    for name in sorted(os.listdir(folder)):
        full = os.path.join(folder, name)
        if name.endswith('.py') and name != '__init__.py' and os.path.isfile(full):
            py.append(name)
    cache = os.path.join(folder, '__pycache__')
    if os.path.isdir(cache):
        for root, _dirs, files in os.walk(cache):
            for name in sorted(files):
                rel = os.path.relpath(os.path.join(root, name), folder)
                compiled.append(rel.replace(os.sep, '/'))
    return py, compiled


def scan(project, settings):
    from django.apps import apps

    found, warnings = [], []
    parsed = {}  # (label, migration name) -> (warnings, deps, run_before)
    for app_config in apps.get_app_configs():
        setup, module_name, folder, notes = migrations_location(app_config)
        app_path = os.path.abspath(app_config.path) if app_config.path else None
        local = bool(app_path) and is_local(app_path, project)
        if local and folder and not is_local(folder, project):
            notes.append('its migrations live outside the project (%s): kept' % folder)
            local = False
        entry = {
            'label': app_config.label, 'name': app_config.name, 'local': local,
            'migrations_module': module_name, 'migrations_dir': folder, 'setup': setup,
            'files': [], 'notes': notes,
        }
        found.append(entry)
        if not folder or not os.path.isdir(folder) or setup['kind'] == 'no_init_py':
            continue
        py, compiled = folder_files(folder)
        for name in py:
            stem = name[:-3]
            if stem.startswith(('_', '~')):
                continue
            w, deps, rb, file_notes = read_migration(os.path.join(folder, name), settings)
            parsed[(app_config.label, stem)] = (w, deps, rb)
            for n in file_notes:
                if n != 'no Migration class':
                    warnings.append('%s/%s: %s' % (app_config.label, name, n))
        if not local:
            continue
        stems = {n[:-3] for n in py}
        for name in py:
            stem = name[:-3]
            if stem.startswith(('_', '~')):
                entry['files'].append(file_entry(folder, name, 'other_python', [{'kind': 'not_a_migration'}]))
            else:
                entry['files'].append(file_entry(folder, name, 'migration',
                                                 list(parsed[(app_config.label, stem)][0])))
        for rel in compiled:
            stem = rel.rsplit('/', 1)[-1].split('.', 1)[0]
            w = [] if stem in stems or stem == '__init__' else [{'kind': 'stale_compiled'}]
            entry['files'].append(file_entry(folder, rel, 'compiled', w))

    # Other apps naming this app's migrations: a dependency (or run_before) by name.
    by_label = {e['label']: e for e in found}
    for (label, name), (_w, deps, run_before) in parsed.items():
        for target_app, target_name in deps + run_before:
            if target_app == label or target_name in ('__first__', '__latest__'):
                continue
            target = by_label.get(target_app)
            if not target or not target['local']:
                continue
            for f in target['files']:
                if f['kind'] == 'migration' and f['rel_path'][:-3] == target_name:
                    f['warnings'].append({'kind': 'depended_on_by', 'app': label,
                                          'migration': name,
                                          'local': bool(by_label[label]['local'])})
    return {'schema': SCHEMA, 'apps': found, 'warnings': warnings}


def file_entry(folder, rel, kind, warnings):
    try:
        size = os.path.getsize(os.path.join(folder, rel))
    except OSError:
        size = 0
    return {'rel_path': rel, 'kind': kind, 'size': size, 'warnings': warnings}


def main(argv=None):
    ap = argparse.ArgumentParser(description='Scan migrations for a reset (dj2pg).')
    ap.add_argument('--project', default=os.getcwd())
    ap.add_argument('--settings')
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
    if project not in sys.path:
        sys.path.insert(0, project)
    os.chdir(project)

    real_stdout = sys.stdout
    sys.stdout = sys.stderr  # whatever the project prints must not corrupt the JSON
    try:
        try:
            import django
        except ImportError as e:
            fail(3, "Django is not importable by %s (%s)" % (sys.executable, e))
        try:
            django.setup()
            from django.conf import settings
            text = json.dumps(scan(project, settings))
        except SystemExit:
            raise
        except BaseException as e:
            traceback.print_exc()
            fail(1, 'loading the project with settings %r failed: %s: %s'
                 % (settings_module, type(e).__name__, e))
    finally:
        sys.stdout = real_stdout
    real_stdout.write(text + '\n')
    real_stdout.flush()
    return 0


if __name__ == '__main__':
    sys.exit(main())
