//! Screen snapshots of the terminal wizard at 80x24 (ratatui's `TestBackend` + insta).
//!
//! Each test builds a run in a given state, draws it with the same pure `draw` the real
//! terminal uses, and compares the text of the screen. Paths are fixed strings, so no
//! temporary path needs scrubbing.

use dj2pg::copy::{
    CopyProgress, CopyReport, PreflightReport, Problem, TableCheck, TablePhase, TableProgress,
    Unmapped,
};
use dj2pg::state::{self, JobEvent, Migration, Msg, ResumeOffer, Status, Step};
use dj2pg::tui::{ConnectForm, Overlay, UiState};

mod tui_common;
use tui_common::*;

const DO_URL: &str = "postgresql://doadmin:AVNS_x7Gq2pLk9@db-postgresql-fra1-41207-do-user-1.b.db.ondigitalocean.com:25060/defaultdb?sslmode=require";

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
    m.connect.field = Some(dj2pg::pg::Field::Password);
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
        stage: dj2pg::data::copy::Stage::Loading,
    };
    m.step_mut(Step::CopyRows).status = Status::Running {
        detail: p.line(),
        fraction: Some(p.fraction()),
    };
    m.copy.progress = Some(p);
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
fn copy_rows_asks_about_data_without_a_place_on_postgresql() {
    let mut m = connected();
    m.cursor = Step::CopyRows;
    m.job = Some((5, Step::CopyRows));
    m.step_mut(Step::CopyRows).status = Status::Running {
        detail: "starting".into(),
        fraction: None,
    };
    let unmapped = |table: &str, column: Option<&str>, rows: u64| Unmapped {
        table: table.into(),
        column: column.map(str::to_string),
        rows,
        named: false,
    };
    let report = PreflightReport {
        unmapped: vec![
            unmapped("legacy_scores", None, 12_134),
            unmapped("ml_prediction", Some("old_explanation"), 930),
        ],
        ..PreflightReport::default()
    };
    state::update(&mut m, Msg::Job(5, JobEvent::Preflight(Box::new(report))));
    assert!(matches!(
        m.status(Step::CopyRows),
        Status::NeedsDecision { .. }
    ));
    let screen = snap(&m, &UiState::default());
    assert!(screen.contains("[a] Abort"), "{screen}");
    assert!(screen.contains("[l] Leave them behind"), "{screen}");
    insta::assert_snapshot!(screen);
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
        left_behind: Vec::new(),
        target: String::new(),
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
    m.copy.report = Some(report);
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
                left_behind: Vec::new(),
                target: String::new(),
            })
            .collect(),
        elapsed_ms: 2_000,
        ..CopyReport::default()
    };
    m.step_mut(Step::CopyRows).status = Status::Done {
        summary: report.summary_line(),
    };
    m.copy.report = Some(report);
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
        stage: dj2pg::data::copy::Stage::Loading,
    };
    m.step_mut(Step::CopyRows).status = Status::Running {
        detail: p.line(),
        fraction: Some(p.fraction()),
    };
    m.job = Some((9, Step::CopyRows));
    m.copy.progress = Some(p);
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

// ---- Dry run, Fix permissions, Create schema ----------------------------------------------

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use dj2pg::data::commands::{
    CommandOutcome, CommandStatus, CreateSchemaReport, DriverCheck, DryRunReport, MigrateFailure,
    SchemaDiff, SchemaProblem,
};
use dj2pg::data::privileges::{
    AdminFacts, AppFacts, ApplyReport, Diagnosis, Goal, Recheck, RecipeId, RecipeOptions,
};
use dj2pg::state::ChoiceId;
use dj2pg::tui::handle_key;

const ADMIN_PASSWORD: &str = "AVNS_adm1nQz";

/// `m` with every step before `step` done, looking at `step`.
fn ready_for(mut m: Migration, step: Step) -> Migration {
    for s in &Step::ALL[..step.index()] {
        if !m.status(*s).lets_next_start() {
            m.step_mut(*s).status = Status::Done {
                summary: "ok".into(),
            };
        }
    }
    m.cursor = step;
    m
}

/// Run the step on screen and feed its job these events.
fn run_step(m: &mut Migration, logs: &[&str], last: JobEvent) {
    state::update(m, Msg::Activate);
    feed(m, logs, last);
}

fn feed(m: &mut Migration, logs: &[&str], last: JobEvent) {
    let (job, _) = m.job.expect("the step started");
    for line in logs {
        state::update(m, Msg::Job(job, JobEvent::Log(line.to_string())));
    }
    state::update(m, Msg::Job(job, last));
}

fn outcome(display: &str, status: CommandStatus, lines: &[&str]) -> CommandOutcome {
    CommandOutcome {
        display: display.into(),
        status,
        lines: lines.iter().map(|s| s.to_string()).collect(),
        omitted_lines: 0,
        duration_ms: 3_400,
    }
}

const MAKEMIGRATIONS: &str = "python manage.py makemigrations --check --dry-run";
const MIGRATE: &str = "python manage.py migrate --noinput";

#[test]
fn dry_run_done_with_schema_problems() {
    let mut m = ready_for(discovered(), Step::DryRun);
    let drift = [
        "Migrations for 'reviews':",
        "  reviews/migrations/0005_review_lang.py",
        "    - Add field lang to review",
    ];
    let applied = [
        "Running migrations:",
        "  Applying reviews.0004_review_lang... OK",
    ];
    let report = DryRunReport {
        makemigrations: outcome(
            MAKEMIGRATIONS,
            CommandStatus::Failed { exit_code: Some(1) },
            &drift,
        ),
        drifted_apps: vec!["reviews".into()],
        migrate: Some(outcome(MIGRATE, CommandStatus::Succeeded, &applied)),
        schema: Some(SchemaDiff {
            tables_compared: 14,
            new_tables: vec!["reviews_label".into()],
            problems: vec![
                SchemaProblem::ColumnMissing {
                    table: "reviews_review".into(),
                    column: "sentiment_score".into(),
                    non_null_rows: 20_117,
                },
                SchemaProblem::TypeChanged {
                    table: "reviews_review".into(),
                    column: "title".into(),
                    old_type: "varchar(200)".into(),
                    new_type: "varchar(120)".into(),
                },
            ],
        }),
        schema_error: None,
    };
    let logs: Vec<&str> = drift.iter().chain(applied.iter()).copied().collect();
    run_step(&mut m, &logs, JobEvent::DryRunFinished(Box::new(report)));
    // Passed: the SQLite file is looked at for embeddings next (none here).
    feed(&mut m, &[], JobEvent::EmbeddingsFound(vec![]));
    let text = snap(&m, &UiState::default());
    assert!(text.contains("sentiment_score"), "{text}");
    insta::assert_snapshot!(text);
}

#[test]
fn dry_run_failed_keeps_the_log() {
    let mut m = ready_for(discovered(), Step::DryRun);
    let traceback = [
        "  Applying reviews.0003_seed_labels...Traceback (most recent call last):",
        "  File \"reviews/migrations/0003_seed_labels.py\", line 9, in seed",
        "django.db.utils.OperationalError: no such column: reviews_label.slug",
    ];
    let failed = CommandStatus::Failed { exit_code: Some(1) };
    let report = DryRunReport {
        makemigrations: outcome(
            MAKEMIGRATIONS,
            CommandStatus::Succeeded,
            &["No changes detected"],
        ),
        drifted_apps: Vec::new(),
        migrate: Some(outcome(MIGRATE, failed, &traceback)),
        schema: None,
        schema_error: None,
    };
    let mut logs = vec!["No changes detected"];
    logs.extend(traceback);
    run_step(&mut m, &logs, JobEvent::DryRunFinished(Box::new(report)));
    let text = snap(&m, &UiState::default());
    assert!(text.contains("no such column"), "the log stays:\n{text}");
    insta::assert_snapshot!(text);
}

fn app_facts(schema_create: bool) -> AppFacts {
    AppFacts {
        role: "sentiment".into(),
        is_superuser: false,
        connect: true,
        connect_error: None,
        owns_database: false,
        schema_exists: true,
        schema_usage: true,
        schema_create,
        search_path_setting: None,
        not_owned: Vec::new(),
        no_access: Vec::new(),
        default_privileges_from_admin: false,
        admin_schema_create: None,
    }
}

/// DigitalOcean's doadmin on PostgreSQL 16: not a superuser, not a member of the app role.
fn doadmin() -> AdminFacts {
    AdminFacts {
        role: "doadmin".into(),
        is_superuser: false,
        createrole: true,
        createdb: true,
        member_of_app: false,
        can_set_role_app: false,
        admin_option_on_app: false,
        membership_set_option: None,
        membership_admin_option: None,
        membership_rules_16: true,
        app_is_superuser: false,
        owns_database: true,
        database_create: true,
        database_connect_grant: true,
        schema_exists: true,
        schema_owner: Some("pg_database_owner".into()),
        schema_usage: true,
        schema_create: true,
        schema_grant_option: true,
    }
}

fn goal() -> Goal {
    Goal::AppOwnsTables {
        schema: "public".into(),
    }
}

fn diagnosis(app: AppFacts, admin: Option<AdminFacts>) -> Diagnosis {
    let checks = dj2pg::pg::privileges::checks_for(&goal(), "sentiment", "doadmin", &app);
    Diagnosis {
        server_version: "16.4".into(),
        server_version_num: 160004,
        database: "sentiment".into(),
        database_owner: "doadmin".into(),
        schema: "public".into(),
        schemas: vec![("public".into(), "pg_database_owner".into())],
        summary: dj2pg::pg::privileges::summary(&goal(), "sentiment", "sentiment", &checks),
        extension: None,
        app,
        admin,
        checks,
    }
}

fn diagnosed_event(d: Diagnosis) -> JobEvent {
    let recipes = dj2pg::pg::privileges::recipes(&d, &RecipeOptions::default());
    JobEvent::Diagnosed(Box::new(d), recipes)
}

/// Fix permissions asking, without admin credentials.
fn permissions_missing() -> Migration {
    let mut m = ready_for(connected(), Step::FixPermissions);
    let logs = [
        "connected to sentiment as sentiment",
        "reading schema privileges",
    ];
    run_step(
        &mut m,
        &logs,
        diagnosed_event(diagnosis(app_facts(false), None)),
    );
    m
}

fn doadmin_config() -> dj2pg::pg::ConnConfig {
    let mut c = connected().connect.target.expect("target");
    c.user = "doadmin".into();
    c
}

/// Fix permissions asking, with doadmin's facts.
fn permissions_with_admin() -> Migration {
    let mut m = permissions_missing();
    state::update(&mut m, Msg::SubmitAdmin(doadmin_config()));
    feed(
        &mut m,
        &[],
        diagnosed_event(diagnosis(app_facts(false), Some(doadmin()))),
    );
    m
}

/// The whole screen on a terminal wide enough for every SQL statement to sit on one line.
fn tall(m: &Migration, ui: &UiState) -> String {
    screen(m, ui, 140, 200)
}

#[test]
fn fix_permissions_without_admin_shows_the_login_key_and_the_sql() {
    let m = permissions_missing();
    let mut ui = UiState::default();
    let top = snap(&m, &ui);
    let all = tall(&m, &ui);
    assert!(
        all.contains("l  log in as the admin (e.g. doadmin)"),
        "{all}"
    );
    // Without the admin nothing is recommended: `w` saves the first recipe for a DBA.
    assert!(!m.permissions.recipes.iter().any(|r| r.recommended));
    let recommended = m.permissions.recipes.first().expect("recipes");
    assert!(all.contains("(w saves this one)"), "{all}");
    for statement in &recommended.sql {
        assert!(
            all.contains(statement.as_str()),
            "{statement} not in\n{all}"
        );
    }
    assert!(top.contains("l login"), "the hint bar offers l:\n{top}");
    insta::assert_snapshot!(top);
    snap(&m, &ui); // the 80×24 draw notes how far the screen scrolls
    ui.scroll_by(Step::FixPermissions, 15);
    insta::assert_snapshot!("fix_permissions_without_admin_scrolled", snap(&m, &ui));
}

#[test]
fn fix_permissions_greys_a_recipe_that_cannot_work() {
    let m = permissions_with_admin();
    let owner = m
        .permissions
        .recipes
        .iter()
        .find(|r| r.id == RecipeId::MakeOwner)
        .expect("recipe D");
    assert!(owner.available.is_err());
    let all = tall(&m, &UiState::default());
    assert!(all.contains("unavailable: "), "{all}");
    assert!(
        all.contains("[1]"),
        "the available recipe shows its key:\n{all}"
    );
    // Scroll (PgDn) until recipe D and its reason are in view.
    let mut ui = UiState::default();
    let mut text = snap(&m, &ui);
    for _ in 0..100 {
        if text.contains("D  Make sentiment") && text.contains("unavailable: ALTER DATABASE") {
            break;
        }
        ui.scroll_by(Step::FixPermissions, 1);
        text = snap(&m, &ui);
    }
    assert!(text.contains("unavailable: ALTER DATABASE"), "{text}");
    insta::assert_snapshot!(text);
}

#[test]
fn admin_login_form_masks_the_password() {
    let m = permissions_missing();
    let mut ui = UiState::default();
    let key = |c| KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE);
    assert_eq!(handle_key(&m, &mut ui, key('l')), None);
    for c in ADMIN_PASSWORD.chars() {
        assert_eq!(handle_key(&m, &mut ui, key(c)), None);
    }
    let text = snap(&m, &ui);
    assert!(
        !text.contains(ADMIN_PASSWORD),
        "the password is on screen:\n{text}"
    );
    assert!(
        !text.contains("AVNS"),
        "part of the password is on screen:\n{text}"
    );
    assert!(text.contains("••••••••••••"), "{text}");
    assert!(text.contains("postgresql://doadmin@"), "{text}");
    insta::assert_snapshot!(text);
}

#[test]
fn fix_permissions_done_shows_the_sql_that_ran() {
    let mut m = permissions_with_admin();
    state::update(&mut m, Msg::Decide(ChoiceId::Recipe(RecipeId::GrantSchema)));
    let sql = m
        .permissions
        .recipes
        .iter()
        .find(|r| r.id == RecipeId::GrantSchema)
        .map(|r| r.sql.clone())
        .expect("recipe A");
    let fixed = diagnosis(app_facts(true), None);
    let report = ApplyReport {
        recipe: RecipeId::GrantSchema,
        sql: sql.clone(),
        ran_in: "sentiment".into(),
        recheck: Recheck {
            goal: goal(),
            database: "sentiment".into(),
            checks: fixed.checks,
            effective: true,
        },
    };
    feed(
        &mut m,
        &["BEGIN", "COMMIT"],
        JobEvent::Applied(Box::new(report)),
    );
    assert!(matches!(
        m.status(Step::FixPermissions),
        Status::Done { .. }
    ));
    let all = tall(&m, &UiState::default());
    for statement in &sql {
        assert!(
            all.contains(statement.as_str()),
            "{statement} not in\n{all}"
        );
    }
    let text = snap(&m, &UiState::default());
    insta::assert_snapshot!(text);
}

fn driver(found: bool) -> DriverCheck {
    let python = format!("{PROJECT}/.venv/bin/python");
    DriverCheck {
        python: python.clone().into(),
        driver: found.then(|| ("psycopg".into(), "3.2.3".into())),
        import_error: None,
        in_virtualenv: true,
        install_command: (!found).then(|| {
            [python.as_str(), "-m", "pip", "install", "psycopg[binary]"]
                .map(String::from)
                .to_vec()
        }),
    }
}

#[test]
fn create_schema_asks_to_install_the_driver() {
    let mut m = ready_for(connected(), Step::CreateSchema);
    let report = CreateSchemaReport {
        driver: driver(false),
        migrate: None,
        failure: Some(MigrateFailure::DriverMissing),
        warnings: Vec::new(),
        names: None,
    };
    run_step(
        &mut m,
        &["checking the PostgreSQL driver"],
        JobEvent::SchemaCreated(Box::new(report)),
    );
    let text = snap(&m, &UiState::default());
    assert!(text.contains("psycopg[binary]"), "{text}");
    insta::assert_snapshot!(text);
}

#[test]
fn create_schema_failed_on_permissions_points_back() {
    let mut m = ready_for(connected(), Step::CreateSchema);
    let lines = [
        "Traceback (most recent call last):",
        "django.db.migrations.exceptions.MigrationSchemaMissing: Unable to create the \
         django_migrations table (permission denied for schema public",
        "LINE 1: CREATE TABLE \"django_migrations\" (\"id\" bigint NOT NULL PRIMARY KEY...",
    ];
    let failed = CommandStatus::Failed { exit_code: Some(1) };
    let report = CreateSchemaReport {
        driver: driver(true),
        migrate: Some(outcome(MIGRATE, failed, &lines)),
        failure: Some(MigrateFailure::SchemaPermission {
            schema: Some("public".into()),
        }),
        warnings: Vec::new(),
        names: None,
    };
    run_step(&mut m, &lines, JobEvent::SchemaCreated(Box::new(report)));
    let text = snap(&m, &UiState::default());
    assert!(text.contains("Esc"), "{text}");
    insta::assert_snapshot!(text);
}

#[test]
fn create_schema_pending_names_the_owner() {
    let m = ready_for(connected(), Step::CreateSchema);
    let text = snap(&m, &UiState::default());
    assert!(text.contains("sentiment (the app role"), "{text}");
    insta::assert_snapshot!(text);
}

#[test]
fn dry_run_pending_says_the_sqlite_file_is_not_written() {
    let m = ready_for(discovered(), Step::DryRun);
    insta::assert_snapshot!(snap(&m, &UiState::default()));
}

/// Copy rows waiting for the preflight's report (job 5), every step before it passed.
fn at_preflight() -> Migration {
    let mut m = connected();
    // The steps before Copy rows passed, as they must for an answer to start the copy.
    for step in [
        Step::Backup,
        Step::ResetMigrations,
        Step::DryRun,
        Step::FixPermissions,
        Step::CreateSchema,
    ] {
        m.step_mut(step).status = Status::Done {
            summary: "ok".into(),
        };
    }
    m.cursor = Step::CopyRows;
    m.job = Some((5, Step::CopyRows));
    m.step_mut(Step::CopyRows).status = Status::Running {
        detail: "starting".into(),
        fraction: None,
    };
    m
}

/// After skip is chosen for bad values, the second question is about the target tables
/// that hold rows: the screen lists those tables, not the problems answered already.
#[test]
fn copy_rows_nonempty_question_after_skip_lists_the_tables_it_is_about() {
    let mut m = at_preflight();
    let report = PreflightReport {
        problems: vec![Problem {
            table: "classifier_prediction".into(),
            pk: "1".into(),
            column: "served_at".into(),
            issue: "is not a valid datetime".into(),
            excerpt: "2024-01-15 12:00:00é12345".into(),
            fix: None,
        }],
        nonempty_targets: vec![("classifier_label".into(), 3)],
        notes: [
            "django_content_type",
            "auth_permission",
            "auth_group",
            "auth_user",
            "auth_user_groups",
            "classifier_label_set",
            "classifier_dataset",
        ]
        .iter()
        .map(|t| format!("{t} already holds exactly the SQLite rows (57): kept as it is."))
        .collect(),
        ..PreflightReport::default()
    };
    state::update(&mut m, Msg::Job(5, JobEvent::Preflight(Box::new(report))));
    let text = snap(&m, &UiState::default());
    assert!(text.contains("is not a valid datetime"), "{text}");
    state::update(&mut m, Msg::Decide(dj2pg::state::ChoiceId::SkipRows));
    let text = snap(&m, &UiState::default());
    assert!(
        text.contains("Target table already holding rows") && text.contains("classifier_label"),
        "{text}"
    );
    assert!(!text.contains("is not a valid datetime"), "{text}");
    assert!(text.contains("Empty them and copy"), "{text}");
    assert!(text.contains("[a] Abort"), "{text}");
    // At 80×24 not every note fits: PgDn pages them, so each is read on some page.
    assert!(text.contains("notes: lines 1-"), "{text}");
    let mut ui = UiState::default();
    let mut seen = snap(&m, &ui); // the draw notes how far PgDn may go
    for _ in 0..10 {
        ui.scroll_by(Step::CopyRows, ui.page());
        seen.push_str(&snap(&m, &ui));
    }
    for table in [
        "django_content_type",
        "auth_permission",
        "auth_group already",
        "auth_user already",
        "auth_user_groups",
        "classifier_label_set",
        "classifier_dataset",
    ] {
        assert!(seen.contains(table), "{table} is never shown:\n{seen}");
    }
    let last = snap(&m, &ui);
    assert!(last.contains("classifier_dataset already"), "{last}");
    assert!(last.contains("[a] Abort"), "the question stays: {last}");
}

/// Many bad values and many notes at 80×24: PgDn pages the problems to the last, then the
/// notes, so every problem and every note is on some page, none jumped over.
#[test]
fn copy_rows_bad_values_then_notes_page_through_everything() {
    let mut m = at_preflight();
    let report = PreflightReport {
        problems: (1..=9)
            .map(|i| Problem {
                table: "classifier_prediction".into(),
                pk: format!("{i}"),
                column: "served_at".into(),
                issue: format!("value number {i} is not a valid datetime"),
                excerpt: "2024-01-15 12:00:00x".into(),
                fix: None,
            })
            .collect(),
        notes: (1..=8)
            .map(|i| format!("note number {i}: classifier_table_{i} is converted on the way."))
            .collect(),
        ..PreflightReport::default()
    };
    state::update(&mut m, Msg::Job(5, JobEvent::Preflight(Box::new(report))));
    let mut ui = UiState::default();
    let mut pages = vec![snap(&m, &ui)];
    for _ in 0..20 {
        ui.scroll_by(Step::CopyRows, ui.page());
        pages.push(snap(&m, &ui));
    }
    let seen = pages.concat();
    for i in 1..=9 {
        assert!(
            seen.contains(&format!("value number {i} is")),
            "problem {i} is never shown:\n{seen}"
        );
    }
    for i in 1..=8 {
        assert!(
            seen.contains(&format!("note number {i}:")),
            "note {i} is never shown:\n{seen}"
        );
    }
    let last = pages.last().unwrap();
    assert!(
        last.contains("note number 8:"),
        "PgDn ends at the last note:\n{last}"
    );
    // PgUp comes back to the first problem, every problem seen again on the way.
    let mut up = String::new();
    for _ in 0..20 {
        ui.scroll_by(Step::CopyRows, -ui.page());
        up.push_str(&snap(&m, &ui));
    }
    for i in 1..=9 {
        assert!(
            up.contains(&format!("value number {i} is")),
            "PgUp jumped over problem {i}:\n{up}"
        );
    }
    assert!(snap(&m, &ui).contains("value number 1 is"));
    // Answering opens the next question at its top, not where this one was scrolled to.
    ui.scroll_by(Step::CopyRows, 100);
    snap(&m, &ui);
    let key = KeyEvent::new(KeyCode::Char('s'), KeyModifiers::NONE);
    let msg = handle_key(&m, &mut ui, key).expect("s answers the question");
    state::update(&mut m, msg);
    assert_eq!(ui.scroll(Step::CopyRows), 0);
}

/// When the app role already may do everything (often when it is the admin itself), the
/// diagnosis ends the step: "no fix needed", every check ticked, nothing asked.
#[test]
fn fix_permissions_no_fix_needed() {
    let mut m = ready_for(connected(), Step::FixPermissions);
    run_step(
        &mut m,
        &["connected to sentiment as sentiment"],
        diagnosed_event(diagnosis(app_facts(true), None)),
    );
    assert!(
        matches!(m.status(Step::FixPermissions), Status::Done { summary } if summary.starts_with("no fix needed")),
        "{:?}",
        m.status(Step::FixPermissions)
    );
    let text = snap(&m, &UiState::default());
    assert!(text.contains("no fix needed"), "{text}");
    assert!(!text.contains("✗ CREATE"), "{text}");
    insta::assert_snapshot!(text);
}

/// A column is to become a pgvector column and the database lacks the extension: Fix
/// permissions lists it with DigitalOcean's rule, and recipe A creates it first.
#[test]
fn fix_permissions_lists_the_vector_extension_with_the_providers_rule() {
    let mut m = ready_for(connected(), Step::FixPermissions);
    let (rule, _) = dj2pg::pg::provider::vector_rule(Some("DigitalOcean"));
    let need = dj2pg::data::privileges::ExtensionNeed {
        name: "vector".into(),
        sql: "CREATE EXTENSION IF NOT EXISTS vector".into(),
        available: true,
        rule,
    };
    let mut d = diagnosis(app_facts(true), Some(doadmin()));
    d.extension = Some(need.clone());
    let mut recipes = dj2pg::pg::privileges::recipes(&d, &RecipeOptions::default());
    dj2pg::pg::privileges::add_to_recipes(&need, &mut recipes);
    assert_eq!(recipes[0].sql[0], need.sql);
    run_step(&mut m, &[], JobEvent::Diagnosed(Box::new(d), recipes));
    let mut ui = UiState::default();
    ui.scroll_by(Step::FixPermissions, 0);
    let _ = snap(&m, &ui); // measures the scroll limit
    ui.scroll_by(Step::FixPermissions, 9);
    let text = snap(&m, &ui);
    assert!(text.contains("extension vector in database"), "{text}");
    insta::assert_snapshot!(text);
}

/// An app with one migration file reads "1 migration", not "1 migrations" (seen in tmux on
/// a project of one's own).
#[test]
fn discover_counts_one_migration_in_the_singular() {
    let mut m = discovered();
    if let Some(d) = m.discovery.as_mut() {
        let reviews = d.apps.iter_mut().find(|a| a.label == "reviews").unwrap();
        reviews.migration_files.truncate(1);
        reviews.data_migrations.clear();
    }
    let screen = screen(&m, &UiState::default(), 80, 40);
    assert!(screen.contains("reviews         1 migration "), "{screen}");
    assert!(screen.contains("ml_models       2 migrations"), "{screen}");
}
