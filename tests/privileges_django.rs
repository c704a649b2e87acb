//! Django's own `migrate`, through the settings overlay, before and after a fix, on
//! PostgreSQL 15 and 17: what the user came for.

mod common;

use common::*;
use dj2pg::data::privileges::{RecipeId, RecipeOptions};
use dj2pg::django::overlay::Overlay;
use dj2pg::pg::privileges::{apply, diagnose, recipes};

#[test]
fn migrate_as_app_passes_after_recipe_a_pg15() {
    migrate_after(15, RecipeId::GrantSchema)
}

#[test]
fn migrate_as_app_passes_after_recipe_a_pg17() {
    migrate_after(17, RecipeId::GrantSchema)
}

#[test]
fn migrate_as_admin_then_app_writes_after_recipe_c_pg17() {
    migrate_after(17, RecipeId::RuntimeRole)
}

fn migrate_after(major: u32, id: RecipeId) {
    let c = cluster_pg(major);
    let python = django_venv();
    let (_tmp, project) = sample_project(50);
    let overlay = Overlay::write(&project, "aiproto.settings").expect("overlay");
    let migrate = |config: &dj2pg::pg::ConnConfig, pw| {
        let out = overlay
            .manage(&python, config, Some(pw), &["migrate", "--noinput"])
            .expect("run manage.py");
        (out.status.success(), output_text(&out))
    };
    let (ok, text) = migrate(&c.app(), c.app_password());
    assert!(
        !ok && text.contains("permission denied for schema public"),
        "{text}"
    );

    let mut log = |line: String| eprintln!("[fix] {line}");
    let admin = (&c.admin(), Some(c.admin_password()));
    let d = diagnose(
        &c.app(),
        Some(c.app_password()),
        Some(admin),
        "public",
        &mut log,
    )
    .expect("diagnose");
    let r = recipes(&d, &RecipeOptions::default())
        .into_iter()
        .find(|r| r.id == id)
        .expect("recipe");
    let report = apply(
        &r,
        &c.app(),
        Some(c.app_password()),
        &c.admin(),
        Some(c.admin_password()),
        &mut log,
    )
    .expect("apply");
    assert!(report.recheck.effective, "{:#?}", report.recheck.checks);

    // migrate runs as the role the recipe says owns the tables.
    let owner = r.roles_after.schema_and_copy.clone();
    let (config, pw) = if owner == "app" {
        (c.app(), c.app_password())
    } else {
        (c.admin(), c.admin_password())
    };
    let (ok, text) = migrate(&config, pw);
    assert!(
        ok,
        "migrate as {owner} after recipe {}:\n{text}",
        r.id.as_str()
    );
    assert_eq!(
        scalar(
            &c.admin(),
            c.admin_password(),
            "SELECT tableowner FROM pg_tables WHERE tablename = 'classifier_label'"
        )
        .as_deref(),
        Some(owner.as_str())
    );
    // The settings' role reads and writes the tables migrate created.
    exec(
        &c.app(),
        c.app_password(),
        "UPDATE classifier_label SET name = name; DELETE FROM django_session",
    );
    assert_eq!(
        scalar(
            &c.app(),
            c.app_password(),
            "SELECT count(*) FROM classifier_label"
        )
        .as_deref(),
        Some("3"),
        "the RunPython data migration ran"
    );
}
