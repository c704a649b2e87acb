//! The predictions without a server: facts of a DigitalOcean-like admin on both membership
//! rule sets, and the verdicts PostgreSQL itself would give.

use super::*;
use crate::data::privileges::{AdminFacts, AppFacts, CheckKind, RecipeId, RecipeOptions};

pub(crate) fn app() -> AppFacts {
    AppFacts {
        role: "app".into(),
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
    }
}

pub(crate) fn doadmin(rules_16: bool) -> AdminFacts {
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
        membership_rules_16: rules_16,
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

pub(crate) fn diagnosis(app: AppFacts, admin: Option<AdminFacts>) -> Diagnosis {
    let goal = Goal::AppOwnsTables {
        schema: "public".into(),
    };
    let checks = checks_for(&goal, "appdb", "doadmin", &app);
    Diagnosis {
        server_version: "17.10".into(),
        server_version_num: 170010,
        database: "appdb".into(),
        database_owner: "doadmin".into(),
        schema: "public".into(),
        schemas: vec![("public".into(), "pg_database_owner".into())],
        summary: summary(&goal, "appdb", &app.role, &checks),
        extension: None,
        app,
        admin,
        checks,
    }
}

fn by_id(d: &Diagnosis, id: RecipeId) -> crate::data::privileges::Recipe {
    recipes(d, &RecipeOptions::default())
        .into_iter()
        .find(|r| r.id == id)
        .unwrap()
}

#[test]
fn missing_create_on_public_names_the_django_error() {
    let d = diagnosis(app(), None);
    assert!(d.fix_needed());
    let c = d.missing().next().unwrap();
    assert_eq!(c.kind, CheckKind::SchemaCreate);
    assert!(c.detail.contains("MigrationSchemaMissing"), "{}", c.detail);
}

#[test]
fn nothing_missing_means_no_fix_needed() {
    let mut a = app();
    a.schema_create = true;
    let d = diagnosis(a, None);
    assert!(!d.fix_needed());
    assert!(d.summary.ends_with("no fix needed."), "{}", d.summary);
}

#[test]
fn owner_change_on_16_needs_set_role_and_admin_option() {
    let d = diagnosis(app(), Some(doadmin(true)));
    let reason = by_id(&d, RecipeId::MakeOwner).available.unwrap_err();
    assert!(
        reason.contains("must be able to SET ROLE \"app\""),
        "{reason}"
    );
    assert!(
        reason.contains("permission denied to grant role"),
        "{reason}"
    );
    // An admin that created app holds ADMIN OPTION: it grants itself app first.
    let mut creator = doadmin(true);
    creator.admin_option_on_app = true;
    let d = diagnosis(app(), Some(creator));
    let r = by_id(&d, RecipeId::MakeOwner);
    assert_eq!(r.available, Ok(()));
    assert_eq!(r.sql[0], "GRANT \"app\" TO \"doadmin\"");
}

#[test]
fn owner_change_on_15_uses_createrole() {
    let d = diagnosis(app(), Some(doadmin(false)));
    let r = by_id(&d, RecipeId::MakeOwner);
    assert_eq!(r.available, Ok(()));
    let mut no_createrole = doadmin(false);
    no_createrole.createrole = false;
    let d = diagnosis(app(), Some(no_createrole));
    let reason = by_id(&d, RecipeId::MakeOwner).available.unwrap_err();
    assert!(
        reason.contains("must be member of role \"app\""),
        "{reason}"
    );
}

#[test]
fn grant_schema_is_recommended_and_needs_a_grant_option() {
    let d = diagnosis(app(), Some(doadmin(true)));
    let all = recipes(&d, &RecipeOptions::default());
    assert_eq!(
        all.iter()
            .filter(|r| r.recommended)
            .map(|r| r.id)
            .collect::<Vec<_>>(),
        vec![RecipeId::GrantSchema]
    );
    let mut stranger = doadmin(true);
    stranger.schema_grant_option = false;
    stranger.schema_owner = Some("postgres".into());
    let d = diagnosis(app(), Some(stranger));
    let reason = by_id(&d, RecipeId::GrantSchema).available.unwrap_err();
    assert!(reason.contains("postgres's"), "{reason}");
}

#[test]
fn without_admin_credentials_nothing_is_predicted_but_sql_is_shown() {
    let d = diagnosis(app(), None);
    let a = by_id(&d, RecipeId::GrantSchema);
    assert!(a.available.unwrap_err().contains("no admin credentials"));
    assert_eq!(
        a.sql,
        vec!["GRANT USAGE, CREATE ON SCHEMA \"public\" TO \"app\""]
    );
    let b = by_id(&d, RecipeId::OwnSchema);
    assert!(
        b.sql.iter().any(|s| s.starts_with("CREATE SCHEMA \"app\"")),
        "{:?}",
        b.sql
    );
}

#[test]
fn identifiers_are_quoted() {
    let mut a = app();
    a.role = "we\"ird".into();
    let d = diagnosis(a, Some(doadmin(true)));
    let r = by_id(&d, RecipeId::GrantSchema);
    assert_eq!(
        r.sql,
        vec!["GRANT USAGE, CREATE ON SCHEMA \"public\" TO \"we\"\"ird\""]
    );
    assert_eq!(search_path_value("My Schema"), "\"My Schema\"");
    assert_eq!(search_path_value("app_2"), "app_2");
    assert_eq!(search_path_value("app$1"), "app$1");
    // The settings and the recipe's advice use the same libpq form (spaces escaped).
    assert_eq!(
        search_path_option("My Schema"),
        "-c search_path=\"My\\ Schema\""
    );
}
