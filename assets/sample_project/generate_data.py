#!/usr/bin/env python
"""Fill the sample project's SQLite database with realistic, deterministic data.

    python generate_data.py --db PATH --rows N [--seed S] [--bad] [--force]

Run it with a Python that has the project's requirements (Django) installed;
any working directory is fine.

1. Schema: the project's own migrations are applied to PATH in-process
   (``django.setup()`` with ``DATABASES['default']`` overridden to
   ``{'ENGINE': sqlite3, 'NAME': PATH}`` before any connection is opened, then
   ``call_command('migrate')``).  settings.py itself is not touched and has no
   environment hook, so the block a later tool rewrites stays plain.  This
   creates what a real ``migrate`` creates: django_migrations, content types,
   permissions, and the three labels of the RunPython migration
   ``classifier/0002_default_labels``.  PATH must not exist yet (or pass --force
   to overwrite it).

2. Data: rows are streamed with plain ``sqlite3`` ``executemany`` in a single
   transaction, in exactly the formats Django's SQLite backend writes (checked
   against the ORM by ``check_formats.py``):

   ==================  =========================================================
   DateTimeField       TEXT 'YYYY-MM-DD HH:MM:SS[.ffffff]', naive UTC (USE_TZ)
   DateField           TEXT 'YYYY-MM-DD'
   TimeField           TEXT 'HH:MM:SS[.ffffff]'
   BooleanField        INTEGER 0/1
   UUIDField           TEXT, 32 lowercase hex digits, no dashes
   DurationField       INTEGER microseconds (may be negative)
   DecimalField        str(Decimal) bound, stored by NUMERIC affinity as REAL
                       (or INTEGER when integral: Decimal('1.0000') -> 1)
   JSONField           TEXT json.dumps(value) (ensure_ascii, ", " / ": ")
   BinaryField         BLOB
   GenericIPAddress    TEXT, IPv6 compressed/lowercase as Django normalises it
   FloatField          REAL
   ==================  =========================================================

``--rows N`` is the approximate total row count over ALL tables (including the
~88 rows migrate creates); most rows go to TrainingExample, Embedding,
Prediction and Feedback.  Works from N=300 to several million in constant
memory.

Valid edge cases always included: emoji / RTL / CJK / combining characters,
tabs, newlines, CR, backslashes, a literal ``\\N``; empty strings; microsecond
timestamps; dates 0001-01-01 and 9999-12-31; times 00:00:00 and
23:59:59.999999; durations of 90 s (90000000 us), 0, -1 us and -90 s; decimals
0.1000 (REAL 0.1), 1.0000 (INTEGER 1), 99.9999; floats 1e-300, 1e300, -0.0;
bigint and smallint extremes; PositiveIntegerField 0 and 2147483647; NULLs in
every nullable column; a JSON ``null`` (text 'null', not SQL NULL) in
ModelVersion.metrics; an empty BLOB; IPv4, IPv6 and IPv4-mapped IPv6.
Primary-key gaps: every 50th TrainingExample id is skipped, and the last rows
of Prediction and Dataset are inserted then deleted, so sqlite_sequence is
greater than max(id) for those tables.

--bad additionally inserts the following rows, one invalid value per row,
which SQLite accepts but PostgreSQL rejects (ids are printed at the end):

  1. classifier_dataset.name           a 150-character name (varchar(100))
  2. classifier_trainingexample.text   text containing a NUL byte (U+0000)
  3. classifier_trainingexample.meta   invalid JSON '{"broken": ' (inserted with
                                       PRAGMA ignore_check_constraints, since
                                       Django's JSON_VALID check would refuse it)
  4. classifier_trainingexample.added_on  unparsable date '2023-02-30'
  5. classifier_prediction.small_rank  40000, out of range for smallint
  6. classifier_trainingexample.token_count  the TEXT value 'twelve' in an
                                       integer column
  7. classifier_modelversion.metrics   JSON that SQLite accepts but jsonb
                                       refuses: '{"note": "nul \\u0000 byte"}'

Output: a summary of rows per table (and sqlite_sequence vs max(id)) on stdout.
"""
import argparse
import datetime as dt
import ipaddress
import json
import os
import random
import sqlite3
import struct
import sys
import time
import uuid
from decimal import Decimal

PROJECT_DIR = os.path.dirname(os.path.abspath(__file__))
SETTINGS_MODULE = 'aiproto.settings'
BATCH = 5000

UTC = dt.timezone.utc
BASE_TIME = dt.datetime(2024, 1, 1, tzinfo=UTC)


# --------------------------------------------------------------------------
# Encoders: Python value -> what Django's SQLite backend binds.
# (check_formats.py compares these with values saved through the ORM.)
# --------------------------------------------------------------------------

def enc_datetime(value):
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return str(value)


def enc_date(value):
    return None if value is None else value.isoformat()


def enc_time(value):
    return None if value is None else str(value)


def enc_bool(value):
    return None if value is None else int(bool(value))


def enc_uuid(value):
    return None if value is None else value.hex


def enc_duration(value):
    if value is None:
        return None
    return (24 * 60 * 60 * value.days + value.seconds) * 1000000 + value.microseconds


def enc_decimal(value):
    return None if value is None else str(value)


def enc_json(value):
    return json.dumps(value)


def enc_ip(value):
    if value is None:
        return None
    if ':' in value:  # same normalisation as django.utils.ipv6.clean_ipv6_address
        addr = ipaddress.IPv6Address(value)
        if addr.ipv4_mapped:
            return '::ffff:%s' % addr.ipv4_mapped
        return str(addr)
    return value


# --------------------------------------------------------------------------
# Django setup / migrate
# --------------------------------------------------------------------------

def migrate(db_path):
    sys.path.insert(0, PROJECT_DIR)
    os.environ['DJANGO_SETTINGS_MODULE'] = SETTINGS_MODULE
    import django
    from django.conf import settings

    settings.DATABASES['default'] = {
        'ENGINE': 'django.db.backends.sqlite3',
        'NAME': db_path,
    }
    django.setup()
    from django.core.management import call_command
    from django.db import connections

    call_command('migrate', verbosity=0, interactive=False)
    connections.close_all()


# --------------------------------------------------------------------------
# Random content
# --------------------------------------------------------------------------

WORDS = (
    'the model is great terrible okay love hate service delivery product price '
    'support refund fast slow broken works perfectly never again recommend '
    'awesome meh fine disappointed happy angry app update battery screen camera '
    'quality value friendly rude waiting order package late early cheap expensive '
    'not really very quite absolutely would could should'
).split()
SPICE = [
    'I love it 😍', 'worst purchase ever 😡', 'meh 🤷', '👍👍👍', 'ok 🙂',
    'très bien, merci', 'nicht schlecht', 'とても良い', '非常好', 'очень плохо',
    'ممتاز جدا', 'שירות מעולה', 'naïve café', 'e\u0301le\u0300ve',  # combining accents
    'tab\tseparated', 'two\nlines', 'windows\r\nline', 'back\\slash',
    'literal \\N here', 'quote "double" and \'single\'', '50% off; DROP TABLE x;--',
    'zero\u200bwidth', '🧑‍🔬 family 👨‍👩‍👧', '𝔘𝔫𝔦𝔠𝔬𝔡𝔢',
]
DATASET_TOPICS = [
    'product-reviews', 'support-tickets', 'tweets', 'app-store', 'survey-free-text',
    'chat-logs', 'movie-reviews', 'news-headlines', 'emails', 'forum-posts',
]
IPS = [
    '10.0.0.1', '192.168.1.23', '203.0.113.7', '2001:db8::1', '2001:db8:0:0:1:0:0:1',
    'fe80::1ff:fe23:4567:890a', '::ffff:192.0.2.128', '::1', '127.0.0.1',
]

IPS_DB = [enc_ip(ip) for ip in IPS]


def make_text(rng):
    n = rng.randint(3, 25)
    s = ' '.join(rng.choices(WORDS, k=n))
    if rng.random() < 0.2:
        s += ' ' + rng.choice(SPICE)
    return s


def rand_dt(rng, span_days=365):
    return BASE_TIME + dt.timedelta(microseconds=rng.randrange(span_days * 86400 * 1000000))


def rand_uuid(rng):
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def example_id(i):
    """TrainingExample id of the i-th example (0-based): every 50th id is a gap."""
    return i + 1 + i // 49


# --------------------------------------------------------------------------
# Table generators (each yields tuples; ids are explicit where FKs need them)
# --------------------------------------------------------------------------

def gen_users(rng, n):
    names = ['admin', 'alice', 'bob', 'chloé', 'dmitri', 'eve', 'farah', 'gus']
    for i in range(n):
        uname = names[i] if i < len(names) else 'annotator%d' % i
        joined = rand_dt(rng)
        last_login = None if i % 3 == 2 else joined + dt.timedelta(days=rng.randint(0, 30), microseconds=rng.randrange(10**6))
        # '!' + 40 chars is Django's unusable-password marker: no secrets here.
        pw = '!' + ''.join(rng.choices('abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789', k=40))
        yield (i + 1, pw, enc_datetime(last_login), enc_bool(i == 0), uname,
               'Müller' if i == 3 else '', '%s@example.com' % uname.replace('é', 'e'),
               enc_bool(i < 2), enc_bool(i != 5), enc_datetime(joined), uname.title())


def gen_datasets(rng, n):
    for i in range(n):
        name = '%s-%03d' % (DATASET_TOPICS[i % len(DATASET_TOPICS)], i)
        if i == 1:
            name = 'données-clients 🇫🇷'
        if i == 2:
            name = 'n' * 100  # exactly max_length: valid
        desc = make_text(rng) + ('\n\nCollected by the team.' if i % 2 else '')
        url = None if i % 3 == 0 else 'https://data.example.com/%d/export?fmt=csv&v=%d' % (i, i % 4)
        yield (i + 1, name, desc, enc_datetime(rand_dt(rng)), enc_bool(i % 2 == 0), url)


def gen_examples(rng, n, n_datasets, label_ids, mid):
    fixed_dates = [dt.date(1, 1, 1), dt.date(9999, 12, 31), dt.date(2024, 2, 29)]
    fixed_weights = [1e-300, 1e300, -0.0, 0.1, 1 / 3]
    fixed_tokens = [-2147483648, 2147483647, 0]
    for i in range(n):
        text = make_text(rng)
        r = rng.random()
        label = None if r < 0.1 else label_ids[int(r * 1000) % len(label_ids)]
        weight = round(rng.uniform(0.1, 2.0), 3)
        added = dt.date(2023, 1, 1) + dt.timedelta(days=rng.randrange(700))
        reviewed = None if rng.random() < 0.3 else rand_dt(rng)
        tokens = len(text.split())
        ip = None if rng.random() < 0.25 else IPS_DB[rng.randrange(len(IPS_DB))]
        meta = {'source': rng.choice(('csv', 'api', 'manual')), 'lang': rng.choice(('en', 'en', 'fr', 'ja'))}
        k = i - mid  # edge values sit in the middle of the table
        if 0 <= k < 3:
            added = fixed_dates[k]
            tokens = fixed_tokens[k]
        if 0 <= k < 5:
            weight = fixed_weights[k]
        if k == 0:
            meta = {}
        elif k == 1:
            meta = {'nested': {'list': [1, 2.5, None, True, 'x'], 'emoji': '🚀'}, 'big': 2 ** 63 - 1}
        elif k == 2:
            meta = {'note': 'quote " backslash \\ newline \n tab \t', 'empty': ''}
        elif k == 3:
            reviewed = dt.datetime(2024, 6, 30, 23, 59, 59, 999999, tzinfo=UTC)
        elif k == 4:
            reviewed = dt.datetime(1970, 1, 1, tzinfo=UTC)
        yield (example_id(i), text, weight, enc_date(added), enc_datetime(reviewed), tokens,
               ip, enc_json(meta), (i % n_datasets) + 1, label)


def gen_embeddings(rng, n_examples, dim):
    fmt = '<%df' % dim
    pack = struct.Struct(fmt).pack
    unpack = struct.Struct(fmt).unpack
    gauss = rng.gauss
    eid = 0
    for i in range(n_examples):
        if i % 5 == 4:
            continue  # 80% of examples have an embedding
        blob = pack(*[gauss(0.0, 1.0) for _ in range(dim)])
        eid += 1
        yield (eid, json.dumps([round(v, 6) for v in unpack(blob)]), blob, dim, example_id(i))


def gen_model_versions(rng, n):
    archs = ['logreg-tfidf', 'distilbert-ft', 'fasttext', 'svm-bow', 'roberta-base-ft']
    durations = [dt.timedelta(seconds=90), dt.timedelta(0), dt.timedelta(microseconds=-1),
                 dt.timedelta(seconds=-90), dt.timedelta(days=3, hours=4, microseconds=5)]
    accs = [Decimal('0.1000'), Decimal('1.0000'), Decimal('99.9999'), Decimal('0.0001')]
    for i in range(n):
        params = {'arch': archs[i % len(archs)], 'lr': round(10 ** -rng.uniform(2, 5), 8),
                  'epochs': rng.randint(1, 20), 'layers': [768, 256, 3], 'notes': 'baseline ✅'}
        metrics = None if i % 4 == 3 else {'f1': round(rng.random(), 4), 'auc': round(rng.random(), 4)}
        metrics_json = None if metrics is None else enc_json(metrics)
        if i == 1:
            metrics_json = 'null'  # JSON null, not SQL NULL
        duration = durations[i] if i < len(durations) else dt.timedelta(seconds=rng.randint(60, 86400), microseconds=rng.randrange(10**6))
        acc = accs[i] if i < len(accs) else Decimal(rng.randint(5000, 9999)).scaleb(-4)
        blob = None if i % 3 == 1 else bytes(rng.getrandbits(8) for _ in range(rng.randint(16, 256)))
        if i == 2:
            blob = b''
        parent = None if i == 0 or i % 5 == 0 else i  # self-reference to the previous version
        yield (i + 1, enc_uuid(rand_uuid(rng)), '%s-v%d' % (archs[i % len(archs)], i + 1),
               enc_json(params), metrics_json, enc_duration(duration), enc_decimal(acc),
               enc_datetime(rand_dt(rng)), blob, enc_bool(i == n - 1), parent)


def gen_predictions(rng, n, n_mv, n_examples, label_ids, mid):
    big_edges = [9223372036854775807, -9223372036854775808, 0]
    small_edges = [32767, -32768, 0]
    lat_edges = [0, 2147483647, 1]
    conf_edges = [Decimal('0.1000'), Decimal('1.0000'), Decimal('9.9999')]
    for i in range(n):
        ex = None if rng.random() < 0.3 else example_id(rng.randrange(n_examples))
        score = rng.random()
        label = None if score < 0.05 else label_ids[int(score * 100) % len(label_ids)]
        conf = Decimal(int(score * 10000)).scaleb(-4)
        lat = int(rng.expovariate(1 / 40.0))
        big = rng.getrandbits(40)
        small = rng.randint(-100, 100)
        k = i - mid
        if 0 <= k < 3:
            big, small, lat, conf = big_edges[k], small_edges[k], lat_edges[k], conf_edges[k]
        yield (i + 1, make_text(rng), score, enc_decimal(conf), lat, enc_datetime(rand_dt(rng)),
               enc_uuid(rand_uuid(rng)), big, small, (i % n_mv) + 1, label, ex)


def gen_feedback(rng, n, n_pred, n_users):
    comments = ['', '', 'wrong label', 'spot on 👌', 'sarcasm, actually negative',
                'mixed:\npart good\npart bad', 'tabs\tand "quotes"']
    for i in range(n):
        user = None if rng.random() < 0.4 else rng.randint(1, n_users)
        r = rng.random()
        correct = None if r < 0.2 else enc_bool(r < 0.7)
        rt = None
        if rng.random() < 0.5:
            rt = dt.time(rng.randrange(24), rng.randrange(60), rng.randrange(60),
                         0 if rng.random() < 0.5 else rng.randrange(1000000))
        if i == 0:
            rt = dt.time(0, 0, 0)
        elif i == 1:
            rt = dt.time(23, 59, 59, 999999)
        yield (i + 1, correct, comments[rng.randrange(len(comments))], enc_datetime(rand_dt(rng)),
               enc_time(rt), user, rng.randint(1, n_pred))


# --------------------------------------------------------------------------

def batched_insert(cur, sql, rows):
    buf = []
    for r in rows:
        buf.append(r)
        if len(buf) >= BATCH:
            cur.executemany(sql, buf)
            buf.clear()
    if buf:
        cur.executemany(sql, buf)


def plan(total, baseline):
    """Distribute the row budget over the tables."""
    n_users = 5 if total < 5000 else 8
    n_datasets = max(3, min(200, total // 2000))
    n_mv = max(5, min(60, total // 5000))
    small = n_users + n_datasets + n_mv + 2  # + extra labels
    small += n_datasets * 2 + n_mv * 2 + 3 + 4  # m2m rows, group, group perms, admin log
    budget = max(100, total - baseline - small)
    n_examples = max(10, int(budget * 0.30))
    n_emb = n_examples - (n_examples + 1) // 5  # see gen_embeddings
    n_pred = max(10, int(budget * 0.34))
    n_fb = max(5, budget - n_examples - n_emb - n_pred)
    return dict(users=n_users, datasets=n_datasets, mv=n_mv, examples=n_examples,
                predictions=n_pred, feedback=n_fb)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--db', required=True, help='path of the SQLite file to create')
    ap.add_argument('--rows', type=int, required=True, help='approximate total row count')
    ap.add_argument('--seed', type=int, default=42)
    ap.add_argument('--bad', action='store_true', help='also inject values PostgreSQL rejects')
    ap.add_argument('--force', action='store_true', help='overwrite --db if it exists')
    ap.add_argument('--dim', type=int, default=12, help='embedding dimension (default 12)')
    args = ap.parse_args(argv)

    db = os.path.abspath(args.db)
    if os.path.exists(db):
        if not args.force:
            sys.exit('error: %s exists (use --force to overwrite)' % db)
        for suffix in ('', '-journal', '-wal', '-shm'):
            if os.path.exists(db + suffix):
                os.remove(db + suffix)

    t0 = time.time()
    migrate(db)
    t_migrate = time.time() - t0

    rng = random.Random(args.seed)
    con = sqlite3.connect(db, isolation_level=None)
    con.execute('PRAGMA synchronous = OFF')
    con.execute('PRAGMA journal_mode = MEMORY')  # per connection; the file stays in DELETE mode
    cur = con.cursor()
    baseline = sum(cur.execute('SELECT count(*) FROM "%s"' % t).fetchone()[0] for t in all_tables(cur))
    p = plan(args.rows, baseline)
    label_rows = cur.execute('SELECT id FROM classifier_label ORDER BY id').fetchall()

    cur.execute('BEGIN')
    # auth: users, a group with a few permissions, membership
    batched_insert(cur, 'INSERT INTO auth_user (id, password, last_login, is_superuser, username, last_name, '
                   'email, is_staff, is_active, date_joined, first_name) VALUES (?,?,?,?,?,?,?,?,?,?,?)',
                   gen_users(rng, p['users']))
    cur.execute("INSERT INTO auth_group (id, name) VALUES (1, 'annotators')")
    perm_ids = [r[0] for r in cur.execute(
        "SELECT p.id FROM auth_permission p JOIN django_content_type c ON c.id = p.content_type_id "
        "WHERE c.app_label = 'classifier' AND p.codename LIKE 'view_%' ORDER BY p.id LIMIT 3")]
    cur.executemany('INSERT INTO auth_group_permissions (group_id, permission_id) VALUES (1, ?)',
                    [(pid,) for pid in perm_ids])
    cur.executemany('INSERT INTO auth_user_groups (user_id, group_id) VALUES (?, 1)', [(2,), (3,)])

    # labels beyond the three of the data migration
    cur.executemany('INSERT INTO classifier_label (name, color) VALUES (?, ?)',
                    [('mixed', '#f9a825'), ('sarcasm 🙃', '#6a1b9a')])
    label_ids = [r[0] for r in label_rows] + [r[0] for r in cur.execute(
        "SELECT id FROM classifier_label WHERE name IN ('mixed', 'sarcasm 🙃') ORDER BY id")]

    n_ds = p['datasets']
    batched_insert(cur, 'INSERT INTO classifier_dataset (id, name, description, created_at, is_public, '
                   'source_url) VALUES (?,?,?,?,?,?)', gen_datasets(rng, n_ds + 2))
    cur.execute('DELETE FROM classifier_dataset WHERE id > ?', (n_ds,))  # seq > max(id)
    cur.executemany('INSERT INTO classifier_dataset_maintainers (dataset_id, user_id) VALUES (?, ?)',
                    [(d, u) for d in range(1, n_ds + 1) for u in (1 + d % p['users'], 1 + (d + 1) % p['users'])])

    n_mv = p['mv']
    batched_insert(cur, 'INSERT INTO classifier_modelversion (id, uuid, name, params, metrics, '
                   'training_duration, accuracy, trained_at, weights_blob, is_active, parent_id) '
                   'VALUES (?,?,?,?,?,?,?,?,?,?,?)', gen_model_versions(rng, n_mv))
    cur.executemany('INSERT INTO classifier_modelversion_datasets (modelversion_id, dataset_id) VALUES (?, ?)',
                    [(m, d) for m in range(1, n_mv + 1) for d in sorted({1 + m % n_ds, 1 + (m * 7) % n_ds})])

    n_ex = p['examples']
    batched_insert(cur, 'INSERT INTO classifier_trainingexample (id, text, weight, added_on, reviewed_at, '
                   'token_count, annotator_ip, meta, dataset_id, label_id) VALUES (?,?,?,?,?,?,?,?,?,?)',
                   gen_examples(rng, n_ex, n_ds, label_ids, n_ex // 2))
    batched_insert(cur, 'INSERT INTO classifier_embedding (id, vector_json, vector_blob, dim, example_id) '
                   'VALUES (?,?,?,?,?)', gen_embeddings(rng, n_ex, args.dim))

    n_pred = p['predictions']
    batched_insert(cur, 'INSERT INTO classifier_prediction (id, input_text, score, confidence, latency_ms, '
                   'served_at, request_id, big_counter, small_rank, model_version_id, predicted_label_id, '
                   'example_id) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)',
                   gen_predictions(rng, n_pred + 3, n_mv, n_ex, label_ids, n_pred // 2))
    cur.execute('DELETE FROM classifier_prediction WHERE id > ?', (n_pred,))  # seq > max(id)

    batched_insert(cur, 'INSERT INTO classifier_feedback (id, correct, comment, created_at, review_time, '
                   'user_id, prediction_id) VALUES (?,?,?,?,?,?,?)',
                   gen_feedback(rng, p['feedback'], n_pred, p['users']))

    # a few admin log entries, as the admin would write them
    ct = dict(cur.execute("SELECT model, id FROM django_content_type WHERE app_label = 'classifier'"))
    cur.executemany('INSERT INTO django_admin_log (action_time, object_id, object_repr, change_message, '
                    'content_type_id, user_id, action_flag) VALUES (?,?,?,?,?,?,?)', [
                        (enc_datetime(rand_dt(rng)), '1', 'positive', '[{"added": {}}]', ct['label'], 1, 1),
                        (enc_datetime(rand_dt(rng)), '2', 'données-clients 🇫🇷',
                         '[{"changed": {"fields": ["Description"]}}]', ct['dataset'], 1, 2),
                        (enc_datetime(rand_dt(rng)), '5', 'sarcasm 🙃', '', ct['label'], 2, 3),
                        (enc_datetime(rand_dt(rng)), '1', 'Prediction object (1)', '[]', ct['prediction'], 1, 2),
                    ])

    bad = inject_bad(cur, rng, n_ds, n_ex, n_mv, n_pred) if args.bad else []
    cur.execute('COMMIT')

    if not args.bad:
        problems = cur.execute('PRAGMA foreign_key_check').fetchall()
        if problems:
            sys.exit('internal error: foreign key violations %r' % problems[:5])
    con.close()

    elapsed = time.time() - t0
    summary(db, args, elapsed, t_migrate, bad)


def inject_bad(cur, rng, n_ds, n_ex, n_mv, n_pred):
    """Insert the documented invalid values; return (table, id, column, description)."""
    out = []
    ds_id = n_ds + 100
    cur.execute('INSERT INTO classifier_dataset (id, name, description, created_at, is_public, source_url) '
                'VALUES (?,?,?,?,?,?)', (ds_id, 'too-long-' + 'x' * 141, 'name exceeds max_length=100',
                                         enc_datetime(BASE_TIME), 0, None))
    out.append(('classifier_dataset', ds_id, 'name', '150 characters in varchar(100)'))

    ex_base = example_id(n_ex) + 100
    good_meta = enc_json({'source': 'bad-row'})
    rows = [
        (ex_base + 0, 'NUL \x00 inside text', '2024-01-01', 1, good_meta, 'text', 'NUL byte in text'),
        (ex_base + 1, 'invalid json', '2024-01-01', 1, '{"broken": ', 'meta', 'invalid JSON'),
        (ex_base + 2, 'bad date', '2023-02-30', 1, good_meta, 'added_on', "unparsable date '2023-02-30'"),
        (ex_base + 3, 'text in integer', '2024-01-01', 'twelve', good_meta, 'token_count',
         "TEXT 'twelve' in integer column"),
    ]
    cur.execute('PRAGMA ignore_check_constraints = ON')
    for rid, text, added, tokens, meta, col, desc in rows:
        cur.execute('INSERT INTO classifier_trainingexample (id, text, weight, added_on, reviewed_at, token_count, '
                    'annotator_ip, meta, dataset_id, label_id) VALUES (?,?,?,?,?,?,?,?,?,?)',
                    (rid, text, 1.0, added, None, tokens, None, meta, 1, None))
        out.append(('classifier_trainingexample', rid, col, desc))
    cur.execute('PRAGMA ignore_check_constraints = OFF')

    pr_id = n_pred + 100
    cur.execute('INSERT INTO classifier_prediction (id, input_text, score, confidence, latency_ms, served_at, '
                'request_id, big_counter, small_rank, model_version_id, predicted_label_id, example_id) '
                'VALUES (?,?,?,?,?,?,?,?,?,?,?,?)',
                (pr_id, 'smallint overflow', 0.5, '0.5', 10, enc_datetime(BASE_TIME),
                 enc_uuid(rand_uuid(rng)), 0, 40000, 1, None, None))
    out.append(('classifier_prediction', pr_id, 'small_rank', '40000 out of smallint range'))

    mv_id = n_mv + 100
    cur.execute('INSERT INTO classifier_modelversion (id, uuid, name, params, metrics, training_duration, '
                'accuracy, trained_at, weights_blob, is_active, parent_id) VALUES (?,?,?,?,?,?,?,?,?,?,?)',
                (mv_id, enc_uuid(rand_uuid(rng)), 'bad-metrics', '{}', '{"note": "nul \\u0000 byte"}',
                 0, '0.5', enc_datetime(BASE_TIME), None, 0, None))
    out.append(('classifier_modelversion', mv_id, 'metrics', 'JSON \\u0000 escape (valid JSON, rejected by jsonb)'))
    return out


def all_tables(cur):
    return [r[0] for r in cur.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]


def summary(db, args, elapsed, t_migrate, bad):
    con = sqlite3.connect(db)
    cur = con.cursor()
    seq = dict(cur.execute('SELECT name, seq FROM sqlite_sequence'))
    total = 0
    print('%-40s %10s %10s %10s' % ('table', 'rows', 'max(id)', 'seq'))
    for t in all_tables(cur):
        n = cur.execute('SELECT count(*) FROM "%s"' % t).fetchone()[0]
        cols = [r[1] for r in cur.execute('PRAGMA table_info("%s")' % t)]
        mx = cur.execute('SELECT max(id) FROM "%s"' % t).fetchone()[0] if 'id' in cols else None
        s = seq.get(t)
        flag = '  <- seq > max(id)' if s is not None and mx is not None and s > mx else ''
        print('%-40s %10d %10s %10s%s' % (t, n, '' if mx is None else mx, '' if s is None else s, flag))
        total += n
    con.close()
    print('%-40s %10d' % ('TOTAL', total))
    print('file: %s (%.1f MB), seed %d, migrate %.1fs, total %.1fs'
          % (db, os.path.getsize(db) / 1e6, args.seed, t_migrate, elapsed))
    if bad:
        print('injected invalid values (--bad):')
        for t, rid, col, desc in bad:
            print('  %s id=%s %s: %s' % (t, rid, col, desc))


if __name__ == '__main__':
    main()
