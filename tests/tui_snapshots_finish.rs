//! Screen snapshots (80x24) of the last steps of the wizard: Backup, Reset migrations,
//! Update settings and Done, plus the keys of the Reset migrations question.
//!
//! Each test builds a run in a given state (driving the real state machine where it can,
//! with hand-built worker reports) and draws it with the same pure `draw` the terminal
//! uses. Paths are fixed strings, so no temporary path needs scrubbing. The shared helpers
//! are in `tui_common`.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use dj2pg::data::backup::{
    AppScan, ArchivedApp, ArchivedFile, BackupOutcome, BackupReport, CheckItem, CheckKind,
    CheckStatus, FileToGo, GitState, GitignoreChange, MigrationFileKind, MigrationScan,
    MigrationWarning, MigrationsArchive, MigrationsSetup, MovedFile, ResetReport, SqliteBackup,
    TableCount,
};
use dj2pg::data::commands::{CommandOutcome, CommandStatus, MakeMigrationsReport};
use dj2pg::data::copy::{CopyReport, DerivedTable, TableCheck};
use dj2pg::data::settings::{
    Applied, BackupRecord, CommandOutcome as CheckOutcome, DiffHunk, DiffKind, DiffLine, EnvVar,
    RewritePlan, SecretSlot, SettingsChange, SettingsDiff, SettingsStyle, Validation,
};
use dj2pg::state::{self, ChoiceId, JobEvent, Migration, Msg, Status, Step};
use dj2pg::tui::{UiState, handle_key};

mod tui_common;
use tui_common::*;

const BACKUP: &str = "/home/ana/sentiment-api/.dj2pg/backups/20250114-093012";

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

fn press(m: &mut Migration, ui: &mut UiState, code: KeyCode) -> Option<Msg> {
    let msg = handle_key(m, ui, KeyEvent::new(code, KeyModifiers::NONE));
    if let Some(msg) = &msg {
        state::update(m, msg.clone());
    }
    msg
}

fn item(kind: CheckKind, status: CheckStatus, summary: &str, detail: &[&str]) -> CheckItem {
    CheckItem {
        kind,
        status,
        summary: summary.into(),
        detail: detail.iter().map(|s| s.to_string()).collect(),
    }
}

fn sqlite_backup() -> SqliteBackup {
    let counts = [
        ("auth_user", 3),
        ("django_content_type", 18),
        ("django_migrations", 31),
        ("ml_models_modelversion", 7),
        ("predictions_prediction", 182_304),
        ("reviews_review", 20_117),
    ];
    SqliteBackup {
        source: format!("{PROJECT}/db.sqlite3").into(),
        file: "db.sqlite3".into(),
        size: 13_002_752,
        sha256: "3f9a0c41d2e87b6615aa90c3e1f04b7d9e2c5a8f1b3d6e9f0a2b4c6d8e0f1a2b".into(),
        integrity: "ok".into(),
        source_journal_mode: "wal".into(),
        source_wal_bytes: 4_120_032,
        tables: counts
            .iter()
            .map(|(t, n)| TableCount {
                table: t.to_string(),
                source_rows: *n,
                copy_rows: *n,
            })
            .collect(),
    }
}

fn archive() -> MigrationsArchive {
    let app = |label: &str, files: &[&str]| ArchivedApp {
        label: label.into(),
        source_dir: format!("{label}/migrations").into(),
        archive_dir: format!("migrations/{label}").into(),
        files: files
            .iter()
            .map(|f| ArchivedFile {
                rel_path: f.to_string(),
                size: 1_200,
                sha256: "ab".repeat(32),
            })
            .collect(),
    };
    MigrationsArchive {
        apps: vec![
            app(
                "reviews",
                &["__init__.py", "0001_initial.py", "0003_seed_labels.py"],
            ),
            app("ml_models", &["__init__.py", "0001_initial.py"]),
        ],
    }
}

fn dirty_backup() -> BackupReport {
    let changed = [
        " M sentiment/settings.py",
        " M reviews/models.py",
        "?? notes/todo.md",
        "?? scripts/load_fixtures.py",
        " D reviews/tests_old.py",
        "?? .env",
        " M requirements.txt",
    ];
    BackupReport {
        outcome: BackupOutcome::Verified,
        backup_dir: BACKUP.into(),
        checklist: vec![
            item(
                CheckKind::Git,
                CheckStatus::Warning,
                "7 uncommitted change(s)",
                &changed,
            ),
            item(
                CheckKind::Folder,
                CheckStatus::Ok,
                ".dj2pg/backups/20250114-093012/",
                &[],
            ),
            item(
                CheckKind::FreeSpace,
                CheckStatus::Ok,
                "41.2 GiB free, 12.4 MiB needed",
                &[],
            ),
            item(
                CheckKind::SqliteCopy,
                CheckStatus::Ok,
                "12.4 MiB, WAL content included",
                &[],
            ),
            item(CheckKind::Integrity, CheckStatus::Ok, "ok", &[]),
            item(
                CheckKind::RowCounts,
                CheckStatus::Ok,
                "6 tables, 202,480 rows, all match",
                &[
                    "auth_user 3 = 3",
                    "django_content_type 18 = 18",
                    "django_migrations 31 = 31",
                    "ml_models_modelversion 7 = 7",
                    "predictions_prediction 182,304 = 182,304",
                    "reviews_review 20,117 = 20,117",
                ],
            ),
            item(
                CheckKind::Checksum,
                CheckStatus::Ok,
                "sha256 3f9a0c41d2e8…",
                &[],
            ),
            item(
                CheckKind::MigrationsArchive,
                CheckStatus::Ok,
                "5 files of 2 apps",
                &[],
            ),
            item(CheckKind::Manifest, CheckStatus::Ok, "manifest.json", &[]),
        ],
        git: GitState::Dirty {
            changed: changed.iter().map(|s| s.to_string()).collect(),
        },
        sqlite: Some(sqlite_backup()),
        migrations: archive(),
        gitignore: Some(GitignoreChange::Appended),
    }
}

fn clean_backup() -> BackupReport {
    let mut r = dirty_backup();
    r.git = GitState::Clean;
    r.checklist[0] = item(CheckKind::Git, CheckStatus::Ok, "clean", &[]);
    r
}

#[test]
fn backup_done_with_a_dirty_git_tree_asks() {
    let mut m = ready_for(discovered(), Step::Backup);
    run_step(&mut m, &[], JobEvent::BackedUp(Box::new(dirty_backup())));
    assert!(matches!(
        m.status(Step::Backup),
        Status::NeedsDecision { .. }
    ));
    insta::assert_snapshot!(snap(&m, &UiState::default()));
}

#[test]
fn backup_failed_on_integrity() {
    let mut m = ready_for(discovered(), Step::Backup);
    let message = "db.sqlite3 fails its integrity check (PRAGMA integrity_check): the source \
                   database is damaged. Nothing was written; repair it (sqlite3 db.sqlite3 \
                   \".recover\") and press r.";
    let mut report = clean_backup();
    report.outcome = BackupOutcome::Failed {
        message: message.into(),
    };
    report.sqlite = None;
    report.migrations = MigrationsArchive::default();
    report.gitignore = None;
    report.checklist.truncate(3);
    report.checklist.push(item(
        CheckKind::SqliteCopy,
        CheckStatus::Ok,
        "12.4 MiB copied",
        &[],
    ));
    report.checklist.push(item(
        CheckKind::Integrity,
        CheckStatus::Failed,
        "the source is damaged",
        &[
            "*** in database main ***",
            "Page 214: btree page has a bad cell pointer",
            "Page 215: never used",
        ],
    ));
    for kind in [
        CheckKind::RowCounts,
        CheckKind::Checksum,
        CheckKind::MigrationsArchive,
        CheckKind::Manifest,
    ] {
        report
            .checklist
            .push(item(kind, CheckStatus::Pending, "", &[]));
    }
    run_step(&mut m, &[], JobEvent::BackedUp(Box::new(report)));
    assert!(matches!(m.status(Step::Backup), Status::Failed { .. }));
    insta::assert_snapshot!(snap(&m, &UiState::default()));
}

fn file(
    rel: &str,
    kind: MigrationFileKind,
    size: u64,
    warnings: Vec<MigrationWarning>,
) -> FileToGo {
    FileToGo {
        rel_path: rel.into(),
        kind,
        size,
        warnings,
    }
}

fn local(label: &str, files: Vec<FileToGo>) -> AppScan {
    AppScan {
        label: label.into(),
        name: label.into(),
        local: true,
        migrations_module: Some(format!("{label}.migrations")),
        migrations_dir: Some(format!("{PROJECT}/{label}/migrations").into()),
        setup: MigrationsSetup::Standard,
        files,
        notes: Vec::new(),
    }
}

fn scan() -> MigrationScan {
    use MigrationFileKind::{Compiled, Migration as Mig};
    let mut apps = vec![
        local(
            "reviews",
            vec![
                file("0001_initial.py", Mig, 2_310, vec![]),
                file("0002_review_score.py", Mig, 612, vec![]),
                file(
                    "0003_seed_labels.py",
                    Mig,
                    1_404,
                    vec![MigrationWarning::RunPython { elidable: false }],
                ),
                file(
                    "__pycache__/0001_initial.cpython-312.pyc",
                    Compiled,
                    2_950,
                    vec![],
                ),
                file(
                    "__pycache__/0003_seed_labels.cpython-312.pyc",
                    Compiled,
                    1_870,
                    vec![],
                ),
            ],
        ),
        local(
            "ml_models",
            vec![file(
                "0001_initial.py",
                Mig,
                1_980,
                vec![MigrationWarning::DependedOnBy {
                    app: "predictions".into(),
                    migration: "0001_initial".into(),
                    local: true,
                }],
            )],
        ),
        local(
            "predictions",
            vec![
                file("0001_initial.py", Mig, 2_004, vec![]),
                file("0002_prediction_latency.py", Mig, 540, vec![]),
            ],
        ),
    ];
    for label in [
        "admin",
        "auth",
        "contenttypes",
        "sessions",
        "rest_framework",
    ] {
        apps.push(AppScan {
            label: label.into(),
            name: format!("django.contrib.{label}"),
            local: false,
            migrations_module: None,
            migrations_dir: None,
            setup: MigrationsSetup::Standard,
            files: Vec::new(),
            notes: Vec::new(),
        });
    }
    MigrationScan {
        apps,
        warnings: Vec::new(),
    }
}

/// The reset question on screen, the backup done.
fn reset_asked() -> Migration {
    let mut m = ready_for(discovered(), Step::ResetMigrations);
    m.backup.report = Some(clean_backup());
    run_step(&mut m, &[], JobEvent::Scanned(Box::new(scan())));
    m
}

#[test]
fn reset_with_one_app_selected_shows_its_tree_and_warnings() {
    let mut m = reset_asked();
    let mut ui = UiState::default();
    let sent = press(&mut m, &mut ui, KeyCode::Char(' '));
    assert_eq!(sent, Some(Msg::ToggleApp("reviews".into())));
    assert_eq!(m.reset.selection, vec!["reviews".to_string()]);
    insta::assert_snapshot!(snap(&m, &ui));
}

#[test]
fn reset_keys_move_the_app_cursor_not_the_step_and_space_toggles_that_app() {
    let mut m = reset_asked();
    let mut ui = UiState::default();
    assert_eq!(press(&mut m, &mut ui, KeyCode::Down), None);
    assert_eq!(ui.reset_cursor, 1);
    assert_eq!(m.cursor, Step::ResetMigrations);
    assert_eq!(press(&mut m, &mut ui, KeyCode::Down), None);
    assert_eq!(press(&mut m, &mut ui, KeyCode::Down), None);
    assert_eq!(ui.reset_cursor, 2, "the cursor stops at the last local app");
    assert_eq!(
        press(&mut m, &mut ui, KeyCode::Char(' ')),
        Some(Msg::ToggleApp("predictions".into()))
    );
    assert_eq!(press(&mut m, &mut ui, KeyCode::Up), None);
    assert_eq!(press(&mut m, &mut ui, KeyCode::Up), None);
    assert_eq!(press(&mut m, &mut ui, KeyCode::Up), None);
    assert_eq!(ui.reset_cursor, 0);
    assert_eq!(m.cursor, Step::ResetMigrations, "↑ never left the step");
    press(&mut m, &mut ui, KeyCode::Char(' '));
    assert_eq!(m.reset.selection, vec!["reviews", "predictions"]);
    // Space again unselects.
    press(&mut m, &mut ui, KeyCode::Char(' '));
    assert_eq!(m.reset.selection, vec!["predictions"]);
    // The hint bar says what the keys do.
    let hints = dj2pg::tui::hints(&m, &ui);
    assert!(
        hints
            .iter()
            .any(|h| h.key == "Space" && h.label == "select")
    );
    assert!(hints.iter().any(|h| h.key == "↑↓" && h.label == "apps"));
}

#[test]
fn reset_done_lists_the_new_files_and_the_restore_command() {
    let mut m = reset_asked();
    state::update(&mut m, Msg::ToggleApp("reviews".into()));
    state::update(&mut m, Msg::Decide(ChoiceId::ResetSelected));
    let moved = scan().apps[0]
        .files
        .iter()
        .map(|f| MovedFile {
            app: "reviews".into(),
            original: format!("reviews/migrations/{}", f.rel_path).into(),
            archived: format!("reset/reviews/{}", f.rel_path).into(),
            sha256: "cd".repeat(32),
            size: f.size,
        })
        .collect();
    let report = ResetReport {
        backup_dir: BACKUP.into(),
        moved,
        refused: Vec::new(),
    };
    let made = MakeMigrationsReport {
        run: CommandOutcome {
            display: "python manage.py makemigrations reviews".into(),
            status: CommandStatus::Succeeded,
            lines: vec!["Migrations for 'reviews':".into()],
            omitted_lines: 0,
            duration_ms: 1_900,
        },
        created: vec![format!("{PROJECT}/reviews/migrations/0001_initial.py").into()],
    };
    feed(
        &mut m,
        &[],
        JobEvent::ResetDone(Box::new(report), Box::new(made)),
    );
    assert!(matches!(
        m.status(Step::ResetMigrations),
        Status::Done { .. }
    ));
    insta::assert_snapshot!(snap(&m, &UiState::default()));
}

fn dl(kind: DiffKind, text: &str) -> DiffLine {
    DiffLine {
        kind,
        text: text.into(),
        old_line: None,
        new_line: None,
    }
}

fn shell_lines() -> Vec<String> {
    [
        "export POSTGRES_HOST='db-postgresql-fra1-41207.b.db.ondigitalocean.com'",
        "export POSTGRES_PORT='25060'",
        "export POSTGRES_DB='sentiment'",
        "export POSTGRES_USER='sentiment'",
        "export POSTGRES_PASSWORD='<password>'",
        "export POSTGRES_SSLMODE='require'",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

fn plan(change: SettingsChange) -> RewritePlan {
    RewritePlan {
        style: SettingsStyle::Env,
        project_dir: PROJECT.into(),
        change,
        env: vec![EnvVar {
            name: "POSTGRES_PASSWORD".into(),
            value: "<password>".into(),
            secret: SecretSlot::Whole,
        }],
        env_example: "POSTGRES_PASSWORD=\n".into(),
        shell_lines: shell_lines(),
        snippet: "DATABASES = {...}".into(),
        notes: vec!["`import os` added above DATABASES.".into()],
    }
}

fn rewrite() -> SettingsChange {
    use DiffKind::{Added, Context, Removed};
    SettingsChange::Rewrite {
        file: format!("{PROJECT}/sentiment/settings.py").into(),
        original_sha256: "ef".repeat(32),
        new_text: String::new(),
        diff: SettingsDiff {
            hunks: vec![DiffHunk {
                header: "@@ -76,7 +77,16 @@".into(),
                lines: vec![
                    dl(Context, "# Database"),
                    dl(Context, ""),
                    dl(Removed, "DATABASES = {"),
                    dl(Removed, "    'default': {"),
                    dl(Removed, "        'ENGINE': 'django.db.backends.sqlite3',"),
                    dl(Removed, "        'NAME': BASE_DIR / 'db.sqlite3',"),
                    dl(Removed, "    }"),
                    dl(Removed, "}"),
                    dl(Added, "DATABASES = {"),
                    dl(Added, "    \"default\": {"),
                    dl(
                        Added,
                        "        \"ENGINE\": \"django.db.backends.postgresql\",",
                    ),
                    dl(Added, "        \"HOST\": os.environ[\"POSTGRES_HOST\"],"),
                    dl(
                        Added,
                        "        \"PORT\": os.environ.get(\"POSTGRES_PORT\", \"5432\"),",
                    ),
                    dl(Added, "        \"NAME\": os.environ[\"POSTGRES_DB\"],"),
                    dl(Added, "        \"USER\": os.environ[\"POSTGRES_USER\"],"),
                    dl(
                        Added,
                        "        \"PASSWORD\": os.environ[\"POSTGRES_PASSWORD\"],",
                    ),
                    dl(
                        Added,
                        "        \"OPTIONS\": {\"sslmode\": os.environ.get(\"POSTGRES_SSLMODE\", \"require\")},",
                    ),
                    dl(Added, "    }"),
                    dl(Added, "}"),
                ],
            }],
            unified: String::new(),
        },
    }
}

/// Every step before Update settings done, connected, looking at Update settings.
fn settings_ready() -> Migration {
    let mut m = ready_for(connected(), Step::UpdateSettings);
    m.backup.report = Some(clean_backup());
    m
}

#[test]
fn settings_diff_is_coloured_and_the_password_a_placeholder() {
    let mut m = settings_ready();
    run_step(
        &mut m,
        &[],
        JobEvent::SettingsPlanned(Box::new(plan(rewrite()))),
    );
    let screen = snap(&m, &UiState::default());
    assert!(!screen.contains("AVNS_"));
    insta::assert_snapshot!(screen);
}

#[test]
fn settings_diff_scrolled_to_the_variables() {
    let mut m = settings_ready();
    run_step(
        &mut m,
        &[],
        JobEvent::SettingsPlanned(Box::new(plan(rewrite()))),
    );
    let mut ui = UiState::default();
    // Draw once so the screen knows how far it scrolls, then page down to the end.
    snap(&m, &ui);
    for _ in 0..6 {
        press(&mut m, &mut ui, KeyCode::PageDown);
    }
    let screen = snap(&m, &ui);
    assert!(
        screen.contains("POSTGRES_PASSWORD='<password>'"),
        "{screen}"
    );
    insta::assert_snapshot!(screen);
}

#[test]
fn settings_manual_shows_the_snippet_to_paste() {
    let mut m = settings_ready();
    let change = SettingsChange::Manual {
        reason: "DATABASES is computed by get_databases() in sentiment/settings.py line 81".into(),
        file: Some(format!("{PROJECT}/sentiment/settings.py").into()),
        snippet: "import os\n\nDATABASES = {\n    \"default\": {\n        \"ENGINE\": \
                  \"django.db.backends.postgresql\",\n        \"HOST\": \
                  os.environ[\"POSTGRES_HOST\"],\n    }\n}"
            .into(),
    };
    run_step(
        &mut m,
        &[],
        JobEvent::SettingsPlanned(Box::new(plan(change))),
    );
    insta::assert_snapshot!(snap(&m, &UiState::default()));
}

fn applied() -> Applied {
    Applied {
        settings_file: format!("{PROJECT}/sentiment/settings.py").into(),
        backup: BackupRecord {
            kind: "settings".into(),
            original: format!("{PROJECT}/sentiment/settings.py").into(),
            archived: format!("{BACKUP}/settings/settings.py").into(),
            sha256: "ef".repeat(32),
        },
        written_sha256: "12".repeat(32),
        env_example: format!("{PROJECT}/.env.example").into(),
        env_example_backup: None,
        manifest: format!("{BACKUP}/settings-backup.json").into(),
    }
}

#[test]
fn settings_invalid_offers_the_old_file_back() {
    let mut m = settings_ready();
    run_step(
        &mut m,
        &[],
        JobEvent::SettingsPlanned(Box::new(plan(rewrite()))),
    );
    state::update(&mut m, Msg::Decide(ChoiceId::WriteSettings));
    let validation = Validation {
        ok: false,
        check: CheckOutcome {
            command: "python manage.py check --database default".into(),
            success: false,
            output: "django.db.utils.OperationalError: connection refused".into(),
        },
        read: None,
        vendor: None,
        migrations_rows: None,
        message: "manage.py check failed: Django could not connect (connection refused)".into(),
    };
    feed(
        &mut m,
        &[
            "$ python manage.py check --database default",
            "django.db.utils.OperationalError: connection to server at \"db-postgresql-fra1\" failed: Connection refused",
        ],
        JobEvent::SettingsApplied(Some(Box::new(applied())), Box::new(validation)),
    );
    assert!(matches!(
        m.status(Step::UpdateSettings),
        Status::NeedsDecision { .. }
    ));
    insta::assert_snapshot!(snap(&m, &UiState::default()));
}

/// A run that went all the way, its report written.
fn finished() -> Migration {
    let mut m = ready_for(connected(), Step::Done);
    m.backup.report = Some(clean_backup());
    m.reset.report = Some(ResetReport {
        backup_dir: BACKUP.into(),
        moved: vec![MovedFile {
            app: "reviews".into(),
            original: "reviews/migrations/0001_initial.py".into(),
            archived: "reset/reviews/0001_initial.py".into(),
            sha256: "cd".repeat(32),
            size: 2_310,
        }],
        refused: Vec::new(),
    });
    let table = |t: &str, n: u64| TableCheck {
        table: t.into(),
        source_rows: n,
        target_rows: n,
        checksum_match: true,
        rejected_rows: 0,
        left_behind: Vec::new(),
        target: String::new(),
    };
    m.copy.report = Some(CopyReport {
        checks: vec![
            table("auth_user", 3),
            table("django_content_type", 18),
            table("ml_models_modelversion", 7),
            table("predictions_prediction", 182_304),
            table("reviews_review", 20_117),
            table("reviews_label", 12),
            table("django_admin_log", 44),
        ],
        elapsed_ms: 8_400,
        notes: Vec::new(),
        derived: vec![DerivedTable {
            table: "search_index".into(),
            source_rows: 9_000,
            reason: "a search index rebuilt from the reviews".into(),
            rebuild: Some("python manage.py rebuild_index".into()),
        }],
        left_behind: Vec::new(),
        snapshot_at: None,
        timings: Vec::new(),
    });
    m.settings.plan = Some(plan(rewrite()));
    m.settings.applied = Some(applied());
    run_step(
        &mut m,
        &[],
        JobEvent::ReportWritten(vec![
            format!("{BACKUP}/report.md").into(),
            format!("{BACKUP}/report.json").into(),
        ]),
    );
    m
}

#[test]
fn done_report_top() {
    let m = finished();
    assert!(matches!(m.status(Step::Done), Status::Done { .. }));
    insta::assert_snapshot!(snap(&m, &UiState::default()));
}

#[test]
fn done_report_scrolled_to_the_rollback() {
    let mut m = finished();
    let mut ui = UiState::default();
    snap(&m, &ui);
    for _ in 0..20 {
        press(&mut m, &mut ui, KeyCode::PageDown);
    }
    let screen = snap(&m, &ui);
    assert!(screen.contains("dj2pg restore"), "{screen}");
    insta::assert_snapshot!(screen);
}

#[test]
fn backup_pending_says_where_and_that_sqlite_is_only_read() {
    let m = ready_for(discovered(), Step::Backup);
    let screen = snap(&m, &UiState::default());
    assert!(screen.contains(".dj2pg/backups/<time>/"), "{screen}");
    insta::assert_snapshot!(screen);
}

#[test]
fn backup_stopped_to_commit_reads_as_stopped_with_its_explanation_in_view() {
    let mut m = ready_for(discovered(), Step::Backup);
    run_step(&mut m, &[], JobEvent::BackedUp(Box::new(dirty_backup())));
    state::update(&mut m, Msg::Decide(ChoiceId::Abort));
    assert!(matches!(m.status(Step::Backup), Status::Stopped { .. }));
    let screen = snap(&m, &UiState::default());
    assert!(!screen.contains("Failed"), "{screen}");
    assert!(
        screen.contains("■ Stopped") && screen.contains("git add -A"),
        "{screen}"
    );
    insta::assert_snapshot!(screen);
}

/// The body lines of the step's box (between the borders), without the "more" note.
fn body_lines(screen: &str) -> Vec<String> {
    screen
        .lines()
        .skip(2)
        .filter_map(|l| l.split('│').nth(3).map(|s| s.trim_end().to_string()))
        .filter(|l| !l.contains("PgDn") && !l.contains("PgUp"))
        .collect()
}

#[test]
fn pgdn_moves_a_page_keeping_the_last_line_in_view() {
    let mut m = finished();
    let mut ui = UiState::default();
    let before = body_lines(&snap(&m, &ui));
    press(&mut m, &mut ui, KeyCode::PageDown);
    let after = body_lines(&snap(&m, &ui));
    let last = before.iter().rev().find(|l| !l.trim().is_empty()).unwrap();
    // The last line of the first page is now the first line on screen: a page, not 5 lines.
    assert_eq!(
        after.first(),
        Some(last),
        "before:\n{before:#?}\nafter:\n{after:#?}"
    );
}

#[test]
fn reset_preview_at_80_columns_ends_whole() {
    let mut m = reset_asked();
    let mut ui = UiState::default();
    press(&mut m, &mut ui, KeyCode::Char(' '));
    snap(&m, &ui);
    for _ in 0..5 {
        press(&mut m, &mut ui, KeyCode::PageDown);
    }
    let screen = snap(&m, &ui);
    assert!(screen.contains("__init__.py"), "{screen}");
    assert!(!screen.contains("__init__.py s "), "cut: {screen}");
    insta::assert_snapshot!(screen);
}
