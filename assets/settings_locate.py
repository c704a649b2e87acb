"""dj2pg settings locator: find where DATABASES is set, without running the settings.

Run by the PROJECT's own Python interpreter (so its ``ast`` matches the project's syntax):

    python settings_locate.py --project DIR --settings MODULE

The settings module is found on sys.path (the project directory first) by file name only:
nothing of the project is imported or executed. Its top-level statements are walked in
execution order; ``from X import *`` is followed into X's file (star-imported split
settings such as ``settings/dev.py`` -> ``settings/base.py``). Every statement that binds or
changes DATABASES becomes an event; the last unconditional binding is the statement to
replace.

stdout: exactly one JSON object (schema 1). Exit status: 0 ok (the object says whether the
settings can be rewritten, and why not); 2 usage error, settings module not found, or a
file that cannot be read or parsed (message on stderr).

Standard library only; Python 3.8+.
"""
import argparse
import ast
import importlib.util
import json
import os
import sys

SCHEMA = 1
NAME = 'DATABASES'
# Statements whose bodies may or may not run: a DATABASES set inside is "dynamic".
BLOCKS = tuple(getattr(ast, n) for n in
               ('If', 'For', 'AsyncFor', 'While', 'Try', 'TryStar', 'With', 'AsyncWith', 'Match')
               if hasattr(ast, n))


def fail(message):
    sys.stderr.write('dj2pg settings_locate: error: %s\n' % message)
    sys.exit(2)


def is_local(path, project):
    """True if path is inside project and not inside an installed-packages/venv dir."""
    path = os.path.realpath(path)
    project = os.path.realpath(project)
    try:
        if os.path.commonpath([path, project]) != project:
            return False
    except ValueError:
        return False
    rel = os.path.relpath(path, project)
    parts = [] if rel == os.curdir else rel.split(os.sep)
    if any(p in ('site-packages', 'dist-packages', 'node_modules') for p in parts):
        return False
    d = project
    for p in parts[:-1]:
        d = os.path.join(d, p)
        if os.path.exists(os.path.join(d, 'pyvenv.cfg')):
            return False
    for prefix in {sys.prefix, sys.base_prefix}:
        prefix = os.path.realpath(prefix)
        if prefix != project and (path + os.sep).startswith(prefix + os.sep):
            return False
    return True


def find_module(name):
    """(file, is_package) for a dotted module name, searched on sys.path by file name."""
    parts = name.split('.')
    for entry in sys.path:
        base = os.path.join(entry or os.curdir, *parts)
        init = os.path.join(base, '__init__.py')
        if os.path.isfile(init):
            return os.path.abspath(init), True
        if os.path.isfile(base + '.py'):
            return os.path.abspath(base + '.py'), False
    return None, False


class File:
    """One parsed settings file."""

    def __init__(self, path):
        try:
            with open(path, 'rb') as f:
                self.raw = f.read()
        except OSError as e:
            fail('cannot read %s: %s' % (path, e))
        try:
            self.text = self.raw.decode('utf-8')
        except UnicodeDecodeError as e:
            fail('%s is not UTF-8 (%s): dj2pg edits UTF-8 settings files only' % (path, e))
        try:
            self.tree = ast.parse(self.raw, filename=path)
        except SyntaxError as e:
            fail('%s does not parse: %s (line %s)' % (path, e.msg, e.lineno))
        self.path = path
        # Split on '\n' only, as ast counts lines and as dj2pg's editor does (splitlines()
        # would also split on form feeds and U+2028, shifting every line number after them).
        self.lines = self.text.split('\n')

    def segment(self, node):
        return ast.get_source_segment(self.text, node) or ''

    def alone_on_lines(self, node):
        """Whether the statement has only blanks before it and blanks or a comment after."""
        first = self.lines[node.lineno - 1].encode('utf-8')
        last = self.lines[node.end_lineno - 1].encode('utf-8')
        before = first[:node.col_offset].decode('utf-8', 'replace')
        after = last[node.end_col_offset:].decode('utf-8', 'replace').strip()
        return before.strip() == '' and (after == '' or after.startswith('#'))


def root_name(node):
    """For DATABASES / DATABASES[...] / DATABASES[...].x, the subscript keys and the root."""
    keys = []
    while True:
        if isinstance(node, ast.Subscript):
            s = node.slice
            if sys.version_info < (3, 9) and isinstance(s, ast.Index):  # pragma: no cover
                s = s.value
            keys.append(s.value if isinstance(s, ast.Constant) else None)
            node = node.value
        elif isinstance(node, ast.Attribute):
            keys.append(('.', node.attr))
            node = node.value
        elif isinstance(node, ast.Name):
            return node.id, list(reversed(keys))
        else:
            return None, []


def dj_call(node, from_names):
    """'config' / 'parse' when node is a dj_database_url.config()/parse() call."""
    if not isinstance(node, ast.Call):
        return None
    f = node.func
    if (isinstance(f, ast.Attribute) and f.attr in ('config', 'parse')
            and isinstance(f.value, ast.Name) and f.value.id == 'dj_database_url'):
        return f.attr
    if isinstance(f, ast.Name) and ('dj_database_url:' + f.id) in from_names:
        return f.id
    return None


def literal(node):
    try:
        v = ast.literal_eval(node)
    except Exception:
        return None
    return v if isinstance(v, str) else None


def entries(f, node):
    """Key/value pairs of a dict literal, with each value's exact source text."""
    out = []
    for k, v in zip(node.keys, node.values):
        key = k.value if isinstance(k, ast.Constant) and isinstance(k.value, str) else None
        src = f.segment(v)
        if k is None:  # {**other}
            src = '**' + src
        out.append({'key': key, 'source': src, 'value': literal(v), 'node': v})
    return out


class Walker:
    def __init__(self, project):
        self.project = project
        self.events = []
        self.files = {}
        self.chain = []
        self.notes = []

    def file(self, path):
        if path not in self.files:
            self.files[path] = File(path)
        return self.files[path]

    def walk(self, path, module, is_pkg, cond, depth=0):
        if depth > 20:
            fail('star imports nest deeper than 20 levels at %s' % path)
        f = self.file(path)
        if path not in self.chain:
            self.chain.append(path)
        package = module if is_pkg else module.rpartition('.')[0]
        for stmt in f.tree.body:
            self.stmt(f, stmt, package, cond, depth)

    def stmt(self, f, s, package, cond, depth):
        if isinstance(s, BLOCKS):
            for field in ('body', 'orelse', 'finalbody'):
                for child in getattr(s, field, []) or []:
                    self.stmt(f, child, package, True, depth)
            for h in getattr(s, 'handlers', []) or []:
                for child in h.body:
                    self.stmt(f, child, package, True, depth)
            for case in getattr(s, 'cases', []) or []:
                for child in case.body:
                    self.stmt(f, child, package, True, depth)
            return
        if isinstance(s, ast.ImportFrom):
            if any(a.name == '*' for a in s.names):
                self.star(f, s, package, cond, depth)
            elif any((a.asname or a.name) == NAME for a in s.names):
                self.event(f, s, 'import', cond)
            return
        targets = []
        if isinstance(s, ast.Assign):
            targets = s.targets
        elif isinstance(s, (ast.AnnAssign, ast.AugAssign)):
            targets = [s.target]
        elif isinstance(s, ast.Delete):
            targets = s.targets
        elif isinstance(s, ast.Expr) and isinstance(s.value, ast.Call):
            root, keys = root_name(s.value.func)
            if root == NAME:
                self.event(f, s, 'mutation', cond, keys=keys)
            return
        for t in targets:
            if isinstance(t, (ast.Tuple, ast.List)):
                if any(root_name(e)[0] == NAME for e in t.elts):
                    self.event(f, s, 'other', cond)
                continue
            root, keys = root_name(t)
            if root != NAME:
                continue
            if isinstance(s, (ast.AugAssign, ast.Delete)):
                self.event(f, s, 'mutation', cond, keys=keys or [None])
            elif not keys:
                self.event(f, s, 'assign', cond)
            elif keys == ['default']:
                self.event(f, s, 'assign_default', cond)
            else:
                self.event(f, s, 'mutation', cond, keys=keys)

    def star(self, f, s, package, cond, depth):
        if s.level:
            base = package.split('.') if package else []
            up = s.level - 1
            if up > len(base):
                return
            base = base[:len(base) - up] if up else base
            name = '.'.join(base + ([s.module] if s.module else []))
        else:
            name = s.module or ''
        path, is_pkg = find_module(name)
        if path is None:
            self.notes.append('%s line %d: `from %s import *` was not found on sys.path; '
                              'not followed' % (f.path, s.lineno, name))
            return
        sub = self.file(path)
        exported = module_all(sub.tree)
        if exported is not None and NAME not in exported:
            return
        self.walk(path, name, is_pkg, cond, depth + 1)

    def event(self, f, s, kind, cond, keys=None):
        self.events.append({'file': f, 'stmt': s, 'kind': kind, 'cond': cond,
                            'keys': keys or []})


def module_all(tree):
    for s in tree.body:
        if (isinstance(s, ast.Assign) and len(s.targets) == 1
                and isinstance(s.targets[0], ast.Name) and s.targets[0].id == '__all__'):
            v = literal_list(s.value)
            if v is not None:
                return v
    return None


def literal_list(node):
    try:
        v = ast.literal_eval(node)
    except Exception:
        return None
    return list(v) if isinstance(v, (list, tuple)) else None


def where(e):
    return '%s line %d' % (e['file'].path, e['stmt'].lineno)


def decide(w, project):
    """The statement to replace, or the reason there is none."""
    ev = w.events
    full = [i for i, e in enumerate(ev) if e['kind'] in ('assign', 'import', 'other')
            and not e['cond']]
    base = full[-1] if full else -1
    after = ev[base + 1:]
    for e in after:
        if e['cond'] and e['kind'] in ('assign', 'assign_default', 'import', 'other'):
            return None, ('DATABASES is set inside an if/for/while/try/with block (%s): '
                          'which branch runs is only known at run time' % where(e)), []
        if e['kind'] == 'other':
            return None, 'DATABASES is set by a tuple assignment (%s)' % where(e), []
    defaults = [i for i, e in enumerate(after) if e['kind'] == 'assign_default']
    if defaults:
        target = after[defaults[-1]]
        rest = after[defaults[-1] + 1:]
    elif base >= 0:
        target = ev[base]
        rest = after
    else:
        return None, 'DATABASES is not set in the settings module or the modules it star-imports', []
    if target['kind'] == 'import':
        return None, ('DATABASES comes from an import (%s); dj2pg replaces assignments only'
                      % where(target)), []
    if target['kind'] == 'other':
        return None, 'DATABASES is set by a tuple assignment (%s)' % where(target), []
    mutations = []
    for e in rest:
        keys = e['keys']
        if keys and keys[0] is not None and keys[0] != 'default' and not isinstance(keys[0], tuple):
            continue  # another alias (DATABASES['replica'][...]): left as it is
        if keys[:1] != ['default'] or e['cond']:
            return None, ('DATABASES is changed after it is set (%s) in a way dj2pg cannot merge'
                          % where(e)), []
        if e['file'] is not target['file']:
            return None, ('DATABASES["default"] is changed in another file than the one that '
                          'sets it (%s)' % where(e)), []
        if not e['file'].alone_on_lines(e['stmt']):
            return None, '%s shares its line with another statement' % where(e), []
        mutations.append(e)
    f = target['file']
    if not is_local(f.path, project):
        return None, ('DATABASES is set in %s, which is outside the project (an installed '
                      'package or another directory): dj2pg does not edit it' % f.path), []
    if not f.alone_on_lines(target['stmt']):
        return None, '%s shares its line with another statement' % where(target), []
    return target, None, mutations


def imports_of(f, before_line):
    modules, from_names = [], []
    for s in f.tree.body:
        if s.lineno >= before_line:
            break
        if isinstance(s, ast.Import):
            for a in s.names:
                if a.asname is None:
                    parts = a.name.split('.')
                    modules += ['.'.join(parts[:i + 1]) for i in range(len(parts))]
                elif a.asname == a.name:
                    modules.append(a.name)
        elif isinstance(s, ast.ImportFrom) and s.level == 0 and s.module:
            for a in s.names:
                if a.asname is None or a.asname == a.name:
                    from_names.append('%s:%s' % (s.module, a.name))
    return modules, from_names


def import_line(f, target_line):
    """Line (1-based) before which new imports go, and whether a blank line should follow."""
    body = f.tree.body
    after = 0
    for i, s in enumerate(body):
        if s.lineno >= target_line:
            break
        if (i == 0 and isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant)
                and isinstance(s.value.value, str)):
            after = s.end_lineno
            continue
        if isinstance(s, ast.ImportFrom) and s.module == '__future__':
            after = s.end_lineno
            continue
        if isinstance(s, (ast.Import, ast.ImportFrom)):
            return s.lineno, False
        break
    if after == 0:
        # keep a shebang, coding line or header comment first
        for line in f.lines:
            if line.startswith('#'):
                after += 1
            else:
                break
        return min(after + 1, target_line), True
    return min(after + 1, target_line), True


def describe_value(f, node, from_names):
    """What the old value holds: a dict literal's entries, or a dj_database_url call."""
    call = dj_call(node, from_names)
    if call:
        return {'value_kind': 'dj_database_url', 'call': call,
                'kwargs': [{'key': k.arg, 'source': f.segment(k.value)}
                           for k in node.keywords if k.arg]}
    if isinstance(node, ast.Dict):
        d = {'value_kind': 'dict', 'entries': [], 'options': None, 'options_source': None}
        for e in entries(f, node):
            n = e.pop('node')
            if e['key'] == 'OPTIONS' and isinstance(n, ast.Dict):
                d['options'] = [dict((k, v) for k, v in o.items() if k != 'node')
                                for o in entries(f, n)]
            elif e['key'] == 'OPTIONS':
                d['options_source'] = e['source']
            d['entries'].append(e)
        return d
    return {'value_kind': 'expression', 'source': f.segment(node)}


def site(w, target, mutations):
    f, s = target['file'], target['stmt']
    modules, from_names = imports_of(f, s.lineno)
    line, blank = import_line(f, s.lineno)
    value = s.value
    out = {
        'file': f.path,
        'kind': target['kind'],
        'start_line': s.lineno,
        'end_line': s.end_lineno,
        'old_text': f.segment(s),
        'imports': modules,
        'from_imports': from_names,
        'import_line': line,
        'import_blank_after': blank,
        'default': None,
        'aliases': [],
        'whole': None,
        'mutations': [],
    }
    if target['kind'] == 'assign_default':
        out['default'] = describe_value(f, value, from_names)
    elif isinstance(value, ast.Dict):
        for e in entries(f, value):
            n = e.pop('node')
            if e['key'] == 'default':
                out['default'] = describe_value(f, n, from_names)
            else:
                out['aliases'].append({'alias': e['key'], 'source': e['source']})
    else:
        out['whole'] = describe_value(f, value, from_names)
    for m in mutations:
        ms = m['stmt']
        out['mutations'].append({
            'start_line': ms.lineno, 'end_line': ms.end_lineno, 'text': f.segment(ms),
            'dj_database_url': any(dj_call(n, from_names) for n in ast.walk(ms)),
        })
    out['classification'] = classify(out)
    return out


def classify(site):
    values = [v for v in (site['default'], site['whole']) if v]
    if (any(v['value_kind'] == 'dj_database_url' for v in values)
            or any(m['dj_database_url'] for m in site['mutations'])):
        return 'DjDatabaseUrl'
    if site['kind'] == 'assign_default':
        return 'DefaultAssignment'
    if site['whole'] is not None or (site['default'] or {}).get('value_kind') == 'expression':
        return 'Expression'
    return 'PlainAssignment'


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--project', required=True)
    p.add_argument('--settings', required=True)
    a = p.parse_args()
    project = os.path.abspath(a.project)
    sys.path.insert(0, project)
    path, is_pkg = find_module(a.settings)
    if path is None:
        fail('settings module %s not found on sys.path (project %s)' % (a.settings, project))
    w = Walker(project)
    w.walk(path, a.settings, is_pkg, False)
    target, reason, mutations = decide(w, project)
    try:
        dj = importlib.util.find_spec('dj_database_url') is not None
    except Exception:
        dj = False
    driver = None
    for name in ('psycopg', 'psycopg2'):
        try:
            if importlib.util.find_spec(name) is not None:
                driver = name
                break
        except Exception:
            pass
    out = {
        'schema': SCHEMA,
        'python': sys.version.split()[0],
        'settings_module': a.settings,
        'settings_file': path,
        'chain': w.chain,
        'dj_database_url': dj,
        'postgres_driver': driver,
        'notes': w.notes,
        'rewritable': target is not None,
        'reason': reason,
        'site': site(w, target, mutations) if target is not None else None,
    }
    sys.stdout.write(json.dumps(out))
    sys.stdout.write('\n')


if __name__ == '__main__':
    main()
