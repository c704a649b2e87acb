//! Embeddings in the model layouts real projects use, through real Django discovery: a
//! models package (`models/__init__.py` importing `models/embedding.py`) is changed in the
//! module that defines the class, the migration runs and `makemigrations --check` is clean;
//! a field inherited from an abstract model is offered "keep" only and refused by the plan,
//! naming the class and file to change by hand; a model's own method that reads the field
//! is listed as a reader.

mod common;

use common::*;
use dj2pg::copy::embeddings;
use dj2pg::django::pgvector_plan::{self as plan, Choice};
use std::path::Path;

const SETTINGS: &str = r#"import os
BASE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SECRET_KEY = 'test'
INSTALLED_APPS = ['ml']
USE_TZ = True
DEFAULT_AUTO_FIELD = 'django.db.models.BigAutoField'
DATABASES = {'default': {'ENGINE': 'django.db.backends.sqlite3',
                         'NAME': os.path.join(BASE_DIR, 'db.sqlite3')}}
"#;

const BASE: &str = r#"from django.db import models


class Embedded(models.Model):
    shared = models.JSONField(null=True)

    class Meta:
        abstract = True
"#;

const EMBEDDING: &str = r#"import json

from django.db import models

from .base import Embedded


class Document(models.Model):
    title = models.CharField(max_length=50)


class Chunk(Embedded):
    document = models.ForeignKey(Document, on_delete=models.CASCADE)
    vector = models.JSONField(
        help_text='list of floats',
    )

    def norm(self):
        return sum(x * x for x in json.loads(self.vector)) ** 0.5


class Passage(Embedded):
    shared = models.JSONField(null=True, help_text='its own')
"#;

/// App code elsewhere that reads the old field by assignment.
const VIEWS: &str = "def first(chunk):\n    vector = chunk.vector\n    return vector[0]\n";

const FILL: &str = r#"import json, random, sqlite3
random.seed(3)
db = sqlite3.connect('db.sqlite3')
db.execute("INSERT INTO ml_document (id, title) VALUES (1, 'doc')")
for i in range(1, 21):
    v = json.dumps([random.uniform(-1, 1) for _ in range(8)])
    db.execute('INSERT INTO ml_chunk (id, document_id, vector, shared) VALUES (?, 1, ?, ?)', (i, v, v))
    db.execute('INSERT INTO ml_passage (id, shared) VALUES (?, ?)', (i, v))
db.commit()
"#;

fn ok(out: std::process::Output, what: &str) -> String {
    let text = output_text(&out);
    assert!(out.status.success(), "{what} failed:\n{text}");
    text
}

/// The project, migrated and filled on SQLite.
fn project(py: &Path) -> (tempfile::TempDir, std::path::PathBuf) {
    let (tmp, p) = django_project(
        "pkgproj",
        SETTINGS,
        &[
            ("ml/__init__.py", ""),
            ("ml/migrations/__init__.py", ""),
            (
                "ml/models/__init__.py",
                "from .embedding import Chunk, Document, Passage  # noqa: F401\n",
            ),
            ("ml/models/base.py", BASE),
            ("ml/models/embedding.py", EMBEDDING),
            ("ml/views.py", VIEWS),
        ],
    );
    ok(
        manage_py(py, &p, &["makemigrations", "ml"], &[]),
        "makemigrations",
    );
    ok(manage_py(py, &p, &["migrate", "--noinput"], &[]), "migrate");
    let out = std::process::Command::new(py)
        .args(["-c", FILL])
        .current_dir(&p)
        .output()
        .unwrap();
    ok(out, "fill");
    (tmp, p)
}

#[test]
fn a_models_package_is_changed_where_the_class_lives_and_an_abstract_field_is_named() {
    let py = django_venv();
    let (_tmp, p) = project(&py);
    let d = dj2pg::django::discover(&p, Some(&py)).expect("discovery");
    let conn = rusqlite::Connection::open(p.join("db.sqlite3")).unwrap();
    let found = embeddings::detect(&conn).unwrap();
    let mut columns: Vec<_> = found
        .iter()
        .map(|e| (e.table.as_str(), e.column.as_str(), e.dim))
        .collect();
    columns.sort();
    assert_eq!(
        columns,
        [
            ("ml_chunk", "shared", 8),
            ("ml_chunk", "vector", 8),
            ("ml_passage", "shared", 8)
        ]
    );

    // The field the abstract model declares: refused, naming the class and its file.
    let choice = |v: &[&str]| {
        let v: Vec<String> = v.iter().map(|s| s.to_string()).collect();
        Choice::parse(&v, None).unwrap()
    };
    let e = plan::plan(&d, &found, &choice(&["ml.Chunk.shared=vector"]))
        .expect_err("an inherited field is not changed");
    let msg = format!("{e:#}");
    assert!(
        msg.contains("ml.Chunk.shared")
            && msg.contains("abstract model Embedded")
            && msg.contains("ml/models/base.py"),
        "{msg}"
    );

    // The wizard's choice screen (and the headless default) offers it keep only, and says why.
    let cols = dj2pg::embeddings::columns::columns(&d, &found);
    let shared = cols.iter().find(|c| c.field == "ml.Chunk.shared").unwrap();
    let why = shared.keep_only.as_deref().unwrap_or_default();
    assert!(
        why.contains("abstract model Embedded (ml/models/base.py)"),
        "{why}"
    );
    let own = cols.iter().find(|c| c.field == "ml.Chunk.vector").unwrap();
    assert_eq!(own.keep_only, None);
    // A model that overrides the inherited field declares it itself: it may change.
    let overridden = cols
        .iter()
        .find(|c| c.field == "ml.Passage.shared")
        .unwrap();
    assert_eq!(overridden.keep_only, None);

    // The package's own field: the module that defines Chunk changes, nothing else in it.
    let change = plan::plan(&d, &found, &choice(&["ml.Chunk.vector=vector"])).expect("plan");
    let files: Vec<String> = change
        .files
        .iter()
        .map(|f| f.path.strip_prefix(&p).unwrap().display().to_string())
        .collect();
    assert_eq!(
        files,
        [
            "ml/models/embedding.py",
            "ml/migrations/0002_dj2pg_pgvector.py"
        ],
        "{}",
        change.diff(&p)
    );
    let models = &change.files[0].new;
    assert!(
        models.contains("vector = VectorField(dimensions=8, help_text='list of floats')")
            && models.contains("from pgvector.django import VectorField"),
        "{models}"
    );
    assert!(
        change
            .readers
            .iter()
            .any(|r| r.starts_with("ml/models/embedding.py:") && r.contains("self.vector")),
        "a model's own method reads the old JSON: {:?}",
        change.readers
    );
    assert!(
        change
            .readers
            .iter()
            .any(|r| r == "ml/views.py:2: vector = chunk.vector"),
        "an assignment from the field is a reader: {:?}",
        change.readers
    );
    assert!(
        !change
            .readers
            .iter()
            .any(|r| r.contains("vector = models.JSONField")),
        "the definition is not a reader: {:?}",
        change.readers
    );

    // Written after a real Backup step (no reset): Django agrees with the migration, and it
    // runs (nothing on SQLite).
    let report = dj2pg::backup::run_backup(
        dj2pg::backup::backup_request(&d, None),
        &mut |_| {},
        std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false)),
    )
    .expect("backup");
    assert!(report.verified(), "{report:#?}");
    let backup = report.backup_dir.clone();
    plan::apply(&change, &p, &backup).expect("apply");
    let check = ok(
        manage_py(&py, &p, &["makemigrations", "--check", "--dry-run"], &[]),
        "makemigrations --check",
    );
    assert!(check.contains("No changes detected"), "{check}");
    ok(
        manage_py(&py, &p, &["migrate", "--noinput"], &[]),
        "migrate 0002 on SQLite",
    );
    assert_eq!(
        std::fs::read_to_string(p.join("ml/models/base.py")).unwrap(),
        BASE,
        "the abstract model's file is untouched"
    );

    // `dj2pg restore` undoes it, the migration dj2pg wrote included (no reset was made):
    // the models are as they were and Django sees nothing to migrate.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_dj2pg"))
        .args(["restore", "--project"])
        .arg(&p)
        .arg("--backup")
        .arg(&backup)
        .output()
        .unwrap();
    let said = ok(out, "dj2pg restore");
    assert_eq!(
        std::fs::read_to_string(p.join("ml/models/embedding.py")).unwrap(),
        EMBEDDING,
        "{said}"
    );
    assert!(
        !p.join("ml/migrations/0002_dj2pg_pgvector.py").exists(),
        "the pgvector migration is moved out: {said}"
    );
    let check = ok(
        manage_py(&py, &p, &["makemigrations", "--check", "--dry-run"], &[]),
        "makemigrations --check after restore",
    );
    assert!(check.contains("No changes detected"), "{check}");
}
