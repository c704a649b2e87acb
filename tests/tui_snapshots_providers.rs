//! Screen snapshots (80x24) of what issue 19 adds to the wizard: the provider and its role
//! model on Connect and Fix permissions, the role's timeouts, and the Direct field Connect
//! asks for once when a pool's direct connection could not be derived.

use dj2pg::data::pg::Provider;
use dj2pg::data::privileges::{AdminFacts, AppFacts, Diagnosis, Goal, RecipeOptions};
use dj2pg::pg::{ConnectError, Field};
use dj2pg::state::{self, Effect, JobEvent, Migration, Msg, Status, Step};
use dj2pg::tui::{ConnectForm, UiState};

mod tui_common;
use tui_common::*;

/// Supabase's dashboard string for `postgres`, as the catalog shows it.
fn supabase() -> Migration {
    let mut m = connected();
    let (config, _) = dj2pg::pg::ConnConfig::from_url(
        "postgresql://postgres@db.abcdefghijklmnop.supabase.co:5432/postgres?sslmode=require",
    )
    .expect("url");
    m.connect.target = Some(config);
    let info = m.connect.server.as_mut().expect("server");
    info.user = "postgres".into();
    info.database = "postgres".into();
    info.database_owner = "postgres".into();
    info.schema_create = true;
    info.provider = Some(Provider {
        name: Some("Supabase".into()),
        evidence: "role anon and authenticated in the catalog".into(),
        role_model: "postgres may create roles (CREATEDB CREATEROLE, not a superuser)".into(),
        admin: "postgres (dashboard: Connect); its new tables in public go to the API roles \
                anon and authenticated by default"
            .into(),
        admin_role: Some("postgres".into()),
        pool: Some("Supavisor on the pooler host: 6543 transaction mode".into()),
        ca: None,
    });
    info.timeouts = vec![("statement_timeout".into(), "2min".into())];
    let summary = info.summary_line();
    m.step_mut(Step::Connect).status = Status::Done { summary };
    m.cursor = Step::Connect;
    m
}

#[test]
fn connect_done_names_the_provider_its_admin_and_the_timeouts() {
    let m = supabase();
    let text = snap(&m, &UiState::default());
    assert!(text.contains("· Supabase (role anon"), "{text}");
    assert!(text.contains("statement_timeout=2min"), "{text}");
    insta::assert_snapshot!(text);
}

/// Connect through a pool whose direct connection could not be derived: the Direct field
/// appears with the cursor in it, flagged; Enter sends the target with it and the run keeps
/// it, so the next Connect goes over it.
#[test]
fn connect_asks_once_for_the_direct_connection_behind_a_pool() {
    let mut m = discovered();
    for s in [Step::Backup, Step::ResetMigrations, Step::DryRun] {
        m.step_mut(s).status = Status::Done {
            summary: "ok".into(),
        };
    }
    m.cursor = Step::Connect;
    let mut ui = UiState::default();
    ui.connect = ConnectForm::new(
        Some("postgresql://app@pool.example.com:6400/app-pool?sslmode=require"),
        None,
    );
    let Some(msg) = dj2pg::tui::handle_key(&m, &mut ui, enter()) else {
        panic!("Enter submits")
    };
    let fx = state::update(&mut m, msg);
    let Some(Effect::Connect { job, direct, .. }) = fx.first().cloned() else {
        panic!("{fx:?}")
    };
    assert_eq!(direct, None);
    state::update(
        &mut m,
        Msg::Job(
            job,
            JobEvent::ConnectFailed(ConnectError {
                field: Field::Direct,
                message: "pool.example.com:6400 is a connection pool (it refused or ignored \
                          the session settings sent at login): dj2pg creates the schema and \
                          copies over the direct connection, but it is not known for this \
                          server. Give the provider's direct connection string (the same \
                          role and database, without the pool)"
                    .into(),
            }),
        ),
    );
    dj2pg::tui::after_update(&m, &mut ui);
    assert!(ui.connect.ask_direct);
    for c in "postgresql://app:secret@db.example.com:5432/appdb".chars() {
        dj2pg::tui::handle_key(&m, &mut ui, key(c));
    }
    let text = snap(&m, &ui);
    assert!(text.contains("Direct"), "{text}");
    assert!(!text.contains("secret"), "a password on screen:\n{text}");
    insta::assert_snapshot!(text);
    let Some(msg @ Msg::SubmitDirect { .. }) = dj2pg::tui::handle_key(&m, &mut ui, enter()) else {
        panic!("Enter sends the direct connection")
    };
    let fx = state::update(&mut m, msg);
    let Some(Effect::Connect { direct, .. }) = fx.first() else {
        panic!("{fx:?}")
    };
    let direct = direct
        .as_ref()
        .expect("the direct connection goes with Connect");
    assert_eq!(
        (direct.host.as_str(), direct.port),
        ("db.example.com", 5432)
    );
    assert_eq!(m.options.direct_url.as_ref(), Some(direct));
    // Asked once: another failure does not move the cursor back to it.
    ui.connect.focus = dj2pg::tui::FormField::Password;
    dj2pg::tui::after_update(&m, &mut ui);
    assert_eq!(ui.connect.focus, dj2pg::tui::FormField::Password);
}

fn enter() -> crossterm::event::KeyEvent {
    crossterm::event::KeyEvent::new(
        crossterm::event::KeyCode::Enter,
        crossterm::event::KeyModifiers::NONE,
    )
}

fn key(c: char) -> crossterm::event::KeyEvent {
    crossterm::event::KeyEvent::new(
        crossterm::event::KeyCode::Char(c),
        crossterm::event::KeyModifiers::NONE,
    )
}

/// Fix permissions on RDS: the app role made in SQL by the master user, who logs in as the
/// admin; the provider, where its admin is, and the recipe recommended for this role model.
#[test]
fn fix_permissions_names_the_provider_its_admin_and_the_recipe() {
    let mut m = connected();
    let info = m.connect.server.as_mut().expect("server");
    info.provider = Some(Provider {
        name: Some("AWS RDS/Aurora".into()),
        evidence: "role rds_superuser in the catalog".into(),
        role_model: "sentiment is an app role: dbmaster owns sentiment and sentiment creates \
                     no roles, so an admin fixes its privileges"
            .into(),
        admin: "the master user named when the instance was made (RDS console: \
                Configuration), in rds_superuser"
            .into(),
        admin_role: Some("dbmaster".into()),
        pool: None,
        ca: None,
    });
    for s in &Step::ALL[..Step::FixPermissions.index()] {
        if !m.status(*s).lets_next_start() {
            m.step_mut(*s).status = Status::Done {
                summary: "ok".into(),
            };
        }
    }
    m.cursor = Step::FixPermissions;
    let mut admin = m.connect.target.clone().expect("target");
    admin.user = "dbmaster".into();
    state::update(&mut m, Msg::SubmitAdmin(admin));
    let (job, _) = m.job.expect("diagnosing");
    let d = diagnosis();
    let recipes = dj2pg::pg::privileges::recipes(&d, &RecipeOptions::default());
    state::update(
        &mut m,
        Msg::Job(job, JobEvent::Diagnosed(Box::new(d), recipes)),
    );
    let text = snap(&m, &UiState::default());
    assert!(text.contains("AWS RDS/Aurora"), "{text}");
    insta::assert_snapshot!(text);
    // The admin login starts with the master user the catalog shows, and says where its
    // password is.
    let mut ui = UiState::default();
    ui.admin.open(&m);
    let text = snap(&m, &ui);
    assert!(text.contains("postgresql://dbmaster@"), "{text}");
    assert!(text.contains("on AWS RDS/Aurora, the master"), "{text}");
}

fn diagnosis() -> Diagnosis {
    let goal = Goal::AppOwnsTables {
        schema: "public".into(),
    };
    let app = AppFacts {
        role: "sentiment".into(),
        is_superuser: false,
        connect: true,
        connect_error: None,
        owns_database: false,
        schema_exists: true,
        schema_usage: true,
        schema_create: false,
        search_path_setting: None,
        not_owned: Vec::new(),
        no_access: Vec::new(),
        default_privileges_from_admin: false,
        admin_schema_create: None,
    };
    let admin = AdminFacts {
        role: "dbmaster".into(),
        is_superuser: false,
        createrole: true,
        createdb: true,
        member_of_app: false,
        can_set_role_app: false,
        admin_option_on_app: true,
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
    };
    let checks = dj2pg::pg::privileges::checks_for(&goal, "sentiment", "dbmaster", &app);
    Diagnosis {
        server_version: "16.4".into(),
        server_version_num: 160004,
        database: "sentiment".into(),
        database_owner: "dbmaster".into(),
        schema: "public".into(),
        schemas: vec![("public".into(), "pg_database_owner".into())],
        summary: dj2pg::pg::privileges::summary(&goal, "sentiment", "sentiment", &checks),
        extension: None,
        app,
        admin: Some(admin),
        checks,
    }
}
