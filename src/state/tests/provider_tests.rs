//! Providers as transitions: a pool found at Connect routes the work to the direct
//! connection and keeps the pool in the settings; default grants to other roles are asked
//! about before migrate; the sslmode written is at least what was used.

use super::*;
use crate::data::pg::PoolRoute;
use crate::data::privileges::{DefaultGrants, GrantsAnswer};

/// Connected to `config`, the job reporting `pool` first when given.
fn connected(config: ConnConfig, pool: Option<PoolRoute>, tls: bool) -> Migration {
    let mut m = discovered();
    update(&mut m, Msg::Select(Step::Connect));
    update(&mut m, Msg::SubmitConnection(config));
    let id = m.job.unwrap().0;
    if let Some(p) = pool {
        update(&mut m, Msg::Job(id, JobEvent::PoolRouted(Box::new(p))));
    }
    let info = ServerInfo { tls, ..server() };
    update(&mut m, Msg::Job(id, JobEvent::Connected(Box::new(info))));
    m
}

fn pool_target() -> ConnConfig {
    ConnConfig {
        port: 25061,
        dbname: "app-pool".into(),
        ..target()
    }
}

fn route() -> PoolRoute {
    PoolRoute {
        reason: "port 25061 is DigitalOcean's connection-pool port".into(),
        database: "appdb".into(),
        direct: ConnConfig {
            port: 25060,
            dbname: "appdb".into(),
            ..target()
        },
        direct_from: "the provider's direct port".into(),
    }
}

#[test]
fn a_pool_found_at_connect_sends_permissions_schema_and_copy_to_the_direct_connection() {
    let mut m = connected(pool_target(), Some(route()), true);
    let Status::Done { summary } = m.status(Step::Connect).clone() else {
        panic!("{:?}", m.status(Step::Connect))
    };
    assert!(summary.contains("connection pool"), "{summary}");
    assert_eq!(m.work_target().map(|c| c.port), Some(25060));
    let (owner, _) = m.table_owner().unwrap();
    assert_eq!((owner.port, owner.dbname.as_str()), (25060, "appdb"));
    update(&mut m, Msg::Select(Step::FixPermissions));
    let fx = update(&mut m, Msg::Activate);
    let Some(Effect::Diagnose { app, .. }) = fx.first() else {
        panic!("{fx:?}")
    };
    assert_eq!(app.port, 25060);
    // The app's settings keep the pool.
    let t = settings_target(&m);
    assert_eq!(
        (t.port, t.dbname.as_str(), t.pool),
        (25061, "app-pool", true)
    );
}

#[test]
fn a_new_connect_forgets_the_old_pool() {
    let mut m = connected(pool_target(), Some(route()), true);
    update(&mut m, Msg::Select(Step::Connect));
    update(&mut m, Msg::SubmitConnection(target()));
    assert_eq!(m.connect.pool, None);
    assert_eq!(m.work_target(), Some(target()));
}

#[test]
fn a_url_without_sslmode_that_used_tls_writes_require() {
    let prefer = ConnConfig {
        sslmode: SslMode::Prefer,
        ..target()
    };
    let m = connected(prefer.clone(), None, true);
    assert_eq!(settings_target(&m).sslmode, "require");
    let m = connected(prefer, None, false);
    assert_eq!(settings_target(&m).sslmode, "prefer", "no TLS was used");
}

#[test]
fn default_grants_are_asked_about_before_migrate_and_the_answer_reaches_it() {
    let mut m = at_copy();
    // The embeddings question (asked first at Create schema) is answered.
    m.embeddings.choice = Some(crate::data::embeddings::EmbeddingsChoice::Keep);
    for s in [Step::FixPermissions, Step::CreateSchema, Step::CopyRows] {
        m.step_mut(s).status = Status::Pending;
    }
    m.step_mut(Step::FixPermissions).status = Status::Done {
        summary: "passed".into(),
    };
    update(&mut m, Msg::Select(Step::CreateSchema));
    let fx = update(&mut m, Msg::Activate);
    let Some(Effect::CreateSchema { job, grants, .. }) = fx.first().cloned() else {
        panic!("{fx:?}")
    };
    assert_eq!(grants, None, "first look for them");
    let found = DefaultGrants {
        role: "postgres".into(),
        grantees: vec!["anon".into(), "authenticated".into()],
        privileges: vec!["SELECT".into()],
    };
    update(
        &mut m,
        Msg::Job(job, JobEvent::DefaultGrantsFound(Box::new(found))),
    );
    let Status::NeedsDecision { kind, choices, .. } = m.status(Step::CreateSchema).clone() else {
        panic!("{:?}", m.status(Step::CreateSchema))
    };
    assert_eq!(kind, Question::DefaultGrants);
    assert_eq!(choices[0].id, ChoiceId::Abort, "stopping is first");
    let fx = update(&mut m, Msg::Decide(ChoiceId::RevokeGrants));
    assert!(
        fx.iter().any(|e| matches!(
            e,
            Effect::CreateSchema {
                grants: Some(GrantsAnswer::Revoke),
                ..
            }
        )),
        "{fx:?}"
    );
}
