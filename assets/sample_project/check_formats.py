#!/usr/bin/env python
"""Check that generate_data.py writes exactly what Django's ORM writes to SQLite.

    python check_formats.py --db GENERATED.sqlite3 [--scratch DIR]

Two checks, both against a scratch database migrated from the project:

1. Edge values: representative Python values (incl. the generator's edge
   cases) are saved through the ORM; for each one the stored
   ``typeof(col)`` and value are compared with what generate_data's encoder
   functions produce for the same Python value.

2. Full round trip: every row of the classifier tables and auth_user in
   GENERATED is loaded through the ORM (Django's SQLite converters parse it),
   re-saved through the ORM with ``bulk_create`` into the scratch database, and
   both databases are compared row by row, column by column, including the
   storage class (``typeof``).  Any difference means the generator's format
   differs from Django's.

Use a database generated without --bad (bad rows cannot be loaded by the ORM).
Exit status 0 when everything matches.
"""
import argparse
import datetime as dt
import os
import sqlite3
import sys
import tempfile
import uuid
from decimal import Decimal

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import generate_data as gd  # noqa: E402

UTC = dt.timezone.utc


def setup(scratch, generated):
    os.environ['DJANGO_SETTINGS_MODULE'] = gd.SETTINGS_MODULE
    import django
    from django.conf import settings
    settings.DATABASES['default'] = {'ENGINE': 'django.db.backends.sqlite3', 'NAME': scratch}
    settings.DATABASES['gen'] = {'ENGINE': 'django.db.backends.sqlite3', 'NAME': generated}
    django.setup()
    from django.core.management import call_command
    call_command('migrate', verbosity=0, interactive=False)


def raw(db, table, column, pk):
    con = sqlite3.connect(db)
    try:
        return con.execute('SELECT typeof("%s"), "%s" FROM "%s" WHERE id = ?' % (column, column, table),
                           (pk,)).fetchone()
    finally:
        con.close()


def typeof(v):
    return {type(None): 'null', int: 'integer', float: 'real', str: 'text', bytes: 'blob'}[type(v)]


def affinity_numeric(v):
    """What NUMERIC affinity (decimal/bool columns) does to a bound text value."""
    if isinstance(v, str):
        try:
            f = float(v)
        except ValueError:
            return v
        return int(f) if f == int(f) and abs(f) < 2 ** 63 else f
    return v


def check_edges(scratch):
    from classifier.models import Dataset, Feedback, Label, ModelVersion, Prediction, TrainingExample

    results = []
    ds = Dataset.objects.create(name='edge', description='d 😀')
    lbl = Label.objects.first()
    mv_cases = [
        dict(training_duration=dt.timedelta(seconds=90), accuracy=Decimal('0.1000'), metrics={'f1': 0.5},
             trained_at=dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC), weights_blob=b'\x00\xff', is_active=True),
        dict(training_duration=dt.timedelta(seconds=-90), accuracy=Decimal('1.0000'), metrics=None,
             trained_at=dt.datetime(2024, 1, 2, 3, 4, 5, 123, tzinfo=UTC), weights_blob=b'', is_active=False),
        dict(training_duration=dt.timedelta(microseconds=-1), accuracy=Decimal('99.9999'),
             metrics={'note': 'émoji 🚀', 'l': [1, None, True]},
             trained_at=dt.datetime(2024, 6, 1, 1, 0, tzinfo=dt.timezone(dt.timedelta(hours=2))),
             weights_blob=None, is_active=False),
        dict(training_duration=dt.timedelta(days=3, hours=4, microseconds=5), accuracy=Decimal('0.0001'),
             metrics=[], trained_at=dt.datetime(1970, 1, 1, tzinfo=UTC), weights_blob=None, is_active=True),
    ]
    for i, case in enumerate(mv_cases):
        u = uuid.UUID(int=i + 12345, version=4)
        mv = ModelVersion.objects.create(uuid=u, name='mv%d' % i, params={'lr': 1e-3, 'k': 'v'}, **case)
        pairs = [('uuid', gd.enc_uuid(u)), ('params', gd.enc_json({'lr': 1e-3, 'k': 'v'})),
                 ('metrics', None if case['metrics'] is None else gd.enc_json(case['metrics'])),
                 ('training_duration', gd.enc_duration(case['training_duration'])),
                 ('accuracy', affinity_numeric(gd.enc_decimal(case['accuracy']))),
                 ('trained_at', gd.enc_datetime(case['trained_at'])),
                 ('weights_blob', case['weights_blob']),
                 ('is_active', gd.enc_bool(case['is_active']))]
        for col, expected in pairs:
            results.append(('classifier_modelversion', col, mv.pk, case.get(col, expected), expected))

    ex_cases = [
        dict(added_on=dt.date(1, 1, 1), reviewed_at=None, annotator_ip='2001:DB8:0:0:1:0:0:1', weight=1e-300,
             meta={}, token_count=-2147483648),
        dict(added_on=dt.date(9999, 12, 31), reviewed_at=dt.datetime(2024, 6, 30, 23, 59, 59, 999999, tzinfo=UTC),
             annotator_ip='::ffff:192.0.2.128', weight=-0.0, meta={'big': 2 ** 63 - 1, 'e': '🚀'},
             token_count=2147483647),
        dict(added_on=dt.date(2024, 2, 29), reviewed_at=dt.datetime(2024, 1, 1, tzinfo=UTC),
             annotator_ip='10.0.0.1', weight=1e300, meta={'q': 'quote " \\ \n \t'}, token_count=0),
    ]
    for case in ex_cases:
        ex = TrainingExample.objects.create(dataset=ds, text='t', label=lbl, **case)
        pairs = [('added_on', gd.enc_date(case['added_on'])), ('reviewed_at', gd.enc_datetime(case['reviewed_at'])),
                 ('annotator_ip', gd.enc_ip(case['annotator_ip'])), ('weight', case['weight']),
                 ('meta', gd.enc_json(case['meta'])), ('token_count', case['token_count'])]
        for col, expected in pairs:
            results.append(('classifier_trainingexample', col, ex.pk, case[col], expected))

    mv = ModelVersion.objects.first()
    pr_cases = [
        dict(confidence=Decimal('0.1000'), big_counter=2 ** 63 - 1, small_rank=-32768, latency_ms=2147483647),
        dict(confidence=Decimal('1.0000'), big_counter=-2 ** 63, small_rank=32767, latency_ms=0),
        dict(confidence=Decimal('0.5432'), big_counter=0, small_rank=0, latency_ms=17),
    ]
    for i, case in enumerate(pr_cases):
        rid = uuid.UUID(int=i + 999, version=4)
        served = dt.datetime(2024, 3, 4, 5, 6, 7, 89, tzinfo=UTC)
        pr = Prediction.objects.create(model_version=mv, input_text='x', score=0.25, request_id=rid,
                                       served_at=served, **case)
        pairs = [('confidence', affinity_numeric(gd.enc_decimal(case['confidence']))),
                 ('request_id', gd.enc_uuid(rid)), ('served_at', gd.enc_datetime(served)),
                 ('big_counter', case['big_counter']), ('small_rank', case['small_rank']),
                 ('latency_ms', case['latency_ms']), ('score', 0.25)]
        for col, expected in pairs:
            results.append(('classifier_prediction', col, pr.pk, case.get(col, expected), expected))

    for t, correct in [(dt.time(0, 0, 0), None), (dt.time(23, 59, 59, 999999), True), (dt.time(12, 30, 0, 5), False)]:
        fb = Feedback.objects.create(prediction=pr, correct=correct, comment='', review_time=t,
                                     created_at=dt.datetime(2024, 1, 1, tzinfo=UTC))
        results.append(('classifier_feedback', 'review_time', fb.pk, t, gd.enc_time(t)))
        results.append(('classifier_feedback', 'correct', fb.pk, correct, gd.enc_bool(correct)))

    ok = True
    print('== 1. edge values: ORM-saved vs generate_data encoders ==')
    print('%-28s %-18s %-8s %-32s %s' % ('table', 'column', 'typeof', 'stored by ORM', 'result'))
    for table, col, pk, pyval, expected in results:
        t, v = raw(scratch, table, col, pk)
        good = (t == typeof(expected)) and (v == expected or (isinstance(v, float) and repr(v) == repr(expected)))
        ok &= good
        shown = repr(v)
        if len(shown) > 32:
            shown = shown[:29] + '...'
        print('%-28s %-18s %-8s %-32s %s' % (table[11:] if table.startswith('classifier_') else table, col, t,
                                              shown, 'ok' if good else 'MISMATCH expected %r' % (expected,)))
    return ok


def check_round_trip(scratch, generated):
    from django.contrib.auth.models import User
    from django.db import connections, transaction

    from classifier.models import (Dataset, Embedding, Feedback, Label, ModelVersion, Prediction,
                                   TrainingExample)

    # start from empty tables in the scratch DB
    order = [User, Dataset, Dataset.maintainers.through, Label, ModelVersion, ModelVersion.datasets.through,
             TrainingExample, Embedding, Prediction, Feedback]
    with transaction.atomic():
        for m in reversed(order):
            m.objects.all().delete()
    Dataset._meta.get_field('created_at').auto_now_add = False  # keep the loaded value
    counts = {}
    with transaction.atomic():
        for m in order:
            objs = list(m.objects.using('gen').order_by('pk'))
            for o in objs:
                o._state.db = 'default'
                o._state.adding = True
            m.objects.bulk_create(objs, batch_size=500)
            counts[m._meta.db_table] = len(objs)
    connections.close_all()

    print('\n== 2. full round trip: generated rows -> ORM -> re-saved by ORM ==')
    a = sqlite3.connect(generated)
    b = sqlite3.connect(scratch)
    ok = True
    for table, n in counts.items():
        cols = [r[1] for r in a.execute('PRAGMA table_info("%s")' % table)]
        sel = 'SELECT %s FROM "%s" ORDER BY id' % (', '.join('typeof("%s"), "%s"' % (c, c) for c in cols), table)
        ra, rb = a.execute(sel).fetchall(), b.execute(sel).fetchall()
        diffs = 0
        first = None
        expected = 0
        for x, y in zip(ra, rb):
            if x != y and repr(x) != repr(y):
                # JSON null stored as text 'null' (Value(None, JSONField())) is read back
                # by the ORM as None and re-saved as SQL NULL: a known ORM asymmetry.
                d = [i for i in range(1, len(x), 2) if x[i] != y[i]]
                if all(x[i] == 'null' and y[i] is None for i in d):
                    expected += 1
                    continue
                diffs += 1
                if first is None:
                    first = [(cols[i // 2], x[i], y[i]) for i in range(len(x)) if x[i] != y[i]][:3]
        if len(ra) != len(rb):
            diffs += abs(len(ra) - len(rb))
        types = sorted({(cols[i // 2], x[i]) for x in ra for i in range(0, len(x), 2)})
        by_col = {}
        for c, t in types:
            by_col.setdefault(c, []).append(t)
        ok &= diffs == 0
        note = " (%d JSON 'null' -> SQL NULL by the ORM, expected)" % expected if expected else ''
        print('%-34s rows %7d  %s%s' % (table, n, 'identical' if diffs == 0 else '%d DIFFERENT, e.g. %r' % (diffs, first),
                                         note))
        print('    typeof: ' + '; '.join('%s=%s' % (c, '/'.join(ts)) for c, ts in by_col.items()))
    return ok


def main():
    ap = argparse.ArgumentParser(description='compare generate_data.py formats with the ORM')
    ap.add_argument('--db', required=True, help='database made by generate_data.py (without --bad)')
    ap.add_argument('--scratch', help='directory for the scratch database (default: a temp dir)')
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(dir=args.scratch)
    scratch = os.path.join(tmp, 'orm_scratch.sqlite3')
    setup(scratch, os.path.abspath(args.db))
    ok1 = check_edges(scratch)
    ok2 = check_round_trip(scratch, os.path.abspath(args.db))
    print('\nRESULT: %s (scratch DB %s)' % ('all formats match' if ok1 and ok2 else 'MISMATCHES', scratch))
    sys.exit(0 if ok1 and ok2 else 1)


if __name__ == '__main__':
    main()
