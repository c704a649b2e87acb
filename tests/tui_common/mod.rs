//! What both screen-snapshot files build on: drawing a run into an 80x24 `TestBackend`
//! as text, and runs at the first steps (fresh, discovered, connected) of a sample project.
//! Use it with `mod tui_common;`.

#![allow(dead_code)]

use dj2pg::django::{AppInfo, DatabaseInfo, Discovery, Method, SqliteSummary};
use dj2pg::pg::ServerInfo;
use dj2pg::state::{Migration, RunOptions, Status, Step};
use dj2pg::tui::{UiState, draw};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

/// The project path every snapshot shows.
pub const PROJECT: &str = "/home/ana/sentiment-api";

pub fn screen(m: &Migration, ui: &UiState, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("test terminal");
    terminal.draw(|f| draw(f, m, ui)).expect("draw");
    let buffer = terminal.backend().buffer();
    let mut out = String::new();
    for y in 0..height {
        let mut line = String::new();
        for x in 0..width {
            line.push_str(buffer[(x, y)].symbol());
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

pub fn snap(m: &Migration, ui: &UiState) -> String {
    screen(m, ui, 80, 24)
}

pub fn fresh() -> Migration {
    Migration::new(RunOptions {
        project: PROJECT.into(),
        python: None,
        jobs: 2,
        rejects_dir: None,
        bulk_min_rows: None,
        ..RunOptions::default()
    })
}

pub fn app(label: &str, local: bool, migrations: &[&str], data: &[&str]) -> AppInfo {
    AppInfo {
        label: label.into(),
        name: label.into(),
        path: Some(format!("{PROJECT}/{label}").into()),
        local,
        migrations_dir: local.then(|| format!("{PROJECT}/{label}/migrations").into()),
        migration_files: migrations.iter().map(|s| s.to_string()).collect(),
        data_migrations: data.iter().map(|s| s.to_string()).collect(),
        models: Vec::new(),
    }
}

pub fn discovery() -> Discovery {
    let mut apps = vec![
        app(
            "reviews",
            true,
            &[
                "0001_initial.py",
                "0002_review_score.py",
                "0003_seed_labels.py",
                "0004_review_lang.py",
            ],
            &["0003_seed_labels.py"],
        ),
        app(
            "ml_models",
            true,
            &["0001_initial.py", "0002_modelversion_metrics.py"],
            &[],
        ),
        app(
            "predictions",
            true,
            &[
                "0001_initial.py",
                "0002_prediction_latency.py",
                "0003_feedback.py",
            ],
            &[],
        ),
    ];
    for label in [
        "admin",
        "auth",
        "contenttypes",
        "sessions",
        "messages",
        "staticfiles",
        "rest_framework",
    ] {
        apps.push(app(label, false, &[], &[]));
    }
    Discovery {
        project_dir: PROJECT.into(),
        manage_py: format!("{PROJECT}/manage.py").into(),
        python: Some(format!("{PROJECT}/.venv/bin/python").into()),
        python_source: ".venv".into(),
        method: Method::Introspected,
        django_version: Some("5.1.4".into()),
        settings_module: Some("sentiment.settings".into()),
        database: DatabaseInfo {
            engine: "django.db.backends.sqlite3".into(),
            name: Some(format!("{PROJECT}/db.sqlite3").into()),
        },
        use_tz: Some(true),
        time_zone: Some("UTC".into()),
        postgres_driver: None,
        apps,
        sqlite: Some(SqliteSummary {
            path: format!("{PROJECT}/db.sqlite3").into(),
            size_bytes: 13_002_752,
            tables: vec![
                ("auth_user".into(), 3),
                ("django_content_type".into(), 18),
                ("django_migrations".into(), 31),
                ("ml_models_modelversion".into(), 7),
                ("predictions_prediction".into(), 182_304),
                ("reviews_review".into(), 20_117),
            ],
        }),
        warnings: vec![
            "reviews/migrations/0003_seed_labels.py runs RunPython: makemigrations will not \
             regenerate it; it stays in the backup archive."
                .into(),
        ],
    }
}

pub fn discovered() -> Migration {
    let mut m = fresh();
    let d = discovery();
    m.step_mut(Step::Discover).status = Status::Done {
        summary: d.summary_line(),
    };
    m.discovery = Some(d);
    m
}

pub fn connected() -> Migration {
    let mut m = discovered();
    let (config, _) = dj2pg::pg::ConnConfig::from_url("postgresql://sentiment@db-postgresql-fra1-41207.b.db.ondigitalocean.com:25060/sentiment?sslmode=require").expect("url");
    m.connect.target = Some(config);
    let info = ServerInfo {
        version: "16.4".into(),
        version_num: 160004,
        tls: true,
        user: "sentiment".into(),
        database: "sentiment".into(),
        database_owner: "doadmin".into(),
        is_superuser: false,
        schema_usage: true,
        schema_create: false,
        tables: Vec::new(),
        provider: None,
        timeouts: Vec::new(),
    };
    m.step_mut(Step::Connect).status = Status::Done {
        summary: info.summary_line(),
    };
    m.connect.server = Some(info);
    m
}
