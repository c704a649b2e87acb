//! Screen snapshots of the terminal wizard at 80x24 (ratatui's `TestBackend` + insta).
//!
//! Each test builds a run in a given state, draws it with the same pure `draw` the real
//! terminal uses, and compares the text of the screen. Paths are fixed strings, so no
//! temporary path needs scrubbing.

use dj2pg::copy::{
    CopyProgress, CopyReport, PreflightReport, Problem, TableCheck, TablePhase, TableProgress,
};
use dj2pg::django::{AppInfo, DatabaseInfo, Discovery, Method, SqliteSummary};
use dj2pg::pg::ServerInfo;
use dj2pg::state::{self, JobEvent, Migration, Msg, ResumeOffer, RunOptions, Status, Step};
use dj2pg::tui::{ConnectForm, Overlay, UiState, draw};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const PROJECT: &str = "/home/ana/sentiment-api";
const DO_URL: &str = "postgresql://doadmin:AVNS_x7Gq2pLk9@db-postgresql-fra1-41207-do-user-1.b.db.ondigitalocean.com:25060/defaultdb?sslmode=require";

fn screen(m: &Migration, ui: &UiState, width: u16, height: u16) -> String {
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

fn snap(m: &Migration, ui: &UiState) -> String {
    screen(m, ui, 80, 24)
}

fn fresh() -> Migration {
    Migration::new(RunOptions {
        project: PROJECT.into(),
        python: None,
        jobs: 2,
        rejects_dir: None,
        bulk_min_rows: None,
    })
}

fn app(label: &str, local: bool, migrations: &[&str], data: &[&str]) -> AppInfo {
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

fn discovery() -> Discovery {
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

fn discovered() -> Migration {
    let mut m = fresh();
    let d = discovery();
    m.step_mut(Step::Discover).status = Status::Done {
        summary: d.summary_line(),
    };
    m.discovery = Some(d);
    m
}

fn connected() -> Migration {
    let mut m = discovered();
    let (config, _) = dj2pg::pg::ConnConfig::from_url("postgresql://sentiment@db-postgresql-fra1-41207.b.db.ondigitalocean.com:25060/sentiment?sslmode=require").expect("url");
    m.target = Some(config);
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
    };
    m.step_mut(Step::Connect).status = Status::Done {
        summary: info.summary_line(),
    };
    m.server = Some(info);
    m
}

#[test]
fn discover_fresh() {
    insta::assert_snapshot!(snap(&fresh(), &UiState::default()));
}

#[test]
fn discover_done() {
    insta::assert_snapshot!(snap(&discovered(), &UiState::default()));
}

#[test]
fn discover_failed() {
    let mut m = fresh();
    m.step_mut(Step::Discover).status = Status::Failed {
        message: "no manage.py in /home/ana/sentiment-api or the folders below it (3 levels): \
                  run dj2pg from the project directory or pass --project DIR"
            .into(),
    };
    m.step_mut(Step::Discover).attempts = 1;
    insta::assert_snapshot!(snap(&m, &UiState::default()));
}

#[test]
fn connect_form_masks_the_password() {
    let mut m = discovered();
    m.cursor = Step::Connect;
    let mut ui = UiState::default();
    ui.connect = ConnectForm::new(Some(DO_URL), None);
    let text = snap(&m, &ui);
    assert!(
        !text.contains("AVNS_x7Gq2pLk9"),
        "the password is on screen:\n{text}"
    );
    assert!(
        !text.contains("AVNS"),
        "part of the password is on screen:\n{text}"
    );
    assert!(
        text.contains("•••••"),
        "the password field shows its mask:\n{text}"
    );
    insta::assert_snapshot!(text);
}

#[test]
fn connect_failed_points_at_the_password() {
    let mut m = discovered();
    m.cursor = Step::Connect;
    m.step_mut(Step::Connect).status = Status::Failed {
        message: "the server refused the password of user \"doadmin\" (check the password field)"
            .into(),
    };
    m.connect_field = Some(dj2pg::pg::Field::Password);
    let mut ui = UiState::default();
    ui.connect = ConnectForm::new(Some(DO_URL), None);
    ui.connect.active = false;
    let text = snap(&m, &ui);
    assert!(!text.contains("AVNS"));
    insta::assert_snapshot!(text);
}

#[test]
fn connect_done_shows_the_server() {
    let mut m = connected();
    m.cursor = Step::Connect;
    insta::assert_snapshot!(snap(&m, &UiState::default()));
}

fn table(name: &str, done: u64, total: u64, phase: TablePhase) -> TableProgress {
    TableProgress {
        table: name.into(),
        rows_done: done,
        rows_total: total,
        phase,
    }
}

#[test]
fn copy_rows_in_progress() {
    let mut m = connected();
    m.cursor = Step::CopyRows;
    m.job = Some((6, Step::CopyRows));
    let p = CopyProgress {
        tables: vec![
            table("auth_user", 3, 3, TablePhase::Verified),
            table("django_content_type", 18, 18, TablePhase::Verified),
            table("ml_models_modelversion", 7, 7, TablePhase::Loaded),
            table("reviews_review", 20_117, 20_117, TablePhase::Loaded),
            table(
                "predictions_prediction",
                61_000,
                182_304,
                TablePhase::Loading,
            ),
            table("django_session", 0, 12, TablePhase::Waiting),
        ],
        elapsed_ms: 2_400,
        rows_per_sec: 33_812.4,
        stage: "loading".into(),
    };
    m.step_mut(Step::CopyRows).status = Status::Running {
        detail: p.line(),
        fraction: Some(p.fraction()),
    };
    m.copy = Some(p);
    insta::assert_snapshot!(snap(&m, &UiState::default()));
}

#[test]
fn copy_rows_preflight_problems_ask_what_to_do() {
    let mut m = connected();
    m.cursor = Step::CopyRows;
    m.job = Some((5, Step::CopyRows));
    m.step_mut(Step::CopyRows).status = Status::Running {
        detail: "starting".into(),
        fraction: None,
    };
    let problem = |table: &str, pk: &str, column: &str, issue: &str, excerpt: &str| Problem {
        table: table.into(),
        pk: pk.into(),
        column: column.into(),
        issue: issue.into(),
        excerpt: excerpt.into(),
        fix: None,
    };
    let report = PreflightReport {
        problems: vec![
            problem(
                "reviews_review",
                "4711",
                "title",
                "longer than varchar(120)",
                "\"Absolutely loved it, the battery lasts…\"",
            ),
            problem("reviews_review", "9120", "body", "NUL byte", "\"great\\0\""),
            problem(
                "predictions_pre",
                "88",
                "payload",
                "invalid JSON",
                "{'label': 'pos'",
            ),
        ],
        notes: vec![
            "predictions_prediction.search is GENERATED on PostgreSQL: left out of COPY.".into(),
        ],
        ..PreflightReport::default()
    };
    state::update(&mut m, Msg::Job(5, JobEvent::Preflight(Box::new(report))));
    assert!(matches!(
        m.status(Step::CopyRows),
        Status::NeedsDecision { .. }
    ));
    insta::assert_snapshot!(snap(&m, &UiState::default()));
}

#[test]
fn copy_rows_verified() {
    let mut m = connected();
    m.cursor = Step::CopyRows;
    let check = |t: &str, n: u64, ok: bool| TableCheck {
        table: t.into(),
        source_rows: n,
        target_rows: if ok { n } else { n - 1 },
        checksum_match: ok,
        rejected_rows: 0,
    };
    let report = CopyReport {
        checks: vec![
            check("auth_user", 3, true),
            check("django_content_type", 18, true),
            check("ml_models_modelversion", 7, true),
            check("ml_models_modelversion_training_datasets", 12, true),
            check("predictions_prediction", 182_304, true),
            check("reviews_review", 20_117, true),
        ],
        elapsed_ms: 6_100,
        ..CopyReport::default()
    };
    m.step_mut(Step::CopyRows).status = Status::Done {
        summary: report.summary_line(),
    };
    m.copy_report = Some(report);
    insta::assert_snapshot!(snap(&m, &UiState::default()));
}

#[test]
fn not_built_step_says_so() {
    let mut m = discovered();
    m.cursor = Step::Backup;
    insta::assert_snapshot!(snap(&m, &UiState::default()));
}

#[test]
fn help_overlay() {
    let mut ui = UiState::default();
    ui.overlay = Overlay::Help;
    insta::assert_snapshot!(snap(&fresh(), &ui));
}

#[test]
fn quit_confirmation() {
    let mut ui = UiState::default();
    ui.overlay = Overlay::ConfirmQuit;
    insta::assert_snapshot!(snap(&discovered(), &ui));
}

#[test]
fn resume_modal() {
    let mut m = connected();
    m.cursor = Step::CopyRows;
    m.resume_offer = Some(ResumeOffer {
        step: Step::CopyRows,
        saved_at: "2025-03-14 16:42".into(),
    });
    insta::assert_snapshot!(snap(&m, &UiState::default()));
}

#[test]
fn too_small() {
    insta::assert_snapshot!(screen(&fresh(), &UiState::default(), 60, 20));
}

#[test]
fn running_step_shows_its_log_and_a_save_error() {
    let mut m = fresh();
    m.job = Some((1, Step::Discover));
    m.step_mut(Step::Discover).status = Status::Running {
        detail: "asking Django".into(),
        fraction: None,
    };
    m.step_mut(Step::Discover).log = vec![
        "manage.py found at /home/ana/sentiment-api/manage.py".into(),
        "Python: /home/ana/sentiment-api/.venv/bin/python (.venv)".into(),
        "running introspect.py with DJANGO_SETTINGS_MODULE=sentiment.settings".into(),
    ];
    let mut ui = UiState::default();
    ui.tick = 3;
    ui.status = Some("Could not save the run: disk full".into());
    insta::assert_snapshot!(snap(&m, &ui));
}

#[test]
fn copy_rows_verification_of_many_tables_scrolls() {
    let mut m = connected();
    m.cursor = Step::CopyRows;
    let report = CopyReport {
        checks: (1..=30)
            .map(|i| TableCheck {
                table: format!("app_table_{i:02}"),
                source_rows: i * 100,
                target_rows: i * 100,
                checksum_match: true,
                rejected_rows: 0,
            })
            .collect(),
        elapsed_ms: 2_000,
        ..CopyReport::default()
    };
    m.step_mut(Step::CopyRows).status = Status::Done {
        summary: report.summary_line(),
    };
    m.copy_report = Some(report);
    let mut ui = UiState::default();
    let first = snap(&m, &ui);
    assert!(
        first.contains("app_table_01") && !first.contains("app_table_30"),
        "{first}"
    );
    assert!(first.contains("more table(s): PgDn"), "{first}");
    // The draw noted how far the list can scroll; PgDn-sized steps stop at the end.
    ui.scroll_by(Step::CopyRows, 100);
    let last = snap(&m, &ui);
    assert!(
        last.contains("app_table_30") && !last.contains("app_table_01"),
        "{last}"
    );
    insta::assert_snapshot!(last);
}

#[test]
fn copy_progress_keeps_the_tables_at_work_in_view() {
    use dj2pg::copy::{CopyProgress, TablePhase, TableProgress};
    let mut m = connected();
    m.cursor = Step::CopyRows;
    let tables = (1..=30)
        .map(|i| TableProgress {
            table: format!("app_table_{i:02}"),
            rows_done: if i < 20 { 100 } else { 0 },
            rows_total: 100,
            phase: match i {
                ..20 => TablePhase::Loaded,
                20 => TablePhase::Loading,
                _ => TablePhase::Waiting,
            },
        })
        .collect();
    let p = CopyProgress {
        tables,
        elapsed_ms: 3_000,
        rows_per_sec: 633.0,
        stage: "loading".into(),
    };
    m.step_mut(Step::CopyRows).status = Status::Running {
        detail: p.line(),
        fraction: Some(p.fraction()),
    };
    m.job = Some((9, Step::CopyRows));
    m.copy = Some(p);
    let screen = snap(&m, &UiState::default());
    assert!(
        screen.contains("app_table_20") && screen.contains("loading"),
        "{screen}"
    );
    assert!(
        !screen.contains("app_table_01"),
        "finished tables scroll off the top:\n{screen}"
    );
    assert!(screen.contains("↑15 done"), "{screen}");
    insta::assert_snapshot!(screen);
}
