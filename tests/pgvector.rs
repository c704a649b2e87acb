//! Embeddings become pgvector, on a real PostgreSQL with pgvector over TLS (the harness's
//! npm PostgreSQL 16 with the PyPI wheel's pgvector) and a real Django with
//! pgvector-python: a JSON list, a packed float32 blob and a TextField of JSON are found,
//! the project change is written, `migrate` makes `vector(384)` and `halfvec(1536)` columns
//! with HNSW indexes, the copy stores every value bit for bit as float4 (half for halfvec),
//! Django reads lists and orders by `CosineDistance`, the migration runs backwards and
//! forwards, `makemigrations --check` is clean, and a NaN row is a listed problem.

mod common;

use common::*;
use dj2pg::copy::embeddings::{self, Source};
use dj2pg::copy::vector::{BlobWidth, VecKind, f16_to_f32, f32_to_f16};
use dj2pg::django::pgvector::{self as pv, Change, Metric};
use dj2pg::pg::cluster::TempCluster;
use std::path::Path;
use std::process::Command;

const SETTINGS: &str = r#"import os
BASE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SECRET_KEY = 'test'
INSTALLED_APPS = ['ml']
USE_TZ = True
DEFAULT_AUTO_FIELD = 'django.db.models.BigAutoField'
if os.environ.get('DJ2PG_TEST_PGHOST'):
    DATABASES = {'default': {
        'ENGINE': 'django.db.backends.postgresql',
        'HOST': os.environ['DJ2PG_TEST_PGHOST'], 'PORT': os.environ['DJ2PG_TEST_PGPORT'],
        'NAME': os.environ['DJ2PG_TEST_PGDATABASE'], 'USER': os.environ['DJ2PG_TEST_PGUSER'],
        'PASSWORD': os.environ['DJ2PG_TEST_PGPASSWORD'],
        'OPTIONS': {'sslmode': os.environ['DJ2PG_TEST_PGSSLMODE']},
    }}
else:
    DATABASES = {'default': {'ENGINE': 'django.db.backends.sqlite3',
                             'NAME': os.path.join(BASE_DIR, 'db.sqlite3')}}
"#;

const MODELS: &str = r#"from django.db import models


class Embedding(models.Model):
    title = models.CharField(max_length=50)
    vector = models.JSONField(help_text='list of floats')
    blob = models.BinaryField(null=True)
    text = models.TextField(blank=True)
"#;

/// 40 rows: `vector` 384 float32 values written as numpy's tolist + json.dumps do (exact),
/// `blob` 1536 packed float32, `text` 384 values rounded to 6 digits (narrowed).
const FILL: &str = r#"import json, random, sqlite3, struct
random.seed(7)
db = sqlite3.connect('db.sqlite3')
f32 = lambda x: struct.unpack('<f', struct.pack('<f', x))[0]
for i in range(1, 41):
    v = [f32(random.gauss(0, 1)) for _ in range(384)]
    b = struct.pack('<1536f', *[random.gauss(0, 0.5) for _ in range(1536)])
    t = json.dumps([round(random.uniform(-1, 1), 6) for _ in range(384)])
    db.execute('INSERT INTO ml_embedding (id, title, vector, blob, text) VALUES (?, ?, ?, ?, ?)',
               (i, 'row %d' % i, json.dumps(v), None if i == 40 else b, t))
db.commit()
"#;

fn project() -> (tempfile::TempDir, std::path::PathBuf) {
    django_project(
        "vecproj",
        SETTINGS,
        &[
            ("ml/__init__.py", ""),
            ("ml/migrations/__init__.py", ""),
            ("ml/models.py", MODELS),
        ],
    )
}

fn ok(out: std::process::Output, what: &str) -> String {
    let text = output_text(&out);
    assert!(out.status.success(), "{what} failed:\n{text}");
    text
}

fn python(py: &Path, project: &Path, code: &str, env: &[(String, String)]) -> String {
    let mut cmd = Command::new(py);
    cmd.args(["-c", code])
        .current_dir(project)
        .envs(env.iter().cloned());
    ok(cmd.output().unwrap(), code)
}

fn env(c: &TempCluster) -> Vec<(String, String)> {
    pg_env(&c.app(), c.app_password())
}

fn vectors(c: &TempCluster, col: &str) -> Vec<(i64, Option<Vec<f32>>)> {
    rows(
        &c.app(),
        c.app_password(),
        &format!("SELECT id::text, {col}::text FROM ml_embedding ORDER BY ml_embedding.id"),
    )
    .into_iter()
    .map(|r| {
        let id = r[0].as_deref().unwrap().parse().unwrap();
        let v = r[1].as_deref().map(|s| {
            s.trim_matches(['[', ']'])
                .split(',')
                .map(|x| x.parse::<f32>().unwrap())
                .collect()
        });
        (id, v)
    })
    .collect()
}

#[test]
fn embeddings_become_pgvector_bit_for_bit_with_a_reversible_migration() {
    let py = django_venv();
    let (_tmp, p) = project();
    ok(
        manage_py(&py, &p, &["makemigrations", "ml"], &[]),
        "makemigrations",
    );
    ok(
        manage_py(&py, &p, &["migrate", "--noinput"], &[]),
        "migrate on SQLite",
    );
    python(&py, &p, FILL, &[]);
    let db = p.join("db.sqlite3");

    // Detection.
    let conn = rusqlite::Connection::open(&db).unwrap();
    let found = embeddings::detect(&conn).unwrap();
    let seen: Vec<_> = found
        .iter()
        .map(|f| (f.column.as_str(), f.source, f.dim, f.rows, f.nulls))
        .collect();
    assert_eq!(
        seen,
        [
            ("vector", Source::Json, 384, 40, 0),
            ("blob", Source::Blob(BlobWidth::F32), 1536, 40, 1),
            ("text", Source::Json, 384, 40, 0),
        ]
    );
    assert!(found[0].as_vector.exact && found[1].as_vector.exact);
    assert!(!found[2].as_vector.exact && found[2].as_vector.max_rel_err < 1e-6);
    assert!(!found[1].as_half.exact && found[1].as_half.max_cosine_drift < 1e-5);

    // The project change.
    let change = |field: &str, kind, dim, index, source| Change {
        app_label: "ml".into(),
        model: "Embedding".into(),
        field: field.into(),
        kind,
        dim,
        index,
        source,
    };
    let changes = [
        change(
            "vector",
            VecKind::Vector,
            384,
            Some(Metric::Cosine),
            Source::Json,
        ),
        change(
            "blob",
            VecKind::Half,
            1536,
            Some(Metric::Cosine),
            Source::Blob(BlobWidth::F32),
        ),
        change("text", VecKind::Vector, 384, None, Source::Json),
    ];
    let refs: Vec<&Change> = changes.iter().collect();
    for c in &refs {
        c.check().unwrap();
    }
    let models = p.join("ml/models.py");
    let edit = pv::rewrite_models(&std::fs::read_to_string(&models).unwrap(), &refs).unwrap();
    std::fs::write(&models, &edit.text).unwrap();
    let (name, leaf) = pv::next_migration(&p.join("ml/migrations")).unwrap();
    assert_eq!(
        (name.as_str(), leaf.as_deref()),
        ("0002_dj2pg_pgvector", Some("0001_initial"))
    );
    let migration = pv::migration("ml", leaf.as_deref(), &refs, &edit);
    std::fs::write(p.join(format!("ml/migrations/{name}.py")), migration).unwrap();
    let check = ok(
        manage_py(&py, &p, &["makemigrations", "--check", "--dry-run"], &[]),
        "makemigrations --check",
    );
    assert!(check.contains("No changes detected"), "{check}");
    // On SQLite the migration changes nothing in the database.
    ok(
        manage_py(&py, &p, &["migrate", "--noinput"], &[]),
        "migrate 0002 on SQLite",
    );

    // PostgreSQL: the provider's admin creates the extension (pgvector is not trusted) and
    // lets the app create tables (what Fix permissions does); the app runs migrate.
    let c = pgvector_cluster();
    let mut su = c.superuser();
    su.dbname = c.options().app_db.clone();
    exec(&su, c.superuser_password(), "CREATE EXTENSION vector");
    exec(
        &su,
        c.superuser_password(),
        "GRANT ALL ON SCHEMA public TO app",
    );
    ok(
        manage_py(&py, &p, &["migrate", "--noinput"], &env(&c)),
        "migrate on PostgreSQL",
    );
    let types = rows(
        &c.app(),
        c.app_password(),
        "SELECT attname::text, format_type(atttypid, atttypmod) FROM pg_attribute \
         WHERE attrelid = 'ml_embedding'::regclass AND attname IN ('vector', 'blob', 'text') \
         ORDER BY attname",
    );
    let types: Vec<_> = types
        .iter()
        .map(|r| (r[0].clone().unwrap(), r[1].clone().unwrap()))
        .collect();
    assert_eq!(
        types,
        [
            ("blob".into(), "halfvec(1536)".into()),
            ("text".into(), "vector(384)".into()),
            ("vector".into(), "vector(384)".into()),
        ]
    );
    let indexes = || {
        rows(
            &c.app(),
            c.app_password(),
            "SELECT indexdef FROM pg_indexes WHERE tablename = 'ml_embedding' \
             AND indexdef LIKE '%hnsw%' ORDER BY 1",
        )
    };
    assert_eq!(indexes().len(), 2, "{:?}", indexes());

    // The copy.
    let state = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_dj2pg"))
        .args([
            "copy",
            "--from",
            db.to_str().unwrap(),
            "--to",
            &c.app().display_url(),
        ])
        .env("PGPASSWORD", c.app_password().expose())
        .env("DJ2PG_STATE_DIR", state.path())
        .env_remove("DJ2PG_TARGET_URL")
        .output()
        .unwrap();
    let printed = ok(out, "dj2pg copy");
    assert!(printed.contains("verified"), "{printed}");
    assert_eq!(
        indexes().len(),
        2,
        "the HNSW indexes are back after the load"
    );

    // Bit for bit: pgvector prints float4 in its shortest form, which reads back exactly.
    let src: Vec<(i64, String, Option<Vec<u8>>, String)> = conn
        .prepare("SELECT id, vector, blob, text FROM ml_embedding ORDER BY id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let json_f32 = |s: &str| -> Vec<f32> {
        s.trim_matches(['[', ']'])
            .split(',')
            .map(|x| x.trim().parse::<f32>().unwrap())
            .collect()
    };
    let (pv_vec, pv_blob, pv_text) = (
        vectors(&c, "vector"),
        vectors(&c, "blob"),
        vectors(&c, "text"),
    );
    assert_eq!(pv_vec.len(), 40);
    for (i, (id, vector, blob, text)) in src.iter().enumerate() {
        assert_eq!(pv_vec[i].0, *id);
        let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
        assert_eq!(
            bits(pv_vec[i].1.as_ref().unwrap()),
            bits(&json_f32(vector)),
            "row {id}"
        );
        assert_eq!(
            bits(pv_text[i].1.as_ref().unwrap()),
            bits(&json_f32(text)),
            "row {id}"
        );
        match blob {
            None => assert!(pv_blob[i].1.is_none()),
            Some(b) => {
                let half: Vec<f32> = b
                    .chunks_exact(4)
                    .map(|c| f16_to_f32(f32_to_f16(f32::from_le_bytes(c.try_into().unwrap()))))
                    .collect();
                assert_eq!(
                    bits(pv_blob[i].1.as_ref().unwrap()),
                    bits(&half),
                    "row {id}"
                );
            }
        }
    }

    // Django reads lists and orders by CosineDistance (through the HNSW index's operator).
    let orm = python(
        &py,
        &p,
        "import django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'vecproj.settings'); \
         django.setup(); from ml.models import Embedding; \
         from pgvector.django import CosineDistance; \
         e = Embedding.objects.get(pk=7); \
         near = Embedding.objects.order_by(CosineDistance('vector', e.vector)).values_list('id', flat=True)[:3]; \
         print(type(e.vector).__name__, len(e.vector), list(near)[0])",
        &env(&c),
    );
    let words: Vec<&str> = orm.split_whitespace().collect();
    assert_eq!(words[1..], ["384", "7"], "{orm}");
    assert!(["list", "ndarray"].contains(&words[0]), "{orm}");

    // Backwards to the old types, values kept (as stored), then forwards again.
    ok(
        manage_py(&py, &p, &["migrate", "ml", "0001", "--noinput"], &env(&c)),
        "migrate backwards",
    );
    let back = rows(
        &c.app(),
        c.app_password(),
        "SELECT format_type(atttypid, atttypmod) FROM pg_attribute \
         WHERE attrelid = 'ml_embedding'::regclass AND attname IN ('vector', 'blob', 'text') \
         ORDER BY attname",
    );
    assert_eq!(
        back.iter()
            .map(|r| r[0].clone().unwrap())
            .collect::<Vec<_>>(),
        ["bytea", "text", "jsonb"]
    );
    assert!(indexes().is_empty());
    let first = scalar(
        &c.app(),
        c.app_password(),
        "SELECT (vector->>0)::float4 = ($$%s$$::text)::float4 FROM ml_embedding WHERE id = 1"
            .replace("%s", &json_f32(&src[0].1)[0].to_string())
            .as_str(),
    );
    assert_eq!(first.as_deref(), Some("t"));
    let blob_len = scalar(
        &c.app(),
        c.app_password(),
        "SELECT length(blob) FROM ml_embedding WHERE id = 1",
    );
    assert_eq!(
        blob_len.as_deref(),
        Some("6144"),
        "1536 packed float32 again"
    );
    ok(
        manage_py(&py, &p, &["migrate", "ml", "--noinput"], &env(&c)),
        "migrate forwards again",
    );
    assert_eq!(vectors(&c, "vector")[0].1, pv_vec[0].1);
    assert_eq!(vectors(&c, "blob")[0].1, pv_blob[0].1);

    // A NaN row is a listed problem, found before anything is written.
    drop(conn);
    let rw = rusqlite::Connection::open(&db).unwrap();
    // In a TextField: SQLite's CHECK (JSON_VALID) keeps NaN out of a JSONField.
    let nan = format!("[NaN, {}", src[0].3.split_once(", ").unwrap().1);
    rw.execute("UPDATE ml_embedding SET text = ?1 WHERE id = 5", [&nan])
        .unwrap();
    let found = embeddings::detect(&rw).unwrap();
    let p0 = &found[2].problems;
    assert_eq!(p0.len(), 1, "{p0:?}");
    assert_eq!(
        (
            p0[0].table.as_str(),
            p0[0].pk.as_str(),
            p0[0].column.as_str(),
            p0[0].issue.as_str()
        ),
        (
            "ml_embedding",
            "5",
            "text",
            "element 0 is NaN or infinite, which a vector cannot hold"
        )
    );
    let out = Command::new(env!("CARGO_BIN_EXE_dj2pg"))
        .args([
            "copy",
            "--from",
            db.to_str().unwrap(),
            "--to",
            &c.app().display_url(),
        ])
        .env("PGPASSWORD", c.app_password().expose())
        .env("DJ2PG_STATE_DIR", state.path())
        .output()
        .unwrap();
    let printed = output_text(&out);
    assert!(!out.status.success(), "{printed}");
    assert!(
        printed.contains("ml_embedding pk=5 text: element 0 is NaN or infinite"),
        "{printed}"
    );
}

fn dj2pg(state: &Path, args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_dj2pg"));
    cmd.args(args)
        .env("DJ2PG_STATE_DIR", state)
        .env_remove("PGPASSWORD")
        .env_remove("DJ2PG_TARGET_URL")
        .env_remove("DJ2PG_ADMIN_URL");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run dj2pg")
}

fn events(out: &std::process::Output) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

fn said(ev: &[serde_json::Value], event: &str) -> Vec<String> {
    ev.iter()
        .filter(|e| e["event"] == event)
        .map(|e| e["message"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// `dj2pg migrate --embeddings=vector --embeddings=classifier.Embedding.vector_blob=halfvec`
/// on the sample project: the change is previewed and written before Create schema, the
/// copy fills vector(12)/halfvec(12) columns and verifies them, and restore undoes it.
#[test]
fn migrate_with_embeddings_turns_the_sample_project_to_pgvector_and_restore_undoes_it() {
    let py = django_venv();
    let c = pgvector_cluster();
    let mut su = c.superuser();
    su.dbname = c.options().app_db.clone();
    // What the provider's admin does (doadmin can on DigitalOcean; the test's cannot).
    exec(&su, c.superuser_password(), "CREATE EXTENSION vector");
    let (tmp, project) = sample_project(600);
    // App code that reads the old field: listed as a reader to change.
    std::fs::write(
        project.join("classifier/search.py"),
        "import json\n\n\ndef vector_of(e):\n    return json.loads(e.vector_json)\n",
    )
    .unwrap();
    let before = tree_hashes(&project, &[".dj2pg", "__pycache__"]);
    let p = project.to_str().unwrap();
    let out = dj2pg(
        &tmp.path().join("state"),
        &[
            "migrate",
            "--project",
            p,
            "--python",
            py.to_str().unwrap(),
            "--allow-dirty",
            "--to",
            &c.app().display_url(),
            "--admin-url",
            &c.admin().display_url(),
            "--yes",
            "--json",
            "--reset-migrations",
            "all",
            "--embeddings=vector",
            "--embeddings=classifier.Embedding.vector_blob=halfvec",
            "--embeddings-index=hnsw-l2",
        ],
        &[
            ("PGPASSWORD", c.app_password().expose()),
            ("DJ2PG_ADMIN_PASSWORD", c.admin_password().expose()),
        ],
    );
    let ev = events(&out);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{ev:#?}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let found = said(&ev, "embeddings");
    assert!(
        found
            .iter()
            .any(|l| l.contains("classifier_embedding.vector_json:")
                && l.contains("12-dimension JSON lists of numbers")),
        "{found:#?}"
    );
    assert!(
        found.iter().any(|l| l.contains("packed float32 blobs")),
        "{found:#?}"
    );
    let preview = said(&ev, "preview").join("\n");
    assert!(
        preview
            .contains("+    vector_json = VectorField(dimensions=12, help_text='list of floats')"),
        "{preview}"
    );
    assert!(
        preview.contains("+from pgvector.django import HalfVectorField, VectorField"),
        "{preview}"
    );
    assert!(
        said(&ev, "proof")
            .iter()
            .any(|l| l.contains("L2Distance('vector_json', query_vector)")),
        "{ev:#?}"
    );
    assert!(
        said(&ev, "reader")
            .iter()
            .any(|l| l == "classifier/search.py:5: return json.loads(e.vector_json)"),
        "{ev:#?}"
    );
    let types = rows(
        &c.app(),
        c.app_password(),
        "SELECT attname::text, format_type(atttypid, atttypmod) FROM pg_attribute \
         WHERE attrelid = 'classifier_embedding'::regclass AND attname LIKE 'vector_%' ORDER BY 1",
    );
    assert_eq!(
        types,
        [
            [
                Some("vector_blob".to_string()),
                Some("halfvec(12)".to_string())
            ],
            [
                Some("vector_json".to_string()),
                Some("vector(12)".to_string())
            ],
        ]
    );
    let hnsw = scalar(
        &c.app(),
        c.app_password(),
        "SELECT count(*)::text FROM pg_indexes WHERE tablename = 'classifier_embedding' AND indexdef LIKE '%hnsw%_l2_ops%'",
    );
    assert_eq!(hnsw.as_deref(), Some("2"));
    let counts = sqlite_counts(&project.join("db.sqlite3"));
    let n = counts
        .iter()
        .find(|(t, _)| t == "classifier_embedding")
        .unwrap()
        .1;
    assert_eq!(
        scalar(
            &c.app(),
            c.app_password(),
            "SELECT count(vector_json)::text FROM classifier_embedding"
        )
        .as_deref(),
        Some(n.to_string().as_str())
    );
    let md = said(&ev, "report")
        .into_iter()
        .find(|r| r.ends_with("embeddings.md"))
        .map(|r| std::fs::read_to_string(r).unwrap())
        .unwrap_or_else(|| panic!("no embeddings.md: {ev:#?}"));
    for want in [
        "| classifier.Embedding.vector_blob | packed float32 blobs | ",
        "| `halfvec(12)` | HNSW `halfvec_l2_ops` | narrowed: max abs error",
        "| `vector(12)` | HNSW `vector_l2_ops` | narrowed: max abs error",
        "Embedding.objects.order_by(L2Distance('vector_json', query_vector))[:5]",
        "- `classifier/search.py:5: return json.loads(e.vector_json)`",
    ] {
        assert!(md.contains(want), "{want}\n{md}");
    }
    // Restore gives every file back (models.py, requirements, the migration moved out).
    let report = ev
        .iter()
        .find(|e| e["step"] == "done" && e["event"] == "report")
        .and_then(|e| e["message"].as_str())
        .unwrap_or_else(|| panic!("no report: {ev:#?}"));
    let backup = Path::new(report).parent().unwrap();
    let out = dj2pg(
        &tmp.path().join("state"),
        &[
            "restore",
            "--project",
            p,
            "--backup",
            backup.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let skip = [".dj2pg", "__pycache__", ".gitignore"];
    let mut before = before;
    before.remove(".gitignore");
    assert_eq!(
        tree_hashes(&project, &skip),
        before,
        "restore gives back every file"
    );
}

/// Without the extension and without an admin, Fix permissions stops the run — before
/// anything is written — with the extension listed as missing, who may create it, and the
/// SQL saved for a DBA (CREATE EXTENSION first). The same command with an admin that may
/// create it (here a superuser) goes on: the recipe creates the extension, its re-check
/// finds it, and the columns become pgvector columns.
#[test]
fn migrate_with_embeddings_plans_the_extension_in_fix_permissions() {
    let py = django_venv();
    let c = pgvector_cluster();
    let mut su = c.superuser();
    su.dbname = c.options().app_db.clone();
    let (tmp, project) = sample_project(200);
    let state = tmp.path().join("state");
    let to = c.app().display_url();
    let mut args = vec![
        "migrate",
        "--project",
        project.to_str().unwrap(),
        "--python",
        py.to_str().unwrap(),
        "--allow-dirty",
        "--to",
        &to,
        "--yes",
        "--json",
        "--embeddings=vector",
    ];
    let app_env = [("PGPASSWORD", c.app_password().expose())];
    let out = dj2pg(&state, &args, &app_env);
    let ev = events(&out);
    assert_ne!(out.status.code(), Some(0), "{ev:#?}");
    let stopped_at: Vec<_> = ev
        .iter()
        .filter(|e| e["event"] == "stopped")
        .map(|e| e["step"].as_str().unwrap_or_default())
        .collect();
    assert!(
        !stopped_at.is_empty() && stopped_at.iter().all(|s| *s == "fix-permissions"),
        "{ev:#?}"
    );
    let missing = said(&ev, "missing");
    assert_eq!(
        missing
            .iter()
            .filter(|l| l.starts_with("extension vector"))
            .count(),
        1,
        "said once: {missing:#?}"
    );
    let missing = missing.join("\n");
    assert!(
        missing.contains("extension vector in database appdb: missing")
            && missing.contains("CREATE EXTENSION IF NOT EXISTS vector")
            && missing.contains("a superuser (or the provider's admin) creates it"),
        "{ev:#?}"
    );
    let sql = said(&ev, "sql");
    assert_eq!(
        sql.iter()
            .find(|l| l.starts_with("CREATE EXTENSION"))
            .map(String::as_str),
        Some("CREATE EXTENSION IF NOT EXISTS vector;"),
        "{sql:#?}"
    );
    let models = std::fs::read_to_string(project.join("classifier/models.py")).unwrap();
    assert!(
        !models.contains("VectorField"),
        "nothing written before the extension is there"
    );

    // The same command with an admin that may create it: on to the end.
    let admin = su.display_url();
    args.extend(["--admin-url", &admin]);
    let out = dj2pg(
        &state,
        &args,
        &[
            ("PGPASSWORD", c.app_password().expose()),
            ("DJ2PG_ADMIN_PASSWORD", c.superuser_password().expose()),
        ],
    );
    let ev = events(&out);
    assert_eq!(out.status.code(), Some(0), "{ev:#?}");
    let fix: Vec<_> = ev
        .iter()
        .filter(|e| e["step"] == "fix-permissions" && e["event"] == "done")
        .map(|e| e["message"].as_str().unwrap_or_default())
        .collect();
    assert!(
        fix.iter().any(|m| m.contains("effective")),
        "the recipe ran and its re-check passed: {ev:#?}"
    );
    assert_eq!(
        scalar(
            &c.app(),
            c.app_password(),
            "SELECT format_type(atttypid, atttypmod) FROM pg_attribute \
             WHERE attrelid = 'classifier_embedding'::regclass AND attname = 'vector_json'"
        )
        .as_deref(),
        Some("vector(12)")
    );
}

/// A per-field `--embeddings` for a field that holds no embeddings (a typo) stops the run
/// at the end of the dry run naming the flag and the fields that do, before Connect and
/// before anything is written; it is never silently ignored.
#[test]
fn an_embeddings_flag_for_a_field_without_embeddings_is_named() {
    let py = django_venv();
    let (tmp, project) = sample_project(100);
    let out = dj2pg(
        &tmp.path().join("state"),
        &[
            "migrate",
            "--project",
            project.to_str().unwrap(),
            "--python",
            py.to_str().unwrap(),
            "--allow-dirty",
            "--to",
            "postgresql://app@127.0.0.1:9/appdb?sslmode=require",
            "--yes",
            "--json",
            "--embeddings=classifier.Embedding.vectr_json=halfvec",
        ],
        &[("PGPASSWORD", "unused")],
    );
    let ev = events(&out);
    assert_eq!(out.status.code(), Some(1), "{ev:#?}");
    let failed: Vec<_> = ev.iter().filter(|e| e["event"] == "failed").collect();
    assert_eq!(failed.len(), 1, "{ev:#?}");
    assert_eq!(failed[0]["step"], "dry-run");
    let text = failed[0]["message"].as_str().unwrap_or_default();
    assert!(
        text.starts_with("--embeddings=classifier.Embedding.vectr_json=")
            && text.contains("classifier.Embedding.vector_json, classifier.Embedding.vector_blob"),
        "{text}"
    );
    assert!(
        !ev.iter().any(|e| e["step"] == "connect"),
        "stops before Connect: {ev:#?}"
    );
    let models = std::fs::read_to_string(project.join("classifier/models.py")).unwrap();
    assert!(!models.contains("VectorField"));
}
