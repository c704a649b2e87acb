//! The `vector` extension as a Fix permissions item, on a real PostgreSQL with pgvector
//! (the harness's npm PostgreSQL 16 with pgvector, over TLS): when a column is to become a
//! pgvector column and the app database lacks the extension, the diagnosis lists it, every
//! recipe creates it first, the admin without the right is refused by the server (the rule
//! says who can), and a superuser's run installs it so the next diagnosis finds nothing
//! missing.

mod common;

use common::*;
use dj2pg::data::privileges::RecipeId;
use dj2pg::pg::privileges::{add_to_recipes, apply, diagnose, recipes, vector_need};
use dj2pg::pg::provider::vector_rule;

#[test]
fn fix_permissions_plans_the_vector_extension_for_the_admin() {
    let c = pgvector_cluster();
    let (app, app_pw) = (c.app(), c.app_password().clone());
    let need = vector_need(&app, Some(&app_pw), None)
        .unwrap()
        .expect("a fresh database lacks the extension");
    assert!(need.available, "the server offers pgvector");
    assert_eq!(need.sql, "CREATE EXTENSION IF NOT EXISTS vector");
    assert!(need.rule.contains("superuser"), "{}", need.rule);

    let mut diag = diagnose(
        &app,
        Some(&app_pw),
        Some((&c.admin(), Some(c.admin_password()))),
        "public",
        &mut |_| {},
    )
    .unwrap();
    diag.extension = Some(need.clone());
    assert!(diag.fix_needed());
    let mut all = recipes(&diag, &Default::default());
    add_to_recipes(&need, &mut all);
    let a = all.iter().find(|r| r.id == RecipeId::GrantSchema).unwrap();
    assert_eq!(a.sql[0], need.sql, "the extension comes first: {:?}", a.sql);

    // doadmin here is not a superuser (like a self-managed server's admin role): the
    // server refuses, nothing of the recipe is left behind (one transaction).
    let err = apply(
        a,
        &app,
        Some(&app_pw),
        &c.admin(),
        Some(c.admin_password()),
        &mut |_| {},
    )
    .expect_err("pgvector is not a trusted extension");
    let err = format!("{err:#}");
    assert!(err.contains("permission denied"), "{err}");
    // The failure says what to do: log in as a role that may create it.
    assert!(
        err.contains(&format!("{} may not create it", c.admin().user))
            && err.contains("superuser or the provider's admin"),
        "{err}"
    );
    assert!(vector_need(&app, Some(&app_pw), None).unwrap().is_some());

    // A recipe that reports success but leaves the extension out (here: its CREATE
    // EXTENSION dropped, as when a script ran in another database) is not effective: the
    // re-check looks for the extension, not only at the schema privileges.
    let mut without = a.clone();
    without.sql.remove(0);
    let report = apply(
        &without,
        &app,
        Some(&app_pw),
        &c.superuser(),
        Some(c.superuser_password()),
        &mut |_| {},
    )
    .unwrap();
    assert!(!report.recheck.effective, "{:?}", report.recheck);
    let missing: Vec<_> = report.recheck.checks.iter().filter(|c| !c.ok).collect();
    assert_eq!(missing.len(), 1, "{missing:?}");
    assert_eq!(missing[0].name, "extension vector in database appdb");

    // A superuser (the provider's admin where it has that right) runs the same recipe.
    let report = apply(
        a,
        &app,
        Some(&app_pw),
        &c.superuser(),
        Some(c.superuser_password()),
        &mut |_| {},
    )
    .unwrap();
    assert!(report.recheck.effective);
    assert!(
        report
            .recheck
            .checks
            .iter()
            .any(|c| c.name == "extension vector in database appdb" && c.ok),
        "the re-check covers the extension: {:?}",
        report.recheck.checks
    );
    assert_eq!(vector_need(&app, Some(&app_pw), None).unwrap(), None);
    // The app role can now use the type.
    let mut client = app.connect(Some(&app_pw)).unwrap();
    let row = client
        .query_one("SELECT '[1,2.5,3]'::vector(3)::text", &[])
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "[1,2.5,3]");
}

#[test]
fn each_provider_states_who_may_create_the_extension() {
    for (name, says) in [
        (Some("DigitalOcean"), "doadmin"),
        (Some("AWS RDS/Aurora"), "rds_superuser"),
        (Some("Google Cloud SQL"), "cloudsqlsuperuser"),
        (Some("Azure Database for PostgreSQL"), "azure.extensions"),
        (Some("Supabase"), "schema extensions"),
        (None, "superuser"),
    ] {
        let (rule, _) = vector_rule(name);
        assert!(rule.contains(says), "{name:?}: {rule}");
    }
    assert_eq!(vector_rule(Some("Supabase")).1, Some("extensions"));
    assert_eq!(vector_rule(Some("DigitalOcean")).1, None);
}
